"""What a BDD walk (:mod:`policy.space.symbolic`) gives: the set of projected configurations, and
the
kept steps to count it, list it, find the fewest enabled options and read witnesses back.

A witness is read backwards through the steps: at each, a state before the step and decisions
whose outcome is the part of the path already fixed (docs/explore.md, "Witnesses"). The option
levels split each step into the outcomes that enable a user option and those that do not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Optional

from policy.space import encode
from policy.space.bdd import cudd

Pair = tuple[Any, Any]  # (v >= m, v = y) as two BDD nodes


@dataclass
class Walk:
    """The result of a symbolic walk."""

    bdd: Any  # the dd.cudd.BDD manager
    final: Any  # the set of projected configurations (over ``proj_vars``)
    projection: tuple[str, ...]
    proj_vars: tuple[str, ...]  # the variable of each projection slot (its on/off bit)
    seen: dict[str, frozenset[int]]  # every walked slot -> the values (0/1/2) it takes (values=)
    peak_nodes: int
    layers: tuple[Layer, ...]
    decision_vars: tuple[str, ...]
    model: encode.Model  # the compiled steps walked (their Python form replays an assignment)
    progress: Any = None  # (phase, done, total) callback, also for :meth:`levels`
    _levels: Optional[list[list[Any]]] = None

    def levels(self, within: Any = None) -> list[list[Any]]:
        """Before each step (and after the last), the states reachable with at most c enabled
        user options, for c = 0, 1, ...; the last set stands for every larger c. The same steps
        again, each split into the outcomes that enable a user option and those that do not.

        ``within`` (a set of final configurations): only the states from which one of them is
        still reachable (computed backwards first). The fewest options of any target inside
        ``within`` are unchanged, and the sets stay far smaller. Without it: every state."""
        if within is None and self._levels is not None:
            return self._levels
        bdd = self.bdd
        keep: list[Any] = [bdd.true] * (len(self.layers) + 1)
        if within is not None:
            keep[-1] = within & self.final
            for k in range(len(self.layers) - 1, -1, -1):
                layer = self.layers[k]
                gone = list(layer.new) + list(self.decision_vars)
                keep[k] = cudd.and_exists(layer.rel, keep[k + 1], gone)
        cur = [keep[0]]
        out = [cur]
        for k, layer in enumerate(self.layers):
            # keep[k + 1] reads no variable the step forgets: it restricts the relation once
            # instead of every image
            rel = layer.rel & keep[k + 1]
            if layer.inc == bdd.false:
                nxt = [cudd.and_exists(m, rel, layer.dead) for m in cur]
            else:
                stay = rel & ~layer.inc
                inc = rel & layer.inc
                last = len(cur) - 1
                nxt = []
                for c in range(len(cur) + 1):
                    got = cudd.and_exists(cur[min(c, last)], stay, layer.dead)
                    if c:
                        got = got | cudd.and_exists(cur[min(c - 1, last)], inc, layer.dead)
                    nxt.append(got)
                while len(nxt) > 1 and nxt[-1] == nxt[-2]:
                    nxt.pop()
            out.append(nxt)
            cur = nxt
            if self.progress is not None:
                self.progress("options", k + 1, len(self.layers))
        if within is None:
            self._levels = out
        return out

    def fewest_options(self, target: Any, levels: Optional[list[list[Any]]] = None) -> int:
        """The fewest enabled user options (of the walked steps) of any configuration that
        reaches a projected configuration of ``target`` (``levels``: from :meth:`levels`, with
        ``within`` holding ``target``)."""
        final = (levels or self.levels())[-1]
        for c, reach in enumerate(final):
            if reach & target != self.bdd.false:
                return c
        raise ValueError("empty target")

    def count(self, u: Any = None) -> int:
        """How many projected configurations ``u`` (default: all) holds."""
        return int(self.bdd.count(self.final if u is None else u, nvars=len(self.proj_vars)))

    def configurations(self, u: Any = None) -> list[tuple[bool, ...]]:
        """Every projected configuration of ``u`` (default: all), as on/off per projection slot."""
        out = []
        for a in self.bdd.pick_iter(self.final if u is None else u, care_vars=set(self.proj_vars)):
            out.append(tuple(bool(a[v]) for v in self.proj_vars))
        return out

    def witness(
        self, target: Any, fewest: bool = False, levels: Optional[list[list[Any]]] = None
    ) -> tuple[dict[str, bool], list[tuple[str, str]], int]:
        """One configuration of ``target`` (a subset of ``final``), a user assignment that
        produces it and that assignment's enabled user options.

        Read backwards through the kept steps: at each, a reachable state before the step and
        a decision that lead into the part of the path already fixed; the default (no line in
        ``.config``) is preferred. ``fewest``: the configuration and assignment have the fewest
        enabled user options of all ``target`` (``levels``, default :meth:`levels` of every
        state: each step keeps within the budget left); otherwise any.
        """
        bdd = self.bdd
        budget = 0
        lv: list[list[Any]] = []
        if fewest:
            lv = levels or self.levels()
            budget = self.fewest_options(target, lv)
            target = target & lv[-1][min(budget, len(lv[-1]) - 1)]
        pick = first_assignment(bdd, target & self.final, self.proj_vars)
        if pick is None:
            raise ValueError("empty target")
        fixed = bdd.cube(pick)
        decisions: list[tuple[str, str]] = []
        options = 0
        for k in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[k]
            if fewest:
                before = lv[k]
                last = len(before) - 1
                pre = (fixed & layer.rel & ~layer.inc) & before[min(budget, last)]
                if pre == bdd.false:
                    assert budget > 0, "the option budget ran out"
                    budget -= 1
                    pre = (fixed & layer.rel & layer.inc) & before[min(budget, last)]
            else:
                pre = (fixed & layer.rel) & layer.before  # the cube first: small operands
            if layer.user is not None:
                quiet = pre & ~layer.user
                if quiet != bdd.false:
                    pre = quiet
            elif layer.entries:
                quiet = pre
                for _n, p, d, _on in layer.entries:
                    quiet = quiet & (~p | d)
                if quiet != bdd.false:
                    pre = quiet
            if layer.care is None:
                care = set(layer.new) | set(self.decision_vars)
                for u in [layer.user] + [x for e in layer.entries for x in e[1:]]:
                    if u is not None:
                        care |= bdd.support(u)
                layer.care = frozenset(care)
            care = set(bdd.support(pre)) | layer.care
            a = first_assignment(bdd, pre, care)
            assert a is not None, "a reachable state has no predecessor"
            if layer.value is not None:
                on = holds_under(layer.value[0], a)
                if layer.costly and on:
                    options += 1
                if layer.user is not None and holds_under(layer.user, a):
                    c1, c2 = a[self.decision_vars[1]], a[self.decision_vars[2]]
                    tristate = layer.value[0] != layer.value[1]
                    val = ("m" if not c2 and tristate else "y") if c1 else "n"
                    decisions.append((layer.name, val))
            for name, p, d, on_ in layer.entries:
                if holds_under(on_, a):
                    options += 1
                if holds_under(p, a) and not holds_under(d, a):
                    decisions.append((name, "y"))
            drop = set(layer.new) | set(self.decision_vars)
            fixed = bdd.cube({k: v for k, v in a.items() if k not in drop})
        decisions.reverse()
        return ({n: bool(pick[v]) for n, v in zip(self.projection, self.proj_vars)}, decisions,
                options)


def first_assignment(bdd: Any, u: Any, care_vars: Iterable[str]) -> Optional[dict[str, bool]]:
    """``bdd.pick(u, care_vars)``: the same assignment, found without dd's recursive generators
    (one per level of the BDD, each copying the path so far, ~40 % of every witness).

    dd finds its first cube depth first, the low branch first; a branch of a BDD holds a
    satisfying path exactly when, under the complement edges taken so far, it is not the
    constant false, so the first cube follows the low branch wherever that holds. Care
    variables absent from the cube are False, as in dd's first minterm."""
    if u == bdd.false:
        return None
    cube: dict[str, bool] = {}
    positive = True  # whether the edges taken so far complement the function an even number
    while u.var is not None:
        if u.negated:
            positive = not positive
        low = u.low
        if low != (bdd.false if positive else bdd.true):
            cube[u.var] = False
            u = low
        else:
            cube[u.var] = True
            u = u.high
    out = {v: False for v in care_vars if v not in cube}
    out.update(cube)
    return out


def holds_under(u: Any, assignment: dict[str, bool]) -> bool:
    """Whether ``u`` is true under ``assignment`` (which gives every variable on the way): one
    walk down the BDD, as ``bdd.let(assignment, u) == bdd.true`` answers it."""
    positive = True
    while True:
        if u.negated:
            positive = not positive
        var = u.var
        if var is None:
            return positive
        u = u.high if assignment[var] else u.low


@dataclass
class Layer:
    """What one step did, kept to read a witness back (:meth:`Walk.witness`)."""

    before: Any  # the reachable set before the step
    rel: Any  # the step's relation (new variables, decisions, what it reads)
    name: str
    new: tuple[str, ...] = ()  # the variables it declares
    user: Any = None  # symbol steps: "the user's value is used" (a decision)
    value: Optional[Pair] = None  # symbol steps: the new value
    entries: tuple[tuple[str, Any, Any, Any], ...] = ()  # choices: (name, pick, default, on)
    costly: bool = False  # a user option (counts in ``options`` when on)
    inc: Any = None  # where the step enables a user option (set by the walk)
    dead: tuple[str, ...] = ()  # the variables forgotten after the step
    care: Optional[frozenset[str]] = None  # the variables a witness reads here (computed once)
