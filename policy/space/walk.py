"""What a BDD walk (:mod:`policy.space.symbolic`) gives: the set of projected configurations, and
the
kept steps to count it, list it, find the fewest enabled options and read witnesses back.

A witness is read backwards through the steps: at each, a state before the step and decisions
whose outcome is the part of the path already fixed (docs/explore.md, "Witnesses"). The option
levels (:class:`Levels`) split the steps whose options the final configuration does not show into
the outcomes that enable a user option and those that do not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Optional

from policy.space import encode
from policy.space.bdd import cudd, exactly

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
    _levels: Optional[Levels] = None

    def levels(self, within: Any = None) -> Levels:
        """The option levels (:class:`Levels`) of every state, or with ``within`` (a set of
        final configurations) only of the states from which one of them is still reachable
        (computed backwards first): the fewest options of any target inside ``within`` are
        unchanged, and the sets stay far smaller."""
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
        visible = self.visible()
        cur = [keep[0]]
        out = [cur]
        for k, layer in enumerate(self.layers):
            # keep[k + 1] reads no variable the step forgets: it restricts the relation once
            # instead of every image
            rel = layer.rel & keep[k + 1]
            image = _Images(layer.dead)
            if layer.inc == bdd.false or visible[k]:
                nxt = [image(m, rel, 0) for m in cur]
            else:
                stay = rel & ~layer.inc
                inc = rel & layer.inc
                last = len(cur) - 1
                nxt = []
                for c in range(len(cur) + 1):
                    got = image(cur[min(c, last)], stay, 0)
                    if c:
                        got = got | image(cur[min(c - 1, last)], inc, 1)
                    nxt.append(got)
                while len(nxt) > 1 and nxt[-1] == nxt[-2]:
                    nxt.pop()
            out.append(nxt)
            cur = nxt
            if self.progress is not None:
                self.progress("options", k + 1, len(self.layers))
        incs = [layer.inc for layer, v in zip(self.layers, visible) if v]
        got = Levels(bdd, out, visible, exactly(bdd, incs))
        if within is None:
            self._levels = got
        return got

    def _prepare(self, layer: Layer) -> None:
        """What a witness reads of ``layer`` at every target, computed once: the variables it
        assigns, the relation split by whether the step enables an option, and the outcomes
        without a line in ``.config`` (the default, preferred)."""
        bdd = self.bdd
        care = set(layer.new) | set(self.decision_vars)
        for u in [layer.user] + [x for e in layer.entries for x in e[1:]]:
            if u is not None:
                care |= bdd.support(u)
        layer.care_new = frozenset(layer.new) | frozenset(self.decision_vars)
        if layer.inc is not None:
            layer.stay, layer.spend = layer.rel & ~layer.inc, layer.rel & layer.inc
        if layer.user is not None:
            layer.quiet = ~layer.user
        elif layer.entries:
            layer.quiet = bdd.true
            for _n, p, d, _on in layer.entries:
                layer.quiet = layer.quiet & (~p | d)
        layer.care = frozenset(care)

    def visible(self) -> tuple[bool, ...]:
        """Per step: whether the final configuration shows the option it enables (its ``inc``
        reads projected variables only, which no later step forgets)."""
        proj = set(self.proj_vars)
        false = self.bdd.false
        return tuple(
            layer.inc != false and set(self.bdd.support(layer.inc)) <= proj
            for layer in self.layers
        )

    def fewest_options(self, target: Any, levels: Optional[Levels] = None) -> int:
        """The fewest enabled user options (of the walked steps) of any configuration that
        reaches a projected configuration of ``target`` (``levels``: from :meth:`levels`, with
        ``within`` holding ``target``)."""
        return (levels or self.levels()).fewest(target)

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
        self, target: Any, fewest: bool = False, levels: Optional[Levels] = None
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
        false = bdd.false
        budget = 0  # the hidden options left (:class:`Levels`)
        lv: Optional[Levels] = None
        if fewest:
            lv = levels or self.levels()
            budget = lv.fewest(target)
            target = target & lv.reach(budget)
        pick = first_assignment(bdd, target & self.final, self.proj_vars)
        if pick is None:
            raise ValueError("empty target")
        if lv is not None:  # the visible steps' options are those the configuration shows
            budget -= sum(
                1 for layer, v in zip(self.layers, lv.visible) if v and holds_under(layer.inc, pick)
            )
        fixed = bdd.cube(pick)
        decisions: list[tuple[str, str]] = []
        options = 0
        for k in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[k]
            if layer.care is None:
                self._prepare(layer)
            assert layer.care is not None
            if lv is not None and lv.visible[k]:
                pre = (fixed & layer.rel) & lv.hidden(k, budget)
            elif lv is not None:
                pre = (fixed & layer.stay) & lv.hidden(k, budget)
                if pre == false:
                    assert budget > 0, "the option budget ran out"
                    budget -= 1
                    pre = (fixed & layer.spend) & lv.hidden(k, budget)
            else:
                pre = (fixed & layer.rel) & layer.before  # the cube first: small operands
            if layer.quiet is not None:
                quiet = pre & layer.quiet
                if quiet != false:
                    pre = quiet
            care = bdd.support(pre)
            care.update(layer.care)
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
            drop = layer.care_new  # the step's own variables and the decisions
            fixed = bdd.cube({k: v for k, v in a.items() if k not in drop})
        decisions.reverse()
        return ({n: bool(pick[v]) for n, v in zip(self.projection, self.proj_vars)}, decisions,
                options)


class _Images:
    """The images of one step's level sets, each set imaged once per part of the relation
    (neighbouring levels are often equal: about a quarter of them)."""

    def __init__(self, dead: tuple[str, ...]) -> None:
        self.dead = dead
        self.done: dict[tuple[Any, int], Any] = {}

    def __call__(self, m: Any, part: Any, which: int) -> Any:
        got = self.done.get((m, which))
        if got is None:
            got = self.done[(m, which)] = cudd.and_exists(m, part, self.dead)
        return got


def first_assignment(bdd: Any, u: Any, care_vars: Iterable[str]) -> Optional[dict[str, bool]]:
    """``bdd.pick(u, care_vars)``: the same assignment, found without dd's recursive generators
    (one per level of the BDD, each copying the path so far, ~40 % of every witness).

    dd finds its first cube depth first, the low branch first; a branch of a BDD holds a
    satisfying path exactly when, under the complement edges taken so far, it is not the
    constant false, so the first cube follows the low branch wherever that holds. Care
    variables absent from the cube are False, as in dd's first minterm."""
    false, true = bdd.false, bdd.true  # each read of the property wraps a new node
    if u == false:
        return None
    cube: dict[str, bool] = {}
    positive = True  # whether the edges taken so far complement the function an even number
    while u.var is not None:
        if u.negated:
            positive = not positive
        low = u.low
        if low != (false if positive else true):
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
class Levels:
    """The fewest enabled user options of a walk's steps, as sets (:meth:`Walk.levels`).

    A *visible* step is one whose option shows in the final configuration (a projected symbol's
    own step: whether it enabled its option is read off the projection). Those steps are not
    split; the others, *hidden*, are. ``before[k][c]``, before step k (and after the last one),
    holds the states reachable with at most c hidden options (the last set of each list stands
    for every larger c); ``reach(b)`` the final configurations reachable with at most b options
    in all: at most b - j hidden ones where the visible steps enabled j. A state already shows
    the visible options before it, so ``before[k][b - j]`` among the states showing j is exactly
    the set of those reachable with at most b options in all: the sets every step used to be
    split into, with fewer levels to carry (about half of the cone's options are visible).
    """

    bdd: Any
    before: list[list[Any]]
    visible: tuple[bool, ...]
    shows: list[Any]  # shows[j]: the final configurations showing exactly j visible options
    _reach: dict[int, Any] = field(default_factory=dict)  # ``reach``'s sets, computed on demand

    @property
    def most(self) -> int:
        """The most options any configuration takes: ``reach`` is the same from there on."""
        return len(self.before[-1]) - 1 + len(self.shows) - 1

    def hidden(self, k: int, budget: int) -> Any:
        """The states before step ``k`` reachable with at most ``budget`` hidden options."""
        sets = self.before[k]
        return sets[min(budget, len(sets) - 1)]

    def reach(self, budget: int) -> Any:
        """The final configurations reachable with at most ``budget`` options in all (computed
        when first asked: the fewest options of the targets are usually far below ``most``)."""
        b = min(budget, self.most)
        got = self._reach.get(b)
        if got is None:
            hidden = self.before[-1]
            last = len(hidden) - 1
            got = self.bdd.false
            for j in range(min(b, len(self.shows) - 1) + 1):
                got = got | (hidden[min(b - j, last)] & self.shows[j])
            self._reach[b] = got
        return got

    def fewest(self, target: Any) -> int:
        """The fewest options of any configuration reaching one of ``target``."""
        false = self.bdd.false
        for b in range(self.most + 1):
            if self.reach(b) & target != false:
                return b
        raise ValueError("empty target")


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
    # with ``care`` (:meth:`Walk._prepare`, again when ``care`` is reset to None): the step's new
    # and decision variables, the relation where it enables no option and where it does, and
    # where it uses no line of ``.config``
    care_new: frozenset[str] = frozenset()
    stay: Any = None
    spend: Any = None
    quiet: Any = None
