"""The public Python API: ``evaluate`` (re-exported) and ``explain_feature``.

``explain_feature`` says why one feature is on or off for one device under one build, gives the
chain to the root cause, and finds the smallest change that turns it on — a runtime pin first,
then one Kconfig symbol — each checked by re-evaluating.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional

from .evaluate import FeatureMatrix, evaluate
from .features import catalog
from .runtime import Decision, _CachedBuild, decide

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
    chain: tuple[str, ...]
    source: str
    change: Optional[str]  # "pin mode=devdax map=dev align=2M" or "set DEV_DAX_PMEM=m"; None if on
    change_checked: bool
    change_note: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def render(self) -> str:
        state = "on" if self.enabled else "off"
        lines = [f"{self.feature} is {state} for {self.device} under {self.config} ({self.decision})",
                 f"  why: {self.why}", f"  source: {self.source}"]
        lines += [f"  {'→ ' if i else ''}{step}" for i, step in enumerate(self.chain)]
        if self.change:
            checked = "checked by re-evaluating" if self.change_checked else "NOT confirmed"
            lines.append(f"  smallest change: {self.change} ({checked}; {self.change_note})")
        elif not self.enabled:
            lines.append(f"  no single change found: {self.change_note}")
        return "\n".join(lines)


def _label(d: Decision) -> str:
    return d.chosen.candidate.label() if d.chosen else "nothing chosen"


def _symbol_fixes(chain: tuple[str, ...]) -> list[tuple[str, str]]:
    """Kconfig changes suggested by a chain, root cause first (``SYM=val (file:line) ...``)."""
    fixes: list[tuple[str, str]] = []
    for step in reversed(chain):
        sym, _, rest = step.partition("=")
        if not sym or not sym.replace("_", "").isalnum():
            continue
        val = rest.split(" ", 1)[0]
        fixes.append((sym, "n" if "rules this out" in step else ("y" if val in ("n", "m", "absent") else "y")))
    return fixes


def explain_feature(feature: str, device: Any, build: Any) -> Explanation:
    """Explain ``feature`` for ``device`` under ``build`` (a :class:`policy.kconfig.BuildConfig`)."""
    cat = catalog()
    cat.feature(feature)  # raises UsageError for unknown names
    cached = _CachedBuild(build)
    dec = decide(device, cached, cat)
    if dec.chosen is not None:
        verdict = dec.chosen.feature(feature)
        if verdict.enabled:
            return Explanation(build.name, str(device.name), feature, True, _label(dec), verdict.why, (),
                               verdict.source, None, True, "")
        why, source = verdict.why, verdict.source
    else:
        why, source = dec.reason, cat.feature(feature).source
    from .runtime import _feature_chain

    msg, chain = _feature_chain(feature, device, dec.candidates, cached, cat)
    if not chain and dec.chosen is not None:
        msg = why
    # 1) a runtime pin: the cheapest possible candidate that gives it
    givers = [c for c in dec.candidates if c.possible and c.layout is not None and c.feature(feature).enabled]
    if givers:
        best = min(givers, key=lambda c: c.rank(cat))
        from .profiles import Pin

        pinned = dataclasses.replace(device, pin=Pin(best.candidate.mode, best.candidate.map, best.candidate.align))
        redo = decide(pinned, cached, cat)
        ok = redo.chosen is not None and redo.chosen.feature(feature).enabled
        note = "requirements still met" if ok and redo.ok else "other requirements or budgets then fail"
        return Explanation(build.name, str(device.name), feature, False, _label(dec), msg, chain, source,
                           f"pin mode={best.candidate.mode}" + (f" map={best.candidate.map}" if best.candidate.map
                                                                else "")
                           + f" align={best.candidate.align}", ok, note)
    # 2) one Kconfig symbol from the chain, root cause first
    try:
        from . import kconfig
    except ImportError:  # pragma: no cover - kconfiglib is a dependency
        kconfig = None  # type: ignore[assignment]
    tried: list[str] = []
    if kconfig is not None and hasattr(build, "values"):
        for sym, val in _symbol_fixes(chain):
            for value in ((val,) if val == "n" else ("y", "m")):
                try:
                    res = kconfig.set_values(build, [(sym, value)])
                except Exception:
                    continue
                if res.failures:
                    tried.append(f"{sym}={value} does not take")
                    continue
                redo = decide(device, _CachedBuild(res.build), cat)
                givers = [c for c in redo.candidates if c.possible and c.layout is not None
                          and c.feature(feature).enabled]
                if givers:
                    best = min(givers, key=lambda c: c.rank(cat))
                    note = f"then {best.candidate.label()} gives it"
                    if redo.chosen is None or not redo.chosen.feature(feature).enabled:
                        note += " (with that pin, or by requiring the feature)"
                    return Explanation(build.name, str(device.name), feature, False, _label(dec), msg, chain,
                                       source, f"set {sym}={value}", True, note)
                tried.append(f"{sym}={value} is not enough")
    return Explanation(build.name, str(device.name), feature, False, _label(dec), msg, chain, source, None,
                       False, "; ".join(tried) or "no candidate can give it on this device type")


__all__ += ["FeatureMatrix"]
