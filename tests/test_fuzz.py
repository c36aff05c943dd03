"""Fuzzing the command line with mutated profiles, .config files and ndctl listings (issue 12).

A small corpus of real inputs (shipped profiles, a shipped defconfig, real ``ndctl list``
outputs) is mutated by Hypothesis (bytes cut, repeated, and hostile tokens spliced in: control
characters, huge numbers, deep nesting, aliases, shell metacharacters, non-ASCII digits) and run
through the real CLI boundary. Every run must exit 0, 1 or 2 — never 3 —, finish in bounded time,
and write nothing when it fails. The default run takes about 40 s; ``PMEMPOLICY_FUZZ_SECONDS``
sets the budget. The counts (inputs and outcomes per exit code) are printed and written to
``/tmp/pmempolicy-fuzz-counts.json``.
"""
from __future__ import annotations

import collections
import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from policy.cli import main

ROOT = Path(__file__).resolve().parent.parent
BUDGET = float(os.environ.get("PMEMPOLICY_FUZZ_SECONDS", "40"))
PER_RUN = 20.0  # seconds one command may take
COUNTS_FILE = Path(tempfile.gettempdir()) / "pmempolicy-fuzz-counts.json"

CORPUS = {
    "profile": sorted((ROOT / "profiles").glob("*.yaml"))[:4],
    "config": [ROOT / "configs" / f"{n}_defconfig" for n in ("debian_amd64", "rt_amd64")],
    "listing": sorted((ROOT / "tests" / "data" / "ndctl").glob("*.json"))[:6],
}
TOKENS = [
    b"\x00", b"\v", b"\f", b"\x1c", b"\r", "\x85".encode(), "\u2028".encode(), b"\t", b"\n",
    b'"', b"'", b"{", b"}", b"[", b"]", b",", b":", b"-", b"&a ", b"*a", b"!!binary ",
    b"1" * 5000, b"1e400", b"-1", b"0", b"18446744073709551617", b"0.5", b"NaN",
    "\u0661\u0662".encode(), b"region0; rm -rf /", b"$(reboot)", b"`id`", b"\xff\xfe",
    b"[" * 300, b"{\"a\":" * 100, b"CONFIG_FS_DAX=\"y\"\n", b"# CONFIG_X is not set\n",
    b"namespace0.0", b"region1", b"dax0.0", b"pmem0s", b"GiB", b"%", b"align", b"size",
    b"\"mode\":\"sector\"", b"\"align\":1", b"\"size\":0", b"labels:\n    ndctl.region: x\n",
]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """One input: a corpus file of some kind with a few mutations applied."""
    kind = draw(st.sampled_from(sorted(CORPUS)))
    data = bytearray(draw(st.sampled_from(CORPUS[kind])).read_bytes())
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["insert", "delete", "repeat", "replace", "random"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        span = draw(st.integers(1, 64))
        if op == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif op == "delete":
            del data[at:at + span]
        elif op == "repeat":
            data[at:at] = data[at:at + span] * draw(st.integers(2, 50))
        elif op == "replace":
            data[at:at + span] = draw(st.sampled_from(TOKENS))
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
    return kind, bytes(data)


COMMANDS = {
    "profile": [["validate", "{f}"], ["evaluate", "--config", "debian_amd64", "{f}"]],
    "config": [["get", "--config", "{f}", "FS_DAX", "BTT"], ["set", "--config", "{f}", "BTT=n"],
               ["evaluate", "--config", "{f}"], ["import-config", "--config", "{d}/out", "{f}"]],
    "listing": [["evaluate", "--config", "debian_amd64", "--ndctl", "{f}"],
                ["matrix", "--config", "debian_amd64", "--ndctl", "{f}", "--format", "json"]],
}
STATE: dict[str, object] = {"start": None, "counts": collections.Counter(), "slowest": 0.0}


def _snapshot(directory: Path) -> dict[str, bytes]:
    # the empty .config.lock a read-modify-write takes is bookkeeping, not output
    return {p.name: p.read_bytes() for p in directory.iterdir()
            if p.is_file() and not p.name.endswith(".lock")}


@settings(max_examples=int(BUDGET * 100), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(mutated())
def test_cli_never_crashes_on_mutated_inputs(case: tuple[str, bytes]) -> None:
    if STATE["start"] is None:
        STATE["start"] = time.monotonic()
    counts: collections.Counter[str] = STATE["counts"]  # type: ignore[assignment]
    if time.monotonic() - float(STATE["start"]) > BUDGET:  # type: ignore[arg-type]
        return
    kind, data = case
    counts[f"inputs.{kind}"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        target = directory / ("p.yaml" if kind == "profile" else
                              ".config" if kind == "config" else "l.json")
        target.write_bytes(data)
        for template in COMMANDS[kind]:
            args = [a.format(f=target, d=directory) for a in template]
            before = _snapshot(directory)
            out, err = io.StringIO(), io.StringIO()
            started = time.monotonic()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(args)
            took = time.monotonic() - started
            STATE["slowest"] = max(float(STATE["slowest"]), took)  # type: ignore[arg-type]
            counts[f"exit.{int(code)}"] += 1
            counts[f"{args[0]}.exit.{int(code)}"] += 1
            assert code in (0, 1, 2), (args, data[:300], err.getvalue()[-2000:])
            assert took < PER_RUN, (args, took)
            if code == 2:  # an error writes nothing
                assert _snapshot(directory) == before, (args, err.getvalue()[-500:])


def test_fuzz_counts_are_recorded() -> None:
    """Runs after the fuzz test (file order): print and save the counts."""
    counts: collections.Counter[str] = STATE["counts"]  # type: ignore[assignment]
    slowest = round(float(STATE["slowest"]), 3)  # type: ignore[arg-type]
    report = {"budget_seconds": BUDGET, "slowest_run_seconds": slowest,
              **dict(sorted(counts.items()))}
    COUNTS_FILE.write_text(json.dumps(report, indent=2) + "\n")
    print("fuzz counts:", json.dumps(report))
    if STATE["start"] is not None:
        assert sum(v for k, v in counts.items() if k.startswith("inputs.")) > 0
