"""Kconfig semantics compiled to Python: the tree as a topologically ordered list of steps.

Each step computes one symbol (or one choice and all its entries) from the values of symbols
computed before it, exactly as kconfiglib 14.1's ``Symbol.tri_value``, ``_visibility``,
``Choice.tri_value`` and ``Choice.selection`` do, and lists every value a user assignment can give
it (the Python source of each step: :mod:`policy.space.encode_source`).
:mod:`policy.space.enumerate`
walks these steps breadth-first over the set of reachable partial configurations,
:mod:`policy.space.symbolic` over BDDs. The argument for exactness is in ``docs/explore.md``.

This module reads kconfiglib's parsed tree (``policy.kconfig.parse_tree()``) and needs kconfiglib's
expression and type constants to do so; it never loads, sets or writes configurations, which
stays with :mod:`policy.kconfig`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional

import kconfiglib

from policy.errors import UsageError
from policy.space.encode_source import Gen, choice_source, symbol_source, virtual_source
from policy.space.treeread import (
    Unsupported,
    Virtual,
    choice_slot,
    expr_reads,
    is_tristate_like,
    prompt_conditions,
    slot_of,
)

# a user decision of a step: None (no line in .config: the default applies) or (symbol, value)
Decision = Optional[tuple[str, str]]
# one outcome of a step for one input state: (new state, cost added, decision)
# one outcome: (new state, cost added, user decision, values of the symbols the step defines)
StepFn = Callable[[tuple[int, ...]], list[tuple[tuple[int, ...], int, Decision, tuple[int, ...]]]]

@dataclass(frozen=True)
class Step:
    """One step: the symbols it defines (a symbol, or a choice's slot and its entries)."""

    index: int
    defines: tuple[str, ...]  # slot names; a choice's own slot is "<choice:FIRST_ENTRY>"
    reads: frozenset[str]
    user: tuple[str, ...]  # the user-settable symbols whose values it branches on
    source: str  # the generated code (for debugging and docs)


@dataclass(frozen=True)
class CompiledStep:
    step: Step
    layout_out: tuple[str, ...]

    @functools.cached_property
    def run(self) -> StepFn:
        """The step as a Python function (compiled on first use: the BDD walk never needs it)."""
        src = self.step.source
        fn = _CODE.get(src)
        if fn is None:
            namespace: dict[str, Any] = {}
            code = compile(src, f"<step: {self.step.defines[0]}>", "exec")
            exec(code, namespace)  # noqa: S102 - generated
            fn = _CODE[src] = namespace["step"]
        return fn


@dataclass(frozen=True)
class Model:
    """The tree compiled for one projection and one set of enumerated (user-settable) symbols."""

    steps: tuple[CompiledStep, ...]
    projection: tuple[str, ...]  # the final state's layout
    options: frozenset[str]  # symbols with a prompt (user options)
    space: frozenset[str]  # the user-settable symbols the enumeration may assign
    settable: tuple[str, ...]  # every user-settable bool/tristate symbol of the tree, in menu order


def _sym_reads(sym: Any, modules: str) -> set[str]:
    reads: set[str] = set()
    for cond in prompt_conditions(sym):
        reads |= expr_reads(cond)
    for value, cond in sym.defaults:
        reads |= expr_reads(value) | expr_reads(cond)
    reads |= expr_reads(sym.rev_dep) | expr_reads(sym.weak_rev_dep)
    if sym.weak_rev_dep is not sym.kconfig.n:
        reads |= expr_reads(sym.direct_dep)
    if sym.orig_type is kconfiglib.TRISTATE:
        reads.add(modules)
    reads.discard(sym.name)
    return reads


def _choice_reads(choice: Any, modules: str) -> set[str]:
    reads: set[str] = set()
    for cond in prompt_conditions(choice):
        reads |= expr_reads(cond)
    for _sym, cond in choice.defaults:
        reads |= expr_reads(cond)
    for sym in choice.syms:
        for cond in prompt_conditions(sym):
            reads |= expr_reads(cond)
    members = {s.name for s in choice.syms}
    if reads & members:
        raise Unsupported(
            f"a choice entry depends on another entry of its choice ({sorted(reads & members)})"
        )
    reads.discard(choice_slot(choice))
    if choice.orig_type is kconfiglib.TRISTATE:
        reads.add(modules)
    return reads


def _check_choice(choice: Any) -> None:
    if choice.orig_type is not kconfiglib.BOOL or any(
        s.orig_type is not kconfiglib.BOOL for s in choice.syms
    ):
        raise Unsupported("tristate choices are not modelled (the tree has bool choices only)")
    if choice.is_optional:
        raise Unsupported("optional choices are not modelled (the tree has none)")
    for sym in choice.syms:
        if (
            sym.defaults
            or sym.rev_dep is not sym.kconfig.n
            or sym.weak_rev_dep is not sym.kconfig.n
        ):
            pass  # kconfiglib ignores defaults/selects of choice entries; so do we


_CACHE: dict[int, tuple[Any, list[Any], dict[str, set[str]], dict[str, set[str]]]] = {}
_CODE: dict[str, StepFn] = {}


def _analysed(kconf: Any) -> tuple[list[Any], dict[str, set[str]], dict[str, set[str]]]:
    """The tree's step order, each item's reads (choice entries mapped to their choice's slot)
    and its raw reads (entries by name); computed once per parsed tree."""
    got = _CACHE.get(id(kconf))
    if got is None or got[0] is not kconf:
        modules = kconf.modules.name
        order = _order(kconf)
        raw: dict[str, set[str]] = {}
        for it in order:
            if isinstance(it, kconfiglib.Choice):
                raw[slot_of(it)] = _choice_reads(it, modules)
            else:
                raw[slot_of(it)] = _sym_reads(it, modules)
        mapped = {
            k: {
                choice_slot(kconf.syms[x].choice) if x in kconf.syms and kconf.syms[x].choice else x
                for x in r
            }
            for k, r in raw.items()
        }
        got = _CACHE[id(kconf)] = (kconf, order, mapped, raw)
    return list(got[1]), dict(got[2]), got[3]


def _order(kconf: Any) -> list[Any]:
    """Symbols and choices in an order where everything an item reads comes before it.

    Kahn's algorithm, preferring menu order, keeps the set of live symbols small.
    """
    modules = kconf.modules.name
    items: list[Any] = []
    seen: set[int] = set()
    for node in kconf.node_iter():
        item = node.item
        if isinstance(item, kconfiglib.Choice):
            if id(item) not in seen:
                seen.add(id(item))
                items.append(item)
        elif isinstance(item, kconfiglib.Symbol) and is_tristate_like(item) and not item.choice:
            if id(item) not in seen:
                seen.add(id(item))
                items.append(item)
    if kconf.modules.nodes and id(kconf.modules) not in seen:
        items.insert(0, kconf.modules)
    pos = {slot_of(it): i for i, it in enumerate(items)}
    deps: dict[str, set[str]] = {}
    for it in items:
        if isinstance(it, kconfiglib.Choice):
            _check_choice(it)
            r = _choice_reads(it, modules)
        else:
            r = _sym_reads(it, modules)
        # a choice entry is produced by its choice's step
        deps[slot_of(it)] = {
            choice_slot(kconf.syms[x].choice) if x in kconf.syms and kconf.syms[x].choice else x
            for x in r
        }
    indeg = {k: 0 for k in deps}
    users: dict[str, list[str]] = {k: [] for k in deps}
    for k, ds in deps.items():
        for d in ds:
            if d not in deps:
                raise Unsupported(f"{k} reads {d}, which is not a bool/tristate symbol of the tree")
            indeg[k] += 1
            users[d].append(k)
    # greedy: among the ready items, take the one that ends the most live symbols and starts the
    # fewest (the width of the frontier is the product of the live symbols' values)
    remaining = {k: len(users[k]) for k in deps}
    ready = {k for k, n in indeg.items() if n == 0}
    out = []
    while ready:

        def score(k: str) -> tuple[int, int]:
            kills = sum(1 for d in deps[k] if remaining[d] == 1)
            return ((1 if users[k] else 0) - kills, pos[k])

        k = min(ready, key=score)
        ready.discard(k)
        out.append(k)
        for d in deps[k]:
            remaining[d] -= 1
        for u in users[k]:
            indeg[u] -= 1
            if indeg[u] == 0:
                ready.add(u)
    if len(out) != len(deps):
        raise Unsupported("dependency loop in the tree")
    by_slot = {slot_of(it): it for it in items}
    return [by_slot[k] for k in out]


def settable_symbols(kconf: Any) -> tuple[str, ...]:
    """Every bool/tristate symbol a user can set (it has a prompt), in menu order."""
    out: list[str] = []
    for node in kconf.node_iter():
        item = node.item
        if (
            isinstance(item, kconfiglib.Symbol)
            and node.prompt
            and is_tristate_like(item)
            and item.name not in out
        ):
            out.append(item.name)
    return tuple(out)


def compile_model(
    kconf: Any,
    projection: Sequence[str],
    space: Optional[Iterable[str]] = None,
    *,
    whole_tree: bool = True,
    virtual: Sequence[Virtual] = (),
) -> Model:
    """Compile the tree's semantics into steps.

    ``projection``: the symbols kept in the final states. ``space``: the user-settable symbols the
    enumeration may assign (None: all); the others keep no user value (their defaults apply).
    ``whole_tree``: walk every symbol (needed to find dead options); otherwise only the symbols the
    projection depends on. ``virtual``: computed on/off slots (each right after the last symbol
    it reads), which the projection may name.
    """
    settable = settable_symbols(kconf)
    allowed = frozenset(settable if space is None else space)
    unknown = sorted(s for s in allowed if s not in settable)
    if unknown:
        raise UsageError(
            f"--config-space names symbols that are not user-settable bool/tristate "
            f"symbols of the tree: {', '.join(unknown)}"
        )
    order, reads, raw_reads = _analysed(kconf)

    def mapped(names: set[str]) -> set[str]:
        return {
            choice_slot(kconf.syms[x].choice) if x in kconf.syms and kconf.syms[x].choice else x
            for x in names
        }

    for v in virtual:
        reads[v.name] = mapped(expr_reads(v.expr))
        where = max((k for k, it in enumerate(order) if slot_of(it) in reads[v.name]), default=-1)
        order.insert(where + 1, v)
    virtual_names = {v.name for v in virtual}
    proj_slots = []
    for name in projection:
        if name in virtual_names:
            proj_slots.append(name)
            continue
        sym = kconf.syms.get(name)
        if sym is None or not sym.nodes:
            raise UsageError(f"projection symbol {name} is not defined in the tree")
        proj_slots.append(name)
    if not whole_tree:
        need: set[str] = set()
        stack = [
            n
            if n in virtual_names
            else choice_slot(kconf.syms[n].choice)
            if kconf.syms[n].choice
            else n
            for n in proj_slots
        ]
        while stack:
            k = stack.pop()
            if k in need:
                continue
            need.add(k)
            stack.extend(reads[k])
        order = [it for it in order if slot_of(it) in need]
    # liveness: the last step that reads each slot (choice entries live in their choice's step)
    defines: list[tuple[str, ...]] = []
    for it in order:
        if isinstance(it, Virtual):
            defines.append((it.name,))
        elif isinstance(it, kconfiglib.Choice):
            defines.append((choice_slot(it),) + tuple(s.name for s in it.syms))
        else:
            defines.append((it.name,))
    # liveness: the last step that reads each slot; expressions read choice entries by name
    last: dict[str, int] = {}
    for i, it in enumerate(order):
        raw = expr_reads(it.expr) if isinstance(it, Virtual) else raw_reads[slot_of(it)]
        for r in raw:
            last[r] = i
    # projected symbols are kept to the end, reduced to on/off (y and m are both "on" to every
    # feature and cost) once no later step reads their tristate value
    computational = dict(last)
    end = len(order)
    for name in proj_slots:
        last[name] = end
    proj = set(proj_slots)
    layout: list[str] = []
    steps: list[CompiledStep] = []
    for i, it in enumerate(order):
        pos = {name: k for k, name in enumerate(layout)}
        new = list(defines[i])
        after = [x for x in layout if last.get(x, -1) > i] + [d for d in new if last.get(d, -1) > i]
        gen = Gen(pos)
        collapse = {
            x
            for x in after
            if x in proj
            and computational.get(x, -1) <= i
            and (x in new or computational.get(x, -1) == i)
        }
        if isinstance(it, Virtual):
            user: tuple[str, ...] = ()
            src = virtual_source(it, gen, pos, after, collapse)
        elif isinstance(it, kconfiglib.Choice):
            src, user = choice_source(it, gen, pos, after, allowed, kconf, collapse)
        else:
            src, user = symbol_source(it, gen, pos, after, allowed, kconf, collapse)
        step = Step(i, tuple(defines[i]), frozenset(reads[slot_of(it)]), user, src)
        steps.append(CompiledStep(step, tuple(after)))
        layout = after
    options = frozenset(settable)
    return Model(tuple(steps), tuple(layout), options, allowed, settable)
