"""decide lays out the start range of its winner only: the same layout candidates_for gives it."""
from __future__ import annotations

import dataclasses
import itertools

from policy import kconfig, profiles, resources
from policy.decide import runtime
from policy.decide.catalog import catalog
from policy.profiles.records import Pin

MiB = 1 << 20


def _devices() -> list:
    devs = profiles.load_profiles([resources.profiles_dir(), "tests/data/profiles/valid"]).devices
    out = []
    for d in devs:  # unknown starts (the start range), with and without memmap_on_memory
        for pin in (d.pin, None, Pin(mode="system-ram", memmap="device")):
            for sa in (None, 16 * MiB):
                out.append(dataclasses.replace(d, start=None, start_align=sa, pin=pin))
    return out


def test_winner_layout_is_the_ranged_one() -> None:
    cat = catalog()
    ranged = 0
    for build, dev in itertools.product(kconfig.shipped_builds(), _devices()):
        d = runtime.decide(dev, build, cat)
        if d.chosen is None:
            continue
        same = [r for r in runtime.candidates_for(dev, build, cat)
                if r.candidate == d.chosen.candidate]
        assert len(same) == 1
        assert d.chosen.layout == same[0].layout
        assert type(d.chosen.layout) is type(same[0].layout)
        ranged += getattr(d.chosen.layout, "start_range", None) is not None
    assert ranged
