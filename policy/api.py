"""The public Python API: ``evaluate`` (re-exported) and ``explain_feature``.

``explain_feature`` says why one feature is on or off for one device under one build, gives the
chain to the root cause, and finds the smallest change that turns it on — a runtime pin first,
then one Kconfig symbol — each checked by re-evaluating.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from policy.decide.catalog import catalog
from policy.decide.runtime import CachedBuild, Decision, decide
from policy.errors import PolicyError, UsageError
from policy.evaluate import FeatureMatrix, evaluate
from policy.kconfig.chain import ChainStep

__all__ = ["evaluate", "explain_feature", "Explanation", "FeatureMatrix", "Decision"]


@dataclass(frozen=True)
class Explanation:
    """Why ``feature`` is on or off for ``device`` under ``config``, and what would turn it on."""

    config: str
    device: str
    feature: str
    enabled: bool
    decision: str
    why: str
    chain: tuple[ChainStep, ...]
    source: str
    change: Optional[str]  # "pin mode=devdax map=dev align=2M" or "set DEV_DAX_PMEM=m"; None if on
    change_checked: bool
    change_note: str

    def to_dict(self) -> dict[str, Any]:
        doc = dataclasses.asdict(self)
        doc["chain"] = [step.render() for step in self.chain]
        return doc

    def render(self) -> str:
        state = "on" if self.enabled else "off"
        lines = [
            f"{self.feature} is {state} for {self.device} under {self.config} ({self.decision})",
            f"  why: {self.why}",
            f"  source: {self.source}",
        ]
        lines += [f"  {'→ ' if i else ''}{step.render()}" for i, step in enumerate(self.chain)]
        if self.change:
            checked = "checked by re-evaluating" if self.change_checked else "NOT confirmed"
            lines.append(f"  smallest change: {self.change} ({checked}; {self.change_note})")
        elif not self.enabled:
            lines.append(f"  no single change found: {self.change_note}")
        return "\n".join(lines)


def _label(d: Decision) -> str:
    return d.chosen.candidate.label() if d.chosen else "nothing chosen"


def _symbol_fixes(chain: tuple[ChainStep, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """Kconfig changes a chain suggests, root cause first: (symbol, values to try).

    A symbol that rules the feature out is turned off; a choice entry is turned off by selecting
    another entry of its choice.
    """
    from policy.kconfig import tree as kconfig

    fixes: list[tuple[str, tuple[str, ...]]] = []
    for step in reversed(chain):
        if step.kind in ("undefined", "loop"):
            continue
        if step.kind == "rules-out":
            others = kconfig.choice_alternatives(step.symbol)
            if others:
                fixes.extend((other, ("y",)) for other in others)
            else:
                fixes.append((step.symbol, ("n",)))
        else:
            fixes.append((step.symbol, ("y", "m")))
    return fixes


def _one_build(build: Any) -> Any:
    """A BuildConfig as given, or the shipped defconfig (or config path) a string names."""
    if isinstance(build, (str, Path)):
        from policy.evaluate import _builds

        return _builds([build])[0]
    return build


def _one_device(device: Any) -> Any:
    """A DeviceProfile as given; a string or path: a profile file with one device, else the
    name of a shipped device (``db01-pmem0``, ``store02/pmem1``)."""
    if not isinstance(device, (str, Path)):
        return device
    from policy import resources
    from policy.profiles import profile as profiles
    from policy.profiles.schema import suggest

    if Path(device).is_file():
        loaded = list(profiles.load_profiles([device]).devices)
        if len(loaded) == 1:
            return loaded[0]
        raise UsageError(f"{device} describes {len(loaded)} devices; pass one DeviceProfile "
                         "object or a device name")
    shipped = list(profiles.load_profiles([resources.profiles_dir()]).devices)
    for d in shipped:
        if d.name == str(device):
            return d
    names = sorted(str(d.name) for d in shipped)
    raise UsageError(f"unknown device {str(device)!r}{suggest(str(device), names)}; "
                     f"shipped devices: {', '.join(names)}")


def explain_feature(feature: str, device: Any, build: Any) -> Explanation:
    """Explain ``feature`` for ``device`` under ``build``.

    Takes what :func:`policy.evaluate` takes: ``build`` a ``policy.kconfig.BuildConfig`` or a
    shipped defconfig name/config path (``"debian_amd64"``); ``device`` a ``DeviceProfile``, a
    shipped device's name (``"db01-pmem0"``) or a profile file holding one device.
    """
    cat = catalog()
    cat.feature(feature)  # raises UsageError for unknown names
    build = _one_build(build)
    device = _one_device(device)
    cached = CachedBuild(build)
    dec = decide(device, cached, cat)
    if dec.chosen is not None:
        verdict = dec.chosen.feature(feature)
        if verdict.enabled:
            return Explanation(
                build.name,
                str(device.name),
                feature,
                True,
                _label(dec),
                verdict.why,
                (),
                verdict.source,
                None,
                True,
                "",
            )
        why, source = verdict.why, verdict.source
    else:
        why, source = dec.reason, cat.feature(feature).source
    from policy.decide.runtime import feature_chain

    msg, chain = feature_chain(feature, device, dec.candidates, cached, cat)
    if not chain and dec.chosen is not None:
        msg = why

    def off(change: Optional[str], checked: bool, note: str) -> Explanation:
        return Explanation(build.name, str(device.name), feature, False, _label(dec), msg, chain,
                           source, change, checked, note)

    # 1) a runtime pin: the cheapest possible candidate that gives it
    givers = _givers(feature, dec)
    if givers:
        best = min(givers, key=lambda c: c.rank(cat))
        from policy.profiles.records import Pin

        pinned = dataclasses.replace(
            device, pin=Pin(best.candidate.mode, best.candidate.map, best.candidate.align)
        )
        redo = decide(pinned, cached, cat)
        ok = redo.chosen is not None and redo.chosen.feature(feature).enabled
        note = ("requirements still met" if ok and redo.ok
                else "other requirements or budgets then fail")
        change = (f"pin mode={best.candidate.mode}"
                  + (f" map={best.candidate.map}" if best.candidate.map else "")
                  + f" align={best.candidate.align}")
        return off(change, ok, note)
    # 2) Kconfig assignments along the chain, root cause first
    tried: list[str] = []
    if hasattr(build, "values"):
        found, tried = _kconfig_change(feature, device, build, cat, chain)
        if found is not None:
            applied, best, redo = found
            note = f"then {best.candidate.label()} gives it"
            if redo.chosen is None or not redo.chosen.feature(feature).enabled:
                note += " (with that pin, or by requiring the feature)"
            return off("set " + " ".join(f"{sym}={value}" for sym, value in applied), True, note)
    return off(None, False, "; ".join(tried) or "no candidate can give it on this device type")


def _givers(feature: str, dec: Decision) -> list[Any]:
    return [
        c
        for c in dec.candidates
        if c.possible and c.layout is not None and c.feature(feature).enabled
    ]


def _kconfig_change(
    feature: str,
    device: Any,
    build: Any,
    cat: Any,
    chain: tuple[ChainStep, ...],
    max_steps: int = 6,
) -> tuple[Optional[tuple[list[tuple[str, str]], Any, Decision]], list[str]]:
    """The fewest Kconfig assignments, following the chain root cause first, that give ``feature``.

    Each step applies the first suggested assignment that takes and changes the chain, then
    re-evaluates and follows the new chain; at most ``max_steps`` assignments.
    """
    from policy.decide.runtime import feature_chain
    from policy.kconfig import tree as kconfig

    applied: list[tuple[str, str]] = []
    tried: list[str] = []
    current = build
    for _ in range(max_steps):
        progressed = False
        for sym, values in _symbol_fixes(chain):
            for value in values:
                try:
                    res = kconfig.set_values(current, [(sym, value)])
                except PolicyError:  # e.g. a value of the wrong type for that symbol
                    continue
                if res.failures:
                    tried.append(f"{sym}={value} does not take")
                    continue
                cached = CachedBuild(res.build)
                redo = decide(device, cached, cat)
                givers = _givers(feature, redo)
                if givers:
                    best = min(givers, key=lambda c: c.rank(cat))
                    return (applied + [(sym, value)], best, redo), tried
                _, new_chain = feature_chain(feature, device, redo.candidates, cached, cat)
                if new_chain == chain:
                    tried.append(f"{sym}={value} is not enough")
                    continue
                applied.append((sym, value))
                current, chain, progressed = res.build, new_chain, True
                break
            if progressed:
                break
        if not progressed:
            break
    return None, tried


__all__ += ["FeatureMatrix"]


# --------------------------------------------------------------------------------------------
# compare: two configurations side by side (typically one flavour on 6.1 and on 6.12)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One device's decision under one build, reduced to what ``compare`` shows."""

    ok: bool
    choice: Optional[str]  # "fsdax map=dev align=2M", None when nothing is possible
    usable: Optional[int]
    dram: Optional[int]  # DRAM spent on struct pages
    capacity_lost: Optional[int]
    features: tuple[str, ...]
    findings: tuple[str, ...]
    warnings: tuple[str, ...]
    # system-ram: where the hot-added memory lands ("ZONE_NORMAL by kernel"), else None
    zone: Optional[str] = None

    @classmethod
    def of(cls, d: Decision) -> Side:
        lay = d.chosen.layout if d.chosen else None
        online = d.chosen.onlining if d.chosen else None
        return cls(
            ok=d.ok, choice=d.chosen.candidate.label() if d.chosen else None,
            usable=lay.usable if lay else None, dram=lay.dram_memmap if lay else None,
            capacity_lost=lay.capacity_lost if lay else None,
            features=tuple(v.feature for v in d.chosen.features if v.enabled) if d.chosen else (),
            findings=tuple(f.message for f in d.findings), warnings=tuple(d.warnings),
            zone=f"{online.zone} by {online.by}" if online else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class DeviceComparison:
    device: str
    size: int
    old: Side
    new: Side

    @property
    def gained(self) -> tuple[str, ...]:
        return tuple(f for f in self.new.features if f not in self.old.features)

    @property
    def lost(self) -> tuple[str, ...]:
        return tuple(f for f in self.old.features if f not in self.new.features)

    @property
    def changed(self) -> bool:
        o, n = self.old, self.new
        return (o.ok, o.choice, o.usable, o.dram, o.capacity_lost, set(o.features), o.zone) != (
            n.ok, n.choice, n.usable, n.dram, n.capacity_lost, set(n.features), n.zone)

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "size": self.size, "changed": self.changed,
                "old": self.old.to_dict(), "new": self.new.to_dict(),
                "features_gained": list(self.gained), "features_lost": list(self.lost)}


@dataclass(frozen=True)
class Comparison:
    """``compare OLD NEW``: every device's decision under both builds."""

    old: str
    new: str
    old_kernel: str
    new_kernel: str
    devices: tuple[DeviceComparison, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": 1,
                "old": {"config": self.old, "kernel": self.old_kernel},
                "new": {"config": self.new, "kernel": self.new_kernel},
                "changed": sum(d.changed for d in self.devices),
                "devices": [d.to_dict() for d in self.devices]}


def compare_builds(old: Any, new: Any, devices: Any) -> Comparison:
    """Decide every device under ``old`` and under ``new`` and pair the decisions."""
    a, b = CachedBuild(old), CachedBuild(new)
    rows = tuple(
        DeviceComparison(device=str(dev.name), size=int(dev.size),
                         old=Side.of(decide(dev, a)), new=Side.of(decide(dev, b)))
        for dev in devices
    )
    return Comparison(old=str(old.name), new=str(new.name), old_kernel=str(old.kernel),
                      new_kernel=str(new.kernel), devices=rows)
