#!/usr/bin/env python3
"""WebSocket benchmark: echo messages/s and p99 round trip, and memory per idle WebSocket, for
asgid against uvicorn (websockets implementation, uvloop) and granian (its own WebSockets).

Run with the project's virtualenv:

    .venv/bin/python bench/ws_echo.py [--servers asgid,uvicorn,granian] [--sizes 32,65536]
        [--connections 64] [--duration 10] [--warmup 3] [--repeat 1] [--idle 10000]
        [--client-procs 1] [--json out.json]

Echo: for every message size and server, one worker each, the server is started pinned to
--server-cpu, checked (HTTP /_info as bench/run.py does; then over a WebSocket: the app
reports its loop and call stack, which must show uvicorn's websockets implementation on
uvloop, or granian's app on uvloop; and an echo of each size must come back intact), then
bench/ws_client.c (built here with `cc -O2` into bench/results/) runs on --client-cpu with
--connections connections, each keeping one binary message in flight: a warm-up, then a fixed
window in which completed round trips are counted and timed. Rounds alternate the servers
(reversed every other round), each on a fresh server; medians are shown.

Idle: each server is started again under `prlimit --nofile=H:H` (H: this process's hard
limit), warmed up with a few WebSockets, then --idle WebSockets are opened from this process
(handshake done, nothing sent), and the RSS summed over the server's process tree is read
before and after (--settle seconds later). The connections are checked to be still open.
Bytes per idle WebSocket = (after - before) / N. No client offers permessage-deflate, so no
server keeps compression state: the figure is the bare connection.

The load generator is C because a Python client saturates its core first; the report shows
its CPU use (near 100 % means the figure is the client's limit, not the server's). With
--client-procs N the connections are split across N client processes on the client CPU list
(p99 is then the largest of the processes' p99s).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import idle_connections as idle  # bench/idle_connections.py: /proc memory, fd limits
import run as harness  # bench/run.py: process handling, checks, the servers' command lines

BENCH_DIR = harness.BENCH_DIR
RESULTS_DIR = harness.RESULTS_DIR
HOST = harness.HOST
SERVERS = ("asgid", "uvicorn", "granian")
SCENARIO = harness.Scenario("ws", "apps:ws_echo", "GET", None, "text/plain", b"Hello, world!")
CLIENT_SRC = BENCH_DIR / "ws_client.c"
KEY = base64.b64encode(b"bench-ws-echo-16").decode()


class BenchError(harness.BenchError):
    pass


# --------------------------------------------------------------------------------------------
# Servers


def server_argv(args, name: str, port: int, idle_n: int = 0) -> list[str]:
    argv = harness.server_argv(args, name, port, SCENARIO)
    if harness.asgid_binary(args, name) is not None:
        extra = ["--ws", "auto"]
    elif name == "uvicorn":
        extra = ["--ws", "websockets"]
    elif name == "granian":
        # Its --backpressure (default 1024) caps the connections served at once.
        extra = ["--ws", "--backpressure", str(max(idle_n, args.connections) + 1024)]
    else:
        raise ValueError(name)
    return argv[:-1] + extra + argv[-1:]  # options before the app


def start_server(args, name: str, idle_n: int = 0) -> tuple[subprocess.Popen, int, Path]:
    port = harness.free_port()
    argv = ["taskset", "-c", args.server_cpu, "prlimit", f"--nofile={args.nofile}:{args.nofile}",
            *server_argv(args, name, port, idle_n)]
    RESULTS_DIR.mkdir(exist_ok=True)
    log = RESULTS_DIR / f"ws-{name}.log"
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    with open(log, "wb") as logf:
        proc = subprocess.Popen(argv, cwd=BENCH_DIR, stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
    harness._LIVE.append(proc)
    harness.wait_ready(proc, port, args.start_timeout, log)
    return proc, port, log


# --------------------------------------------------------------------------------------------
# A minimal blocking WebSocket client for the checks (RFC 6455: masked client frames)


def ws_open(port: int, timeout: float = 5.0) -> socket.socket:
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.sendall(handshake_request(port))
    head = b""
    while b"\r\n\r\n" not in head:
        data = s.recv(4096)
        if not data:
            raise BenchError("connection closed during the WebSocket handshake")
        head += data
    if not head.startswith(b"HTTP/1.1 101"):
        raise BenchError(f"no 101 for the WebSocket handshake: {head[:200]!r}")
    return s


def handshake_request(port: int) -> bytes:
    return (f"GET / HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n"
            f"Sec-WebSocket-Version: 13\r\n\r\n").encode()


def ws_send(s: socket.socket, opcode: int, payload: bytes):
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    s.sendall(head + b"\0\0\0\0" + payload)  # a zero mask key leaves the payload as it is


def ws_recv(s: socket.socket) -> tuple[int, bytes]:
    def exact(n):
        buf = b""
        while len(buf) < n:
            data = s.recv(n - len(buf))
            if not data:
                raise BenchError("connection closed while reading a frame")
            buf += data
        return buf

    b0, b1 = exact(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(exact(2), "big")
    elif n == 127:
        n = int.from_bytes(exact(8), "big")
    return b0 & 0x0F, exact(n)


def check_ws(name: str, port: int, sizes: list[int]) -> dict:
    """Proves what serves the WebSockets, and that echoes come back intact."""
    s = ws_open(port)
    try:
        ws_send(s, 0x1, b"_info")
        opcode, data = ws_recv(s)
        info = json.loads(data)
        stack = info.get("stack_modules", [])
        if name == "uvicorn" and not (info.get("loop") == "uvloop.Loop"
                                      and "uvicorn.protocols.websockets.websockets_impl" in stack):
            raise BenchError(f"uvicorn is not serving WebSockets with websockets + uvloop: {info}")
        if name == "granian" and info.get("loop") != "uvloop.Loop":
            raise BenchError(f"granian's app runs on {info.get('loop')}, not uvloop")
        for size in sizes:
            payload = bytes(97 + i % 26 for i in range(size))
            ws_send(s, 0x2, payload)
            opcode, data = ws_recv(s)
            if opcode != 0x2 or data != payload:
                raise BenchError(f"echo of {size} bytes came back wrong ({len(data)} bytes)")
    finally:
        s.close()
    # The modules right above the app: the server's own WebSocket code (uvicorn's protocol
    # class, granian's futures, asgid's bridge).
    return {"loop": info.get("loop"), "ws_called_from": stack[1:3]}


# --------------------------------------------------------------------------------------------
# Echo


def build_client(args) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    exe = RESULTS_DIR / "ws_client"
    if not exe.exists() or exe.stat().st_mtime < CLIENT_SRC.stat().st_mtime:
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            raise SystemExit("no C compiler (cc) to build bench/ws_client.c")
        subprocess.run([cc, "-O2", "-o", str(exe), str(CLIENT_SRC)], check=True)
    return exe


@dataclass
class EchoResult:
    server: str
    size: int
    ok: bool = False
    error: str | None = None
    msgs: float | None = None
    p99_ms: float | None = None
    p50_ms: float | None = None
    cpu_pct: float | None = None
    client_cpu_pct: float | None = None
    other_cpu_pct: float | None = None
    rounds: list = field(default_factory=list)
    proof: dict | None = None


def run_clients(args, exe: Path, port: int, size: int) -> dict:
    procs = []
    per = [args.connections // args.client_procs + (i < args.connections % args.client_procs)
           for i in range(args.client_procs)]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    for n in per:
        p = subprocess.Popen(["taskset", "-c", args.client_cpu, str(exe), HOST, str(port), "/",
                              str(n), str(size), str(args.warmup), str(args.duration)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        harness._LIVE.append(p)
        procs.append(p)
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=args.warmup + args.duration + 60)
        except subprocess.TimeoutExpired:
            harness._kill_group(p, grace=1)
            raise BenchError("the load generator did not finish in time")
        finally:
            if p in harness._LIVE:
                harness._LIVE.remove(p)
        if p.returncode != 0 or not out.strip():
            raise BenchError(f"ws_client failed ({p.returncode}): {err[-500:]}")
        outs.append(json.loads(out))
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    errors = sum(o["errors"] for o in outs)
    if errors:
        raise BenchError(f"{errors} connection errors in the load generator")
    return {
        "msgs": sum(o["messages"] for o in outs) / args.duration,
        "p50_ms": max(o["p50_us"] for o in outs) / 1000,
        "p99_ms": max(o["p99_us"] for o in outs) / 1000,
        "client_cpu_pct": 100.0 * ((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)) / wall,
        "raw": outs,
    }


def echo_one(args, exe: Path, name: str, size: int) -> EchoResult:
    res = EchoResult(name, size)
    proc = None
    if args.quiet_threshold > 0:
        harness.wait_quiet(args)
    try:
        proc, port, log = start_server(args, name)
        _, _, data = harness.http_request(port, "GET", "/_info")
        res.proof = {"http": harness.verify_server(name, json.loads(data), log),
                     "ws": check_ws(name, port, [size])}
        tree = harness.process_tree(proc.pid)
        hz = os.sysconf("SC_CLK_TCK")
        # Server CPU over the measured window only: sampled once the warm-up is over.
        import threading

        cpu = {}

        def sample():
            time.sleep(args.warmup + 0.2)
            cpu["c0"], cpu["t0"] = harness.cpu_ticks(tree), time.monotonic()
            cpu["m0"] = harness.machine_busy_ticks()
            time.sleep(max(0.1, args.duration - 0.4))
            cpu["c1"], cpu["t1"] = harness.cpu_ticks(tree), time.monotonic()
            cpu["m1"] = harness.machine_busy_ticks()

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        run = run_clients(args, exe, port, size)
        sampler.join(5)
        if "c1" in cpu:
            span = hz * (cpu["t1"] - cpu["t0"])
            run["server_cpu_pct"] = 100.0 * (cpu["c1"] - cpu["c0"]) / span
            # Everything else on the machine meanwhile (builds, other users): the run's noise.
            run["other_cpu_pct"] = max(0.0, 100.0 * (cpu["m1"] - cpu["m0"]) / span
                                       - run["server_cpu_pct"] - run["client_cpu_pct"])
        if proc.poll() is not None:
            raise BenchError(f"server exited during the run; log: {harness.tail(log)}")
        res.msgs, res.p50_ms, res.p99_ms = run["msgs"], run["p50_ms"], run["p99_ms"]
        res.client_cpu_pct, res.cpu_pct = run["client_cpu_pct"], run.get("server_cpu_pct")
        res.other_cpu_pct = run.get("other_cpu_pct")
        res.rounds = [run]
        res.ok = True
    except harness.BenchError as exc:
        res.error = str(exc)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        res.error = f"{type(exc).__name__}: {exc}"
    finally:
        if proc is not None:
            harness._kill_group(proc)
    return res


def combine_echo(rounds: list[EchoResult]) -> EchoResult:
    bad = [r for r in rounds if not r.ok]
    if bad:
        return bad[0]
    out = rounds[-1]
    out.rounds = [run for r in rounds for run in r.rounds]
    for key in ("msgs", "p50_ms", "p99_ms", "client_cpu_pct"):
        setattr(out, key, statistics.median(getattr(r, key) for r in rounds))
    cpus = [r.cpu_pct for r in rounds if r.cpu_pct is not None]
    out.cpu_pct = statistics.median(cpus) if cpus else None
    others = [r.other_cpu_pct for r in rounds if r.other_cpu_pct is not None]
    out.other_cpu_pct = max(others) if others else None
    return out


# --------------------------------------------------------------------------------------------
# Idle WebSockets


def open_idle_websockets(port: int, n: int, batch: int, timeout: float) -> list[socket.socket]:
    """n WebSockets, each past its 101 and then silent."""
    socks: list[socket.socket] = []
    request = handshake_request(port)
    try:
        while len(socks) < n:
            todo = [socket.create_connection((HOST, port), timeout=timeout)
                    for _ in range(min(batch, n - len(socks)))]
            socks += todo
            sel = selectors.DefaultSelector()
            bufs = {}
            for s in todo:
                s.sendall(request)
                s.setblocking(False)
                bufs[s] = b""
                sel.register(s, selectors.EVENT_READ)
            deadline = time.monotonic() + timeout
            pending = len(todo)
            while pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError(f"{pending} of a batch of {len(todo)} handshakes did not "
                                     f"finish within {timeout:g} s ({len(socks)} opened)")
                for key, _ in sel.select(left):
                    s = key.fileobj
                    data = s.recv(4096)
                    if not data:
                        raise BenchError(f"server closed a WebSocket during its handshake "
                                         f"(after {len(socks)} opened)")
                    bufs[s] += data
                    if b"\r\n\r\n" in bufs[s]:
                        if not bufs[s].startswith(b"HTTP/1.1 101"):
                            raise BenchError(f"no 101: {bufs[s][:200]!r}")
                        sel.unregister(s)
                        pending -= 1
            sel.close()
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks


def count_closed(socks: list[socket.socket]) -> int:
    """WebSockets the server has ended (a read gives EOF or an error; pings do not count)."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    closed = 0
    try:
        for key, _ in sel.select(0):
            try:
                if not key.fileobj.recv(65536):
                    closed += 1
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
    finally:
        sel.close()
    return closed


@dataclass
class IdleResult:
    server: str
    ok: bool = False
    error: str | None = None
    connections: int = 0
    before_kib: int = 0
    after_kib: int = 0
    after_close_kib: int = 0
    b_per_conn: float | None = None
    open_s: float | None = None
    processes: list = field(default_factory=list)


def tree_rss_kib(pid: int) -> tuple[int, list]:
    procs = [(p, harness.comm(p), harness.rss_kib(p)) for p in harness.process_tree(pid)]
    return sum(r for _, _, r in procs), procs


def idle_one(args, name: str) -> IdleResult:
    res = IdleResult(name)
    proc = None
    socks: list[socket.socket] = []
    try:
        proc, port, log = start_server(args, name, args.idle)
        check_ws(name, port, [32])
        warm = open_idle_websockets(port, 100, 100, args.timeout)
        for s in warm:
            s.close()
        time.sleep(args.settle)
        res.before_kib, _ = tree_rss_kib(proc.pid)
        t0 = time.monotonic()
        socks = open_idle_websockets(port, args.idle, args.batch, args.timeout)
        res.open_s = time.monotonic() - t0
        res.connections = len(socks)
        time.sleep(args.settle)
        res.after_kib, res.processes = tree_rss_kib(proc.pid)
        closed = count_closed(socks)
        if closed:
            raise BenchError(f"{closed} of {len(socks)} WebSockets were closed while idle")
        for s in socks:
            s.close()
        socks = []
        time.sleep(args.settle)
        res.after_close_kib, _ = tree_rss_kib(proc.pid)
        res.b_per_conn = (res.after_kib - res.before_kib) * 1024 / res.connections
        res.ok = True
    except harness.BenchError as exc:
        res.error = str(exc)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        res.error = f"{type(exc).__name__}: {exc}"
    finally:
        for s in socks:
            s.close()
        if proc is not None:
            harness._kill_group(proc)
    return res


# --------------------------------------------------------------------------------------------
# Report


def per_cpu(r: EchoResult) -> float | None:
    return r.msgs / (r.cpu_pct / 100.0) if r.ok and r.cpu_pct else None


def ratio(a, b) -> str:
    return f"x{a / b:.2f}" if a is not None and b not in (None, 0) else "pending"


def print_report(args, echo: list[EchoResult], idle_res: list[IdleResult], machine: dict,
                 notes: list[str]):
    print()
    print(f"date {machine['date']}; {machine['nproc']} CPUs: {machine['cpu']}; "
          f"kernel {machine['kernel']}")
    print(f"python {machine['python']}; "
          + ", ".join(f"{k} {v}" for k, v in machine["packages"].items())
          + f"; websockets {machine.get('websockets', '?')}; repo at {machine['repo_commit']}")
    if "asgid" in args.servers:
        print(f"asgid: {machine['asgid_binary']}")
    if echo:
        print(f"echo: server on CPU {args.server_cpu}, bench/ws_client.c on CPU {args.client_cpu} "
              f"({args.client_procs} process(es)); {args.connections} connections, one binary "
              f"message in flight each; {args.warmup:g} s warm-up, {args.duration:g} s measured; "
              f"{args.repeat} round(s), servers alternating (median shown)")
        print()
        header = (f"{'server':<8} {'size':>6} {'msg/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
                  f"{'CPU%':>5} {'client%':>7} {'other%':>6} {'msg/CPU-s':>9}")
        print(header)
        print("-" * len(header))
        for r in echo:
            if r.ok:
                print(f"{r.server:<8} {r.size:>6} {r.msgs:>10.0f} {r.p50_ms:>8.2f} "
                      f"{r.p99_ms:>8.2f} {harness.fmt(r.cpu_pct, '.0f'):>5} "
                      f"{r.client_cpu_pct:>7.0f} {harness.fmt(r.other_cpu_pct, '.0f'):>6} "
                      f"{harness.fmt(per_cpu(r), '.0f'):>9}")
            else:
                print(f"{r.server:<8} {r.size:>6} {'FAILED':>10}  "
                      f"({(r.error or '').splitlines()[0]})")
        print()
        print("CPU%: server process tree during the measured window (100 = one core); client%: "
              "the load generator over its whole run (near 100: client-bound); other%: the rest "
              "of the machine during the window (worst round; should be ~0); msg/CPU-s: "
              "messages per second of server CPU time (cost per message; less sensitive to "
              "other load)")
    if idle_res:
        print()
        print(f"idle: {args.idle} WebSockets after the handshake, silent for {args.settle:g} s; "
              f"RSS summed over the server's process tree")
        print()
        header = (f"{'server':<8} {'RSS MB before':>13} {'after':>8} {'closed':>8} "
                  f"{'B/WebSocket':>12} {'open s':>7}")
        print(header)
        print("-" * len(header))
        for r in idle_res:
            if r.ok:
                print(f"{r.server:<8} {r.before_kib / 1024:>13.1f} {r.after_kib / 1024:>8.1f} "
                      f"{r.after_close_kib / 1024:>8.1f} {r.b_per_conn:>12.0f} {r.open_s:>7.1f}")
            else:
                print(f"{r.server:<8} FAILED ({(r.error or '').splitlines()[0]})")
    print()
    print("Ratios (asgid / peer): msg/s higher is better, p99 and memory lower are better")
    by = {(r.server, r.size): r for r in echo if r.ok}
    idle_by = {r.server: r for r in idle_res if r.ok}
    for peer in ("uvicorn", "granian"):
        if peer not in args.servers or "asgid" not in args.servers:
            continue
        for size in args.sizes if echo else []:
            a, p = by.get(("asgid", size)), by.get((peer, size))
            print(f"  echo {size:>6} B asgid/{peer}: msg/s "
                  f"{ratio(a and a.msgs, p and p.msgs)}   p99 {ratio(a and a.p99_ms, p and p.p99_ms)}"
                  f"   msg/CPU-s {ratio(a and per_cpu(a), p and per_cpu(p))}")
        if idle_res:
            a, p = idle_by.get("asgid"), idle_by.get(peer)
            print(f"  idle memory   asgid/{peer}: bytes per WebSocket "
                  f"{ratio(a and a.b_per_conn, p and p.b_per_conn)}")
    if "uvicorn" in args.servers and "granian" in args.servers:
        for size in args.sizes if echo else []:
            a, p = by.get(("granian", size)), by.get(("uvicorn", size))
            print(f"  echo {size:>6} B granian/uvicorn: msg/s "
                  f"{ratio(a and a.msgs, p and p.msgs)}   p99 {ratio(a and a.p99_ms, p and p.p99_ms)}"
                  f"   msg/CPU-s {ratio(a and per_cpu(a), p and per_cpu(p))}")
        if idle_res:
            a, p = idle_by.get("granian"), idle_by.get("uvicorn")
            print(f"  idle memory   granian/uvicorn: bytes per WebSocket "
                  f"{ratio(a and a.b_per_conn, p and p.b_per_conn)}")
    print()
    print("Verification and anomalies:")
    for r in echo:
        if r.ok and r.proof:
            print(f"  {r.server}/{r.size}: WebSocket app saw loop={r.proof['ws']['loop']}, "
                  f"called from {r.proof['ws']['ws_called_from']}")
        if r.ok and r.other_cpu_pct is not None and r.other_cpu_pct > args.quiet_threshold:
            print(f"  {r.server}/{r.size}: other processes used {r.other_cpu_pct:.0f}% of a CPU "
                  f"during a measured window: figures disturbed")
        if r.ok and r.client_cpu_pct >= 90:
            print(f"  {r.server}/{r.size}: the load generator used {r.client_cpu_pct:.0f}% of its "
                  f"CPU: the figure may be client-bound")
    for n in notes:
        print(f"  NOTE: {n}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--sizes", default="32,65536", help="message sizes in bytes (32,65536)")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--client-procs", type=int, default=1)
    ap.add_argument("--idle", type=int, default=10000, help="idle WebSockets (0: skip)")
    ap.add_argument("--no-echo", action="store_true", help="only the idle measurement")
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--asgid", type=Path, default=harness.DEFAULT_ASGID)
    ap.add_argument("--asgid-arg", action="append", default=[])
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--client-cpu", default="1")
    ap.add_argument("--start-timeout", type=float, default=20.0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--quiet-threshold", type=float, default=10.0,
                    help="before each run wait until the machine's busy CPU is below this %% "
                    "of one CPU (as bench/run.py; 0 disables)")
    ap.add_argument("--quiet-timeout", type=float, default=180.0)
    ap.add_argument("--quiet-window", type=float, default=3.0)
    args = ap.parse_args()
    args.servers = [s for s in args.servers.split(",") if s]
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.asgid = args.asgid.absolute()
    args.asgid_baseline, args.baseline_label = None, "asgid-before"  # for harness.server_argv
    for s in args.servers:
        if s not in SERVERS:
            ap.error(f"unknown server {s!r}")
    if args.client_procs < 1 or args.connections < args.client_procs:
        ap.error("--client-procs must be between 1 and --connections")
    args.nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if args.idle:
        idle.raise_client_nofile(args.idle + 200)

    signal.signal(signal.SIGTERM, harness._on_signal)
    machine = harness.machine_info(args.asgid)
    try:
        from importlib.metadata import version

        machine["websockets"] = version("websockets")
    except Exception:  # noqa: BLE001
        pass
    notes: list[str] = []
    servers = list(args.servers)
    echo: list[EchoResult] = []
    idle_res: list[IdleResult] = []
    if "asgid" in servers:
        why = harness.asgid_status(args.asgid)
        if why:
            notes.append(f"asgid is missing ({why}); its figures are pending")
            servers.remove("asgid")
    try:
        if not args.no_echo:
            exe = build_client(args)
            for size in args.sizes:
                rounds: dict[str, list[EchoResult]] = {n: [] for n in servers}
                for rnd in range(args.repeat):
                    for name in servers if rnd % 2 == 0 else servers[::-1]:
                        print(f"[{time.strftime('%H:%M:%S')}] echo {name} {size} B round "
                              f"{rnd + 1}/{args.repeat}", file=sys.stderr, flush=True)
                        r = echo_one(args, exe, name, size)
                        print(f"    {r.msgs:.0f} msg/s, p99 {r.p99_ms:.2f} ms, client CPU "
                              f"{r.client_cpu_pct:.0f}%" if r.ok else f"    FAILED: {r.error}",
                              file=sys.stderr, flush=True)
                        rounds[name].append(r)
                echo += [combine_echo(rounds[n]) for n in servers]
        if args.idle:
            for name in servers:
                print(f"[{time.strftime('%H:%M:%S')}] idle {name}: {args.idle} WebSockets",
                      file=sys.stderr, flush=True)
                r = idle_one(args, name)
                print(f"    {r.b_per_conn:.0f} B per WebSocket" if r.ok else f"    FAILED: {r.error}",
                      file=sys.stderr, flush=True)
                idle_res.append(r)
    except KeyboardInterrupt:
        print("interrupted; stopping servers", file=sys.stderr)
        return 130
    finally:
        harness.kill_all()
    print_report(args, echo, idle_res, machine, notes)
    if args.json:
        args.json.write_text(json.dumps({
            "machine": machine,
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                         if k != "json"},
            "notes": notes,
            "echo": [r.__dict__ for r in echo],
            "idle": [r.__dict__ for r in idle_res],
        }, indent=2, default=str) + "\n")
    return 0 if all(r.ok for r in echo) and all(r.ok for r in idle_res) else 1


if __name__ == "__main__":
    sys.exit(main())
