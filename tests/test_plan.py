"""Plans on real listings: applying a plan's JSON to the listing reaches the decided state."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from policy import kconfig, profiles, resources
from policy.cli import main
from policy.evaluate import evaluate
from policy.ndctl.listing import read_listing
from policy.ndctl.plan import NsState, make_plan, state_from_listing
from policy.ndctl.simulate import apply_steps

DATA = Path(__file__).parent / "data"
LISTINGS = sorted((DATA / "ndctl").glob("*.json"))
DEBIAN_XZ = DATA / "debian-6.1" / "config.amd64_none_amd64.xz"
GiB = 1 << 30


@pytest.fixture(scope="module")
def amd64() -> kconfig.BuildConfig:
    return kconfig.load_build(kconfig.find_defconfig("debian_amd64"))


def _profile(tmp: Path, name: str, size: str, extra: str = "", match: str = "") -> Path:
    """A DeviceProfile; ``match`` is the flow mapping of its device.match selectors."""
    path = tmp / f"{name}.yaml"
    selector = f"    match: {match}\n" if match else ""
    path.write_text(
        f"apiVersion: pmempolicy/v1\nkind: DeviceProfile\nmetadata:\n  name: {name}\n"
        f"spec:\n  device:\n    type: nvdimm\n    size: {size}\n{selector}{extra}"
    )
    return path


def _named(devices: list[Any]) -> list[Any]:
    """Profiles without selectors, given the one a plan's create leaves: the ndctl name."""
    return [d if d.match else dataclasses.replace(d, match={"name": d.name}) for d in devices]


def _reached(
    plan_doc: dict[str, Any], state: tuple[NsState, ...], devices: list[Any], build: Any
) -> None:
    """Apply the plan's JSON steps, then: every target holds and a fresh plan has nothing to do."""
    new = apply_steps(state, plan_doc["steps"])
    devices = _named(devices)
    again = make_plan(devices, build, new)
    assert again.steps == (), [s.command for s in again.steps]
    by_profile = {d: n for d, n, _ in again.unchanged}
    for device, target in plan_doc["targets"].items():
        ns = next(s for s in new if s.dev == by_profile[device])
        assert (ns.mode, ns.map, ns.align) == (target["mode"], target["map"], target["align"])
        assert ns.size_lo <= target["size"] <= ns.size_hi
    # re-evaluate the simulated state pinned as it now is: the same layout the policy decided
    for device, target in plan_doc["targets"].items():
        dec = make_plan([d for d in devices if d.name == device], build, new).targets[device]
        assert dec.mode == target["mode"]


@pytest.mark.parametrize("listing_path", LISTINGS, ids=lambda p: p.name)
def test_plan_reaches_the_decision_on_every_listing(listing_path: Path, amd64: kconfig.BuildConfig,
                                                     tmp_path: Path) -> None:
    listing = read_listing(listing_path)
    state = state_from_listing(listing)
    # one profile per active namespace, named after it, wanting a different setup;
    # plus the shipped ones
    paths = [resources.profiles_dir()]
    for n, ns in enumerate(listing.active):
        size = ns.raw_size if n % 2 == 0 else ns.raw_size + 2 * GiB  # some keep the size, some grow
        paths.append(_profile(tmp_path, ns.dev, str(size), "  requires: [longterm_pin]\n",
                              f"{{namespace: {ns.dev}}}"))
    loaded = profiles.load_profiles(paths)
    assert loaded.ok, [d.render() for d in loaded.diagnostics]
    devices = list(loaded.devices)
    plan = make_plan(devices, amd64, state, listing=listing, allow_destroy=True)
    # the shipped profiles name no namespace: findings, never matched by their names
    shipped = {d.name for d in devices if not d.match}
    assert {f.device for f in plan.problems if f.code == "no-selector"} == shipped
    doc = json.loads(json.dumps(plan.to_dict()))
    assert doc["schema_version"] == 1
    for step in doc["steps"]:
        assert set(step) == {"device", "namespace", "action", "command", "destroys_data", "reason"}
        assert step["command"][0] in ("ndctl", "daxctl")
        if step["action"] in ("destroy", "reconfigure"):
            assert step["destroys_data"] is True
    _reached(doc, state, [d for d in devices if d.name not in {f.device for f in plan.problems}],
             amd64)


def test_reconfigure_in_place_and_destroy(amd64: kconfig.BuildConfig, tmp_path: Path) -> None:
    listing = read_listing(DATA / "ndctl" / "insights-ndctl-list-Ni.json")
    same = _profile(
        tmp_path,
        "keep",
        "756GiB",
        "  requires: [longterm_pin]\n",
        "{namespace: namespace1.0}",
    )
    plan = make_plan(
        list(profiles.load_profiles([same]).devices),
        amd64,
        state_from_listing(listing),
        listing=listing,
        allow_destroy=True,
    )
    (step,) = plan.steps
    assert step.command == (
        "ndctl",
        "create-namespace",
        "-f",
        "-e",
        "namespace1.0",
        "--mode=devdax",
        "--map=dev",
        "--align=2M",
    )
    assert step.destroys_data and step.action == "reconfigure"
    grow = _profile(tmp_path, "grow", "800GiB", "  requires: [longterm_pin]\n",
                    "{namespace: pmem1}")
    plan = make_plan(
        list(profiles.load_profiles([grow]).devices),
        amd64,
        state_from_listing(listing),
        listing=listing,
        allow_destroy=True,
    )
    assert [s.action for s in plan.steps] == ["destroy", "create"]
    assert plan.steps[0].command == ("ndctl", "destroy-namespace", "--force", "namespace1.0")
    assert "--size=800G" in plan.steps[1].command and "--region=region1" in plan.steps[1].command


def test_already_matching_plans_nothing(amd64: kconfig.BuildConfig, tmp_path: Path) -> None:
    listing = read_listing(DATA / "ndctl" / "insights-ndctl-list-Ni.json")
    prof = _profile(tmp_path, "pmem1", "756GiB", "  pin: {mode: fsdax, map: mem, align: 2MiB}\n",
                    "{namespace: pmem1}")
    plan = make_plan(
        list(profiles.load_profiles([prof]).devices),
        amd64,
        state_from_listing(listing),
        listing=listing,
    )
    assert plan.steps == () and plan.unchanged == (
        ("pmem1", "namespace1.0", "fsdax map=mem align=2M size=756G"),
    )


def test_system_ram_uses_daxctl(amd64: kconfig.BuildConfig, tmp_path: Path) -> None:
    listing = read_listing(DATA / "ndctl" / "pmem-docs-list-N-devdax.json")
    prof = _profile(
        tmp_path, "dax0.0", "4GiB", "  pin: {mode: system-ram, map: dev, align: 2MiB}\n",
        "{namespace: dax0.0}"
    )
    devices = list(profiles.load_profiles([prof]).devices)
    state = state_from_listing(listing)
    plan = make_plan(devices, amd64, state, listing=listing, allow_destroy=True)
    (step,) = plan.steps
    assert (
        step.command == ("daxctl", "reconfigure-device", "--mode=system-ram", "dax0.0")
        and step.destroys_data
    )
    _reached(plan.to_dict(), state, devices, amd64)


def test_plan_from_nothing_creates_every_profile(amd64: kconfig.BuildConfig) -> None:
    devices = list(profiles.load_profiles([resources.profiles_dir()]).devices)
    plan = make_plan(devices, amd64)
    assert plan.steps and all(not s.destroys_data for s in plan.steps)
    assert {s.action for s in plan.steps} <= {"create", "daxctl"}
    _reached(plan.to_dict(), (), devices, amd64)
    decided = evaluate([amd64], devices)
    label_less = {d.name for d in devices if d.type in ("e820", "virtio-pmem")}
    assert label_less and {f.device for f in plan.problems} >= label_less
    for row in decided.rows:
        if row.ok and row.chosen is not None and row.device not in label_less:
            assert plan.targets[row.device].mode == row.chosen.candidate.mode


def test_label_less_namespace_is_reconfigured_in_place(amd64: kconfig.BuildConfig,
                                                      tmp_path: Path) -> None:
    # The man page's e820 namespace (raw with automatic pages) and a profile wanting fsdax on it
    listing = read_listing(DATA / "ndctl" / "ndctl-man-list-BN.json")
    e820 = next(ns for ns in listing.namespaces if ns.dev == "namespace0.0")
    path = tmp_path / "legacy.yaml"
    path.write_text(
        "apiVersion: pmempolicy/v1\nkind: DeviceProfile\nmetadata:\n  name: legacy\n"
        "spec:\n  device: {type: e820, size: 8GiB, match: {namespace: namespace0.0}}\n"
        "  requires: [o_direct_dax_file]\n"
        "  pin: {mode: fsdax, map: dev, align: 2MiB}\n"
    )
    devices = list(profiles.load_profiles([path]).devices)
    plan = make_plan(devices, amd64, state_from_listing(listing), allow_destroy=True)
    assert [s.action for s in plan.steps] == ["reconfigure"]
    assert plan.steps[0].command[:5] == ("ndctl", "create-namespace", "-f", "-e", e820.dev)
    assert not any(s.action in ("create", "destroy") for s in plan.steps)


def test_plan_cli_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listing = DATA / "ndctl" / "insights-ndctl-list-Ni.json"
    prof = _profile(tmp_path, "pmem1", "756GiB", "  requires: [longterm_pin]\n",
                    "{namespace: pmem1}")
    assert main(["plan", "--config", str(DEBIAN_XZ), "--ndctl", str(listing), "--allow-destroy",
                 str(prof)]) == 0
    out, err = capsys.readouterr()
    assert "ndctl create-namespace -f -e namespace1.0 --mode=devdax --map=dev --align=2M" in out
    assert "!!! DESTROYS DATA on namespace1.0" in out and "WARNING" in err
    assert "imported distro config" in err and "outside the model ignored" in err
    assert (
        main(
            [
                "plan",
                "--config",
                "debian_amd64",
                "--ndctl",
                str(listing),
                "--format",
                "json",
                "--allow-destroy",
                str(prof),
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["destroys_data"] is True and doc["steps"][0]["action"] == "reconfigure"


def test_plan_cli_stdin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from policy.cli import cli

    prof = _profile(tmp_path, "pmem1", "756GiB", "  pin: {mode: fsdax, map: mem, align: 2MiB}\n",
                    "{namespace: pmem1}")
    data = (DATA / "ndctl" / "insights-ndctl-list-Ni.json").read_bytes()
    result = CliRunner().invoke(
        cli,
        ["plan", "--config", "debian_amd64", "--ndctl", "-", str(prof)],
        input=data,
        standalone_mode=False,
    )
    assert result.exception is None and result.return_value == 0
    assert "unchanged: pmem1 is namespace1.0" in result.output


def test_plan_needs_a_config(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KCONFIG_CONFIG", raising=False)
    assert main(["plan"]) == 2
    assert "plan needs one kernel config" in capsys.readouterr().err


def test_contested_namespace_is_a_problem(amd64: kconfig.BuildConfig, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    listing = DATA / "ndctl" / "insights-ndctl-list-Ni.json"
    a = _profile(tmp_path, "pmem1", "756GiB", match="{namespace: pmem1}")
    b = _profile(tmp_path, "other", "756GiB", match="{namespace: namespace1.0}")
    assert main(["plan", "--config", "debian_amd64", "--ndctl", str(listing), str(a), str(b)]) == 1
    assert "claimed by several profiles" in capsys.readouterr().out
