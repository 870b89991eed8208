#!/usr/bin/env python3
"""Memory per idle keep-alive connection: asgid against uvicorn (uvloop + httptools), granian
and, when an nginx binary is at hand, nginx (the ceiling).

Run with the project's virtualenv:

    .venv/bin/python bench/idle_connections.py [--connections 5000]
        [--servers asgid,uvicorn,granian,nginx] [--asgid-baseline OLD_BINARY] [--repeat 1]
        [--json out.json]

For every server, one worker each, serving bench/apps.py's hello world (nginx: `return 200`):
the server is started under `prlimit --nofile=L:L` (L = this process's hard limit; a sandbox may
not allow raising it),
checked as bench/run.py checks it (uvicorn must prove uvloop + httptools), warmed up with a few
connections, and then:

1. the worker's RSS and PSS (/proc/PID/smaps_rollup) are read: "before";
2. N connections are opened from this process, in batches, each sending one GET and reading its
   whole response, so that every one is a keep-alive connection that has served a request;
3. after --settle seconds with all of them idle, RSS and PSS are read again: "after"; every
   connection is checked to be still open (no EOF), else the figure would be too low;
4. the connections are closed and, --settle seconds later, the RSS is read once more (what the
   worker gives back).

Bytes per idle connection = (after - before) / N. Each server gets a long keep-alive timeout so
that it does not close the idle connections while they are counted: asgid and uvicorn
`--timeout-keep-alive 300`, granian `--http1-header-read-timeout 60000` (its largest),
nginx `keepalive_timeout 300s`. Granian also gets `--backpressure N+...`: its default (1024)
caps the connections it serves at once, and the ones past it wait unanswered.

The client is loopback-only and bounded: at most --connections sockets, each step under a
deadline, and every process this script starts is killed on any exit path. Kernel socket
buffers are not in any process's RSS, so they are not counted (the same for every server).
"""

from __future__ import annotations

import argparse
import json
import os
import re
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

import run as harness  # bench/run.py: process handling, HTTP checks, the servers' command lines

BENCH_DIR = harness.BENCH_DIR
RESULTS_DIR = harness.RESULTS_DIR
HOST = harness.HOST  # loopback only

SERVERS = ("asgid", "uvicorn", "granian", "nginx")
KEEP_ALIVE_S = 300
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: idle-connections\r\n\r\n"
HELLO = b"Hello, world!"

NGINX_CONF = """\
worker_processes 1;
daemon off;
master_process on;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
worker_rlimit_nofile {nofile};
events {{ worker_connections {worker_connections}; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_timeout {keep_alive}s;
    keepalive_requests 100000;
    server {{
        listen {host}:{port} backlog=4096;
        location / {{
            default_type text/plain;
            return 200 "Hello, world!";
        }}
    }}
}}
"""


class BenchError(harness.BenchError):
    pass


# --------------------------------------------------------------------------------------------
# /proc


def smaps_rollup_kib(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            m = re.match(r"(\w+):\s+(\d+) kB", line)
            if m:
                out[m.group(1)] = int(m.group(2))
    return out


def memory(pid: int) -> dict[str, int]:
    """RSS and PSS of pid in KiB, and its anonymous (heap) part."""
    r = smaps_rollup_kib(pid)
    return {"rss_kib": r.get("Rss", 0), "pss_kib": r.get("Pss", 0), "anon_kib": r.get("Anonymous", 0)}


def nofile_soft(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                soft = line.split()[3]
                return None if soft == "unlimited" else int(soft)
    except OSError:
        pass
    return None


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


# --------------------------------------------------------------------------------------------
# The client: plain sockets, one request each, responses read with a selector.


def _response_done(buf: bytes) -> tuple[bool, int | None]:
    """(complete?, status) of a buffered HTTP/1.1 response with a content-length."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False, None
    head = buf[:end].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    length = 0
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    return len(buf) >= end + 4 + length, status


def open_idle_connections(port: int, n: int, batch: int, timeout: float) -> list[socket.socket]:
    """Opens n connections, each having sent one request and read its whole 200 response."""
    socks: list[socket.socket] = []
    try:
        while len(socks) < n:
            todo = [socket.create_connection((HOST, port), timeout=timeout) for _ in range(min(batch, n - len(socks)))]
            socks += todo
            sel = selectors.DefaultSelector()
            bufs: dict[socket.socket, bytes] = {}
            for s in todo:
                s.sendall(REQUEST)
                s.setblocking(False)
                bufs[s] = b""
                sel.register(s, selectors.EVENT_READ)
            deadline = time.monotonic() + timeout
            pending = len(todo)
            while pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError(f"{pending} of a batch of {len(todo)} responses did not arrive within {timeout:g} s")
                for key, _ in sel.select(left):
                    s = key.fileobj
                    data = s.recv(65536)
                    if not data:
                        raise BenchError(f"server closed a connection before answering (after {len(socks)} opened)")
                    bufs[s] += data
                    done, status = _response_done(bufs[s])
                    if done:
                        if status != 200 or not bufs[s].endswith(HELLO):
                            raise BenchError(f"unexpected response: {bufs[s][:200]!r}")
                        sel.unregister(s)
                        pending -= 1
            sel.close()
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks


def count_closed(socks: list[socket.socket]) -> int:
    """Connections the server has closed (readable with EOF) or written to since."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    try:
        return len(sel.select(0))
    finally:
        sel.close()


def raise_client_nofile(n: int) -> int:
    want = n + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError) as exc:
            raise SystemExit(f"cannot raise this process's open-files limit to {want} (now {soft}/{hard}): {exc}")
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --------------------------------------------------------------------------------------------
# Servers


def server_argv(args, name: str, port: int) -> list[str]:
    if name == "nginx":
        conf_dir = RESULTS_DIR / f"nginx-{port}"
        conf_dir.mkdir(parents=True, exist_ok=True)
        conf = conf_dir / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                dir=conf_dir,
                nofile=args.nofile,
                worker_connections=args.connections + 1024,
                keep_alive=KEEP_ALIVE_S,
                host=HOST,
                port=port,
            )
        )
        return [str(args.nginx), "-p", str(conf_dir), "-e", str(conf_dir / "error.log"), "-c", str(conf)]
    argv = harness.server_argv(args, name, port, harness.SCENARIOS["hello"])
    if harness.asgid_binary(args, name) is not None or name == "uvicorn":
        extra = ["--timeout-keep-alive", str(KEEP_ALIVE_S)]
    elif name == "granian":
        # Its --backpressure (default backlog/workers = 1024) caps the connections it serves at
        # once: beyond it, new connections wait unanswered.
        extra = ["--http1-header-read-timeout", "60000", "--backpressure", str(args.connections + args.warmup + 64)]
    else:
        raise ValueError(name)
    return argv[:-1] + extra + argv[-1:]  # options before the app


@dataclass
class Result:
    server: str
    ok: bool = False
    error: str | None = None
    command: str | None = None
    worker_pid: int | None = None
    worker_nofile: int | None = None
    connections: int = 0
    still_open: int | None = None
    worker_fds: int | None = None
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    after_close: dict = field(default_factory=dict)
    rss_b_per_conn: float | None = None
    pss_b_per_conn: float | None = None
    anon_b_per_conn: float | None = None
    open_s: float | None = None
    info: dict | None = None
    proof: dict | None = None
    rounds: list = field(default_factory=list)


def worker_pid_of(name: str, proc: subprocess.Popen, info: dict | None) -> int:
    if info is not None:
        return int(info["pid"])
    # nginx: the one worker is the master's only child
    kids = [p for p in harness.process_tree(proc.pid) if p != proc.pid]
    if len(kids) != 1:
        raise BenchError(f"{name}: expected one worker process under {proc.pid}, found {kids}")
    return kids[0]


def measure_one(args, name: str) -> Result:
    port = harness.free_port()
    argv = ["prlimit", f"--nofile={args.nofile}:{args.nofile}", *server_argv(args, name, port)]
    RESULTS_DIR.mkdir(exist_ok=True)
    log = RESULTS_DIR / f"idle-{name}.log"
    res = Result(name, command=" ".join(argv))
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            argv, cwd=BENCH_DIR, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
            env=env, start_new_session=True,
        )  # fmt: skip
    harness._LIVE.append(proc)
    socks: list[socket.socket] = []
    try:
        harness.wait_ready(proc, port, args.start_timeout, log)
        if name != "nginx":
            _, _, data = harness.http_request(port, "GET", "/_info")
            res.info = json.loads(data)
            res.proof = harness.verify_server(name, res.info, log)
        res.worker_pid = pid = worker_pid_of(name, proc, res.info)
        res.worker_nofile = nofile_soft(pid)
        if res.worker_nofile is not None and res.worker_nofile < args.connections + 64:
            raise BenchError(f"the worker's open-files limit is {res.worker_nofile}, too low for {args.connections}")
        # Warm-up: a few connections and requests, so lazily built state is not counted as
        # per-connection cost. Then closed.
        warm = open_idle_connections(port, args.warmup, args.batch, args.timeout)
        for s in warm:
            s.close()
        time.sleep(args.settle)
        res.before = memory(pid)
        t0 = time.monotonic()
        socks = open_idle_connections(port, args.connections, args.batch, args.timeout)
        res.open_s = time.monotonic() - t0
        res.connections = len(socks)
        time.sleep(args.settle)
        res.after = memory(pid)
        res.worker_fds = open_fds(pid)
        res.still_open = len(socks) - count_closed(socks)
        if res.still_open != len(socks):
            raise BenchError(f"only {res.still_open} of {len(socks)} connections stayed open while idle")
        if proc.poll() is not None:
            raise BenchError(f"server exited ({proc.returncode}); log: {harness.tail(log)}")
        for s in socks:
            s.close()
        socks = []
        time.sleep(args.settle)
        res.after_close = memory(pid)
        n = res.connections
        res.rss_b_per_conn = (res.after["rss_kib"] - res.before["rss_kib"]) * 1024 / n
        res.pss_b_per_conn = (res.after["pss_kib"] - res.before["pss_kib"]) * 1024 / n
        res.anon_b_per_conn = (res.after["anon_kib"] - res.before["anon_kib"]) * 1024 / n
        res.ok = True
    except harness.BenchError as exc:
        res.error = str(exc)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        res.error = f"{type(exc).__name__}: {exc}; log: {harness.tail(log)}"
    finally:
        for s in socks:
            s.close()
        harness._kill_group(proc)
    return res


def combine(rounds: list[Result]) -> Result:
    """One row from its rounds: the medians of the per-connection figures (the last round's
    details)."""
    ok = [r for r in rounds if r.ok]
    if len(ok) != len(rounds):
        return next(r for r in rounds if not r.ok)
    out = rounds[-1]
    out.rounds = [
        {"rss_b_per_conn": r.rss_b_per_conn, "pss_b_per_conn": r.pss_b_per_conn, "anon_b_per_conn": r.anon_b_per_conn}
        for r in rounds
    ]
    for key in ("rss_b_per_conn", "pss_b_per_conn", "anon_b_per_conn"):
        setattr(out, key, statistics.median(getattr(r, key) for r in rounds))
    return out


# --------------------------------------------------------------------------------------------
# Report


def print_report(args, results: list[Result], machine: dict) -> None:
    print()
    print(f"date {machine['date']}; {machine['nproc']} CPUs: {machine['cpu']}; kernel {machine['kernel']}")
    print(
        f"python {machine['python']}; "
        + ", ".join(f"{k} {v}" for k, v in machine["packages"].items())
        + f"; repo at {machine['repo_commit']}"
    )
    if "asgid" in args.servers:
        print(f"asgid: {machine['asgid_binary']}")
    if args.asgid_baseline is not None:
        print(f"{args.baseline_label}: {machine['baseline_binary']}")
    if "nginx" in args.servers:
        print(f"nginx: {args.nginx} ({machine.get('nginx_version', '?')})")
    print(
        f"{args.connections} keep-alive connections, each after one GET / answered 200, idle {args.settle:g} s; "
        f"one worker per server, started under prlimit --nofile={args.nofile}; "
        f"{args.repeat} round(s), servers alternating (median shown)"
    )
    print()
    w = max([8] + [len(r.server) for r in results])
    header = (
        f"{'server':<{w}} {'RSS MB before':>13} {'after':>7} {'closed':>7} {'PSS MB before':>13} {'after':>7}"
        f" {'RSS B/conn':>10} {'PSS B/conn':>10} {'anon B/conn':>11} {'open':>5} {'fds':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if not r.ok:
            print(f"{r.server:<{w}} FAILED ({(r.error or '').splitlines()[0]})")
            continue
        print(
            f"{r.server:<{w}} {r.before['rss_kib'] / 1024:>13.1f} {r.after['rss_kib'] / 1024:>7.1f}"
            f" {r.after_close['rss_kib'] / 1024:>7.1f} {r.before['pss_kib'] / 1024:>13.1f}"
            f" {r.after['pss_kib'] / 1024:>7.1f} {r.rss_b_per_conn:>10.0f} {r.pss_b_per_conn:>10.0f}"
            f" {r.anon_b_per_conn:>11.0f} {r.still_open:>5} {r.worker_fds:>6}"
        )
    print()
    print("MB: the worker process's memory (the one that holds the connections), from smaps_rollup:")
    print("before = after a warm-up, with no connection open; after = with all connections open and idle;")
    print("closed = RSS once they were closed again. B/conn = (after - before) / connections;")
    print("anon = the anonymous (heap) part of RSS. open = connections still open when measured;")
    print("fds = the worker's open file descriptors at that moment.")
    if args.repeat > 1:
        print()
        print("Per-round RSS B/conn:")
        for r in results:
            if r.ok:
                print(f"  {r.server:<{w}} " + " ".join(f"{x['rss_b_per_conn']:.0f}" for x in r.rounds))

    by = {r.server: r for r in results if r.ok}
    print()
    print("Ratios of RSS (PSS) bytes per idle connection: lower is better")
    names = harness.asgids(args)
    pairs = [(a, p) for a in names for p in ("uvicorn", "granian", "nginx")]
    if args.asgid_baseline is not None:
        pairs.append(("asgid", args.baseline_label))
    for a, p in pairs:
        if a not in args.servers or p not in args.servers:
            continue
        ra, rp = by.get(a), by.get(p)
        if ra is None or rp is None:
            print(f"  {a}/{p}: pending ({a if ra is None else p} has no figures)")
            continue
        print(
            f"  {a + '/' + p:<22} RSS x{ra.rss_b_per_conn / rp.rss_b_per_conn:.2f}"
            f"   PSS x{ra.pss_b_per_conn / rp.pss_b_per_conn:.2f}"
        )
    print()
    print("Verification:")
    for r in results:
        if r.ok and r.proof:
            print(
                f"  {r.server}: startup proof loop={r.proof['loop']} protocol={r.proof['http_protocol_class']}; "
                f"app saw loop={r.proof['loop_seen_by_app']}, called from {r.proof['app_called_from']}"
            )
        elif r.ok and r.info:
            print(f"  {r.server}: app saw loop={r.info.get('loop')}; worker pid {r.worker_pid}")
        if r.ok:
            print(f"    {r.server} worker open-files limit {r.worker_nofile}; command: {r.command}")
    for r in results:
        if not r.ok:
            print(f"  {r.server} FAILED: {r.error}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connections", type=int, default=5000, help="idle keep-alive connections to open (5000)")
    ap.add_argument("--servers", default="asgid,uvicorn,granian,nginx", help="comma-separated subset of " + ",".join(SERVERS) + " (nginx is skipped if not found)")
    ap.add_argument("--asgid", type=Path, default=harness.DEFAULT_ASGID, help=f"asgid binary (default {harness.DEFAULT_ASGID})")
    ap.add_argument("--asgid-arg", action="append", default=[], help="extra option for asgid (repeatable; given to the baseline too)")
    ap.add_argument("--asgid-baseline", type=Path, help="a second asgid binary measured beside the first (e.g. built before a change)")
    ap.add_argument("--baseline-label", default="asgid-before", help="its name in the report (asgid-before)")
    ap.add_argument("--nginx", type=Path, default=shutil.which("nginx"), help="nginx binary (default: nginx on PATH)")
    ap.add_argument("--repeat", type=int, default=1, help="rounds per server, servers alternating; medians shown (1)")
    ap.add_argument("--warmup", type=int, default=50, help="connections opened and closed before 'before' (50)")
    ap.add_argument("--batch", type=int, default=200, help="connections opened at once (200)")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds idle before each reading (2)")
    ap.add_argument("--timeout", type=float, default=20.0, help="deadline for one batch's responses (s)")
    ap.add_argument("--start-timeout", type=float, default=30.0, help="seconds to wait for a server to answer")
    ap.add_argument("--json", type=Path, help="write all figures to this file")
    args = ap.parse_args()
    args.servers = [s for s in args.servers.split(",") if s]
    for s in args.servers:
        if s not in SERVERS:
            ap.error(f"unknown server {s!r}")
    if args.connections <= 0 or args.repeat <= 0 or args.batch <= 0 or args.warmup < 0:
        ap.error("--connections, --repeat and --batch must be positive")
    args.asgid = args.asgid.absolute()
    if args.asgid_baseline is not None:
        args.asgid_baseline = args.asgid_baseline.absolute()
        if args.baseline_label in SERVERS or not re.fullmatch(r"[\w.+-]+", args.baseline_label):
            ap.error(f"--baseline-label {args.baseline_label!r} must be a plain name other than " + ",".join(SERVERS))
        at = args.servers.index("asgid") + 1 if "asgid" in args.servers else 0
        args.servers.insert(at, args.baseline_label)
    notes = []
    if "nginx" in args.servers and (args.nginx is None or not os.access(args.nginx, os.X_OK)):
        notes.append(f"nginx skipped: no nginx binary ({args.nginx})")
        args.servers.remove("nginx")
    for name in harness.asgids(args):
        if name in args.servers:
            why = harness.asgid_status(harness.asgid_binary(args, name))
            if why:
                ap.error(f"{name}: {why}")
    # Servers get the hard open-files limit as their soft one (raising the hard limit needs
    # CAP_SYS_RESOURCE, which a sandbox may not have).
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    args.nofile = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    if args.nofile < args.connections + 1024:
        ap.error(f"the open-files hard limit {args.nofile} is too low for {args.connections} connections")
    # harness.server_argv reads these
    args.asgid_arg = list(args.asgid_arg)
    client_limit = raise_client_nofile(args.connections + args.warmup)

    signal.signal(signal.SIGTERM, harness._on_signal)
    machine = harness.machine_info(args.asgid, args.asgid_baseline)
    if "nginx" in args.servers:
        try:
            machine["nginx_version"] = subprocess.run(
                [str(args.nginx), "-v"], capture_output=True, text=True, timeout=10
            ).stderr.strip()
        except (OSError, subprocess.TimeoutExpired):
            pass
    rounds: dict[str, list[Result]] = {name: [] for name in args.servers}
    try:
        for rnd in range(args.repeat):
            for name in args.servers:
                if rounds[name] and not rounds[name][-1].ok:
                    continue
                print(f"[{time.strftime('%H:%M:%S')}] {name} round {rnd + 1}/{args.repeat} ...", file=sys.stderr, flush=True)
                r = measure_one(args, name)
                if r.ok:
                    print(
                        f"    {r.connections} connections in {r.open_s:.1f} s: RSS {r.rss_b_per_conn:.0f} B/conn, "
                        f"PSS {r.pss_b_per_conn:.0f} B/conn",
                        file=sys.stderr,
                        flush=True,
                    )
                else:
                    print(f"    FAILED: {r.error}", file=sys.stderr, flush=True)
                rounds[name].append(r)
    except KeyboardInterrupt:
        print("interrupted; stopping servers", file=sys.stderr)
        return 130
    finally:
        harness.kill_all()
    results = [combine(rounds[name]) for name in args.servers]
    print_report(args, results, machine)
    print(f"  client open-files limit {client_limit}")
    for n in notes:
        print(f"  NOTE: {n}")
    if args.json:
        payload = {
            "machine": machine,
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "json"},
            "notes": notes,
            "results": [r.__dict__ for r in results],
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n")
        print(f"\nwrote {args.json}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
