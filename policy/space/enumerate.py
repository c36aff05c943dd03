"""The configuration space of the Kconfig tree: projection, enumeration, option values.

``enumerate_space`` walks the compiled tree (:mod:`policy.space.encode`) breadth-first, keeping the
set of
distinct partial configurations restricted to the symbols later steps still read plus the projection
(the symbols any feature, mode, align, device type or cost reads, and the arch/page-size choices,
reduced to on/off since ``build_holds`` treats m and y alike). Every final state is a distinct
projected configuration; each carries a witness (the user assignment that reaches it with the fewest
enabled options). Semantics and the exactness argument: docs/explore.md.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional

from policy.decide.catalog import Catalog, catalog_for
from policy.errors import UsageError
from policy.space import encode
from policy.space.treeread import Virtual

SCHEMA_VERSION = 1
# what policy.decide.runtime reads beyond the catalog (layouts.layout, candidates_for); tested
RUNTIME_SYMBOLS = (
    "ZONE_DEVICE",
    "ARCH_HAS_MEMREMAP_COMPAT_ALIGN",
    "ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP",
)
# BuildConfig.arch and BuildConfig.page_size (policy.kconfig._arch, _page_size)
ARCH_SYMBOLS = ("X86_64", "ARM64", "PPC64", "ARM64_16K_PAGES", "ARM64_64K_PAGES", "PPC_64K_PAGES")
PAGE_SYMBOLS = ARCH_SYMBOLS[3:]  # Configuration.page_size reads only these
PAGE_BITS = (("ARM64_16K_PAGES", 16384), ("ARM64_64K_PAGES", 65536), ("PPC_64K_PAGES", 65536))
DEFAULT_LIMIT = 1_000_000
# the default space: every user-settable projection symbol plus the bus/driver options whose
# absence alone keeps a projected option off (ZONE_DEVICE needs MEMORY_HOTREMOVE, CXL_PMEM needs
# PCI and CXL_BUS, VIRTIO_PMEM needs VIRTIO); docs/explore.md
DEFAULT_EXTRA = ("MEMORY_HOTREMOVE", "PCI", "CXL_BUS", "VIRTIO")

Minimize = Literal["dram", "capacity", "options"]
Progress = Callable[[str, int, int], None]  # (phase, done, total)
_IDENT = re.compile(r"\b[A-Z][A-Z0-9_]*\b")


def catalog_expressions(cat: Optional[Catalog] = None) -> tuple[str, ...]:
    """Every Kconfig expression the catalog evaluates (modes, aligns, device types, features)."""
    cat = cat or catalog_for()
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


def monotone_source(expr: str, symbol: Callable[[str], str]) -> str:
    """Python source of ``expr`` (only ``&&``, ``||``, parentheses and symbols), each symbol
    rendered by ``symbol``; ``ValueError`` for any other construct."""
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
            out.append(symbol(tok))
        if text[pos:].strip() == "":
            break
    return "".join(out)


def monotone_test(expr: str) -> Callable[[frozenset[str]], bool]:
    """``expr`` (only ``&&``, ``||``, parentheses and symbols) as a test of a set of on symbols.

    Exact for projected configurations: without ``!`` and relations an expression holds (is y or
    m) exactly when it holds with every m read as y. ``ValueError`` for any other construct.
    """
    source = monotone_source(expr, lambda tok: f"({tok!r} in on)")
    fn = eval("lambda on: bool(" + source + ")")  # noqa: S307 - built from checked tokens
    return fn  # type: ignore[no-any-return]


_monotone = functools.lru_cache(maxsize=None)(monotone_test)


_TABLES: dict[int, tuple[tuple[str, ...], list[list[tuple[str, ...]]]]] = {}


def _byte_tables(names: tuple[str, ...]) -> list[list[tuple[str, ...]]]:
    """For each byte of a configuration's bits, the names each of its 256 values switches on."""
    got = _TABLES.get(id(names))
    if got is None or got[0] is not names:
        tables = [
            [
                tuple(names[8 * k + j] for j in range(8) if v >> j & 1 and 8 * k + j < len(names))
                for v in range(256)
            ]
            for k in range((len(names) + 7) // 8)
        ]
        got = _TABLES[id(names)] = (names, tables)
    return got[1]


@dataclass(frozen=True)
class Configuration:
    """One distinct valid configuration, projected: each projection symbol on or off."""

    id: int
    bits: int  # bit i set: names[i] is y or m
    options: int  # fewest enabled user options of any full configuration with this projection
    names: tuple[str, ...] = dataclasses.field(compare=False, repr=False)  # shared by the space
    # the witness as a linked list, last decision first: (decision, rest) or None
    witness: Any = dataclasses.field(default=None, compare=False, repr=False)

    @functools.cached_property
    def on(self) -> frozenset[str]:
        """The projection symbols that are y or m."""
        b = self.bits
        out: list[str] = []
        for table in _byte_tables(self.names):
            out.extend(table[b & 255])
            b >>= 8
        return frozenset(out)

    @functools.cached_property
    def assignment(self) -> tuple[tuple[str, str], ...]:
        """A user assignment reaching this configuration with ``options`` enabled options."""
        chain: list[tuple[str, str]] = []
        wit = self.witness
        while wit is not None:
            chain.append(wit[0])
            wit = wit[1]
        return tuple(reversed(chain))

    @property
    def arch(self) -> str:
        for sym, arch in (("X86_64", "x86_64"), ("ARM64", "arm64"), ("PPC64", "ppc64")):
            if sym in self.on:
                return arch
        return "unknown"

    @property
    def page_size(self) -> int:
        for sym, size in PAGE_BITS:
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
    # None: ``configurations`` is every configuration; else the space was counted over BDDs
    # (``count`` configurations in all) and only one witness per frontier point is listed
    count: Optional[int] = None

    @property
    def listed(self) -> Literal["all", "frontier"]:
        """What ``configurations`` holds: every configuration, or the frontier's witnesses."""
        return "all" if self.count is None else "frontier"

    @property
    def total(self) -> int:
        """How many distinct configurations the space holds."""
        return len(self.configurations) if self.count is None else self.count

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
    from policy.kconfig import tree as kconfig

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


def replay(
    model: encode.Model, assignment: Sequence[tuple[str, str]]
) -> Optional[tuple[tuple[int, ...], int]]:
    """The final state (the projection, each slot 0/1) and enabled user options that
    ``assignment`` (the lines of a ``.config``) produces: one path through the compiled steps,
    the user's line where the step offers it (a user value on an invisible symbol offers none,
    as kconfiglib ignores it), else the default. None if a step offers neither."""
    path = replay_path(model, dict(assignment), [((), 0)])
    return None if path is None else path[-1]


Path = list[tuple[tuple[int, ...], int]]  # (state, enabled options) before each step, and after


def replay_path(
    model: encode.Model, want: Mapping[str, str], prefix: Path
) -> Optional[Path]:
    """:func:`replay` of ``want`` (symbol -> value) continued from ``prefix``, the (state,
    enabled options) before each of the first steps (``[((), 0)]``: from the start); the same
    pairs before every later step and after the last one, or None."""
    out = list(prefix)
    state, options = out[-1]
    for cs in model.steps[len(out) - 1:]:
        chosen = replay_step(cs, state, want)
        if chosen is None:
            return None
        state, options = chosen[0], options + chosen[1]
        out.append((state, options))
    return out


def replay_step(
    cs: encode.CompiledStep, state: tuple[int, ...], want: Mapping[str, str]
) -> Optional[tuple[tuple[int, ...], int]]:
    """One step of :func:`replay_path`: the state after it and the options it enables (the
    user's line where the step offers it, else the default), or None."""
    chosen = None
    for t, dc, dec, _v in cs.run(state):
        if dec is not None and want.get(dec[0]) == dec[1]:
            return t, dc
        if dec is None and chosen is None:
            chosen = (t, dc)
    return chosen


def _cone(kconf: Any, expr: str, space: Optional[Sequence[str]]) -> encode.Model:
    """The steps an expression depends on, the expression as the only (virtual) projection."""
    from policy.kconfig import expr as kexpr

    v = Virtual("<expr>", kexpr.parse_expr(kconf, expr))
    return encode.compile_model(kconf, ["<expr>"], space, whole_tree=False, virtual=[v])


def expression_values(
    exprs: Sequence[str], space: Optional[Sequence[str]] = None
) -> dict[str, frozenset[bool]]:
    """Whether each Kconfig expression holds (y or m) in some valid configuration and fails in
    some: exact, one BDD walk (:mod:`policy.space.symbolic`) of the steps the expressions depend on,
    with each expression as a computed slot of the projection."""
    from policy.kconfig import expr as kexpr, tree as kconfig
    from policy.space import symbolic

    kconf = kconfig.parse_tree()
    exprs = list(dict.fromkeys(exprs))
    virtual = [
        Virtual(f"<expr:{k}>", kexpr.parse_expr(kconf, e)) for k, e in enumerate(exprs)
    ]
    walk = symbolic.walk(kconf, [v.name for v in virtual], space, virtual=virtual)
    bdd = walk.bdd
    out: dict[str, frozenset[bool]] = {}
    var = dict(zip(walk.projection, walk.proj_vars))
    for e, v in zip(exprs, virtual):
        x = bdd.var(var[v.name])
        out[e] = frozenset(
            v for v, test in ((False, ~x), (True, x)) if walk.final & test != bdd.false
        )
    return out


def evaluated_expressions(kconf: Any) -> tuple[str, ...]:
    """What the evaluation reads: every catalog expression and the arch/page-size symbols."""
    return catalog_expressions() + tuple(s for s in ARCH_SYMBOLS if s in kconf.syms)


@functools.lru_cache(maxsize=1)
def default_space() -> tuple[str, ...]:
    """The pmem sub-tree enumerated when neither ``--config-space`` nor ``--all`` is given.

    The user-settable projection symbols and ``DEFAULT_EXTRA``; then, for every expression the
    evaluation reads that cannot take in this sub-tree a value it takes in the whole tree (an
    ancestor left at its default keeps it off or on), user-settable symbols of that expression's
    dependency cone are added: the whole cone would give exactly the whole-tree values (it is
    everything the value depends on); of it, each symbol the values do not need is dropped in
    turn. Adding symbols only adds configurations, so every expression ends with its whole-tree
    values (tested), though not every combination of them (the whole cone is too wide to list).
    """
    from policy.kconfig import tree as kconfig

    kconf = kconfig.parse_tree()
    settable = encode.settable_symbols(kconf)
    proj = set(projection_symbols([s.name for s in kconf.unique_defined_syms]))
    base = {s for s in settable if s in proj or s in DEFAULT_EXTRA}
    targets = evaluated_expressions(kconf)
    full = expression_values(targets)
    now: dict[str, frozenset[bool]] = {}  # the values in ``base`` (recomputed when it grows)
    for k, e in enumerate(targets):
        if not now:
            now = expression_values(targets[k:], sorted(base))
        if now[e] == full[e]:
            continue
        now = {}
        extra = {u for cs in _cone(kconf, e, None).steps for u in cs.step.user} - base
        # the whole cone gives the whole-tree values; keep only the symbols it cannot do without
        for u in sorted(extra):
            if expression_values([e], sorted(base | extra - {u}))[e] == full[e]:
                extra.discard(u)
        base |= extra
    return tuple(s for s in settable if s in base)


def enumerate_space(
    space: Optional[Sequence[str]] = None,
    *,
    projection: Optional[Sequence[str]] = None,
    progress: Optional[Progress] = None,
    limit: int = DEFAULT_LIMIT,
    whole_tree: bool = True,
) -> Space:
    """Every distinct valid configuration, projected (see the module docstring).

    ``space``: the user-settable symbols to enumerate (None: all of them); the others keep their
    defaults. ``limit``: refuse (UsageError) when more partial configurations than this would be
    held at once, rather than run for minutes. ``whole_tree=False``: only the steps the projection
    depends on (``seen`` then covers only those symbols, and ``options`` counts only their
    enabled user options).
    """
    from policy.kconfig import tree as kconfig

    kconf = kconfig.parse_tree()
    defined = [s.name for s in kconf.unique_defined_syms]
    proj = tuple(projection) if projection is not None else projection_symbols(defined)
    model = encode.compile_model(kconf, proj, space, whole_tree=whole_tree)
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
    layout = tuple(model.projection)
    # final states hold only projected slots, each 0 or 1: read as a binary number in C
    to_bits = bytes.maketrans(bytes(range(3)), b"011")
    configs = [
        Configuration(k, int(bytes(t[::-1]).translate(to_bits), 2) if t else 0, cost, layout, wit)
        for k, (t, (cost, wit)) in enumerate(sorted(states.items(), key=lambda kv: kv[0]))
    ]
    return Space(
        proj,
        tuple(sorted(model.space)),
        tuple(configs),
        {n: frozenset(_TRI[x] for x in v) for n, v in seen.items() if not n.startswith("<")},
        model.settable,
        total,
        peak,
    )
