"""Evaluating projected configurations against devices, and the Pareto frontier."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional

from policy.decide.catalog import Catalog, catalog_for
from policy.decide.runtime import Decision, decide
from policy.space.enumerate import (
    _IDENT,
    PAGE_BITS,
    PAGE_SYMBOLS,
    RUNTIME_SYMBOLS,
    Configuration,
    Space,
    _monotone,
    catalog_expressions,
    monotone_source,
)


class ProjectedBuild:
    """A configuration as :mod:`policy.decide.runtime` sees it (no reason chains: values are
    projected)."""

    def __init__(self, config: Configuration, projection: Sequence[str]) -> None:
        self.on = config.on
        self._projection = projection
        self.name = f"config-{config.id}"
        self.arch = config.arch
        self.page_size = config.page_size

    @property
    def values(self) -> dict[str, str]:
        return {s: ("y" if s in self.on else "n") for s in self._projection}

    def eval(self, expr: str) -> str:
        try:
            test = _monotone(expr)
        except ValueError:
            from policy.kconfig import expr as kexpr, tree as kconfig

            k = kexpr
            return str(k.TRI[k.tri(k.parse_expr(kconfig.parse_tree(), expr), self.values)])
        return "y" if test(self.on) else "n"

    def enabled(self, sym: str) -> bool:
        return sym in self.on

    def why_expr_off(self, expr: str) -> tuple[Any, ...]:
        return ()  # chains need the full configuration; solve reports them from a real build


@dataclass(frozen=True)
class CandidateInfo:
    """A possible run-time choice of a device: what it gives and costs, and its rank tail."""

    label: str
    mode: str
    map: Optional[str]
    align: int
    features: frozenset[str]
    dram: int
    capacity: int
    pinned: bool  # allowed by the profile's pin (True without a pin)
    rank: tuple[int, ...]  # runtime's rank after requirements and budgets: wants, DRAM, ...


@dataclass(frozen=True)
class DeviceOutcome:
    """One device under one configuration: the decision's verdict, features and costs."""

    device: str
    ok: bool
    choice: str  # "devdax map=mem align=2M" or "-"
    features: tuple[str, ...]
    achievable: tuple[str, ...]  # features some possible candidate (a run-time pin) would give
    dram: int
    capacity: int
    candidates: tuple[CandidateInfo, ...] = ()

    def pick(self, device: Any, kinds: set[str], features: set[str]) -> Optional[CandidateInfo]:
        """The candidate runtime.decide would choose with only these requirement kinds and
        required features; None when no candidate meets them."""
        best: Optional[CandidateInfo] = None
        for c in self.candidates:
            if "pin" in kinds and not c.pinned:
                continue
            if not features <= c.features:
                continue
            if (
                "budget-dram" in kinds
                and device.budget_dram is not None
                and c.dram > device.budget_dram
            ):
                continue
            if (
                "budget-capacity" in kinds
                and device.budget_capacity is not None
                and c.capacity > device.budget_capacity
            ):
                continue
            if best is None or c.rank < best.rank:
                best = c
        return best


@dataclass(frozen=True)
class Evaluated:
    config: Configuration
    outcomes: tuple[DeviceOutcome, ...]

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)

    @property
    def features(self) -> int:
        return sum(len(o.features) for o in self.outcomes)

    @property
    def dram(self) -> int:
        return sum(o.dram for o in self.outcomes)

    @property
    def capacity(self) -> int:
        return sum(o.capacity for o in self.outcomes)


def _outcome(d: Decision, device: Any, cat: Catalog) -> DeviceOutcome:
    c = d.chosen
    lay = c.layout if c else None
    achievable = sorted(
        {v.feature for r in d.candidates if r.possible for v in r.features if v.enabled}
    )
    pin = device.pin
    cands = []
    for r in d.candidates:
        if not r.possible or r.layout is None:
            continue
        k = r.candidate
        pinned = pin is None or (
            k.mode == pin.mode
            and (pin.map is None or k.map == pin.map)
            and (pin.align is None or k.align == pin.align)
        )
        cands.append(
            CandidateInfo(
                k.label(),
                k.mode,
                k.map,
                k.align,
                frozenset(v.feature for v in r.features if v.enabled),
                r.layout.dram_memmap,
                r.layout.capacity_lost,
                pinned,
                tuple(r.rank(cat)[3:]),
            )
        )
    return DeviceOutcome(
        d.device,
        d.ok,
        c.candidate.label() if c else "-",
        tuple(v.feature for v in c.features if v.enabled) if c else (),
        tuple(achievable),
        lay.dram_memmap if lay else 0,
        lay.capacity_lost if lay else 0,
        tuple(cands),
    )


class Evaluator:
    """Decides devices under projected configurations, once per distinct catalog signature."""

    def __init__(self, space: Space, devices: Sequence[Any]) -> None:
        self.space = space
        self.devices = sorted(devices, key=lambda d: str(d.name))
        self.cat = catalog_for()
        self.exprs = catalog_expressions(self.cat)
        self._tests = [_monotone(e) for e in self.exprs]
        # a device's decision reads only its own device type's conditions (runtime.candidates_for)
        others: dict[str, set[str]] = {}
        for dt in self.cat.device_types:
            mine = {dt.build} | {
                dt.build_for(m.name, m) for m in self.cat.modes if m.name in dt.modes
            }
            others[dt.name] = mine
        mode_builds = {m.build for m in self.cat.modes}
        self._relevant = {
            dt.name: tuple(
                i
                for i, e in enumerate(self.exprs)
                if e in others[dt.name]
                or not any(e in o for o in others.values())
                and (e not in mode_builds or e in others[dt.name])
            )
            for dt in self.cat.device_types
        }
        self._type_bit = {dt.name: self.exprs.index(dt.build) for dt in self.cat.device_types}
        # a condition used only by features matters only when a mode giving one of them can be
        # built for the device type (feature_verdict looks at the build after the mode matches)
        other_uses = {a.build for a in self.cat.aligns} | set(RUNTIME_SYMBOLS) | mode_builds
        for o in others.values():
            other_uses |= o
        feature_modes: dict[str, set[str]] = {}
        for f in self.cat.features:
            for c in f.runtime:
                feature_modes.setdefault(f.build, set()).update(c.modes)
                feature_modes.setdefault(c.build, set()).update(c.modes)
        self._guards: dict[str, tuple[tuple[int, tuple[int, ...]], ...]] = {}
        for dt in self.cat.device_types:
            mode_bit = {
                m.name: self.exprs.index(dt.build_for(m.name, m))
                for m in self.cat.modes
                if m.name in dt.modes
            }
            guards: list[tuple[int, tuple[int, ...]]] = []
            for i in self._relevant[dt.name]:
                e = self.exprs[i]
                if e in other_uses or e not in feature_modes:
                    guards.append((i, ()))
                else:
                    guards.append(
                        (i, tuple(mode_bit[m] for m in sorted(feature_modes[e]) if m in mode_bit))
                    )
            self._guards[dt.name] = tuple(guards)
        self._cache: dict[tuple[Any, ...], DeviceOutcome] = {}
        self._done: dict[int, Evaluated] = {}
        # group configurations without evaluating every condition: a device type's key depends
        # only on the projection symbols its conditions (and the page size) name
        names = space.configurations[0].names if space.configurations else space.projection
        bit = {name: 1 << i for i, name in enumerate(names)}

        def mask(exprs: Sequence[str]) -> int:
            names = {n for e in exprs for n in _IDENT.findall(e)} | set(PAGE_SYMBOLS)
            return sum(bit.get(n, 0) for n in names)

        self._names = names
        self._bit_sig = _bit_signature(self.exprs, bit) if space.configurations else None
        self._mask: dict[str, int] = {}
        for dt in self.cat.device_types:
            used = [self._type_bit[dt.name]]
            for i, modes in self._guards[dt.name]:
                used.append(i)
                used.extend(modes)
            self._mask[dt.name] = mask([self.exprs[i] for i in used])
        self._types = tuple(dict.fromkeys(str(d.type) for d in self.devices))
        self._type_pos = tuple(self._types.index(str(d.type)) for d in self.devices)
        self._keys: dict[tuple[str, int], tuple[Any, ...]] = {}
        self._interned: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # ids stay valid: kept here
        self._fast = all(t in self._mask for t in self._types)
        self._prepared: dict[int, tuple[tuple[int, ...], list[tuple[Any, ...]]]] = {}
        self._joint: dict[tuple[int, ...], tuple[DeviceOutcome, ...]] = {}

    def signature(self, config: Configuration) -> tuple[Any, ...]:
        """The page size and whether each catalog condition holds."""
        if self._bit_sig is not None and config.names is self._names:
            return self._bit_sig(config.bits)
        on = config.on
        return (config.page_size,) + tuple(f(on) for f in self._tests)

    def type_key(self, dtype: str, sig: tuple[Any, ...]) -> tuple[Any, ...]:
        """What a decision for a device of ``dtype`` can read of ``sig``."""
        rel = self._relevant.get(dtype)
        if rel is None:
            return sig
        if not sig[self._type_bit[dtype] + 1]:
            return ("no device-type support",)  # every mode impossible alike
        return (sig[0],) + tuple(
            sig[i + 1] and (not modes or any(sig[m + 1] for m in modes))
            for i, modes in self._guards[dtype]
        )

    def outcome(self, device: Any, config: Configuration, tkey: tuple[Any, ...]) -> DeviceOutcome:
        key = (device, tkey)
        got = self._cache.get(key)
        if got is None:
            got = self._cache[key] = self._decide(device, config)
        return got

    def evaluate(self, config: Configuration, devices: Optional[Sequence[Any]] = None) -> Evaluated:
        if devices is None:
            got = self._done.get(config.id)
            if got is None:
                got = self._done[config.id] = self._evaluate(config, None)
            return got
        return self._evaluate(config, devices)

    def prepare(self, configs: Sequence[Configuration], workers: int = 1) -> int:
        """Decide, up front and on ``workers`` processes, every (device, device-type key) the
        configurations need; returns how many decisions were made. Only an optimisation: the
        outcomes are the ones :meth:`outcome` would compute lazily."""
        if not self._fast:
            return 0
        todo: dict[tuple[int, int], tuple[int, Configuration, tuple[Any, ...]]] = {}
        seen: set[tuple[int, ...]] = set()
        for c in configs:
            tkeys = [self._key(t, c) for t in self._types]
            jk = tuple(id(k) for k in tkeys)
            self._prepared[c.id] = (jk, tkeys)
            if jk in seen:
                continue
            seen.add(jk)
            for i, (d, p) in enumerate(zip(self.devices, self._type_pos)):
                k = (i, id(tkeys[p]))
                if k not in todo and (d, tkeys[p]) not in self._cache:
                    todo[k] = (i, c, tkeys[p])
        jobs = list(todo.values())
        parallel = workers > 1 and len(jobs) >= _PARALLEL_MIN
        if parallel:
            import multiprocessing as mp  # only here: ~10 ms of every explore start otherwise

            parallel = "fork" in mp.get_all_start_methods()
        if parallel:
            global _WORKER
            _WORKER = self
            gc.freeze()  # forked workers then leave the inherited heap alone (no copy-on-write)
            try:
                with mp.get_context("fork").Pool(workers) as pool:
                    outs = pool.map(
                        _decide_job,
                        [(i, c) for i, c, _ in jobs],
                        chunksize=max(1, len(jobs) // (workers * 8)),
                    )
            finally:
                _WORKER = None
                gc.unfreeze()
        else:
            outs = [self._decide(self.devices[i], c) for i, c, _ in jobs]
        for (i, _c, tkey), o in zip(jobs, outs):
            self._cache[(self.devices[i], tkey)] = o
        return len(jobs)

    def _decide(self, device: Any, config: Configuration) -> DeviceOutcome:
        build = ProjectedBuild(config, self.space.projection)
        return _outcome(decide(device, build, self.cat), device, self.cat)

    def _key(self, dtype: str, config: Configuration) -> tuple[Any, ...]:
        m = self._mask.get(dtype)
        if m is None:
            return self.type_key(dtype, self.signature(config))
        k = (dtype, config.bits & m)
        got = self._keys.get(k)
        if got is None:
            tkey = self.type_key(dtype, self.signature(config))
            got = self._keys[k] = self._interned.setdefault(tkey, tkey)
        return got

    def _evaluate(self, config: Configuration, devices: Optional[Sequence[Any]]) -> Evaluated:
        if devices is None and self._fast:
            # the shared outcomes of every configuration with the same device-type keys
            got = self._prepared.pop(config.id, None)
            if got is None:
                tkeys = [self._key(t, config) for t in self._types]
                jk = tuple(id(k) for k in tkeys)
            else:
                jk, tkeys = got
            outs = self._joint.get(jk)
            if outs is None:
                outs = self._joint[jk] = tuple(
                    self.outcome(d, config, tkeys[p]) for d, p in zip(self.devices, self._type_pos)
                )
            return Evaluated(config, outs)
        sig = self.signature(config)
        keys: dict[str, tuple[Any, ...]] = {}
        out = []
        for d in self.devices if devices is None else devices:
            dtype = str(d.type)
            tkey = keys.get(dtype)
            if tkey is None:
                tkey = keys[dtype] = self.type_key(dtype, sig)
            out.append(self.outcome(d, config, tkey))
        return Evaluated(config, tuple(out))


def _bit_signature(
    exprs: Sequence[str], bit: Mapping[str, int]
) -> Callable[[int], tuple[Any, ...]]:
    """``Evaluator.signature`` as one generated function of a configuration's bits."""
    page = [(bit[n], size) for n, size in PAGE_BITS if n in bit]
    out = ["(" + "".join(f"{size} if b & {m} else " for m, size in page) + "4096)"]
    for e in exprs:
        code = monotone_source(e, lambda tok: f"(b & {bit.get(tok, 0)} != 0)")
        out.append("bool(" + code + ")")
    fn = eval("lambda b: (" + ", ".join(out) + ",)")  # noqa: S307 - built from checked tokens
    return fn  # type: ignore[no-any-return]


_PARALLEL_MIN = 2000  # fewer decisions than this are not worth a process pool
_WORKER: Optional[Evaluator] = None  # the evaluator a forked worker decides for


def _decide_job(job: tuple[int, Configuration]) -> DeviceOutcome:
    assert _WORKER is not None
    i, c = job
    return _WORKER._decide(_WORKER.devices[i], c)


@dataclass(frozen=True)
class ExploreResult:
    """What ``pmempolicy explore`` reports."""

    space: Space
    devices: tuple[str, ...]
    evaluated: tuple[Evaluated, ...]
    frontier: tuple[int, ...]  # configuration ids on the Pareto frontier
    unreachable: Mapping[str, tuple[str, ...]]  # device -> features no configuration can give it
    seconds: float
    diagnostics: tuple[Any, ...] = ()
    # every user option of the WHOLE tree -> the values it takes in some valid configuration
    # (explore_space.option_values): dead and always-on options are never relative to the space
    option_values: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)

    @property
    def count(self) -> int:
        return self.space.total

    @property
    def dead(self) -> tuple[str, ...]:
        """User options that are n in every valid configuration of the whole tree."""
        return tuple(s for s, v in self.option_values.items() if v == frozenset({"n"}))

    @property
    def always_on(self) -> tuple[str, ...]:
        """User options that are y or m in every valid configuration of the whole tree."""
        return tuple(s for s, v in self.option_values.items() if "n" not in v)


def pareto(points: Sequence[Evaluated]) -> tuple[int, ...]:
    """Ids of the configurations no other one beats: more features, less DRAM, less capacity."""
    best: dict[tuple[int, int, int], Evaluated] = {}
    totals: dict[int, tuple[int, int, int]] = {}  # configurations sharing outcomes share totals
    for p in points:
        key = totals.get(id(p.outcomes))
        if key is None:
            key = totals[id(p.outcomes)] = (p.features, p.dram, p.capacity)
        if key not in best or p.config.options < best[key].config.options:
            best[key] = p
    keys = sorted(best, key=lambda k: (-k[0], k[1], k[2]))
    front: list[tuple[int, int, int]] = []
    for k in keys:
        if not any(f[0] >= k[0] and f[1] <= k[1] and f[2] <= k[2] for f in front):
            front.append(k)
    return tuple(best[k].config.id for k in front)
