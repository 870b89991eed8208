"""packaging/asgid.yaml, installed by the .deb and .rpm as /etc/asgid/asgid.yaml: valid as
shipped, and still valid with every commented default uncommented (so the defaults it shows
are values asgid takes). tests/unit/config/shipped_config_test.cc checks it names every key."""

from __future__ import annotations

import re
from pathlib import Path

from support import run_cli

SHIPPED = Path(__file__).resolve().parents[2] / "packaging" / "asgid.yaml"


def test_shipped_config_passes_check_config():
    rc, out, err = run_cli(["--check-config", "--config", SHIPPED])
    assert (rc, out) == (0, "ok\n"), err


def test_shipped_config_with_every_default_uncommented_passes_check_config(tmp_path):
    rc, printed, err = run_cli(["--print-config", "--config", SHIPPED])
    assert rc == 0, err
    keys = set(re.findall(r"(?m)^(?:# )?([a-z_0-9]+):", printed))
    lines = []
    uncommented = 0
    for line in SHIPPED.read_text().splitlines(keepends=True):
        match = re.match(r"# ([a-z_0-9]+): (.+)$", line)
        if match and match.group(1) in keys:
            line = line[2:]
            uncommented += 1
        lines.append(line)
    assert uncommented > 50
    config = tmp_path / "asgid.yaml"
    config.write_text("".join(lines))
    rc, out, err = run_cli(["--check-config", "--config", config])
    assert (rc, out) == (0, "ok\n"), err
