"""The per build and device type plan (:mod:`policy.decide.plan`): one per build, device type and
catalog, and what it rules out is what the decision lists."""
from __future__ import annotations

import dataclasses
from typing import Any

from policy import kconfig, profiles, resources
from policy.decide import runtime
from policy.decide.cache import CachedBuild
from policy.decide.catalog import catalog
from policy.decide.plan import plan_for


def _shipped() -> tuple[list[CachedBuild], list[Any]]:
    builds = [CachedBuild(b) for b in kconfig.shipped_builds()]
    devices = list(profiles.load_profiles([resources.profiles_dir()]).devices)
    return builds, devices


def test_devices_of_one_type_share_the_plan_of_their_build() -> None:
    builds, devices = _shipped()
    cat = catalog()
    b = builds[0]
    for device in devices:
        runtime.candidates_for(device, b, cat)
    types = {str(d.type) for d in devices}
    assert set(b.plans) == types
    dt = cat.device_type(sorted(types)[0])
    assert plan_for(cat, b, dt) is plan_for(cat, b, dt)


def test_another_catalog_gets_its_own_plan() -> None:
    builds, devices = _shipped()
    cat = catalog()
    b = builds[0]
    dt = cat.device_type(str(devices[0].type))
    full = plan_for(cat, b, dt)
    fewer = dataclasses.replace(cat, modes=cat.modes[:2])
    assert [s.mode.name for s in plan_for(fewer, b, dt).modes] == [m.name for m in cat.modes[:2]]
    assert len(full.modes) == len(cat.modes) > 2
    assert plan_for(cat, b, dt) == full


def test_what_the_plan_rules_out_is_listed_by_the_decision() -> None:
    builds, devices = _shipped()
    cat = catalog()
    seen = 0
    for b in builds:
        for device in devices:
            plan = plan_for(cat, b, cat.device_type(str(device.type)))
            results = runtime.candidates_for(device, b, cat)
            for step in plan.modes:
                listed = [r for r in results if r.candidate.mode == step.mode.name]
                assert listed[: len(step.ruled_out)] == list(step.ruled_out)
                assert all(not r.possible for r in step.ruled_out)
                if not step.maps:
                    assert len(listed) == len(step.ruled_out) == 1
                seen += len(step.ruled_out)
    assert seen  # the shipped builds rule some candidates out
