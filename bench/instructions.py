#!/usr/bin/env python3
"""Instructions per request of asgid's worker, counted by valgrind's callgrind: a figure that
other load on the machine does not disturb, for comparing two asgid binaries (before and after a
change) when req/s on a shared machine is too noisy to tell a few per cent apart.

Run with the project's virtualenv (needs valgrind and callgrind_annotate):

    .venv/bin/python bench/instructions.py --asgid-baseline OLD_BINARY
        [--asgid build/master/asgid] [--requests 4000] [--concurrency 1] [--top 20]

For each binary, the hello-world app (bench/apps.py) is served by one worker under
`valgrind --tool=callgrind` twice: once with only a warm-up (--warmup requests), once with the
warm-up and then --requests more. Both runs count every instruction the worker executed until
it exits; the difference divided by --requests is the cost of one request, start-up and
shut-down cancelled out. The requests go over --concurrency keep-alive loopback connections,
one in flight on each (with 1, every request is one loop turn: the most repeatable figure).

The report gives Ir (instructions executed) per request for each binary, split by object
(asgid itself, libpython, libc, libev, ...), and the functions whose share changed most
(asgid's functions matched by name, so renamed ones show up as one gone and one new).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import run as harness  # bench/run.py: process handling and HTTP checks

HOST = harness.HOST  # loopback only
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
OUT_DIR = harness.RESULTS_DIR / "callgrind"


def send_requests(port: int, total: int, concurrency: int, timeout: float) -> None:
    """Sends exactly `total` GET / over `concurrency` keep-alive connections, one in flight on
    each, and checks every response is a 200."""
    sel = selectors.DefaultSelector()
    bufs: dict[socket.socket, bytes] = {}
    sent = done = 0
    deadline = time.monotonic() + timeout
    try:
        for _ in range(min(concurrency, total)):
            s = socket.create_connection((HOST, port), timeout=60)
            s.setblocking(False)
            bufs[s] = b""
            s.sendall(REQUEST)
            sent += 1
            sel.register(s, selectors.EVENT_READ)
        while done < total:
            left = deadline - time.monotonic()
            if left <= 0:
                raise harness.BenchError(f"only {done} of {total} responses within {timeout:.0f} s")
            for key, _ in sel.select(min(left, 5.0)):
                s = key.fileobj
                data = s.recv(65536)
                if not data:
                    raise harness.BenchError("the server closed a connection")
                b = bufs[s] + data
                end = b.find(b"\r\n\r\n")
                if end < 0:
                    bufs[s] = b
                    continue
                m = re.search(rb"\r\ncontent-length:\s*(\d+)", b[:end], re.I)
                length = int(m.group(1)) if m else 0
                if len(b) < end + 4 + length:
                    bufs[s] = b
                    continue
                if not b.startswith(b"HTTP/1.1 200"):
                    raise harness.BenchError(f"unexpected response {b[:80]!r}")
                bufs[s] = b[end + 4 + length :]
                done += 1
                if sent < total:
                    s.sendall(REQUEST)
                    sent += 1
    finally:
        sel.close()
        for s in bufs:
            s.close()


def callgrind_run(args, label: str, binary: Path, requests: int) -> Path:
    """Runs binary's worker under callgrind through warm-up + `requests`; returns its profile."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    prefix = OUT_DIR / f"{label}-{requests}"
    for old in OUT_DIR.glob(f"{prefix.name}.*"):
        old.unlink()
    port = harness.free_port()
    argv = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={prefix}.%p",
        str(binary), "--host", HOST, "--port", str(port), "--no-access-log",
        "--venv", str(harness.VENV),
        # Under valgrind the worker boots and answers its health check far slower.
        "--timeout-worker-boot", "900", "--timeout-worker-healthcheck", "900",
        *args.asgid_arg, "apps:hello",
    ]  # fmt: skip
    log = Path(f"{prefix}.log")
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["PYTHONHASHSEED"] = "0"  # the same dict layouts in every run: fewer stray differences
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            argv, cwd=harness.BENCH_DIR, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
            env=env, start_new_session=True,
        )  # fmt: skip
    harness._LIVE.append(proc)
    try:
        harness.wait_ready(proc, port, args.start_timeout, log)
        _, _, data = harness.http_request(port, "GET", "/_info", timeout=60)
        worker = int(json.loads(data)["pid"])
        send_requests(port, args.warmup, args.concurrency, args.timeout)
        if requests:
            send_requests(port, requests, args.concurrency, args.timeout)
    finally:
        harness._kill_group(proc, grace=180)  # SIGTERM: callgrind writes its profile at exit
    profile = Path(f"{prefix}.{worker}")
    if not profile.exists():
        raise harness.BenchError(f"no callgrind profile {profile}; log: {harness.tail(log)}")
    return profile


def functions(profile: Path, binary: Path) -> dict[str, int]:
    """Self Ir per function ("name [object]"), the binary's own path replaced by "asgid"."""
    out = subprocess.run(
        ["callgrind_annotate", "--threshold=100", "--auto=no", str(profile)],
        capture_output=True, text=True, check=True, timeout=600,
    ).stdout  # fmt: skip
    res: dict[str, int] = collections.Counter()
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(.*)$", line)
        if m and "PROGRAM TOTALS" not in line:
            name = m.group(2).replace(f"[{binary}]", "[asgid]")
            name = re.sub(r"^\?\?\?:", "", name)
            res[name] += int(m.group(1).replace(",", ""))
    return res


def total_ir(profile: Path) -> int:
    for line in profile.read_text(errors="replace").splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise harness.BenchError(f"no totals in {profile}")


def obj(name: str) -> str:
    m = re.search(r"\[([^\]]*)\]$", name)
    return "?" if not m else m.group(1).rsplit("/", 1)[-1]


def measure(args, label: str, binary: Path) -> dict:
    print(f"[{time.strftime('%H:%M:%S')}] {label}: warm-up only ...", file=sys.stderr, flush=True)
    p0 = callgrind_run(args, label, binary, 0)
    print(f"[{time.strftime('%H:%M:%S')}] {label}: warm-up + {args.requests} requests ...", file=sys.stderr, flush=True)
    p1 = callgrind_run(args, label, binary, args.requests)
    f0, f1 = functions(p0, binary), functions(p1, binary)
    per_fn = {k: (f1.get(k, 0) - f0.get(k, 0)) / args.requests for k in set(f0) | set(f1)}
    per_obj: dict[str, float] = collections.Counter()
    for k, v in per_fn.items():
        per_obj[obj(k)] += v
    return {
        "binary": str(binary),
        "ir_per_request": (total_ir(p1) - total_ir(p0)) / args.requests,
        "profiles": [str(p0), str(p1)],
        "objects": dict(per_obj),
        "functions": per_fn,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--asgid", type=Path, default=harness.DEFAULT_ASGID, help=f"asgid binary (default {harness.DEFAULT_ASGID})")
    ap.add_argument("--asgid-arg", action="append", default=[], help="extra option for asgid (repeatable; given to the baseline too)")
    ap.add_argument("--asgid-baseline", type=Path, help="a second asgid binary to compare with (e.g. built before a change)")
    ap.add_argument("--baseline-label", default="asgid-before", help="its name in the report (asgid-before)")
    ap.add_argument("--requests", type=int, default=4000, help="requests counted (4000)")
    ap.add_argument("--warmup", type=int, default=300, help="requests before, in both runs (300)")
    ap.add_argument("--concurrency", type=int, default=1, help="keep-alive connections, one request in flight each (1)")
    ap.add_argument("--top", type=int, default=20, help="functions listed (20)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="deadline for one batch of requests (s)")
    ap.add_argument("--start-timeout", type=float, default=600.0, help="seconds to wait for the worker under valgrind")
    ap.add_argument("--json", type=Path, help="write the figures to this file")
    args = ap.parse_args()
    if args.requests <= 0 or args.concurrency <= 0 or args.warmup < 0:
        ap.error("--requests and --concurrency must be positive")
    for tool in ("valgrind", "callgrind_annotate"):
        if shutil.which(tool) is None:
            ap.error(f"{tool} is not installed (apt-get install valgrind)")
    binaries = {"asgid": args.asgid.absolute()}
    if args.asgid_baseline is not None:
        binaries[args.baseline_label] = args.asgid_baseline.absolute()
    for label, path in binaries.items():
        why = harness.asgid_status(path)
        if why:
            ap.error(f"{label}: {why}")

    signal.signal(signal.SIGTERM, harness._on_signal)
    results = {}
    try:
        for label, path in binaries.items():
            results[label] = measure(args, label, path)
    except KeyboardInterrupt:
        print("interrupted; stopping servers", file=sys.stderr)
        return 130
    except harness.BenchError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        harness.kill_all()

    labels = list(results)
    print()
    print(
        f"callgrind, hello world, one worker: Ir per request = (Ir after {args.warmup}+{args.requests} requests"
        f" - Ir after {args.warmup}) / {args.requests}; {args.concurrency} keep-alive connection(s)"
    )
    for label in labels:
        print(f"  {label}: {results[label]['binary']}")
    print()
    print(f"{'':28}" + "".join(f"{label:>14}" for label in labels) + ("      change" if len(labels) == 2 else ""))
    print(f"{'Ir per request':28}" + "".join(f"{results[x]['ir_per_request']:>14.0f}" for x in labels) + (
        f"  {results[labels[0]]['ir_per_request'] / results[labels[1]]['ir_per_request'] - 1:+10.1%}" if len(labels) == 2 else ""
    ))
    objs = collections.Counter()
    for x in labels:
        for o, v in results[x]["objects"].items():
            objs[o] += abs(v)
    for o, _ in objs.most_common(8):
        vals = [results[x]["objects"].get(o, 0.0) for x in labels]
        print(f"  {o[:26]:26}" + "".join(f"{v:>14.0f}" for v in vals) + (f"  {vals[0] - vals[1]:+10.0f}" if len(labels) == 2 else ""))
    if len(labels) == 2:
        a, b = results[labels[0]]["functions"], results[labels[1]]["functions"]
        print()
        print(f"Functions whose Ir per request changed most ({labels[0]} - {labels[1]}):")
        keys = sorted(set(a) | set(b), key=lambda k: -abs(a.get(k, 0) - b.get(k, 0)))
        for k in keys[: args.top]:
            print(f"  {b.get(k, 0):8.0f} -> {a.get(k, 0):8.0f}  {a.get(k, 0) - b.get(k, 0):+7.0f}  {k[:120]}")
    else:
        print()
        print("Functions with the most Ir per request:")
        fn = results[labels[0]]["functions"]
        for k in sorted(fn, key=lambda k: -fn[k])[: args.top]:
            print(f"  {fn[k]:8.0f}  {k[:120]}")
    if args.json:
        args.json.write_text(json.dumps({"settings": {k: str(v) for k, v in vars(args).items()}, "results": results}, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
