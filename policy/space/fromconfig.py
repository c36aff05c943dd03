"""``solve --from CONFIG``: the smallest change to a given configuration that meets the profiles.

The configuration's architecture and page size are held, and so is every option outside the
*cone* of the decisions: the user-settable symbols that some feature, mode, align, device type or
cost reads, directly or through the dependencies, selects and defaults of the symbols they read
(:func:`relevant_symbols`; the same cone ``explore`` walks). Only those can change a device's
decision, so only those are ever changed.

First the fewest changed ``.config`` lines are counted over BDDs
(:mod:`policy.space.fromconfig_bdd`) and the witness's lines are applied to the configuration by
kconfiglib and checked by deciding every device again (``exact``). Where that does not check out,
a search over assignments takes over, fewest first: iterative deepening where each level extends
the previous level's assignment sets by one of the fixes the failing decisions name — every
symbol along each unmet chain (``needs``, ``user-off``, ``choice`` steps: turn it on;
``rules-out``: turn it off, or pick another entry of its choice). Each candidate set is applied
at once (as ``scripts/config`` followed by ``make olddefconfig`` does); ties: least DRAM, then
least capacity lost, then fewest resolved differences, then by name. A configuration that already
meets every requirement needs no change; one whose architecture and page size no configuration
can serve is said to be so (``reachable`` False), with the closest change the search found.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional, TypeVar

import kconfiglib

from policy.decide.cache import CachedBuild
from policy.decide.catalog import Catalog, catalog
from policy.decide.records import Decision
from policy.decide.runtime import decide
from policy.errors import PolicyError
from policy.space.enumerate import ARCH_SYMBOLS, projection_symbols
from policy.space.requirements import requirements, restrict

SCHEMA_VERSION = 1
T = TypeVar("T")
DEFAULT_MAX_CHANGES = 6
# assignment sets tried per level at most (the chains name few fixes; this bounds a bad case)
LEVEL_LIMIT = 4000
_FLAGS = {"y": "--enable", "m": "--module", "n": "--disable"}


@dataclass(frozen=True)
class Assignment:
    """One ``scripts/config`` line: set ``symbol`` to ``value`` (it was ``old`` in the config)."""

    symbol: str
    value: str
    old: str  # the config's state: y, m, n, a value, or "absent" (not written)
    # the line that turns off the entry a choice had, when another entry is turned on: part of
    # that change, not a change of its own
    follows: bool = False

    def scripts_config(self) -> str:
        """``scripts/config --enable SYM`` (``--module``, ``--disable``, ``--set-val SYM VAL``)."""
        flag = _FLAGS.get(self.value)
        if flag is None:
            return f"scripts/config --set-val {self.symbol} {self.value}"
        return f"scripts/config {flag} {self.symbol}"


@dataclass(frozen=True)
class Delta:
    """One symbol whose resolved value differs between the config and the changed config."""

    symbol: str
    old: str  # "absent" when the config has no line for it
    new: str

    def diffconfig(self) -> str:
        """As the kernel's ``scripts/diffconfig`` prints it: ``-SYM n``, ``+SYM y``,
        `` SYM n -> y``."""
        if self.old == "absent":
            return f"+{self.symbol} {self.new}"
        if self.new == "absent":
            return f"-{self.symbol} {self.old}"
        return f" {self.symbol} {self.old} -> {self.new}"


@dataclass(frozen=True)
class FromResult:
    """The smallest change to ``base`` meeting every requirement (``ok``), or why there is none."""

    ok: bool
    base: Any  # policy.kconfig.BuildConfig: the configuration as given
    build: Any  # the changed configuration (``base`` itself when nothing needs to change)
    assignments: tuple[Assignment, ...]
    deltas: tuple[Delta, ...]  # every modelled symbol whose resolved value changed
    decisions: tuple[Decision, ...]  # under ``build`` (under ``base`` when there is no solution)
    relevant: tuple[str, ...]  # the symbols the search could change
    tried: int  # assignment sets decided
    max_changes: int
    # without a solution: the fewest assignments that meet the most devices, and what still fails
    partial: tuple[Assignment, ...] = ()
    partial_decisions: tuple[Decision, ...] = ()
    # without a solution, over BDDs: does any configuration of the held architecture and page
    # size meet every requirement (None: not asked, the search found a solution)?
    reachable: Optional[bool] = None
    # the fewest changed .config lines of any solution, counted over BDDs (None: not counted)
    fewest: Optional[int] = None
    exact: bool = False  # the change has exactly ``fewest`` lines (else: the chains' search)

    @property
    def changes(self) -> int:
        """The options the change sets (a choice's old entry turned off goes with its new one)."""
        return sum(not a.follows for a in self.assignments)

    @property
    def held(self) -> str:
        return f"{self.base.arch}, {self.base.page_size // 1024}K pages"


def relevant_symbols(kconf: Any, cat: Optional[Catalog] = None) -> tuple[str, ...]:
    """The user-settable bool/tristate symbols some decision reads (through the tree), less the
    architecture and page-size symbols and the entries of their choices; in menu order."""
    from policy.space import encode
    from policy.space.treeread import choice_slot

    proj = projection_symbols([s.name for s in kconf.unique_defined_syms], cat)
    _, reads, _ = encode._analysed(kconf)
    names = set(reads)
    need: set[str] = set()
    stack = [
        choice_slot(kconf.syms[n].choice) if kconf.syms[n].choice else n
        for n in proj
        if n in kconf.syms
    ]
    while stack:
        k = stack.pop()
        if k in need or k not in names:
            continue
        need.add(k)
        stack.extend(reads[k])
    held = set(ARCH_SYMBOLS)
    for name in ARCH_SYMBOLS:
        sym = kconf.syms.get(name)
        if sym is not None and sym.choice is not None:
            held.update(s.name for s in sym.choice.syms)
    out = []
    for name in encode.settable_symbols(kconf):
        sym = kconf.syms[name]
        slot = choice_slot(sym.choice) if sym.choice is not None else name
        # the 2015 proposals are modelled, not in Linux: never a change to a real kernel
        if (slot in need or name in need) and name not in held and not name.startswith(
            "PROPOSED_"
        ):
            out.append(name)
    return tuple(out)


def _fixes(
    decisions: Sequence[Decision],
    build: Any,
    kconf: Any,
    relevant: frozenset[str],
    cat: Optional[Catalog] = None,
) -> list[tuple[str, str]]:
    """Assignments the failing decisions' chains name, root causes first, each once: the
    findings' chains, the impossible candidates' chains and the chains of the required features'
    own build conditions (a finding names one way to a feature; its condition may name another)."""
    cat = cat or catalog()
    out: dict[tuple[str, str], None] = {}
    for dec in decisions:
        if dec.ok:
            continue
        chains = [f.chain for f in dec.findings if f.chain]
        chains += [c.chain for c in dec.candidates if not c.possible and c.chain]
        for name in dict.fromkeys(f.feature for f in dec.findings if f.feature):
            cond = cat.feature(name).build
            if cond != "y" and build.eval(cond) == "n":
                chains.append(build.why_expr_off(cond))
        for chain in chains:
            for step in reversed(chain):
                sym = kconf.syms.get(step.symbol)
                if sym is None or step.kind in ("undefined", "loop", "forced-on"):
                    continue
                if step.kind == "rules-out":
                    if sym.choice is not None:
                        for other in sym.choice.syms:
                            if other.name != step.symbol and other.name in relevant:
                                out[(other.name, "y")] = None
                    elif step.symbol in relevant:
                        out[(step.symbol, "n")] = None
                    continue
                if step.symbol not in relevant:
                    continue
                values = ("y",) if sym.orig_type is kconfiglib.BOOL else ("y", "m")
                for v in values:
                    if build.value(step.symbol) != v:
                        out[(step.symbol, v)] = None
    return list(out)


def _decide_all(devices: Sequence[Any], build: Any, cat: Catalog) -> tuple[Decision, ...]:
    cached = CachedBuild(build)
    return tuple(decide(d, cached, cat) for d in devices)


def _cost(decisions: Sequence[Decision]) -> tuple[int, int]:
    dram = sum(d.chosen.layout.dram_memmap for d in decisions if d.chosen and d.chosen.layout)
    cap = sum(d.chosen.layout.capacity_lost for d in decisions if d.chosen and d.chosen.layout)
    return dram, cap


def deltas(base: Any, build: Any) -> tuple[Delta, ...]:
    """Every symbol whose ``.config`` state differs, in scripts/diffconfig's order: removed,
    added, then changed, each sorted by name."""
    # the modelled proposals are no symbols of a real kernel: never part of its diff
    names = sorted(n for n in set(base.values) | set(build.values) if not n.startswith("PROPOSED_"))
    out = [Delta(n, base.state(n), build.state(n)) for n in names]
    out = [d for d in out if d.old != d.new]
    return tuple(
        [d for d in out if d.new == "absent"]
        + [d for d in out if d.old == "absent"]
        + [d for d in out if "absent" not in (d.old, d.new)]
    )


def solve_from(
    devices: Sequence[Any],
    base: Any,
    require: Sequence[str] = (),
    *,
    max_changes: int = DEFAULT_MAX_CHANGES,
) -> FromResult:
    """The fewest assignments to ``base`` under which every device meets every requirement."""
    from policy.kconfig import tree as kconfig

    cat = catalog()
    for f in require:
        cat.feature(f)  # UsageError for an unknown name
    devs = restrict(list(devices), requirements(devices, require))
    kconf = kconfig.parse_tree(base.kernel)
    relevant = relevant_symbols(kconf, cat)
    rel = frozenset(relevant)
    first = _decide_all(devs, base, cat)
    if all(d.ok for d in first):
        return FromResult(True, base, base, (), (), first, relevant, 1, max_changes)
    from policy.space.fromconfig_bdd import fewest_lines

    counted = fewest_lines(devices, base, require)
    if counted is not None and counted[0] <= max_changes:
        got = _from_lines(kconf, base, devs, cat, rel, *counted)
        if got is not None:
            key, new, decs, tried = got
            return FromResult(
                True, base, new, as_assignments(kconf, base, key), deltas(base, new), decs,
                relevant, tried, max_changes, reachable=True, fewest=counted[0], exact=True,
            )
    res = _chain_search(kconf, base, devs, cat, relevant, first, max_changes)
    if res.ok:
        return dataclasses.replace(res, fewest=None if counted is None else counted[0])
    return dataclasses.replace(
        res, reachable=counted is not None, fewest=None if counted is None else counted[0]
    )


def _chain_search(
    kconf: Any,
    base: Any,
    devs: Sequence[Any],
    cat: Catalog,
    relevant: tuple[str, ...],
    first: tuple[Decision, ...],
    max_changes: int,
) -> FromResult:
    """Iterative deepening over the fixes the failing chains name (the module docstring)."""
    from policy.kconfig import tree as kconfig

    rel = frozenset(relevant)
    level: dict[frozenset[tuple[str, str]], tuple[Any, tuple[Decision, ...]]] = {
        frozenset(): (base, first)
    }
    seen: set[frozenset[tuple[str, str]]] = {frozenset()}
    tried = 1
    met = sum(d.ok for d in first)
    Closest = tuple[int, frozenset[tuple[str, str]], tuple[Decision, ...]]
    closest: Closest = (met, frozenset(), first)
    for _depth in range(max_changes):
        found: list[tuple[Any, ...]] = []
        nxt: dict[frozenset[tuple[str, str]], tuple[Any, tuple[Decision, ...]]] = {}
        for assigned, (build, decs) in level.items():
            taken = {s for s, _ in assigned}
            for sym, value in _fixes(decs, build, kconf, rel, cat):
                if sym in taken:
                    continue
                key = assigned | {(sym, value)}
                if key in seen or len(seen) > LEVEL_LIMIT * max_changes:
                    continue
                seen.add(key)
                try:
                    res = kconfig.set_values(base, sorted(key))
                except PolicyError:
                    continue
                tried += 1
                new = res.build
                if (new.arch, new.page_size) != (base.arch, base.page_size):
                    continue
                got = _decide_all(devs, new, cat)
                if all(d.ok for d in got):
                    moved = deltas(base, new)
                    found.append((*_cost(got), len(moved), sorted(key), key, new, got, moved))
                else:
                    met = sum(d.ok for d in got)
                    if met > closest[0]:
                        closest = (met, key, got)
                    if len(nxt) < LEVEL_LIMIT:
                        nxt[key] = (new, got)
        if found:
            best = min(found, key=lambda t: t[:4])
            key, new, got, moved = best[4:]
            assigns = as_assignments(kconf, base, key)
            return FromResult(True, base, new, assigns, moved, got, relevant, tried, max_changes)
        if not nxt:
            break
        level = nxt
    partial = as_assignments(kconf, base, closest[1])
    return FromResult(
        False, base, base, (), (), first, relevant, tried, max_changes, partial, closest[2]
    )


def held_builds(
    base: Any, trials: Sequence[list[tuple[str, str]]]
) -> Iterator[tuple[list[tuple[str, str]], Any]]:
    """Each trial's lines applied to ``base`` by kconfiglib, with the build they give; the
    trials kconfiglib refuses and those that move the architecture or page size left out."""
    from policy.kconfig import tree as kconfig

    for trial in trials:
        try:
            new = kconfig.set_values(base, sorted(trial)).build
        except PolicyError:
            continue
        if (new.arch, new.page_size) == (base.arch, base.page_size):
            yield trial, new


def line_trials(
    kconf: Any,
    base: Any,
    rel: frozenset[str],
    fewest: int,
    decisions: Sequence[tuple[str, str]],
) -> list[list[tuple[str, str]]]:
    """A BDD witness's lines (:mod:`policy.space.fromconfig_bdd`) as assignment sets to try on
    ``base``: the lines that differ from the config's. A witness names a choice's entry only
    where it is not the default; a choice whose line it drops (back to the default) costs one
    line too, so the lines unaccounted for are tried as other entries of the cone's choices."""
    import itertools

    plain = [(s, v) for s, v in decisions if base.state(s) != v and kconf.syms[s].choice is None]
    picks = [(s, v) for s, v in decisions if kconf.syms[s].choice is not None
             and base.value(s) != "y"]
    missing = fewest - len(plain) - len(picks)
    if missing <= 0:
        return [plain + picks]
    named = {kconf.syms[s].choice for s, _ in decisions if kconf.syms[s].choice is not None}
    choices = list(dict.fromkeys(kconf.syms[n].choice for n in sorted(rel)
                                 if kconf.syms[n].choice is not None))
    others = [[(e.name, "y") for e in ch.syms if e.name in rel and base.value(e.name) != "y"]
              for ch in choices if ch not in named]
    return [plain + picks + list(extra)
            for combo in itertools.combinations(others, missing)
            for extra in itertools.product(*combo)][:LEVEL_LIMIT]


def reproduce(
    base: Any,
    rel: frozenset[str],
    decisions: Sequence[tuple[str, str]],
    check: Callable[[Any], Optional[T]],
) -> Optional[tuple[list[tuple[str, str]], Any, T]]:
    """A change to ``base`` that ``check`` accepts (its value not None), built from a BDD
    witness's configuration: every changeable option whose resolved value differs from
    ``base``'s set to it, then each dropped in turn (last first) while ``check`` still accepts.
    Used where the witness's lines alone do not reproduce it (a line it drops, say)."""
    from policy.kconfig import tree as kconfig

    text = "".join(f"CONFIG_{s}={v}\n" if v != "n" else f"# CONFIG_{s} is not set\n"
                   for s, v in decisions)
    try:
        witness = kconfig.load_text(text, "<witness>", "witness", kernel=base.kernel)
    except PolicyError:
        return None
    kept = [(s, witness.value(s)) for s in sorted(rel) if witness.value(s) != base.value(s)]

    def attempt(trial: list[tuple[str, str]]) -> Optional[tuple[Any, T]]:
        try:
            new = kconfig.set_values(base, trial).build
        except PolicyError:
            return None
        if (new.arch, new.page_size) != (base.arch, base.page_size):
            return None
        got = check(new)
        return None if got is None else (new, got)

    best = attempt(kept)
    if best is None:
        return None
    for item in reversed(list(kept)):
        trial = [x for x in kept if x != item]
        got = attempt(trial)
        if got is not None:
            kept, best = trial, got
    return kept, best[0], best[1]


def _from_lines(
    kconf: Any,
    base: Any,
    devs: Sequence[Any],
    cat: Catalog,
    rel: frozenset[str],
    fewest: int,
    decisions: Sequence[tuple[str, str]],
) -> Optional[tuple[frozenset[tuple[str, str]], Any, tuple[Decision, ...], int]]:
    """The witness's lines applied to ``base`` by kconfiglib, every device decided again: the
    cheapest set that meets every requirement with the architecture and page size held (None
    when none does)."""
    trials = line_trials(kconf, base, rel, fewest, decisions)
    found: list[tuple[Any, ...]] = []
    for trial, new in held_builds(base, trials):
        got = _decide_all(devs, new, cat)
        if all(d.ok for d in got):
            found.append((*_cost(got), len(deltas(base, new)), sorted(trial), new, got))
    if not found:

        def meets(build: Any) -> Optional[tuple[Decision, ...]]:
            got = _decide_all(devs, build, cat)
            return got if all(d.ok for d in got) else None

        again = reproduce(base, rel, decisions, meets)
        if again is None or len(again[0]) > fewest:  # only the counted fewest is "exact"
            return None
        return frozenset(again[0]), again[1], again[2], len(trials) + 1
    best = min(found, key=lambda t: t[:4])
    return frozenset(best[3]), best[4], best[5], len(trials) + 1


def as_assignments(
    kconf: Any, base: Any, key: frozenset[tuple[str, str]]
) -> tuple[Assignment, ...]:
    """The assignments as lines; a choice entry turned on also turns off the entry the config
    selects, so that the file states one selection (a .config with two entries of a choice set
    leaves the selection to the order of its lines)."""
    out = [Assignment(s, v, base.state(s)) for s, v in sorted(key)]
    for s, v in sorted(key):
        sym = kconf.syms[s]
        if v == "y" and sym.choice is not None:
            out += [
                Assignment(o.name, "n", base.state(o.name), follows=True)
                for o in sym.choice.syms
                if o.name != s and base.value(o.name) == "y"
            ]
    return tuple(out)


def apply_to_text(text: str, assignments: Sequence[Assignment]) -> str:
    """``text`` (a ``.config``) with each assignment applied as ``scripts/config`` does: the
    symbol's line replaced where there is one, else appended."""
    lines = text.splitlines()
    for a in assignments:
        new = (
            f"# CONFIG_{a.symbol} is not set" if a.value == "n" else f"CONFIG_{a.symbol}={a.value}"
        )
        hits = [
            i
            for i, line in enumerate(lines)
            if line.startswith(f"CONFIG_{a.symbol}=") or line == f"# CONFIG_{a.symbol} is not set"
        ]
        if hits:
            for i in hits:
                lines[i] = new
        else:
            lines.append(new)
    return "\n".join(lines) + "\n"
