"""Memory and idle cost of asgid's supervisor.

Measures, on a FastAPI app with N workers:
  * the master's RSS and its CPU use while idle (over --idle seconds);
  * the whole server's memory with and without --preload. RSS counts a shared page once per
    process, so the comparison uses PSS (each shared page divided among its sharers), summed
    over the master and its workers, from /proc/PID/smaps_rollup.

Run: .venv/bin/python bench/memory.py [--workers 4] [--idle 10]
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = '''
from fastapi import FastAPI
app = FastAPI()

@app.get("/")
async def root():
    return {"hello": "world"}
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def smaps_kb(pid, field):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def start(binary, app_dir, workers, preload):
    port = free_port()
    args = [binary, "--app-dir", app_dir, "--port", str(port), "--workers", str(workers),
            "--no-access-log", "--venv", os.path.join(ROOT, ".venv"), "memapp:app"]
    if preload:
        args.append("--preload")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
            if len(children(proc.pid)) == workers:
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise SystemExit("asgid did not come up:\n" + proc.stderr.read())
    # Touch every worker a little so each has run requests (and its pages are warm).
    for _ in range(workers * 20):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
    time.sleep(1)
    return proc


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def measure(binary, app_dir, workers, preload, idle):
    proc = start(binary, app_dir, workers, preload)
    try:
        pids = [proc.pid] + children(proc.pid)
        pss = sum(smaps_kb(p, "Pss") for p in pids)
        rss = sum(smaps_kb(p, "Rss") for p in pids)
        master_rss = smaps_kb(proc.pid, "Rss")
        before = cpu_ticks(proc.pid)
        time.sleep(idle)
        ticks = cpu_ticks(proc.pid) - before
        master_cpu = 100.0 * ticks / os.sysconf("SC_CLK_TCK") / idle
        return {"pss_mb": pss / 1024, "rss_mb": rss / 1024, "master_rss_mb": master_rss / 1024,
                "master_idle_cpu_pct": master_cpu}
    finally:
        stop(proc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asgid", default=os.path.join(ROOT, "build/master/asgid"))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--idle", type=float, default=10.0)
    args = parser.parse_args()
    app_dir = os.path.join(ROOT, "bench/results/memapp")
    os.makedirs(app_dir, exist_ok=True)
    with open(os.path.join(app_dir, "memapp.py"), "w") as f:
        f.write(APP)
    plain = measure(args.asgid, app_dir, args.workers, False, args.idle)
    preload = measure(args.asgid, app_dir, args.workers, True, args.idle)
    print(f"FastAPI app, {args.workers} workers, master + workers:")
    print(f"{'':14}{'PSS MB':>10}{'RSS MB':>10}{'master RSS MB':>15}{'master idle CPU %':>19}")
    for name, row in (("no preload", plain), ("--preload", preload)):
        print(f"{name:14}{row['pss_mb']:10.1f}{row['rss_mb']:10.1f}{row['master_rss_mb']:15.1f}"
              f"{row['master_idle_cpu_pct']:19.2f}")
    saved = plain["pss_mb"] - preload["pss_mb"]
    print(f"--preload saves {saved:.1f} MB of PSS ({100 * saved / plain['pss_mb']:.0f}%); "
          f"preload/plain PSS ratio {preload['pss_mb'] / plain['pss_mb']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
