#!/usr/bin/python3
"""Helper for scripts/autobahn.sh (Python 3, standard library only).

  mirrors                    print this machine's Debian mirror and security mirror URIs
  free-port                  print a free TCP port on 127.0.0.1
  wait-port PORT SECONDS     exit 0 once 127.0.0.1:PORT accepts a connection, 1 on timeout
  spec OUT OUTDIR AGENT URL CASES [EXCLUDE]
                             write the fuzzingclient spec; CASES and EXCLUDE are lists
                             separated by commas (see case_patterns)
  summary INDEX EXPECTED AGENT
                             print the summary of a report; exit 1 unless every expected
                             case ran and behaved OK, NON-STRICT or INFORMATIONAL
"""
import json
import pathlib
import socket
import sys
import time

# Behaviors that pass; the rest (FAILED, UNIMPLEMENTED) fail the run. A case's close
# behavior is reported next to it but does not decide the result on its own (as in
# Autobahn's own report, where the case colour follows `behavior`).
PASSING = ("OK", "NON-STRICT", "INFORMATIONAL")
BEHAVIORS = PASSING + ("UNIMPLEMENTED", "FAILED")


def debian_mirrors():
    """The URIs this machine's APT uses for Debian and for Debian security, from the
    one-line (sources.list) and deb822 (*.sources) formats; deb.debian.org if none."""
    entries = []  # (uri, suite)
    etc = pathlib.Path("/etc/apt")
    files = [etc / "sources.list"] + sorted((etc / "sources.list.d").glob("*"))
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            for stanza in text.split("\n\n"):
                fields = {}
                for line in stanza.splitlines():
                    if ":" in line and not line.startswith(("#", " ")):
                        key, value = line.split(":", 1)
                        fields[key.strip().lower()] = value.split()
                if "deb" in fields.get("types", []):
                    for uri in fields.get("uris", []):
                        for suite in fields.get("suites", []):
                            entries.append((uri, suite))
        elif path.suffix == ".list" or path.name == "sources.list":
            for line in text.splitlines():
                words = line.split("#", 1)[0].split()
                if words[:1] != ["deb"]:
                    continue
                words = words[1:]
                if words and words[0].startswith("["):  # options, e.g. [signed-by=...]
                    while words and not words[0].endswith("]"):
                        words.pop(0)
                    words = words[1:]
                if len(words) >= 2:
                    entries.append((words[0], words[1]))
    debian = security = None
    for uri, suite in entries:
        uri = uri.rstrip("/")
        if suite.endswith("-security") and security is None:
            security = uri
        elif "-" not in suite and debian is None and uri.endswith("/debian"):
            debian = uri
    debian = debian or "http://deb.debian.org/debian"
    security = security or debian.rsplit("/", 1)[0] + "/debian-security"
    return debian, security


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def case_patterns(text):
    """'1-11' → sections 1 to 11; 'all' → every case; otherwise Autobahn's own patterns
    ('1.*', '9.1.6', '12.1.*'), separated by commas."""
    text = text.strip()
    if not text:
        return []
    if text == "all":
        return ["*"]
    first, dash, last = text.partition("-")
    if dash and first.isdigit() and last.isdigit():
        return [f"{n}.*" for n in range(int(first), int(last) + 1)]
    return [p.strip() for p in text.split(",") if p.strip()]


def write_spec(out, outdir, agent, url, cases, exclude):
    spec = {
        "outdir": outdir,
        "servers": [{"agent": agent, "url": url}],
        "cases": case_patterns(cases),
        "exclude-cases": case_patterns(exclude),
        "exclude-agent-cases": {},
    }
    pathlib.Path(out).write_text(json.dumps(spec, indent=2) + "\n")


def duration(result):
    """Milliseconds, or None: for a case whose handshake never completed Autobahn reports the
    time since the epoch."""
    ms = result.get("duration")
    return ms if ms is not None and ms < 10**9 else None


def case_key(case_id):
    return tuple(int(part) for part in case_id.split("."))


def summary(index_path, expected_path, agent):
    expected = pathlib.Path(expected_path).read_text().split()
    try:
        index = json.loads(pathlib.Path(index_path).read_text())
    except (OSError, ValueError) as error:
        print(f"no usable report ({error})")
        index = {}
    results = index.get(agent, {})
    counts = {b: 0 for b in BEHAVIORS}
    not_ok = []
    for case_id in sorted(results, key=case_key):
        result = results[case_id]
        counts[result["behavior"]] = counts.get(result["behavior"], 0) + 1
        if result["behavior"] != "OK" or result["behaviorClose"] != "OK":
            not_ok.append((case_id, result))
    missing = sorted(set(expected) - set(results), key=case_key)

    print(f"cases run: {len(results)} of {len(expected)} selected")
    for behavior, count in counts.items():
        print(f"  {behavior:<14} {count}")
    print(f"  {'missing':<14} {len(missing)}")
    if not_ok:
        print("not OK (case, behavior, behaviorClose, close code, ms):")
        for case_id, r in not_ok:
            print(f"  {case_id:<10} {r['behavior']:<14} {r['behaviorClose']:<16} "
                  f"{r.get('remoteCloseCode')!s:<6} {duration(r)}")
    if missing:
        print("missing: " + " ".join(missing[:40]) + (" ..." if len(missing) > 40 else ""))
    timed = [(c, duration(r)) for c, r in results.items() if duration(r) is not None]
    slowest = sorted(timed, key=lambda item: -item[1])[:5]
    if slowest:
        print("slowest: " + ", ".join(f"{c} {ms} ms" for c, ms in slowest))
    failed = [c for c, r in results.items() if r["behavior"] not in PASSING]
    ok = not failed and not missing and bool(expected)
    print("RESULT: " + ("PASS" if ok else f"FAIL ({len(failed)} failing, {len(missing)} missing)"))
    return 0 if ok else 1


def main(argv):
    command, args = argv[1], argv[2:]
    if command == "mirrors":
        print(*debian_mirrors())
    elif command == "free-port":
        print(free_port())
    elif command == "wait-port":
        return 0 if wait_port(int(args[0]), float(args[1])) else 1
    elif command == "spec":
        write_spec(*args[:5], args[5] if len(args) > 5 else "")
    elif command == "summary":
        return summary(*args)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
