"""--reload, measured: how fast a save is served, and what watching a big tree costs.

1. Reaction time: from an editor's save (write a temp file, rename it over app.py) to the
   first response served by the new code, polled with fresh connections every 5 ms. asgid
   with --workers 1 and 8, a hello app and a FastAPI app; median and max of --edits edits.
   The app's own import time (a fresh interpreter importing it) is measured beside it.
2. A tree of 50,000 .py files in 5,000 directories plus a .venv of 30,000 files: each server
   started with --reload in its root (cwd), then idle for --idle seconds: CPU time of the
   watching process and of the whole process tree, inotify watches held (from
   /proc/PID/fdinfo), time from exec to the first 200, and (asgid) the time its log gives for
   setting up the watches. asgid (inotify, and --reload-poll), uvicorn --reload (watchfiles),
   gunicorn --reload (UvicornWorker).

Trees are made under /tmp and deleted afterwards.

Run: .venv/bin/python bench/reload.py [--edits 20] [--idle 10] [--skip-reaction] [--skip-tree]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASGID = os.environ.get("ASGID_BIN", os.path.join(ROOT, "build", "master", "asgid"))
VENV_BIN = os.path.dirname(sys.executable)

HELLO = '''
VERSION = {version!r}


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = VERSION.encode()
    await send({{"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]}})
    await send({{"type": "http.response.body", "body": body}})
'''

FASTAPI = '''
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

VERSION = {version!r}
app = FastAPI()


@app.get("/", response_class=PlainTextResponse)
async def root():
    return VERSION
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def save(path: str, text: str):
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".swp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def get(port: int, timeout: float = 2.0) -> str | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", "/", headers={"Connection": "close"})
        body = conn.getresponse().read().decode()
        conn.close()
        return body
    except (OSError, http.client.HTTPException):
        return None


def wait_for(port: int, expected: str | None, timeout: float) -> float | None:
    """Seconds until GET / answers `expected` (any 200 body when None)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        body = get(port)
        if body is not None and (expected is None or body == expected):
            return time.monotonic() - t0
        time.sleep(0.005)
    return None


def process_tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def inotify_watches(pid: int) -> int:
    count = 0
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return 0
    for fd in fds:
        try:
            if os.readlink(f"{fd_dir}/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                count += sum(1 for line in f if line.startswith("inotify wd:"))
        except OSError:
            pass
    return count


def stop(proc: subprocess.Popen):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def launch(cmd: list[str], cwd: str, log_path: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", VIRTUAL_ENV=os.path.dirname(VENV_BIN))
    log = open(log_path, "w")
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


# ---- 1. reaction time -------------------------------------------------------------------

def wait_log(path: str, text: str, count: int, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path) as f:
            if f.read().count(text) >= count:
                return
        time.sleep(0.02)
    raise AssertionError(f"{path}: fewer than {count} {text!r} within {timeout}s")


def wait_children(pid: int, count: int, timeout: float):
    deadline = time.monotonic() + timeout
    while len(process_tree(pid)) - 1 > count:
        if time.monotonic() > deadline:
            raise AssertionError(f"old workers of {pid} still running after {timeout}s")
        time.sleep(0.05)


def python_start_time() -> float:
    """A fresh interpreter importing asyncio: the floor of a worker's boot."""
    times = []
    for _ in range(3):
        t0 = time.monotonic()
        subprocess.check_call([sys.executable, "-c", "import asyncio"])
        times.append(time.monotonic() - t0)
    return statistics.median(times)


def import_time(app_dir: str) -> float:
    code = ("import sys, time; sys.path.insert(0, %r); t = time.perf_counter(); import app; "
            "print(time.perf_counter() - t)" % app_dir)
    times = [float(subprocess.check_output([sys.executable, "-c", code])) for _ in range(3)]
    return statistics.median(times)


def reaction(kind: str, workers: int, edits: int, work: str) -> dict:
    template = HELLO if kind == "hello" else FASTAPI
    app_dir = os.path.join(work, f"{kind}-{workers}")
    os.makedirs(app_dir)
    path = os.path.join(app_dir, "app.py")
    save(path, template.format(version="v0"))
    port = free_port()
    log_path = os.path.join(work, f"{kind}-{workers}.log")
    proc = launch([ASGID, "--reload", "--workers", str(workers), "--port", str(port),
                   "--no-access-log", "--app-dir", app_dir, "app:app"], app_dir, log_path)
    try:
        assert wait_for(port, "v0", 60) is not None, "server did not start"
        time.sleep(1.0)
        samples = []
        for i in range(1, edits + 1):
            version = f"v{i}"
            t0 = time.monotonic()
            save(path, template.format(version=version))
            took = wait_for(port, version, 30)
            assert took is not None, f"{version} never served"
            samples.append(time.monotonic() - t0)
            # Let the rest of the generation come up, and the old one exit, before the next
            # save: a developer does not save every second.
            wait_log(log_path, "Reload complete", i, 120)
            wait_children(proc.pid, workers, 60)
            time.sleep(0.5)
    finally:
        stop(proc)
    return {"median": statistics.median(samples), "max": max(samples),
            "import": import_time(app_dir)}


# ---- 2. a big tree ----------------------------------------------------------------------

def make_tree(root: str):
    for d in range(5000):
        sub = os.path.join(root, f"pkg{d // 100}", f"mod{d % 100}")
        os.makedirs(sub)
        for f in range(10):
            with open(os.path.join(sub, f"f{f}.py"), "w") as fh:
                fh.write("X = 1\n")
    venv = os.path.join(root, ".venv")
    os.makedirs(venv)
    with open(os.path.join(venv, "pyvenv.cfg"), "w") as fh:
        fh.write("home = /usr/bin\n")
    for d in range(1000):
        sub = os.path.join(venv, "lib", "python3.11", "site-packages", f"p{d}")
        os.makedirs(sub)
        for f in range(30):
            with open(os.path.join(sub, f"m{f}.py"), "w") as fh:
                fh.write("Y = 2\n")
    save(os.path.join(root, "app.py"), HELLO.format(version="tree"))


def idle_cost(name: str, cmd: list[str], root: str, port: int, idle: float, work: str) -> dict:
    proc = launch(cmd, root, os.path.join(work, f"tree-{name}.log"))
    try:
        ready = wait_for(port, "tree", 180)
        assert ready is not None, f"{name} did not start"
        time.sleep(3.0)  # let start-up work (scans, worker boots) finish
        tree = process_tree(proc.pid)
        before_self, before_all = cpu_seconds(proc.pid), sum(cpu_seconds(p) for p in tree)
        time.sleep(idle)
        tree = process_tree(proc.pid)
        after_self, after_all = cpu_seconds(proc.pid), sum(cpu_seconds(p) for p in tree)
        watches = sum(inotify_watches(p) for p in tree)
    finally:
        stop(proc)
    with open(os.path.join(work, f"tree-{name}.log")) as f:
        setup = re.search(r"--reload: \w+ .*\((\d+ \w+), (\d+) ms\)", f.read())
    return {"setup": f"{setup.group(1)} set up in {setup.group(2)} ms" if setup else "",
            "ready": ready,
            "self": 100 * (after_self - before_self) / idle,
            "all": 100 * (after_all - before_all) / idle, "watches": watches}


def tree_bench(idle: float, work: str):
    root = os.path.join(work, "tree")
    os.makedirs(root)
    t0 = time.monotonic()
    make_tree(root)
    print(f"tree: 50,000 files in 5,000 dirs + .venv of 30,000 files, made in "
          f"{time.monotonic() - t0:.1f}s", flush=True)
    uvicorn = [os.path.join(VENV_BIN, "uvicorn")]
    gunicorn = [os.path.join(VENV_BIN, "gunicorn")]
    runs = []
    for name, make in [
        ("asgid --reload (inotify)", lambda p: [ASGID, "--reload", "--port", str(p), "app:app"]),
        ("asgid --reload --reload-poll",
         lambda p: [ASGID, "--reload", "--reload-poll", "--port", str(p), "app:app"]),
        ("uvicorn --reload (watchfiles)",
         lambda p: uvicorn + ["--reload", "--port", str(p), "app:app"]),
        ("gunicorn --reload (UvicornWorker)",
         lambda p: gunicorn + ["--reload", "-k", "uvicorn.workers.UvicornWorker", "-b",
                               f"127.0.0.1:{p}", "app:app"]),
    ]:
        port = free_port()
        r = idle_cost(name.split()[0] + str(len(runs)), make(port), root, port, idle, work)
        runs.append((name, r))
        print(f"{name:36s} ready {r['ready']:6.2f}s  watcher CPU {r['self']:5.1f}%  "
              f"all processes {r['all']:5.1f}%  inotify watches {r['watches']}  {r['setup']}",
              flush=True)
    return runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--skip-reaction", action="store_true")
    parser.add_argument("--skip-tree", action="store_true")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="asgid-reload-bench-", dir="/tmp")
    try:
        if not args.skip_reaction:
            print(f"reaction time, save -> first response from new code ({args.edits} edits); "
                  f"python -c 'import asyncio' takes {python_start_time() * 1000:.0f} ms, "
                  f"load average {os.getloadavg()[0]:.1f}")
            for kind in ("hello", "fastapi"):
                for workers in (1, 8):
                    r = reaction(kind, workers, args.edits, work)
                    print(f"  {kind:8s} --workers {workers}: median {r['median'] * 1000:5.0f} ms, "
                          f"max {r['max'] * 1000:5.0f} ms (app import alone: "
                          f"{r['import'] * 1000:.0f} ms)", flush=True)
        if not args.skip_tree:
            tree_bench(args.idle, work)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
