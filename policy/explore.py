"""Every valid configuration of the Kconfig tree at once: enumeration, evaluation, frontier, solve.

``enumerate_space`` walks the compiled tree (:mod:`policy.encode`) breadth-first, keeping the set of
distinct partial configurations restricted to the symbols later steps still read plus the projection
(the symbols any feature, mode, align, device type or cost reads, and the arch/page-size choices,
reduced to on/off since ``build_holds`` treats m and y alike). Every final state is a distinct
projected configuration; each carries a witness (the user assignment that reaches it with the fewest
enabled options). ``explore`` evaluates every configuration against the devices; ``solve`` picks
the cheapest one meeting every requirement. Semantics and the exactness argument: docs/explore.md.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional

from . import encode
from .errors import UsageError
from .features import Catalog, catalog
from .runtime import Decision, decide

SCHEMA_VERSION = 1
# what policy.runtime reads beyond the catalog (runtime._layout, candidates_for); tested
RUNTIME_SYMBOLS = (
    "ZONE_DEVICE",
    "ARCH_HAS_MEMREMAP_COMPAT_ALIGN",
    "ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP",
)
# BuildConfig.arch and BuildConfig.page_size (policy.kconfig._arch, _page_size)
ARCH_SYMBOLS = ("X86_64", "ARM64", "PPC64", "ARM64_16K_PAGES", "ARM64_64K_PAGES", "PPC_64K_PAGES")
DEFAULT_LIMIT = 250_000
# the default space: every user-settable projection symbol plus the bus/driver options whose
# absence alone keeps a projected option off (ZONE_DEVICE needs MEMORY_HOTREMOVE, CXL_PMEM needs
# PCI and CXL_BUS, VIRTIO_PMEM needs VIRTIO); docs/explore.md
DEFAULT_EXTRA = ("MEMORY_HOTREMOVE", "PCI", "CXL_BUS", "VIRTIO")

Minimize = Literal["dram", "capacity", "options"]
Progress = Callable[[str, int, int], None]  # (phase, done, total)
_IDENT = re.compile(r"\b[A-Z][A-Z0-9_]*\b")


def catalog_expressions(cat: Optional[Catalog] = None) -> tuple[str, ...]:
    """Every Kconfig expression the catalog evaluates (modes, aligns, device types, features)."""
    cat = cat or catalog()
    out: list[str] = []
    for m in cat.modes:
        out.append(m.build)
    for a in cat.aligns:
        out.append(a.build)
    for d in cat.device_types:
        out.append(d.build)
        out.extend(d.build_for(m.name, m) for m in cat.modes if m.name in d.modes)
    for f in cat.features:
        out.append(f.build)
        out.extend(c.build for c in f.runtime)
    out.extend(RUNTIME_SYMBOLS)
    return tuple(dict.fromkeys(e for e in out if e != "y"))


def projection_symbols(defined: Sequence[str], cat: Optional[Catalog] = None) -> tuple[str, ...]:
    """The symbols whose value can change a feature or a cost, in a stable (sorted) order."""
    known = set(defined)
    names = {n for e in catalog_expressions(cat) for n in _IDENT.findall(e) if n in known}
    names |= {n for n in ARCH_SYMBOLS if n in known}
    return tuple(sorted(names))


_TOKEN = re.compile(r"\s*(&&|\|\||\(|\)|[A-Za-z0-9_]+)")


def monotone_test(expr: str) -> Callable[[frozenset[str]], bool]:
    """``expr`` (only ``&&``, ``||``, parentheses and symbols) as a test of a set of on symbols.

    Exact for projected configurations: without ``!`` and relations an expression holds (is y or
    m) exactly when it holds with every m read as y. ``ValueError`` for any other construct.
    """
    out: list[str] = []
    pos = 0
    text = expr.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"not a monotone expression: {expr!r}")
        tok = m.group(1)
        pos = m.end()
        if tok == "&&":
            out.append(" and ")
        elif tok == "||":
            out.append(" or ")
        elif tok in "()":
            out.append(tok)
        elif tok in ("y", "m"):
            out.append("True")
        elif tok == "n":
            out.append("False")
        else:
            out.append(f"({tok!r} in on)")
        if text[pos:].strip() == "":
            break
    fn = eval("lambda on: bool(" + "".join(out) + ")")  # noqa: S307 - built from checked tokens
    return fn  # type: ignore[no-any-return]


_monotone = functools.lru_cache(maxsize=None)(monotone_test)


@dataclass(frozen=True)
class Configuration:
    """One distinct valid configuration, projected: each projection symbol on or off."""

    id: int
    on: frozenset[str]  # projection symbols that are y or m
    options: int  # fewest enabled user options of any full configuration with this projection
    assignment: tuple[tuple[str, str], ...]  # a user assignment reaching it (the witness)

    @property
    def arch(self) -> str:
        for sym, arch in (("X86_64", "x86_64"), ("ARM64", "arm64"), ("PPC64", "ppc64")):
            if sym in self.on:
                return arch
        return "unknown"

    @property
    def page_size(self) -> int:
        for sym, size in (
            ("ARM64_16K_PAGES", 16384),
            ("ARM64_64K_PAGES", 65536),
            ("PPC_64K_PAGES", 65536),
        ):
            if sym in self.on:
                return size
        return 4096

    def config_text(self) -> str:
        """A ``.config`` fragment that ``olddefconfig`` turns into this configuration."""
        return "".join(
            f"CONFIG_{s}={v}\n" if v != "n" else f"# CONFIG_{s} is not set\n"
            for s, v in self.assignment
        )


@dataclass(frozen=True)
class Space:
    """The enumerated configuration space."""

    projection: tuple[str, ...]
    enumerated: tuple[str, ...]  # the user-settable symbols the enumeration assigned
    configurations: tuple[Configuration, ...]
    seen: Mapping[str, frozenset[str]]  # every symbol -> the values it takes in some configuration
    settable: tuple[str, ...]
    steps: int
    peak_states: int
    complete: bool = True  # False: too many configurations to list; only ``seen`` is known

    @property
    def dead(self) -> tuple[str, ...]:
        """User options that are n in every valid configuration."""
        return tuple(
            s for s in self.settable if self.seen.get(s, frozenset({"n"})) == frozenset({"n"})
        )

    @property
    def always_on(self) -> tuple[str, ...]:
        """User options that are y or m in every valid configuration."""
        return tuple(s for s in self.settable if "n" not in self.seen.get(s, frozenset({"n"})))


_TRI = ("n", "m", "y")


class SpaceTooLarge(UsageError):
    """The joint enumeration would hold more partial configurations than the limit."""


def option_values(
    space: Optional[Sequence[str]] = None, *, progress: Optional[Progress] = None
) -> dict[str, frozenset[str]]:
    """Every value each user option takes in some valid configuration, one option at a time.

    Each option is enumerated with itself as the only projection and only the symbols it depends
    on (its cone): the same steps and the same exactness argument as :func:`enumerate_space`,
    but small frontiers, so this covers the whole shipped tree in about a second.
    """
    from . import kconfig

    kconf = kconfig.parse_tree()
    out: dict[str, frozenset[str]] = {}
    names = encode.settable_symbols(kconf)
    for k, name in enumerate(names):
        model = encode.compile_model(kconf, [name], space, whole_tree=False)
        states: set[tuple[int, ...]] = {()}
        seen: set[int] = set()
        for cs in model.steps:
            new: set[tuple[int, ...]] = set()
            where = cs.step.defines.index(name) if name in cs.step.defines else -1
            for st in states:
                for t, _dc, _dec, v in cs.run(st):
                    new.add(t)
                    if where >= 0:
                        seen.add(v[where])
            states = new
        out[name] = frozenset(_TRI[x] for x in seen)
        if progress is not None:
            progress("options", k + 1, len(names))
    return out


def default_space() -> tuple[str, ...]:
    """The pmem sub-tree enumerated when neither ``--config-space`` nor ``--all`` is given."""
    from . import kconfig

    kconf = kconfig.parse_tree()
    proj = set(projection_symbols([s.name for s in kconf.unique_defined_syms]))
    return tuple(s for s in encode.settable_symbols(kconf) if s in proj or s in DEFAULT_EXTRA)


def enumerate_space(
    space: Optional[Sequence[str]] = None,
    *,
    projection: Optional[Sequence[str]] = None,
    progress: Optional[Progress] = None,
    limit: int = DEFAULT_LIMIT,
) -> Space:
    """Every distinct valid configuration, projected (see the module docstring).

    ``space``: the user-settable symbols to enumerate (None: all of them); the others keep their
    defaults. ``limit``: refuse (UsageError) when more partial configurations than this would be
    held at once, rather than run for minutes.
    """
    from . import kconfig

    kconf = kconfig.parse_tree()
    defined = [s.name for s in kconf.unique_defined_syms]
    proj = tuple(projection) if projection is not None else projection_symbols(defined)
    model = encode.compile_model(kconf, proj, space)
    states: dict[tuple[int, ...], tuple[int, Any]] = {(): (0, None)}
    seen: dict[str, set[int]] = {}
    peak = 1
    total = len(model.steps)
    for i, cs in enumerate(model.steps):
        new: dict[tuple[int, ...], tuple[int, Any]] = {}
        run = cs.run
        vals: set[tuple[int, ...]] = set()
        for s, (cost, wit) in states.items():
            for t, dc, dec, v in run(s):
                vals.add(v)
                c = cost + dc
                old = new.get(t)
                if old is None or c < old[0]:
                    new[t] = (c, wit if dec is None else (dec, wit))
        for k, name in enumerate(cs.step.defines):
            seen.setdefault(name, set()).update(v[k] for v in vals)
        states = new
        peak = max(peak, len(states))
        if len(states) > limit:
            raise SpaceTooLarge(
                f"the space holds more than {limit} partial configurations at step {i} "
                f"({cs.step.defines[0]}); restrict it with --config-space SYMBOLS or raise --limit"
            )
        if progress is not None:
            progress("enumerate", i + 1, total)
    layout = model.projection
    configs = []
    for k, (t, (cost, wit)) in enumerate(sorted(states.items(), key=lambda kv: kv[0])):
        on = frozenset(name for name, v in zip(layout, t) if v)
        chain: list[tuple[str, str]] = []
        while wit is not None:
            chain.append(wit[0])
            wit = wit[1]
        configs.append(Configuration(k, on, cost, tuple(reversed(chain))))
    return Space(
        proj,
        tuple(sorted(model.space)),
        tuple(configs),
        {n: frozenset(_TRI[x] for x in v) for n, v in seen.items() if not n.startswith("<")},
        model.settable,
        total,
        peak,
    )


# ----------------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------------


class ProjectedBuild:
    """A configuration as :mod:`policy.runtime` sees it (no reason chains: values are projected)."""

    def __init__(self, config: Configuration, projection: Sequence[str]) -> None:
        from . import kconfig, kexpr

        self._kconf = kconfig.parse_tree()
        self._kexpr = kexpr
        self.on = config.on
        self.values = {s: ("y" if s in config.on else "n") for s in projection}
        self.name = f"config-{config.id}"
        self.arch = config.arch
        self.page_size = config.page_size

    def eval(self, expr: str) -> str:
        try:
            test = _monotone(expr)
        except ValueError:
            k = self._kexpr
            return str(k.TRI[k.tri(k.parse_expr(self._kconf, expr), self.values)])
        return "y" if test(self.on) else "n"

    def enabled(self, sym: str) -> bool:
        return self.values.get(sym, "n") != "n"

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
        self.cat = catalog()
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

    def signature(self, config: Configuration) -> tuple[Any, ...]:
        """The page size and whether each catalog condition holds."""
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
            build = ProjectedBuild(config, self.space.projection)
            got = self._cache[key] = _outcome(decide(device, build, self.cat), device, self.cat)
        return got

    def evaluate(self, config: Configuration, devices: Optional[Sequence[Any]] = None) -> Evaluated:
        if devices is None:
            got = self._done.get(config.id)
            if got is None:
                got = self._done[config.id] = self._evaluate(config, None)
            return got
        return self._evaluate(config, devices)

    def _evaluate(self, config: Configuration, devices: Optional[Sequence[Any]]) -> Evaluated:
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

    @property
    def count(self) -> int:
        return len(self.space.configurations)


def pareto(points: Sequence[Evaluated]) -> tuple[int, ...]:
    """Ids of the configurations no other one beats: more features, less DRAM, less capacity."""
    best: dict[tuple[int, int, int], Evaluated] = {}
    for p in points:
        key = (p.features, p.dram, p.capacity)
        if key not in best or p.config.options < best[key].config.options:
            best[key] = p
    keys = sorted(best, key=lambda k: (-k[0], k[1], k[2]))
    front: list[tuple[int, int, int]] = []
    for k in keys:
        if not any(f[0] >= k[0] and f[1] <= k[1] and f[2] <= k[2] for f in front):
            front.append(k)
    return tuple(best[k].config.id for k in front)


def explore(
    devices: Sequence[Any],
    space: Optional[Sequence[str]] = None,
    *,
    progress: Optional[Progress] = None,
    limit: int = DEFAULT_LIMIT,
    diagnostics: Sequence[Any] = (),
) -> ExploreResult:
    """Enumerate the space and evaluate every configuration against ``devices``."""
    started = time.perf_counter()
    try:
        sp = enumerate_space(space, progress=progress, limit=limit)
    except SpaceTooLarge:
        if space is not None:
            raise
        # the whole tree: dead and always-on options still exactly, option by option
        from . import kconfig

        kconf = kconfig.parse_tree()
        proj = projection_symbols([s.name for s in kconf.unique_defined_syms])
        sp = Space(
            proj,
            encode.settable_symbols(kconf),
            (),
            option_values(progress=progress),
            encode.settable_symbols(kconf),
            0,
            limit,
            complete=False,
        )
        names = tuple(sorted(str(d.name) for d in devices))
        return ExploreResult(
            sp, names, (), (), {}, time.perf_counter() - started, tuple(diagnostics)
        )
    ev = Evaluator(sp, devices)
    out = []
    n = len(sp.configurations)
    for i, c in enumerate(sp.configurations):
        out.append(ev.evaluate(c))
        if progress is not None and (i % 64 == 0 or i + 1 == n):
            progress("evaluate", i + 1, n)
    names = tuple(str(d.name) for d in ev.devices)
    every = {f.name for f in ev.cat.features}
    reach: dict[str, set[str]] = {name: set() for name in names}
    for e in out:
        for o in e.outcomes:
            reach[o.device].update(o.achievable)
    unreachable = {name: tuple(sorted(every - reach[name])) for name in names}
    return ExploreResult(
        sp,
        names,
        tuple(out),
        pareto(out),
        unreachable,
        time.perf_counter() - started,
        tuple(diagnostics),
    )


# ----------------------------------------------------------------------------------------------
# Solve
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """One thing a solution must meet: a required feature, a budget or a pin of one device."""

    device: str
    kind: Literal["device", "require", "budget-dram", "budget-capacity", "pin"]
    feature: Optional[str] = None

    def label(self) -> str:
        if self.kind == "require":
            return f"{self.device} requires {self.feature}"
        if self.kind == "pin":
            return f"{self.device} pin"
        if self.kind == "device":
            return f"{self.device} needs some run-time mode"
        return f"{self.device} {self.kind.replace('-', ' ')}"


@dataclass(frozen=True)
class Conflict:
    requirement: Requirement
    reasons: tuple[str, ...]  # the findings (and their chains) under the closest configuration


@dataclass(frozen=True)
class SolveResult:
    ok: bool
    minimize: str
    config: Optional[Configuration]
    build: Any  # policy.kconfig.BuildConfig of the solution (full olddefconfig of the witness)
    decisions: tuple[Decision, ...]
    conflicts: tuple[Conflict, ...]
    candidates: int  # configurations that satisfy everything
    count: int  # configurations considered


def requirements(devices: Sequence[Any], extra: Sequence[str]) -> tuple[Requirement, ...]:
    out: list[Requirement] = []
    for d in sorted(devices, key=lambda d: str(d.name)):
        name = str(d.name)
        out.append(Requirement(name, "device"))
        for f in dict.fromkeys(tuple(d.requires) + tuple(extra)):
            out.append(Requirement(name, "require", f))
        if d.budget_dram is not None:
            out.append(Requirement(name, "budget-dram"))
        if d.budget_capacity is not None:
            out.append(Requirement(name, "budget-capacity"))
        if d.pin is not None:
            out.append(Requirement(name, "pin"))
    return tuple(out)


def _restrict(devices: Sequence[Any], reqs: Sequence[Requirement]) -> list[Any]:
    """The devices with only ``reqs`` kept (requires, budgets and pins outside it dropped; a device
    without its "device" requirement is left out altogether)."""
    out = []
    for d in devices:
        mine = [r for r in reqs if r.device == str(d.name)]
        if not any(r.kind == "device" for r in mine):
            continue
        out.append(
            dataclasses.replace(
                d,
                requires=tuple(r.feature for r in mine if r.kind == "require" and r.feature),
                budget_dram=d.budget_dram if any(r.kind == "budget-dram" for r in mine) else None,
                budget_capacity=d.budget_capacity
                if any(r.kind == "budget-capacity" for r in mine)
                else None,
                pin=d.pin if any(r.kind == "pin" for r in mine) else None,
            )
        )
    return out


def _best(
    ev: Evaluator, reqs: Sequence[Requirement], minimize: str
) -> tuple[Optional[tuple[Configuration, int, int]], int]:
    """The best configuration meeting ``reqs`` (with its total DRAM and capacity), and how many do.

    Each device's outcome under a configuration is decided once (runtime.decide); which candidate
    it would choose under a subset of its requirements follows from the candidates' features,
    costs, pin match and rank, without deciding again.
    """
    wanted: dict[str, tuple[set[str], set[str]]] = {}
    for r in reqs:
        kinds, feats = wanted.setdefault(r.device, (set(), set()))
        kinds.add(r.kind)
        if r.kind == "require" and r.feature:
            feats.add(r.feature)
    active = [
        (k, d)
        for k, d in enumerate(ev.devices)
        if "device" in wanted.get(str(d.name), ({""}, set()))[0]
    ]
    best: Optional[tuple[tuple[int, ...], Configuration, int, int]] = None
    n = 0
    for c in ev.space.configurations:
        e = ev.evaluate(c)
        dram = cap = 0
        for k, d in active:
            kinds, feats = wanted[str(d.name)]
            pick = e.outcomes[k].pick(d, kinds, feats)
            if pick is None:
                break
            dram += pick.dram
            cap += pick.capacity
        else:
            n += 1
            key = (
                (dram, cap, c.options, c.id)
                if minimize == "dram"
                else (cap, dram, c.options, c.id)
                if minimize == "capacity"
                else (c.options, dram, cap, c.id)
            )
            if best is None or key < best[0]:
                best = (key, c, dram, cap)
    return (None if best is None else best[1:]), n


def solve(
    devices: Sequence[Any],
    require: Sequence[str] = (),
    minimize: Minimize = "dram",
    space: Optional[Sequence[str]] = None,
    *,
    progress: Optional[Progress] = None,
    limit: int = DEFAULT_LIMIT,
) -> SolveResult:
    """The cheapest configuration (by ``minimize``) where every device meets every requirement.

    Without one, a minimal set of conflicting requirements (deletion-based: each is dropped in turn
    and kept out while the rest stays unsatisfiable), each with the reasons it fails under the
    best configuration that meets the others.
    """
    from . import kconfig

    cat = catalog()
    for f in require:
        cat.feature(f)  # UsageError for an unknown name
    if minimize not in ("dram", "capacity", "options"):
        raise UsageError(f"--minimize must be dram, capacity or options, not {minimize!r}")
    sp = enumerate_space(space, progress=progress, limit=limit)
    ev = Evaluator(sp, devices)
    reqs = requirements(devices, require)
    best, n = _best(ev, reqs, minimize)
    count = len(sp.configurations)
    if best is not None:
        config = best[0]
        build = kconfig.load_text(config.config_text(), "<solve>", "solution")
        decisions = tuple(decide(d, build, cat) for d in _restrict(ev.devices, reqs))
        return SolveResult(
            all(d.ok for d in decisions), minimize, config, build, decisions, (), n, count
        )
    core = list(reqs)

    def implied(r: Requirement, among: Sequence[Requirement]) -> bool:
        # "gets some mode" goes with every other requirement of the same device
        return r.kind == "device" and any(
            x.device == r.device and x.kind != "device" for x in among
        )

    # device-level items last: kept while the device has other requirements in the set
    for r in [x for x in reqs if x.kind != "device"] + [x for x in reqs if x.kind == "device"]:
        if implied(r, core):
            continue
        trial = [x for x in core if x != r]
        if _best(ev, trial, minimize)[0] is None:
            core = trial
    conflicts = []
    for r in core:
        if implied(r, core):
            continue
        others = [x for x in core if x != r]
        near, _ = _best(ev, others, minimize)
        reasons: tuple[str, ...] = ()
        if near is not None:
            build = kconfig.load_text(near[0].config_text(), "<solve>", f"config-{near[0].id}")
            dev = next(
                d
                for d in _restrict(ev.devices, core + [Requirement(r.device, "device")])
                if str(d.name) == r.device
            )
            dec = decide(dev, build, cat)
            reasons = _reasons(dec, r)
        conflicts.append(Conflict(r, reasons))
    return SolveResult(False, minimize, None, None, (), tuple(conflicts), 0, count)


def _reasons(dec: Decision, r: Requirement) -> tuple[str, ...]:
    out: list[str] = []
    for f in dec.findings:
        if r.kind == "require" and f.feature != r.feature:
            continue
        if r.kind == "device" and f.code not in ("no-candidate", "impossible-pin"):
            continue
        if r.kind == "pin" and f.code != "impossible-pin":
            continue
        if r.kind.startswith("budget") and f.code != "over-budget":
            continue
        out.append(f"[{f.code}] {f.message}")
        out.extend(f"  → {step.render() if hasattr(step, 'render') else step}" for step in f.chain)
    if not out:
        out.append(dec.reason)
    return tuple(out)
