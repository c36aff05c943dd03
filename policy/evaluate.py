"""``evaluate(builds, devices) -> FeatureMatrix``: every device decided under every build.

The module itself is callable, so ``import policy.evaluate; policy.evaluate(...)`` works as well
as ``from policy.evaluate import evaluate``.
"""
from __future__ import annotations

import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from policy.decide import costs
from policy.decide.catalog import catalog
from policy.decide.memo import decide_memo
from policy.decide.runtime import Build, CachedBuild, Decision
from policy.errors import Diagnostic

if TYPE_CHECKING:
    from policy.profiles.records import DeviceProfile

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class FeatureMatrix:
    """Configurations × devices: one :class:`~policy.decide.runtime.Decision` per pair.

    ``rows`` are ordered by configuration (in the order given) and then by device name, so the
    result does not depend on the order of the profiles. ``diagnostics`` are the problems of
    profile files that could not be evaluated (each also makes ``ok`` false).
    """

    configs: tuple[str, ...]
    devices: tuple[str, ...]
    rows: tuple[Decision, ...]
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every requirement and budget is met and every profile loaded."""
        return all(r.ok for r in self.rows) and not any(
            d.severity == "error" for d in self.diagnostics
        )

    @property
    def verdict(self) -> str:
        return "ok" if self.ok else "findings"

    def row(self, config: str, device: str) -> Decision:
        """The decision for one device under one configuration."""
        for r in self.rows:
            if r.build == config and r.device == device:
                return r
        raise KeyError((config, device))


BuildArg = Union[Build, str, Path]  # a BuildConfig, or a defconfig name or path
DeviceArg = Union["DeviceProfile", str, Path]  # a profile, or a profile file or directory


def _builds(builds: Optional[Sequence[BuildArg]]) -> Sequence[Build]:
    from policy.kconfig import tree as kconfig  # kconfiglib only when needed

    if builds is None:
        return kconfig.shipped_builds()
    out: list[Build] = []
    for b in builds:
        if isinstance(b, (str, Path)):
            out.append(kconfig.load_build(kconfig.find_defconfig(str(b))))
        else:
            out.append(b)
    return out


def _devices(
    devices: Optional[Sequence[DeviceArg]],
) -> tuple[list[DeviceProfile], tuple[Diagnostic, ...]]:
    from policy import resources
    from policy.profiles import profile as profiles

    paths: list[Union[str, Path]] = []
    objs: list[DeviceProfile] = []
    if devices is None:
        paths = [resources.profiles_dir()]
    else:
        for d in devices:
            if isinstance(d, (str, Path)):
                paths.append(d)
            else:
                objs.append(d)
    diags: tuple[Diagnostic, ...] = ()
    if paths:
        loaded = profiles.load_profiles(paths)
        objs.extend(loaded.devices)
        diags = tuple(loaded.diagnostics)
    return objs, diags


def evaluate(
    builds: Optional[Sequence[BuildArg]] = None,
    devices: Optional[Sequence[DeviceArg]] = None,
    *,
    diagnostics: Sequence[Diagnostic] = (),
) -> FeatureMatrix:
    """Decide every device under every build.

    ``builds``: :class:`policy.kconfig.BuildConfig` objects, or names/paths of defconfigs;
    ``None`` means every shipped ``configs/*_defconfig``. ``devices``:
    :class:`policy.profiles.DeviceProfile` objects, or profile files/directories; ``None`` means
    every shipped profile. Returns a frozen :class:`FeatureMatrix`.
    """
    blist = _builds(builds)
    dlist, diags = _devices(devices)
    cat = catalog()
    ordered = sorted(dlist, key=lambda d: str(d.name))
    rows: list[Decision] = []
    for b in blist:
        cached = CachedBuild(b)
        rows.extend(decide_memo(d, cached, cat) for d in ordered)
    return FeatureMatrix(
        tuple(b.name for b in blist),
        tuple(str(d.name) for d in ordered),
        tuple(rows),
        tuple(diagnostics) + diags,
    )


def modelled_costs(decision: Decision) -> tuple[costs.Modelled, ...]:
    """The run-time costs of the chosen mode that are not byte counts (see costs.io_costs)."""
    if decision.chosen is None:
        return ()
    return costs.io_costs(decision.chosen.candidate.mode)


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> FeatureMatrix:
        return evaluate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
