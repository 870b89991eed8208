#!/usr/bin/env python3
"""Side-by-side HTTP benchmark: asgid against uvicorn (uvloop + httptools) and granian.

Run with the project's virtualenv (it has uvicorn, granian, uvloop, httptools):

    /work/main/.venv/bin/python bench/run.py [--duration 10] [--connections 64]
        [--servers asgid,uvicorn,granian] [--scenarios hello,json,post-echo] [--json out.json]
        [--asgid-baseline OLD_BINARY [--baseline-label asgid-before]]

For every scenario and server, one worker each: the server is started pinned to one CPU
(taskset -c 0), polled until it answers, its responses are checked, it is warmed up with wrk,
then measured with `wrk -t1 -cN -dDs --latency` pinned to the other CPU (taskset -c 1) on
127.0.0.1. req/s and p99 come from wrk; RSS is read from /proc right after the measured run,
both for the process that served the requests (the pid the app reports on GET /_info) and
summed over the server's whole process tree. The server is stopped after each scenario, and
every process this script starts is killed on any exit path.

With --asgid-baseline, a second asgid binary (e.g. one built before a change) is measured in
the same run, as one more server in the alternating rounds (label: --baseline-label), and the
report adds its ratios to the peers and the new binary's ratio to it (after/before). Both asgid
binaries get the same options (--asgid-arg included).

If the asgid binary is missing or does not answer HTTP, the peers are still measured and the
report says that asgid's figures are missing (the same for the baseline binary).
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
VENV = REPO_DIR / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
DEFAULT_ASGID = REPO_DIR / "build" / "master" / "asgid"
RESULTS_DIR = BENCH_DIR / "results"  # server logs; ignored by git
HOST = "127.0.0.1"  # all traffic stays on loopback

SERVERS = ("asgid", "uvicorn", "granian")


@dataclass(frozen=True)
class Scenario:
    name: str
    target: str  # module:attribute, relative to bench/
    method: str
    lua: str | None  # wrk script, relative to bench/
    expect_type: str
    expect_body: bytes | None  # exact body, or None for "echo of the request body"


SCENARIOS = {
    "hello": Scenario("hello", "apps:hello", "GET", None, "text/plain", b"Hello, world!"),
    "json": Scenario(
        "json",
        "apps:json",
        "GET",
        None,
        "application/json",
        json.dumps({"message": "Hello, world!", "id": 42, "ok": True}).encode(),
    ),
    "post-echo": Scenario("post-echo", "apps:echo", "POST", "post.lua", "application/octet-stream", None),
}
POST_BODY = b"a" * 10240  # must match bench/post.lua


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Process management: every child is started in its own session and tracked here, so that a
# finally block (and SIGTERM/SIGINT) can always kill the whole group.

_LIVE: list[subprocess.Popen] = []


def _kill_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # Anything left in the group (a worker that ignored SIGTERM, or outlived its master).
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    if proc in _LIVE:
        _LIVE.remove(proc)


def kill_all() -> None:
    for proc in list(_LIVE):
        _kill_group(proc, grace=3.0)


def _on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


# --------------------------------------------------------------------------------------------
# /proc helpers


def _read_stat(pid: int) -> tuple[int, int] | None:
    """(ppid, utime+stime in clock ticks) of pid, or None if gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2 :].split()
    return int(rest[1]), int(rest[11]) + int(rest[12])


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _read_stat(int(entry))
            if st is not None:
                children.setdefault(st[0], []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if Path(f"/proc/{pid}").exists():
            out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        st = _read_stat(pid)
        if st is not None:
            total += st[1]
    return total


def machine_busy_ticks() -> int:
    """Busy CPU time of the whole machine (all CPUs, every process, also ones we cannot see)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return user + nice + system + irq + softirq + steal


def machine_busy_pct(seconds: float) -> float:
    """Busy CPU of the whole machine over `seconds`, in % of one CPU."""
    b0, t0 = machine_busy_ticks(), time.monotonic()
    time.sleep(seconds)
    b1, t1 = machine_busy_ticks(), time.monotonic()
    return 100.0 * (b1 - b0) / os.sysconf("SC_CLK_TCK") / (t1 - t0)


def wait_quiet(args) -> float:
    """Waits (bounded) until the machine is idle before a round; returns the last load seen."""
    deadline = time.monotonic() + args.quiet_timeout
    load = machine_busy_pct(args.quiet_window)
    announced = False
    while load > args.quiet_threshold and time.monotonic() < deadline:
        if not announced:
            print(
                f"    machine busy ({load:.0f}% of a CPU used by other processes); waiting up to "
                f"{args.quiet_timeout:.0f} s for it to calm down",
                file=sys.stderr,
                flush=True,
            )
            announced = True
        time.sleep(1.0)
        load = machine_busy_pct(args.quiet_window)
    if load > args.quiet_threshold:
        print(f"    still busy ({load:.0f}%); measuring anyway", file=sys.stderr, flush=True)
    return load


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


# --------------------------------------------------------------------------------------------
# HTTP checks (standard library only)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def http_request(port: int, method: str, path: str, body: bytes | None = None, timeout: float = 2.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {}
        if body is not None:
            headers["Content-Type"] = "application/octet-stream"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def wait_ready(proc: subprocess.Popen, port: int, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    last = "no attempt"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"server exited with status {proc.returncode} before answering; log: {tail(log)}")
        try:
            status, _, _ = http_request(port, "GET", "/_info", timeout=1.0)
            if status == 200:
                return
            last = f"HTTP {status}"
        except (OSError, http.client.HTTPException) as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.1)
    raise BenchError(f"server did not answer within {timeout:.0f} s ({last}); log: {tail(log)}")


def check_responses(port: int, sc: Scenario) -> dict:
    body = POST_BODY if sc.method == "POST" else None
    expect = POST_BODY if sc.expect_body is None else sc.expect_body
    for _ in range(3):  # a few requests, each on a new connection
        status, headers, data = http_request(port, sc.method, "/", body=body)
        problems = []
        if status != 200:
            problems.append(f"status {status}")
        if data != expect:
            problems.append(f"body {data[:60]!r} ({len(data)} bytes) != expected ({len(expect)} bytes)")
        if headers.get("content-type") != sc.expect_type:
            problems.append(f"content-type {headers.get('content-type')!r}")
        if headers.get("content-length") != str(len(expect)):
            problems.append(f"content-length {headers.get('content-length')!r}")
        if problems:
            raise BenchError(f"{sc.name}: wrong response: {'; '.join(problems)}")
    return {"status": status, "headers": headers}


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        text = ""
    return text or "(empty)"


# --------------------------------------------------------------------------------------------
# wrk

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _to_ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise BenchError(f"cannot parse wrk duration {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(out: str, latency: bool = True) -> dict:
    res: dict = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise BenchError(f"no Requests/sec in wrk output:\n{out}")
    res["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in ([\d.]+\w+), ([\d.]+\w+) read", out)
    if m:
        res["requests"] = int(m.group(1))
        res["elapsed"] = m.group(2)
        res["read"] = m.group(3)
    lat = {}
    for pct, val in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)\s*$", out, re.M):
        lat[pct] = _to_ms(val)
    if latency and "99" not in lat:
        raise BenchError(f"no p99 in wrk output:\n{out}")
    res["latency_ms"] = lat
    res["p99_ms"] = lat.get("99")
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
        if m
        else {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    )
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non_2xx_3xx"] = int(m.group(1)) if m else 0
    return res


def run_wrk(args, port: int, sc: Scenario, duration: float, latency: bool) -> tuple[dict, str]:
    cmd = ["taskset", "-c", args.client_cpu, "wrk", "-t1", f"-c{args.connections}", f"-d{duration:g}s"]
    if latency:
        cmd.append("--latency")
    if sc.lua:
        cmd += ["-s", str(BENCH_DIR / sc.lua)]
    cmd.append(f"http://{HOST}:{port}/")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    _LIVE.append(proc)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    try:
        out, _ = proc.communicate(timeout=duration + 30)
    except subprocess.TimeoutExpired:
        _kill_group(proc, grace=1)
        raise BenchError(f"wrk did not finish within {duration + 30:.0f} s")
    finally:
        if proc in _LIVE:
            _LIVE.remove(proc)
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise BenchError(f"wrk failed ({proc.returncode}):\n{out}")
    res = parse_wrk(out, latency)
    # wrk is the only child reaped in this window (servers are reaped when stopped).
    res["client_cpu_pct"] = 100.0 * ((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)) / wall
    return res, " ".join(cmd)


# --------------------------------------------------------------------------------------------
# Servers


def asgid_binary(args, name: str) -> Path | None:
    """The binary a server name stands for if it is an asgid (the one under test or the
    baseline), else None."""
    if name == "asgid":
        return args.asgid
    if args.asgid_baseline is not None and name == args.baseline_label:
        return args.asgid_baseline
    return None


def asgids(args) -> list[str]:
    """Names of the asgid servers in this run: the binary under test, then the baseline."""
    return ["asgid"] + ([args.baseline_label] if args.asgid_baseline is not None else [])


def server_argv(args, name: str, port: int, sc: Scenario) -> list[str]:
    binary = asgid_binary(args, name)
    if binary is not None:
        return [
            str(binary),
            "--host", HOST, "--port", str(port),
            "--no-access-log",
            "--venv", str(VENV),
            *args.asgid_arg,
            sc.target,
        ]  # fmt: skip
    if name == "uvicorn":
        return [
            str(VENV_PYTHON), str(BENCH_DIR / "uvicorn_launch.py"),
            "--host", HOST, "--port", str(port),
            "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning",
            sc.target,
        ]  # fmt: skip
    if name == "granian":
        return [
            str(VENV / "bin" / "granian"),
            "--interface", "asgi", "--loop", "uvloop",
            "--workers", "1", "--runtime-threads", "1",
            "--no-access-log", "--log-level", "warning",
            "--host", HOST, "--port", str(port),
            sc.target,
        ]  # fmt: skip
    raise ValueError(name)


@dataclass
class Result:
    server: str
    scenario: str
    ok: bool
    error: str | None = None
    rps: float | None = None
    p99_ms: float | None = None
    worker_rss_mb: float | None = None
    tree_rss_mb: float | None = None
    cpu_pct: float | None = None
    client_cpu_pct: float | None = None
    other_cpu_pct: float | None = None
    rps_per_cpu: float | None = None
    rps_min: float | None = None
    rps_max: float | None = None
    runs: list = field(default_factory=list)
    processes: list = field(default_factory=list)
    info: dict | None = None
    proof: dict | None = None
    server_header: str | None = None
    command: str | None = None
    wrk_command: str | None = None


def verify_server(name: str, info: dict, log: Path) -> dict | None:
    """Refuses (BenchError) a uvicorn that does not serve with uvloop + httptools, or a granian
    whose app does not run on uvloop; returns uvicorn's proof (None for the others)."""
    if name == "uvicorn":
        m = re.search(r"^BENCH-PROOF (.*)$", log.read_text(errors="replace"), re.M)
        if not m:
            raise BenchError("uvicorn launcher printed no BENCH-PROOF line")
        proof = json.loads(m.group(1))
        stack = info.get("stack_modules", [])
        proof["app_called_from"] = [s for s in stack if s.startswith("uvicorn.protocols")]
        proof["loop_seen_by_app"] = info.get("loop")
        if not (
            proof["uvloop"]
            and proof["httptools"]
            and info.get("loop") == "uvloop.Loop"
            and "uvicorn.protocols.http.httptools_impl" in stack
        ):
            raise BenchError(f"uvicorn is not serving with uvloop + httptools: {proof}")
        return proof
    if name == "granian" and info.get("loop") != "uvloop.Loop":
        raise BenchError(f"granian's app runs on {info.get('loop')}, not uvloop")
    return None


def bench_one(args, name: str, sc: Scenario) -> Result:
    port = free_port()
    argv = server_argv(args, name, port, sc)
    RESULTS_DIR.mkdir(exist_ok=True)
    log = RESULTS_DIR / f"{name}-{sc.name}.log"
    res = Result(name, sc.name, ok=False, command=" ".join(["taskset", "-c", args.server_cpu, *argv]))
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            ["taskset", "-c", args.server_cpu, *argv],
            cwd=BENCH_DIR,
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    _LIVE.append(proc)
    try:
        wait_ready(proc, port, args.start_timeout, log)
        _, headers, data = http_request(port, "GET", "/_info")
        res.info = json.loads(data)
        check = check_responses(port, sc)
        res.server_header = check["headers"].get("server")
        res.proof = verify_server(name, res.info, log)

        if args.warmup > 0:
            warm, _ = run_wrk(args, port, sc, args.warmup, latency=False)
            res.runs.append({"warmup": True, **warm})
        tree = process_tree(proc.pid)
        t0, c0, m0 = time.monotonic(), cpu_ticks(tree), machine_busy_ticks()
        run, res.wrk_command = run_wrk(args, port, sc, args.duration, latency=True)
        t1, c1, m1 = time.monotonic(), cpu_ticks(process_tree(proc.pid)), machine_busy_ticks()
        hz = os.sysconf("SC_CLK_TCK")
        run["server_cpu_pct"] = 100.0 * (c1 - c0) / hz / (t1 - t0)
        # Whatever else ran on the machine meanwhile (other users, builds): the run's noise.
        run["other_cpu_pct"] = max(
            0.0, 100.0 * (m1 - m0) / hz / (t1 - t0) - run["server_cpu_pct"] - run["client_cpu_pct"]
        )
        res.runs.append(run)
        if proc.poll() is not None:
            raise BenchError(f"server exited during the run ({proc.returncode}); log: {tail(log)}")
        tree = process_tree(proc.pid)
        res.processes = [{"pid": p, "comm": comm(p), "rss_kib": rss_kib(p)} for p in tree]
        res.tree_rss_mb = sum(p["rss_kib"] for p in res.processes) / 1024
        worker_pid = res.info.get("pid")
        res.worker_rss_mb = rss_kib(worker_pid) / 1024 if worker_pid in tree else None
        res.rps, res.p99_ms = run["rps"], run["p99_ms"]
        res.cpu_pct, res.client_cpu_pct = run["server_cpu_pct"], run["client_cpu_pct"]
        res.other_cpu_pct = run["other_cpu_pct"]
        run["rps_per_cpu_s"] = run["rps"] / max(run["server_cpu_pct"] / 100.0, 1e-6)
        res.rps_per_cpu = run["rps_per_cpu_s"]
        res.ok = True
    except BenchError as exc:
        res.error = str(exc)
    except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError) as exc:
        # A server that answers wrongly (garbage, resets) must not end the whole benchmark.
        res.error = f"{type(exc).__name__}: {exc}; log: {tail(log)}"
    finally:
        _kill_group(proc)
    return res


def combine(rounds: list[Result]) -> Result:
    """One cell from its rounds: medians of the measured figures, the largest RSS seen."""
    first = rounds[0]
    out = Result(first.server, first.scenario, ok=all(r.ok for r in rounds))
    for i, r in enumerate(rounds):
        out.runs += [dict(run, round=i) for run in r.runs]
    failed = [r for r in rounds if not r.ok]
    if failed:
        out.error = failed[0].error
        return out
    last = rounds[-1]
    out.info, out.proof, out.server_header = last.info, last.proof, last.server_header
    out.command, out.wrk_command, out.processes = last.command, last.wrk_command, last.processes
    out.rps = statistics.median(r.rps for r in rounds)
    out.p99_ms = statistics.median(r.p99_ms for r in rounds)
    out.cpu_pct = statistics.median(r.cpu_pct for r in rounds)
    out.client_cpu_pct = statistics.median(r.client_cpu_pct for r in rounds)
    out.other_cpu_pct = max(r.other_cpu_pct for r in rounds)
    out.rps_per_cpu = statistics.median(r.rps_per_cpu for r in rounds)
    out.rps_min = min(r.rps for r in rounds)
    out.rps_max = max(r.rps for r in rounds)
    out.worker_rss_mb = max((r.worker_rss_mb for r in rounds if r.worker_rss_mb is not None), default=None)
    out.tree_rss_mb = max(r.tree_rss_mb for r in rounds)
    return out


def asgid_status(path: Path) -> str | None:
    """None if the binary exists and is executable, else why not."""
    if not path.exists():
        return f"{path} does not exist"
    if not os.access(path, os.X_OK):
        return f"{path} is not executable"
    return None


# --------------------------------------------------------------------------------------------
# Report


def describe_binary(path: Path) -> str:
    if not path.exists():
        return f"{path} (missing)"
    built = datetime.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")
    return f"{path} built {built}"


def machine_info(asgid: Path, baseline: Path | None = None) -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "?"

    pkgs = {}
    for mod in ("uvicorn", "granian", "uvloop", "httptools"):
        try:
            from importlib.metadata import version as _v

            pkgs[mod] = _v(mod)
        except Exception:  # noqa: BLE001
            pkgs[mod] = "missing"
    wrk = version(["sh", "-c", "wrk -v 2>&1 | head -1"])
    commit = version(["git", "-C", str(REPO_DIR), "rev-parse", "--short", "HEAD"])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": pkgs,
        "wrk": wrk,
        "repo_commit": commit,
        "asgid_binary": describe_binary(asgid),
        "baseline_binary": None if baseline is None else describe_binary(baseline),
    }


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_report(args, results: list[Result], machine: dict, notes: list[str]) -> None:
    print()
    print(f"date {machine['date']}; {machine['nproc']} CPUs: {machine['cpu']}; kernel {machine['kernel']}")
    print(
        f"python {machine['python']}; "
        + ", ".join(f"{k} {v}" for k, v in machine["packages"].items())
        + f"; {machine['wrk']}; repo at {machine['repo_commit']}"
    )
    if "asgid" in args.servers:
        print(f"asgid: {machine['asgid_binary']}")
    if args.asgid_baseline is not None:
        print(f"{args.baseline_label}: {machine['baseline_binary']}")
    print(
        f"server on CPU {args.server_cpu}, wrk on CPU {args.client_cpu}: wrk -t1 -c{args.connections} "
        f"-d{args.duration:g}s --latency, after a {args.warmup:g} s warm-up; "
        f"{args.repeat} round(s) per cell, servers alternating (order reversed every other round), "
        f"each round a fresh server (median shown)"
    )
    if args.quiet_threshold > 0:
        print(
            f"each round waited (at most {args.quiet_timeout:.0f} s) for the machine to stay below "
            f"{args.quiet_threshold:g}% busy for {args.quiet_window:g} s; rounds disturbed by other load "
            f"were redone (at most {args.retries} times)"
        )
    print()
    w = max([8] + [len(r.server) for r in results])  # server column
    header = f"{'server':<{w}} {'scenario':<10} {'req/s':>10} {'p99 ms':>8} {'RSS MB':>7} {'tree MB':>8} {'procs':>5} {'CPU%':>5} {'wrk%':>5} {'other%':>6} {'req/CPU-s':>9}" + (
        f" {'req/s min-max':>15}" if args.repeat > 1 else ""
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if r.ok:
            print(
                f"{r.server:<{w}} {r.scenario:<10} {r.rps:>10.0f} {r.p99_ms:>8.2f} {fmt(r.worker_rss_mb, '.1f'):>7} "
                f"{r.tree_rss_mb:>8.1f} {len(r.processes):>5} {r.cpu_pct:>5.0f} {r.client_cpu_pct:>5.0f} {r.other_cpu_pct:>6.0f} {r.rps_per_cpu:>9.0f}"
                + (f" {r.rps_min:>7.0f}-{r.rps_max:<7.0f}" if args.repeat > 1 else "")
            )
        else:
            print(f"{r.server:<{w}} {r.scenario:<10} {'FAILED':>10}  ({(r.error or '').splitlines()[0]})")
    print()
    print("RSS MB: the process that served the requests (pid reported by GET /_info), after the run;")
    print("tree MB: summed over the server's process tree (procs = processes in it);")
    print("CPU%: server tree CPU time during the measured run / wall time (100 = one core);")
    print("wrk%: the same for wrk (near 100 means the client, not the server, may be the limit);")
    print("other%: CPU used by everything else on the machine during the run (worst round; should be ~0);")
    print("req/CPU-s: requests per second of server CPU time (cost per request; less sensitive to other load).")

    by = {(r.server, r.scenario): r for r in results if r.ok}
    scen = [s for s in args.scenarios if any(r.scenario == s for r in results)]
    print()
    print("Ratios (asgid / peer): req/s higher is better, p99 lower is better")
    pairs = [(a, peer) for a in asgids(args) for peer in ("uvicorn", "granian")]
    if args.asgid_baseline is not None:
        pairs.append(("asgid", args.baseline_label))  # after / before
    pw = max(len(f"{a}/{b}") for a, b in pairs)
    for s in scen:
        for name, peer in pairs:
            if name not in args.servers or peer not in args.servers:
                continue
            a, p = by.get((name, s)), by.get((peer, s))
            label = f"{name}/{peer}"
            if a is None or p is None:
                missing = name if a is None else peer
                print(f"  {s:<10} {label:<{pw}} pending ({missing} has no figures)")
                continue
            print(
                f"  {s:<10} {label:<{pw}} req/s x{a.rps / p.rps:.2f}   p99 x{a.p99_ms / p.p99_ms:.2f}"
                f"   req/CPU-s x{a.rps_per_cpu / p.rps_per_cpu:.2f}"
            )
    if args.asgid_baseline is not None and args.repeat > 1:
        # Rounds alternate, so round i of both binaries ran minutes apart at most: the spread of
        # the per-round ratios shows how much of the median ratio is noise.
        print()
        print(f"Per-round req/s ratios asgid/{args.baseline_label} (same round, servers alternating):")
        for s in scen:
            a, b = by.get(("asgid", s)), by.get((args.baseline_label, s))
            if a is None or b is None:
                continue
            ra = {run["round"]: run["rps"] for run in a.runs if not run.get("warmup")}
            rb = {run["round"]: run["rps"] for run in b.runs if not run.get("warmup")}
            ratios = [ra[i] / rb[i] for i in sorted(ra) if i in rb]
            print(f"  {s:<10} " + " ".join(f"x{x:.2f}" for x in ratios)
                  + (f"   (min x{min(ratios):.2f}, max x{max(ratios):.2f})" if ratios else ""))

    print()
    print("Anomalies (wrk socket errors, non-2xx/3xx responses; all must be 0):")
    clean = True
    for r in results:
        for run in r.runs:
            errs = {k: v for k, v in run["socket_errors"].items() if v}
            tag = f"round {run.get('round', 0) + 1} " + ("warm-up" if run.get("warmup") else "measured run")
            if errs or run["non_2xx_3xx"]:
                clean = False
                print(f"  {r.server} {r.scenario} {tag}: socket errors {errs}, non-2xx/3xx {run['non_2xx_3xx']}")
    for r in results:
        for run in r.runs:
            if not run.get("warmup") and run.get("other_cpu_pct", 0) > args.quiet_threshold:
                clean = False
                print(
                    f"  {r.server} {r.scenario} round {run['round'] + 1}: other processes used "
                    f"{run['other_cpu_pct']:.0f}% of a CPU during the run: figures disturbed"
                )
    for r in results:
        if r.ok and r.client_cpu_pct is not None and r.client_cpu_pct >= 95:
            clean = False
            print(f"  {r.server} {r.scenario}: wrk used {r.client_cpu_pct:.0f}% of its CPU: the figure may be client-bound")
    if clean:
        print("  none")
    for r in results:
        if not r.ok:
            print(f"  {r.server} {r.scenario} FAILED: {r.error}")

    print()
    print("Verification:")
    for r in results:
        if r.ok and r.server == "uvicorn" and r.proof:
            print(
                f"  uvicorn/{r.scenario}: startup proof loop={r.proof['loop']} "
                f"protocol={r.proof['http_protocol_class']}; app saw loop={r.proof['loop_seen_by_app']}, "
                f"called from {r.proof['app_called_from']}"
            )
    for r in results:
        if r.ok and r.server != "uvicorn":
            print(f"  {r.server}/{r.scenario}: app saw loop={r.info.get('loop')} task={r.info.get('task')} "
                  f"server header={r.server_header!r} python={r.info.get('executable')}")
    for n in notes:
        print(f"  NOTE: {n}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per measured wrk run (default 10)")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of wrk warm-up before measuring (default 3)")
    ap.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    ap.add_argument("--repeat", type=int, default=1, help="rounds per cell (fresh server, warm-up, measured run each); medians are reported")
    ap.add_argument("--servers", default=",".join(SERVERS), help="comma-separated subset of " + ",".join(SERVERS))
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset of " + ",".join(SCENARIOS))
    ap.add_argument("--json", type=Path, help="write all figures and raw runs to this file")
    ap.add_argument("--asgid", type=Path, default=DEFAULT_ASGID, help=f"asgid binary (default {DEFAULT_ASGID})")
    ap.add_argument("--asgid-arg", action="append", default=[], help="extra option for asgid (repeatable; given to the baseline too)")
    ap.add_argument(
        "--asgid-baseline",
        type=Path,
        help="a second asgid binary (e.g. built before a change) measured in the same run, alternating "
        "with the others; the report adds after/before ratios",
    )
    ap.add_argument(
        "--baseline-label", default="asgid-before", help="name of the baseline binary in the report (asgid-before)"
    )
    ap.add_argument("--server-cpu", default="0", help="CPU list the server is pinned to (default 0)")
    ap.add_argument("--client-cpu", default="1", help="CPU list wrk is pinned to (default 1)")
    ap.add_argument(
        "--quiet-threshold",
        type=float,
        default=10.0,
        help="before each round wait until the machine's busy CPU is below this %% of one CPU "
        "(default 10; 0 disables); runs disturbed by more than this are flagged",
    )
    ap.add_argument("--quiet-timeout", type=float, default=180.0, help="longest wait for a quiet machine (s)")
    ap.add_argument("--quiet-window", type=float, default=3.0, help="seconds the machine must stay quiet (3)")
    ap.add_argument(
        "--retries", type=int, default=3, help="redo a round disturbed by other load up to this many times (3)"
    )
    ap.add_argument("--start-timeout", type=float, default=20.0, help="seconds to wait for a server to answer")
    args = ap.parse_args()
    args.servers = [s for s in args.servers.split(",") if s]
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    for s in args.servers:
        if s not in SERVERS:
            ap.error(f"unknown server {s!r}")
    # Servers start in bench/, so relative binary paths are taken from where the script is run.
    args.asgid = args.asgid.absolute()
    if args.asgid_baseline is not None:
        args.asgid_baseline = args.asgid_baseline.absolute()
        if args.baseline_label in SERVERS or not re.fullmatch(r"[\w.+-]+", args.baseline_label):
            ap.error(f"--baseline-label {args.baseline_label!r} must be a plain name other than " + ",".join(SERVERS))
        # Measured right after asgid, so that each round runs the two binaries back to back.
        at = args.servers.index("asgid") + 1 if "asgid" in args.servers else 0
        args.servers.insert(at, args.baseline_label)
    for s in args.scenarios:
        if s not in SCENARIOS:
            ap.error(f"unknown scenario {s!r}")
    if args.retries < 0 or args.quiet_window <= 0:
        ap.error("--retries must be >= 0 and --quiet-window > 0")
    if args.duration <= 0 or args.connections <= 0 or args.repeat <= 0:
        ap.error("--duration, --connections and --repeat must be positive")
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            ap.error(f"{tool} is not installed")

    signal.signal(signal.SIGTERM, _on_signal)
    machine = machine_info(args.asgid, args.asgid_baseline)
    notes: list[str] = []
    results: list[Result] = []
    discarded: list[Result] = []  # rounds disturbed by other load, redone
    servers = list(args.servers)
    for name in asgids(args):
        if name not in servers:
            continue
        why = asgid_status(asgid_binary(args, name))
        if why:
            notes.append(f"{name} is missing ({why}); its figures are pending")
            print(f"{name} is missing: {why}; benchmarking the others only", file=sys.stderr)
            servers.remove(name)
            results += [Result(name, s, ok=False, error=f"missing: {why}") for s in args.scenarios]

    try:
        for sc_name in args.scenarios:
            sc = SCENARIOS[sc_name]
            # Rounds alternate the servers, so that a slow spell of the machine hits all of them;
            # every other round runs them in reverse order, so that no server always has the
            # same place in the round (on a busy machine the place alone moved a server's req/s
            # by 10-25 %).
            rounds: dict[str, list[Result]] = {name: [] for name in servers}
            for rnd in range(args.repeat):
                for name in servers if rnd % 2 == 0 else servers[::-1]:
                    if rounds[name] and not rounds[name][-1].ok:
                        continue  # failed once: do not retry
                    print(
                        f"[{time.strftime('%H:%M:%S')}] {name} / {sc_name} round {rnd + 1}/{args.repeat} ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    for attempt in range(args.retries + 1):
                        if args.quiet_threshold > 0:
                            wait_quiet(args)
                        r = bench_one(args, name, sc)
                        disturbed = (
                            r.ok and args.quiet_threshold > 0 and r.other_cpu_pct > args.quiet_threshold
                        )
                        if not disturbed or attempt == args.retries:
                            break
                        discarded.append(r)
                        print(
                            f"    {r.rps:.0f} req/s, but other processes used {r.other_cpu_pct:.0f}% of a CPU "
                            f"meanwhile: discarded, retrying",
                            file=sys.stderr,
                            flush=True,
                        )
                    if r.ok:
                        print(f"    {r.rps:.0f} req/s, p99 {r.p99_ms:.2f} ms", file=sys.stderr, flush=True)
                    else:
                        print(f"    FAILED: {r.error}", file=sys.stderr, flush=True)
                        if name in asgids(args):
                            notes.append(f"{name} did not complete {sc_name}: {r.error.splitlines()[0]}")
                    rounds[name].append(r)
            results += [combine(rounds[name]) for name in servers]
    except KeyboardInterrupt:
        print("interrupted; stopping servers", file=sys.stderr)
        return 130
    finally:
        kill_all()

    # Order: scenario, then server in the canonical order.
    order = {s: i for i, s in enumerate(asgids(args) + [s for s in SERVERS if s != "asgid"])}
    sorder = {s: i for i, s in enumerate(args.scenarios)}
    results.sort(key=lambda r: (sorder.get(r.scenario, 99), order[r.server]))
    if discarded:
        notes.append(
            f"{len(discarded)} round(s) were disturbed by other processes and redone: "
            + ", ".join(f"{r.server}/{r.scenario} ({r.other_cpu_pct:.0f}%)" for r in discarded)
        )
    print_report(args, results, machine, notes)
    if args.json:
        payload = {
            "machine": machine,
            "settings": {
                k: (str(v) if isinstance(v, Path) else v)
                for k, v in vars(args).items()
                if k != "json"
            },
            "notes": notes,
            "results": [r.__dict__ for r in results],
            "discarded": [r.__dict__ for r in discarded],
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n")
        print(f"\nwrote {args.json}")
    failed_peers = [r for r in results if not r.ok and r.server not in asgids(args)]
    return 1 if failed_peers else 0


if __name__ == "__main__":
    sys.exit(main())
