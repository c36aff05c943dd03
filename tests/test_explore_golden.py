"""``explore --all`` on the shipped profiles answers exactly what it answered before the speed-up.

tests/data/explore-all-golden.json is ``pmempolicy explore --all --format json profiles/*.yaml``
captured from main at fbb8b32 (before the performance work of issue 18), with the one field that
measures time (``stats.seconds``) removed. Counts, dead and always-on options, unreachable
features, the Pareto frontier with its fewest-options witnesses and every per-device verdict must
stay equal; a change that moves any of them is a change of results, not of speed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policy.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "data" / "explore-all-golden.json"
# the profiles shipped when the golden was captured (a new shipped profile does not move it)
PROFILES = (
    "cxl-1t-expander.yaml",
    "db-400g-odirect.yaml",
    "host-512g.yaml",
    "nfs-shared-memory-node.yaml",
    "rdma-memory-brick.yaml",
    "virtio-pmem-guest.yaml",
    "vmhost-pmem-guests.yaml",
    "workstation-8g-nvdimm.yaml",
)


def _without_time(doc: dict[str, Any]) -> dict[str, Any]:
    doc["stats"].pop("seconds")
    return doc


def test_explore_all_equals_golden(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(ROOT / "profiles" / name) for name in PROFILES]
    code = main(["explore", "--all", "--format", "json", *paths])
    out = capsys.readouterr().out
    assert code == 0
    got = _without_time(json.loads(out))
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert "seconds" not in want["stats"]
    for key in ("count", "dead_options", "always_on", "unreachable_features"):
        assert got[key] == want[key], key
    assert [f["assignment"] for f in got["frontier"]] == [f["assignment"] for f in want["frontier"]]
    assert got == want
