"""Two workers each: asgid --workers 2 against uvicorn --workers 2 (uvloop + httptools) and
gunicorn -w 2 -k uvicorn.workers.UvicornWorker, on bench/apps.py's hello app.

With two cores the servers' workers and wrk share the machine (nothing is pinned), so the
absolute figures are low; compare the ratios, measured in the same run.

Run: .venv/bin/python bench/workers.py [--duration 10] [--connections 128] [--repeat 3]
"""

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
VENV_BIN = os.path.join(ROOT, ".venv", "bin")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(server, port, asgid):
    bind = f"127.0.0.1:{port}"
    if server == "asgid":
        return [asgid, "--workers", "2", "--host", "127.0.0.1", "--port", str(port),
                "--no-access-log", "--venv", os.path.join(ROOT, ".venv"), "apps:hello"]
    if server == "uvicorn":
        return [os.path.join(VENV_BIN, "uvicorn"), "--workers", "2", "--loop", "uvloop",
                "--http", "httptools", "--no-access-log", "--log-level", "warning",
                "--host", "127.0.0.1", "--port", str(port), "apps:hello"]
    return [os.path.join(VENV_BIN, "gunicorn"), "-w", "2", "-k", "uvicorn.workers.UvicornWorker",
            "-b", bind, "--log-level", "warning", "apps:hello"]


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def tree_rss_mb(pid):
    total = 0
    for p in [pid] + children(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total / 1024


def wait_up(port, proc, workers=2):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
            if len(children(proc.pid)) >= workers:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not come up")


def wrk(port, duration, connections):
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency",
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, float(p99.group(1)) * scale, (errors.group(1) if errors else ""), (
        int(non2xx.group(1)) if non2xx else 0)


def run_one(server, args):
    port = free_port()
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"])
    proc = subprocess.Popen(command(server, port, args.asgid), cwd=BENCH, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_up(port, proc)
        wrk(port, 2, args.connections)  # warm-up
        rps, p99, errors, non2xx = wrk(port, args.duration, args.connections)
        return {"rps": rps, "p99": p99, "rss": tree_rss_mb(proc.pid), "errors": errors,
                "non2xx": non2xx}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asgid", default=os.path.join(ROOT, "build/master/asgid"))
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    servers = ["asgid", "uvicorn", "gunicorn"]
    runs = {s: [] for s in servers}
    for _ in range(args.repeat):  # rounds alternate the servers
        for server in servers:
            runs[server].append(run_one(server, args))
    print(f"hello world, 2 workers each, wrk -t2 -c{args.connections} -d{args.duration}s, "
          f"median of {args.repeat}")
    print(f"{'server':10}{'req/s':>10}{'p99 ms':>9}{'RSS MB':>9}  errors")
    med = {}
    for server in servers:
        rows = runs[server]
        med[server] = {k: statistics.median(r[k] for r in rows) for k in ("rps", "p99", "rss")}
        errs = "; ".join(f"{r['errors']} non2xx={r['non2xx']}" for r in rows
                         if r["errors"] or r["non2xx"]) or "none"
        m = med[server]
        print(f"{server:10}{m['rps']:10.0f}{m['p99']:9.2f}{m['rss']:9.1f}  {errs}")
    for peer in ("uvicorn", "gunicorn"):
        print(f"asgid/{peer}: req/s x{med['asgid']['rps'] / med[peer]['rps']:.2f}, "
              f"p99 x{med['asgid']['p99'] / med[peer]['p99']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
