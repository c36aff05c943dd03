"""``solve --from`` over BDDs: the fewest changed ``.config`` lines, exactly.

The walk of :mod:`policy.space.symbolic` keeps, per step, the outcomes that cost one (``Layer.inc``,
there: enabling a user option) so that :meth:`policy.space.walk.Walk.levels` can count the
cheapest way to every configuration. Here the cost of a step is whether its decision differs
from the given config's: a symbol the config writes has the user value of its line (``# ... is
not set`` is n), one it does not write has no line; a choice is the entry its ``=y`` line picks.
The levels then give the fewest changed lines of the cone (every user-settable symbol some
decision reads: the only ones that can matter) reaching each configuration; among the solutions
of the held architecture and page size (:func:`held_satisfiable`'s sets)
the fewest come first, then the least DRAM, then the least capacity, and the witness read back
within that budget names the lines. :func:`policy.space.fromconfig.solve_from` applies them with
kconfiglib and decides every device again before it trusts them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Optional

import kconfiglib

from policy.decide.catalog import catalog
from policy.space.enumerate import ARCH_SYMBOLS, projection_symbols
from policy.space.requirements import requirements, restrict


def _line_costs(walk: Any, kconf: Any, base: Any) -> Any:
    """``walk`` with each step's cost 1 where its decision differs from ``base``'s line."""
    bdd = walk.bdd
    d = [bdd.var(n) for n in walk.decision_vars]
    layers = []
    for layer in walk.layers:
        inc = bdd.false
        if layer.value is not None and layer.user is not None and layer.user != bdd.false:
            sym = kconf.syms[layer.name]
            if layer.name in base.written:
                v = base.value(layer.name)
                if v == "n":
                    eq = d[0] & ~d[1]
                elif sym.orig_type is kconfiglib.BOOL or layer.name == kconf.modules.name:
                    eq = d[0] & d[1]
                else:
                    eq = d[0] & d[1] & (~d[2] if v == "m" else d[2])
            else:
                eq = ~d[0]
            inc = ~eq
        elif layer.entries:
            names = [e[0] for e in layer.entries]
            picked = [k for k, n in enumerate(names) if n in base.written and base.value(n) == "y"]
            if picked:
                eq = d[0]
                for j, bit in enumerate(d[1:]):
                    eq = eq & (bit if picked[0] >> j & 1 else ~bit)
            else:
                eq = ~d[0]
            inc = ~eq
        layers.append(dataclasses.replace(layer, inc=inc, care=None))
    return dataclasses.replace(walk, layers=tuple(layers), _levels=None)


def _setup(devices: Sequence[Any], base: Any) -> tuple[Any, Any, Any, Any]:
    """The cone walked over BDDs for ``base``'s kernel, its evaluation, the held architecture
    and page size as a set, and the tree."""
    from policy.kconfig import tree as kconfig
    from policy.space import encode, symbolic
    from policy.space.symbolic_eval import SymbolicEvaluation

    cat = catalog()
    kconf = kconfig.parse_tree(base.kernel)
    proj = projection_symbols([s.name for s in kconf.unique_defined_syms], cat)
    # the modelled 2015 proposals are not in Linux: never proposed (they keep their defaults)
    space = [s for s in encode.settable_symbols(kconf) if not s.startswith("PROPOSED_")]
    walk = symbolic.walk(kconf, proj, space, whole_tree=False)
    sym = SymbolicEvaluation(walk, devices, cat)
    held = walk.bdd.true
    for name, var in zip(walk.projection, walk.proj_vars):
        if name in ARCH_SYMBOLS:
            bit = walk.bdd.var(var)
            held = held & (bit if base.enabled(name) else ~bit)
    return walk, sym, held, kconf


def fewest_lines(
    devices: Sequence[Any], base: Any, require: Sequence[str] = ()
) -> Optional[tuple[int, list[tuple[str, str]]]]:
    """The fewest changed lines that meet every requirement with ``base``'s architecture and page
    size, and the witness's user decisions (every line of the cone it uses); None when no
    configuration of that architecture and page size meets them."""
    walk, sym, held, kconf = _setup(devices, base)
    reqs = requirements(devices, require)
    totals = {
        t: u & held
        for t, u in sym.ok_totals([sym.device(d) for d in restrict(sym.devices, reqs)]).items()
        if u & held != walk.bdd.false
    }
    if not totals:
        return None
    every = walk.bdd.false
    for u in totals.values():
        every = every | u
    costed = _line_costs(walk, kconf, base)
    levels = costed.levels(within=every)
    fewest = levels.fewest(every)
    reach = levels.reach(fewest)
    within = {t: u & reach for t, u in totals.items() if u & reach != walk.bdd.false}
    cheapest = min(within)
    _, decisions, _ = costed.witness(within[cheapest], fewest=True, levels=levels)
    return fewest, decisions


def frontier_lines(
    devices: Sequence[Any], base: Any
) -> list[tuple[tuple[int, int, int], int, list[tuple[str, str]]]]:
    """The Pareto frontier (features, DRAM, capacity summed over the devices, as ``explore``)
    of the configurations with ``base``'s architecture and page size, each point with the fewest
    changed lines that reach it and a witness's decisions."""
    from policy.space.symbolic_eval import frontier

    walk, sym, held, kconf = _setup(devices, base)
    totals = {
        t: u & held
        for t, u in sym.totals([sym.device(d) for d in sym.devices]).items()
        if u & held != walk.bdd.false
    }
    front = frontier(totals)
    within = walk.bdd.false
    for t in front:
        within = within | totals[t]
    costed = _line_costs(walk, kconf, base)
    levels = costed.levels(within=within)
    out = []
    for t in front:
        n = costed.fewest_options(totals[t], levels)
        _, decisions, _ = costed.witness(totals[t], fewest=True, levels=levels)
        out.append((t, n, decisions))
    return out


def held_satisfiable(devices: Sequence[Any], base: Any, require: Sequence[str] = ()) -> bool:
    """Whether some configuration of ``base``'s tree with its architecture and page size meets
    every requirement: the cone counted over BDDs, every changeable option free. False proves
    that no change to ``base`` can."""
    walk, sym, held, _ = _setup(devices, base)
    reqs = requirements(devices, require)
    every = walk.bdd.false
    for u in sym.ok_totals([sym.device(d) for d in restrict(sym.devices, reqs)]).values():
        every = every | u
    return bool(every & held != walk.bdd.false)
