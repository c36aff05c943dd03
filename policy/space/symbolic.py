"""The compiled Kconfig steps (:mod:`policy.space.encode`) as binary decision diagrams.

:func:`policy.space.enumerate.enumerate_space` walks the steps over an explicit set of partial
configurations; this module walks the *same* steps over a set represented by a BDD (CUDD, through
``dd.cudd``), so spaces far too wide to list -- the whole shipped tree -- are counted exactly.

Encoding (docs/explore.md): a tristate value ``v`` is two variables ``S.m`` (``v >= m``) and
``S.y`` (``v = y``); a bool-typed symbol, a choice and a choice entry take only ``n`` and ``y`` and
are one variable. Then ``&&`` is a bitwise and, ``||`` a bitwise or, ``!v = 2 - v`` swaps and
negates the two bits, and ``if c: a else b`` is a bitwise if-then-else on ``c >= m``. Each step
states the new symbol's bits as functions of the symbols it reads and of free *decision*
variables (no line in ``.config``, or each user value), exactly as the generated Python step in
:mod:`policy.space.encode` lists its outcomes; the image of the set is one ``and_exists`` that also
forgets the decision variables and every symbol no later step reads. Projected tristates are
reduced to on/off (``S.m``) once nothing reads their tristate value, as in the explicit walk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Optional

import kconfiglib

from policy.space import encode
from policy.space.bdd import cudd
from policy.space.treeread import TRI, Unsupported, Virtual, choice_slot
from policy.space.walk import Layer, Pair, Walk

__all__ = ["Walk", "walk", "whole_tree_values"]

_N_DECISION = 6  # decision variables shared by every step (a choice of up to 31 entries)
# the memory CUDD plans its tables and cache for (its default, a share of physical memory,
# costs ~9 ms per manager); the sets here stay at a few thousand nodes
_MEMORY = 1 << 27


class _Walker:
    def __init__(
        self,
        kconf: Any,
        model: encode.Model,
        virtual: Sequence[Virtual],
        want_values: bool = False,
    ) -> None:
        self.want_values = want_values
        self.kconf = kconf
        self.model = model
        self.virtual = {v.name: v for v in virtual}
        self.bdd = cudd.BDD(memory_estimate=_MEMORY)
        self.bdd.configure(reordering=False)
        self.true = self.bdd.true
        self.false = self.bdd.false
        self.vars: dict[str, Pair] = {}  # slot -> its pair of nodes
        self.names: dict[str, tuple[str, ...]] = {}  # slot -> its variable names
        self.modules = kconf.modules.name
        self.local_choice: Optional[str] = None  # the choice whose entries are being computed
        dec = [f"@d{k}" for k in range(_N_DECISION)]
        self.bdd.declare(*dec)
        self.dec = [self.bdd.var(n) for n in dec]
        self.dec_names = dec

    # -- variables -----------------------------------------------------------------------------
    def declare(self, slot: str, tristate: bool) -> Pair:
        if tristate:
            m, y = f"{slot}.m", f"{slot}.y"
            self.bdd.declare(m, y)
            pair = (self.bdd.var(m), self.bdd.var(y))
            self.names[slot] = (m, y)
        else:
            self.bdd.declare(slot)
            v = self.bdd.var(slot)
            pair = (v, v)
            self.names[slot] = (slot,)
        self.vars[slot] = pair
        return pair

    # -- expressions ---------------------------------------------------------------------------
    def const(self, v: int) -> Pair:
        return (self.true if v >= 1 else self.false, self.true if v == 2 else self.false)

    def atom(self, item: Any, tri: Optional[Pair] = None) -> Pair:
        if isinstance(item, kconfiglib.Choice):
            slot = choice_slot(item)
            if tri is not None and slot == self.local_choice:
                return tri
            return self.vars[slot]
        if item.is_constant:
            return self.const(TRI[item.name])
        if not item.nodes:
            return self.const(0)
        return self.vars[item.name]

    def expr(self, e: Any, tri: Optional[Pair] = None) -> Pair:
        if not isinstance(e, tuple):
            return self.atom(e, tri)
        op = e[0]
        if op is kconfiglib.AND:
            a, b = self.expr(e[1], tri), self.expr(e[2], tri)
            return (a[0] & b[0], a[1] & b[1])
        if op is kconfiglib.OR:
            a, b = self.expr(e[1], tri), self.expr(e[2], tri)
            return (a[0] | b[0], a[1] | b[1])
        if op is kconfiglib.NOT:
            a = self.expr(e[1], tri)
            return (~a[1], ~a[0])
        rel, x, y = e
        a, b = self.atom(x, tri), self.atom(y, tri)
        lt = (~a[0] & b[0]) | (a[0] & ~a[1] & b[1])
        gt = (~b[0] & a[0]) | (b[0] & ~b[1] & a[1])
        eq = ~lt & ~gt
        c = {
            kconfiglib.EQUAL: eq,
            kconfiglib.UNEQUAL: ~eq,
            kconfiglib.LESS: lt,
            kconfiglib.LESS_EQUAL: ~gt,
            kconfiglib.GREATER: gt,
            kconfiglib.GREATER_EQUAL: ~lt,
        }[rel]
        return (c, c)

    @staticmethod
    def ite(c: Any, a: Pair, b: Pair) -> Pair:
        return ((c & a[0]) | (~c & b[0]), (c & a[1]) | (~c & b[1]))

    def visibility(self, item: Any, tri: Optional[Pair] = None) -> Pair:
        vis = self.const(0)
        for node in item.nodes:
            if node.prompt:
                p = self.expr(node.prompt[1], tri)
                vis = (vis[0] | p[0], vis[1] | p[1])
        return vis

    # -- steps ---------------------------------------------------------------------------------
    def symbol(self, sym: Any) -> tuple[Pair, Any]:
        """A symbol's new value over what it reads and the decision variables, and when the
        user's value (rather than the default) is the one used."""
        is_bool = sym.orig_type is kconfiglib.BOOL
        if is_bool or sym.name == self.modules:
            typ_bool = self.true
        else:
            typ_bool = ~self.vars[self.modules][0]
        has_prompt = any(node.prompt for node in sym.nodes)
        if has_prompt:
            vis = self.visibility(sym)
            vis = (vis[0], vis[1] | (vis[0] & typ_bool))
        else:
            vis = self.const(0)
        d = self.const(0)
        for value, cond in reversed(sym.defaults):
            c = self.expr(cond)
            v = self.expr(value)
            d = self.ite(c[0], (v[0] & c[0], v[1] & c[1]), d)
        if sym.weak_rev_dep is not self.kconf.n:
            w = self.expr(sym.weak_rev_dep)
            dep = self.expr(sym.direct_dep)
            d = self.ite(w[0] & dep[0], (w[0] | d[0], w[1] | d[1]), d)
        else:
            w = self.const(0)
        r = self.expr(sym.rev_dep)
        user = sym.name in self.model.space and has_prompt
        taken = self.false
        if user:
            use, c1, c2 = self.dec[0], self.dec[1], self.dec[2]
            u = (c1, c1) if is_bool else (c1, c1 & c2)  # n, (m,) y
            taken = use & vis[0]
            pre = self.ite(taken, (u[0] & vis[0], u[1] & vis[1]), d)
        else:
            pre = d
        v = (pre[0] | r[0], pre[1] | r[1])
        v = (v[0], v[1] | (v[0] & (typ_bool | w[1])))
        return v, taken

    def choice(self, choice: Any) -> tuple[Pair, list[Any], list[Any], list[Any]]:
        """A choice's slot value, each entry's on bit, each entry's user pick and default."""
        vis = self.visibility(choice)
        on = vis[0]  # bool, non-optional: tri = y when visible, else n
        tri = (on, on)
        self.local_choice = choice_slot(choice)
        entries = choice.syms
        evis = [self.visibility(s, tri)[0] for s in entries]
        self.local_choice = None
        found = self.false
        default = [self.false] * len(entries)
        index = {s.name: k for k, s in enumerate(entries)}
        for sym, cond in choice.defaults:
            k = index[sym.name]
            hit = self.expr(cond, tri)[0] & evis[k] & ~found
            default[k] = default[k] | hit
            found = found | hit
        for k in range(len(entries)):
            hit = evis[k] & ~found
            default[k] = default[k] | hit
            found = found | hit
        # the user's pick: decision bits 1.. read as an entry index; bit 0 says "pick"
        bits = self.dec[1:]
        if len(entries) >= 1 << len(bits):
            raise Unsupported(f"a choice of {len(entries)} entries is too wide")
        picks = []
        for k in range(len(entries)):
            cube = self.dec[0]
            for j, b in enumerate(bits):
                cube = cube & (b if k >> j & 1 else ~b)
            allowed = entries[k].name in self.model.space
            picks.append(cube & evis[k] if allowed else self.false)
        valid = self.false
        for p in picks:
            valid = valid | p
        chosen = [on & (picks[k] | (~valid & default[k])) for k in range(len(entries))]
        return tri, chosen, picks, default

    def run(self, progress: Any = None) -> Walk:
        kconf = self.kconf
        model = self.model
        state = self.true
        proj = set(model.projection)
        seen: dict[str, frozenset[int]] = {}
        layers: list[Layer] = []
        peak = 1
        # the last step reading each slot's tristate value (choice entries: by name)
        last_read: dict[str, int] = {}
        for i, cs in enumerate(model.steps):
            for r in cs.step.reads:
                last_read[r] = i
        for i, cs in enumerate(model.steps):
            defines = cs.step.defines
            name = defines[0]
            rel = self.true
            defined: dict[str, Pair] = {}  # slot -> its new variables
            values: dict[str, Pair] = {}  # slot -> what they are set to (over earlier slots)
            layer = Layer(state, self.true, name, inc=self.false)
            if name in self.virtual:
                v = self.expr(self.virtual[name].expr)
                x = self.declare(name, False)[0]
                rel = x.equiv(v[0])
                defined[name] = (x, x)
                values[name] = (v[0], v[0])
            elif name.startswith("<choice:"):
                choice = kconf.syms[defines[1]].choice
                tri, chosen, picks, default = self.choice(choice)
                x = self.declare(name, False)[0]
                rel = x.equiv(tri[0])
                defined[name] = (x, x)
                for sym, c in zip(choice.syms, chosen):
                    e = self.declare(sym.name, False)[0]
                    rel = rel & e.equiv(c)
                    defined[sym.name] = (e, e)
                    values[sym.name] = (c, c)
                layer.entries = tuple(
                    (sym.name, picks[k], default[k], defined[sym.name][0])
                    for k, sym in enumerate(choice.syms)
                )
                layer.costly = True
            else:
                sym = kconf.syms[name]
                tristate = sym.orig_type is kconfiglib.TRISTATE
                v, user = self.symbol(sym)
                p = self.declare(name, tristate)
                defined[name] = p
                rel = p[0].equiv(v[0])
                values[name] = (v[0], v[0])
                if tristate:
                    rel = rel & p[1].equiv(v[1])
                    values[name] = v
                layer.user = user
                layer.value = p
                layer.costly = any(node.prompt for node in sym.nodes)
            layer.rel = rel
            layer.new = tuple(n for slot in defines for n in self.names[slot])
            if layer.entries:
                for _n, _p, _d, on in layer.entries:
                    layer.inc = layer.inc | on
            elif layer.costly and layer.value is not None:
                layer.inc = layer.value[0]
            layers.append(layer)
            alive = set(cs.layout_out)
            dead: list[str] = list(self.dec_names)
            for slot in list(self.vars):
                if slot not in alive:
                    dead.extend(self.names[slot])
                    del self.vars[slot]
                elif slot in proj and len(self.names[slot]) == 2 and last_read.get(slot, -1) <= i:
                    # nothing reads its tristate value any more: keep only on/off
                    dead.append(self.names[slot][1])
                    m = self.vars[slot][0]
                    self.vars[slot] = (m, m)
                    self.names[slot] = (self.names[slot][0],)
            layer.dead = tuple(dead)
            if self.want_values:
                for slot in defines:
                    if slot in model.options:  # user options only (dead / always on)
                        seen[slot] = self._values(state, values[slot])
            state = cudd.and_exists(state, rel, dead)
            peak = max(peak, len(state))
            if progress is not None:
                progress("enumerate", i + 1, len(model.steps))
        names = tuple(self.names[s][0] for s in model.projection)
        return Walk(
            self.bdd, state, tuple(model.projection), names, seen, peak, tuple(layers),
            tuple(self.dec_names),
            model,
            progress,
        )

    def _values(self, state: Any, value: Pair) -> frozenset[int]:
        """The values (0, 1, 2) a step's ``value`` (its new variables' definition, over the
        slots before it and the decision variables) takes from the reachable ``state``: those
        of its variables after the step, without building the step's conjunction."""
        m, y = value
        out = set()
        for v, test in ((0, ~m), (1, m & ~y), (2, y)):
            if state & test != self.false:
                out.add(v)
        return frozenset(out)


def walk(
    kconf: Any,
    projection: Sequence[str],
    space: Optional[Iterable[str]] = None,
    *,
    whole_tree: bool = False,
    virtual: Sequence[Virtual] = (),
    progress: Any = None,
    values: bool = False,
) -> Walk:
    model = encode.compile_model(kconf, projection, space, whole_tree=whole_tree, virtual=virtual)
    return _Walker(kconf, model, virtual, values).run(progress)


def whole_tree_values(
    kconf: Any, projection: Sequence[str], cone: Optional[Walk] = None
) -> dict[str, frozenset[int]]:
    """The values (0, 1, 2) each user option takes over the whole tree, as a walk of every step
    with ``values`` gives them (dead and always-on options), from two smaller walks: the cone of
    ``projection`` (``cone``, when the caller walked it over the whole tree's space with
    ``values``) and the cone of the options outside it.

    A walk that has an option's step has every step the option depends on, so the values it sees
    are the option's values in the tree; the two cones carry far smaller states than every step
    with the projection (tested equal to that walk)."""
    if cone is None:
        cone = walk(kconf, projection, None, values=True)
    seen = dict(cone.seen)
    rest = [s for s in encode.settable_symbols(kconf) if s not in seen]
    if rest:
        other = walk(kconf, rest, None, values=True)
        seen.update((s, other.seen[s]) for s in rest if s in other.seen)
    return seen
