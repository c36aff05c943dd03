"""explain: multi-step Kconfig changes follow the chain to its root, checked by re-evaluating."""
from __future__ import annotations

from pathlib import Path

from policy import kconfig
from policy.api import explain_feature
from policy.decide.catalog import catalog
from policy.decide.runtime import decide
from policy.profiles import load_profiles

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
PROFILES = Path(__file__).resolve().parent.parent / "profiles"


def _device(name: str):  # type: ignore[no-untyped-def]
    devices = load_profiles([PROFILES]).devices
    return next(d for d in devices if d.name == name)


def test_rt_kernel_needs_a_preemption_model_then_thp_then_device_dax() -> None:
    rt = kconfig.load_build(CONFIGS / "rt_amd64_defconfig")
    device = _device("brick03-pmem0")
    e = explain_feature("longterm_pin", device, rt)
    assert not e.enabled
    assert [s.symbol for s in e.chain][-1] == "PREEMPT_RT" and e.chain[-1].kind == "rules-out"
    assert e.change is not None and e.change_checked
    assignments = [tuple(a.split("=")) for a in e.change.removeprefix("set ").split()]
    # the choice entry PREEMPT_RT is left by choosing another preemption model
    assert assignments[0][0] in ("PREEMPT_NONE", "PREEMPT_VOLUNTARY", "PREEMPT")
    assert ("TRANSPARENT_HUGEPAGE", "y") in assignments
    # applying the suggested change really gives the feature
    result = kconfig.set_values(rt, assignments)  # type: ignore[arg-type]
    assert not result.failures
    dec = decide(device, result.build, catalog())
    assert dec.chosen is not None and dec.chosen.feature("longterm_pin").enabled
