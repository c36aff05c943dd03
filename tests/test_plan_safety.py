"""Plans never surprise: only given profiles, explicit selectors, no destruction without the flag,
creates checked against the region, and text that no profile or listing can inject into."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from policy.cli import cli

DATA = Path(__file__).parent / "data"
LISTINGS = sorted((DATA / "ndctl").glob("*.json"))
RUN_DEV = DATA / "ndctl" / "pmem-docs-list-RuN-map-dev.json"
INSIGHTS = DATA / "ndctl" / "insights-ndctl-list-Ni.json"
PROFILES = Path(__file__).parent.parent / "profiles"


def _plan(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["plan", "--config", "debian_amd64", *args],
                                standalone_mode=False)
    if result.exception is not None:
        raise result.exception
    if not result.stdout.startswith(("{", "[")):  # the text plan fits 80 columns
        assert all(len(line) <= 80 for line in result.stdout.splitlines()), result.stdout
    return int(result.return_value), _unfolded(result.stdout), result.stderr


def _unfolded(text: str) -> str:
    """The plan text with its 80-column folding undone: a comment's continuation lines
    (``#   ...``) joined to it, a command's ``\\``-continued lines joined into one."""
    out: list[str] = []
    for line in text.splitlines():
        if out and line.startswith("#   ") and out[-1].startswith("#"):
            out[-1] += " " + line[4:]
        elif out and out[-1].endswith(" \\") and not out[-1].startswith("#"):
            out[-1] = out[-1][:-2] + " " + line.lstrip()
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _device(tmp: Path, name: str, device: str, extra: str = "") -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(
        f"apiVersion: pmempolicy/v1\nkind: DeviceProfile\nmetadata:\n  name: {name}\n"
        f"spec:\n  device: {device}\n{extra}"
    )
    return path


def _commands(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.mark.parametrize("listing", LISTINGS, ids=lambda p: p.name)
def test_no_profile_means_nothing_to_change(listing: Path) -> None:
    code, out, err = _plan("--ndctl", str(listing))
    assert code == 0 and _commands(out) == []
    assert "nothing to change" in out and "never implied" in err


@pytest.mark.parametrize("listing", LISTINGS, ids=lambda p: p.name)
def test_shipped_profiles_never_match_by_name(listing: Path) -> None:
    # the shipped examples name no namespace: every one is a finding, nothing is destroyed
    code, out, _ = _plan("--ndctl", str(listing), "--format", "json", str(PROFILES))
    doc = json.loads(out)
    assert code == 1 and doc["steps"] == [] and not doc["destroys_data"]
    assert {p["code"] for p in doc["problems"]} <= {"no-selector", "no-decision", "label-less",
                                                     "proposal-mode", "hmem"}


def test_destroy_needs_the_flag(tmp_path: Path) -> None:
    grow = _device(tmp_path, "grow", "{type: nvdimm, size: 800GiB, match: {namespace: pmem1}}",
                   "  requires: [longterm_pin]\n")
    code, out, _ = _plan("--ndctl", str(INSIGHTS), "--format", "json", str(grow))
    doc = json.loads(out)
    assert code == 1 and doc["steps"] == []
    (problem,) = doc["problems"]
    assert problem["code"] == "destructive-step"
    msg = problem["message"]
    for part in ("ndctl destroy-namespace --force namespace1.0", "fsdax", "756 GiB", "pmem1",
                 "every byte", "--allow-destroy"):
        assert part in msg, (part, msg)
    code, out, _ = _plan("--ndctl", str(INSIGHTS), "--allow-destroy", str(grow))
    assert code == 0 and "ndctl destroy-namespace --force namespace1.0" in _commands(out)


def test_reconfigure_and_daxctl_in_use_need_the_flag(tmp_path: Path) -> None:
    same = _device(tmp_path, "keep", "{type: nvdimm, size: 756GiB, match: {namespace: pmem1}}",
                   "  requires: [longterm_pin]\n")
    code, out, _ = _plan("--ndctl", str(INSIGHTS), str(same))
    assert code == 1 and _commands(out) == [] and "[destructive-step]" in out
    ram = _device(tmp_path, "ram", "{type: nvdimm, size: 4GiB, match: {namespace: dax0.0}}",
                  "  pin: {mode: system-ram, map: dev, align: 2MiB}\n")
    code, out, _ = _plan("--ndctl", str(DATA / "ndctl" / "pmem-docs-list-N-devdax.json"),
                         str(ram))
    assert code == 1 and _commands(out) == []
    assert "daxctl reconfigure-device --mode=system-ram dax0.0" in out  # named in the finding


def test_selectors_ambiguous_missing_and_host(tmp_path: Path) -> None:
    listing = DATA / "ndctl" / "ndctl-man-list-BN.json"
    every = _device(tmp_path, "wide", "{type: nvdimm, size: 8GiB, match: {region: region0}}")
    gone = _device(tmp_path, "gone", "{type: nvdimm, size: 8GiB, match: {uuid: "
                   "19cccf5d-d227-42fe-b338-cfa882a6b6ce}}")
    hosted = _device(tmp_path, "hosted", "{type: nvdimm, size: 8GiB, match: {host: db01, "
                     "namespace: namespace9.0}}")
    code, out, _ = _plan("--ndctl", str(listing), "--format", "json", str(gone), str(hosted))
    codes = {p["device"]: p["code"] for p in json.loads(out)["problems"]}
    assert code == 1 and codes == {"gone": "no-match", "hosted": "host-unknown"}
    code, out, _ = _plan("--ndctl", str(listing), "--host", "web02", "--format", "json",
                         str(hosted))
    doc = json.loads(out)
    assert code == 0 and doc["steps"] == [] and "skipped" in doc["notes"][0]
    two = tmp_path / "two.json"
    two.write_text(json.dumps({"dev": "region0", "size": 2 << 30, "available_size": 0,
                               "type": "pmem", "namespaces": [
                                   {"dev": "namespace0.0", "mode": "raw", "size": 1 << 30},
                                   {"dev": "namespace0.1", "mode": "raw", "size": 1 << 30}]}))
    code, out, _ = _plan("--ndctl", str(two), str(every))
    assert code == 1 and "[ambiguous-match]" in out and "namespace0.0, namespace0.1" in out


def test_creates_are_checked_against_the_region(tmp_path: Path) -> None:
    # region0 of the pmem docs listing: 249 GiB, all of it namespace0.0 (available 0)
    new = _device(tmp_path, "scratch", "{type: nvdimm, size: 8GiB, match: {region: region0, "
                  "name: scratch}}")
    code, out, _ = _plan("--ndctl", str(RUN_DEV), str(new))
    assert code == 1 and _commands(out) == []
    assert "[no-space]" in out and "needs 8 GiB, 0 B available" in out
    grow = _device(tmp_path, "grow", "{type: nvdimm, size: 250GiB, match: {namespace: pmem0}}")
    code, out, _ = _plan("--ndctl", str(RUN_DEV), "--allow-destroy", str(grow))
    assert code == 1 and _commands(out) == []  # never destroy what cannot be recreated
    assert "needs 250 GiB, 249 GiB available" in out
    doc = json.loads(RUN_DEV.read_text())
    doc["regions"][0].update(available_size=64 << 30, align=256 << 20)
    roomy = tmp_path / "roomy.json"
    roomy.write_text(json.dumps(doc))
    odd = _device(tmp_path, "odd",
                  "{type: nvdimm, size: 8208MiB, match: {region: region0, name: odd}}",
                  "  pin: {mode: raw}\n")
    code, out, _ = _plan("--ndctl", str(roomy), str(odd))
    # the region is named: the decision itself sizes by its align, in ndctl's words
    assert code == 1 and "[no-decision]" in out
    assert "ndctl refuses: align setting is 0x10000000 size 0x201000000 is misaligned" in out
    anywhere = _device(tmp_path, "anywhere", "{type: nvdimm, size: 8208MiB, match: {name: odd}}",
                       "  pin: {mode: raw}\n")
    code, out, _ = _plan("--ndctl", str(roomy), str(anywhere))
    # no region named: decided under the default 16 MiB, then no region takes it
    assert code == 1 and "[misaligned]" in out and "region align 256 MiB" in out
    code, out, _ = _plan("--ndctl", str(roomy), str(new))
    assert code == 0 and "ndctl create-namespace" in out and "--region=region0" in out


def test_plan_query(tmp_path: Path) -> None:
    grow = _device(tmp_path, "grow", "{type: nvdimm, size: 800GiB, match: {namespace: pmem1}}")
    code, out, _ = _plan("--ndctl", str(INSIGHTS), "--query", "problems[].code", str(grow))
    assert code == 1 and json.loads(out) == ["destructive-step"]


def test_shell_injection_is_quoted(tmp_path: Path) -> None:
    # a label with shell syntax is no longer a selector; a region selector must be a region name
    evil_region = _device(tmp_path, "evil", '{type: nvdimm, size: 8GiB, match: '
                          '{region: "region0 ; touch X ; #"}}')
    code, out, err = _plan(str(evil_region))
    assert code == 1 and _commands(out) == [] and "region0 ; touch X" in err
    # an ndctl name (free text) and a listing name with $(...) and a newline: quoted, escaped
    marker = tmp_path / "INJECTED"
    evil = "x$(touch INJECTED); touch INJECTED #"  # the shell below runs in tmp_path
    named = _device(tmp_path, "named", json.dumps(
        {"type": "nvdimm", "size": "8GiB", "match": {"name": evil}}), "  pin: {mode: raw}\n")
    listing = tmp_path / "evil.json"
    listing.write_text(json.dumps([
        {"dev": "namespace0.0", "mode": "raw", "size": 1 << 30,
         "name": "a\ntouch INJECTED\n$(touch INJECTED)"},
    ]))
    target = _device(tmp_path, "target", "{type: nvdimm, size: 1GiB, match: "
                     "{namespace: namespace0.0}}", "  pin: {mode: sector}\n")
    code, out, _ = _plan("--ndctl", str(listing), "--allow-destroy", str(named), str(target))
    commands = _commands(out)
    assert any(shlex.split(c)[-1] == f"--name={evil}" for c in commands), commands
    # without --allow-destroy the finding names the namespace, with its listed name escaped
    _, blocked, _ = _plan("--ndctl", str(listing), str(named), str(target))
    assert "name a\\ntouch INJECTED\\n$(touch INJECTED)" in blocked
    # run both text plans in a real shell with ndctl/daxctl as functions that log their argv
    log = tmp_path / "argv.log"
    for text in (out, blocked):
        script = ("ndctl() { printf '%s\\n' ndctl \"$@\" >> \"$LOG\"; }\n"
                  "daxctl() { printf '%s\\n' daxctl \"$@\" >> \"$LOG\"; }\n" + text)
        subprocess.run(["sh", "-c", script], check=True, cwd=tmp_path,
                       env={**os.environ, "LOG": str(log)})
    assert not marker.exists()
    logged = log.read_text().splitlines()
    assert logged.count(f"--name={evil}") == 2 and len(commands) == 2


def test_plan_text_fits_80_columns_and_continued_commands_parse_back() -> None:
    import shlex

    from policy.ndctl.render import command_line

    argv = ["ndctl", "create-namespace", "--region=region0", "--mode=devdax", "--map=dev",
            "--align=2M", "--size=756G", "--name", "a name with $(x) ; and spaces"]
    text = command_line(argv)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "\\\n" in text  # continued between arguments
    assert shlex.split(text.replace("\\\n", " ")) == argv
    # and a real shell sees the same argv
    import subprocess

    got = subprocess.run(["sh", "-c", "printf '%s\\n' " + text.split(" ", 1)[1]],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert got == argv[1:]
