"""The whole configuration space evaluated at once, over BDDs (``explore``, ``solve``).

:mod:`policy.space.listed` decides every device once per distinct device-type key, which is exact
but costs one :func:`policy.decide.runtime.decide` per key (about 3,500 per device on the whole
tree).
Here each device's decision is written as sets of configurations instead (docs/explore.md):

- the run-time *context* (page size, ``ZONE_DEVICE``, the two arch conditions the layouts read)
  takes a handful of values; under each, :func:`policy.decide.runtime.candidates_for` lists the
  device's
  candidates with their layouts, refusals, budgets and rank tails -- the real code, run on a build
  that answers every other expression "y" so that every candidate appears (without the feature
  verdicts: what a candidate gives is the next item's sets);
- a candidate is possible where its mode's build expression and (for modes with aligns) its
  align's build expression hold; it gives a feature where
  :func:`policy.decide.catalog.enabling_condition` says so. Both are monotone expressions over the
  projection, hence BDDs;
- ``decide`` picks the lowest rank among the possible (and pinned) candidates; a rank is the
  static tail plus the counts of missing required and wanted features, so each (candidate,
  missing counts) is a set, and walking them in rank order gives the set where each wins. The
  contexts are disjoint, so one walk ranks every context's candidates, each possible only within
  the contexts ``candidates_for`` lists it alike under (its sets are built once, not per
  context).

The result: per device, the set of configurations for each (features gained, DRAM, capacity
lost), combined over devices into the set behind each total. Frontier witnesses are then decided
again by ``runtime.decide`` on the real configuration, which must give the same totals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import add
from typing import Any, NamedTuple, Optional

from policy.decide import runtime
from policy.decide.cache import CachedBuild, cache_for, cached
from policy.decide.catalog import Catalog, catalog_for, enabling_condition, verdict_page
from policy.decide.layouts import kernel_of
from policy.space.bdd import exactly
from policy.space.enumerate import PAGE_BITS, RUNTIME_SYMBOLS, monotone_source
from policy.space.symbolic import Walk

Totals = tuple[int, int, int]  # features gained, DRAM memmap bytes, capacity lost bytes
_CONTEXT_SYMBOLS = ("ZONE_DEVICE",) + RUNTIME_SYMBOLS[1:]


class _ContextBuild:
    """A build as :func:`runtime.candidates_for` sees it under one context: the page size and
    the context symbols as given, every other expression "y" (so every candidate is listed)."""

    def __init__(self, page: int, truth: dict[str, bool]) -> None:
        self.name = "context"
        self.arch = "unknown"
        self.page_size = page
        self._truth = truth

    def eval(self, expr: str) -> str:
        got = self._truth.get(expr)
        return "n" if got is False else "y"

    def enabled(self, sym: str) -> bool:
        return self._truth.get(sym, True)

    def why_expr_off(self, expr: str) -> tuple[Any, ...]:
        return ()


def at_its_start(device: Any) -> Any:
    """``device`` with its start known: the start its costs are figured at (``start``, else
    ``start_align``, else 0: :func:`policy.decide.layouts.facts_of`).

    Without a known start a pfn or kmem layout is also laid out at every start the facts allow
    (``layouts.start_range``, up to 64 layouts each), for the range a report shows beside the
    costs. Nothing a decision is ranked or counted by reads that range (the costs, refusals,
    budgets and features are those at the one start), so the sets are built without it; the
    frontier witnesses are decided again on the device itself.
    """
    if getattr(device, "start", None) is not None:
        return device
    if not dataclasses.is_dataclass(device) or isinstance(device, type):
        return device  # not a record the start can be given to: laid out as it is
    return dataclasses.replace(device, start=int(getattr(device, "start_align", None) or 0))


@dataclass(frozen=True)
class DeviceSets:
    """One device over the whole space: where each (features, DRAM, capacity) outcome holds, and
    where each feature is achievable by some possible candidate (a run-time pin)."""

    device: str
    parts: dict[Totals, Any]
    achievable: dict[str, Any]
    # where the decision is ok (no finding: a candidate meets every requirement, budget and
    # pin), by the chosen candidate's (DRAM, capacity lost)
    ok: dict[tuple[int, int], Any]


class _Listed(NamedTuple):
    """A possible candidate as ``candidates_for`` lists it under a context: what the sets read
    of it (equal under several contexts when nothing it depends on differs there)."""

    position: int  # its place in the list: decide's last tie-break
    candidate: runtime.Candidate
    pagemap: bool
    page: int
    tail: tuple[int, ...]  # its rank without the feature counts: over budget, rank[4:]
    dram: int
    capacity: int


# (rank, where it holds, the chosen (DRAM, capacity lost), where it gives k features)
_Ranked = tuple[tuple[Any, ...], Any, tuple[int, int], list[tuple[int, Any]]]


class SymbolicEvaluation:
    def __init__(
        self,
        walk: Walk,
        devices: Sequence[Any],
        cat: Optional[Catalog] = None,
        progress: Optional[Callable[[str, int, int], None]] = None,
    ) -> None:
        self.progress = progress
        self._done = 0
        self.walk = walk
        self.bdd = walk.bdd
        self.cat = cat or catalog_for()
        self.devices = sorted(devices, key=lambda d: (str(d.type), str(d.name)))
        self._var = dict(zip(walk.projection, walk.proj_vars))
        self._exprs: dict[str, Any] = {}
        self._counts: dict[tuple[Any, ...], list[tuple[int, Any]]] = {}
        self._contexts: Optional[list[tuple[Any, int, dict[str, bool]]]] = None
        self._builds: Optional[list[CachedBuild]] = None
        self._possible_memo: dict[tuple[str, str, int], Any] = {}
        self._gives_memo: dict[tuple[str, runtime.Candidate, bool, int], dict[str, Any]] = {}
        # the kernel candidates_for reads its rules for off a context build (one naming none)
        self._kernel = kernel_of(cached(_ContextBuild(4096, {}))).name

    # -- expressions over the projection -----------------------------------------------------
    def expr(self, e: str) -> Any:
        got = self._exprs.get(e)
        if got is None:
            bdd = self.bdd
            names: list[str] = []

            def sym(tok: str) -> str:
                names.append(tok)
                return f"_v[{len(names) - 1}]"

            src = monotone_source(e, sym)
            nodes = [bdd.var(self._var[n]) if n in self._var else bdd.false for n in names]
            src = src.replace(" and ", " & ").replace(" or ", " | ")
            src = src.replace("True", "_t").replace("False", "_f")
            got = eval(src, {"_v": nodes, "_t": bdd.true, "_f": bdd.false})  # noqa: S307
            self._exprs[e] = got
        return got

    def contexts(self) -> list[tuple[Any, int, dict[str, bool]]]:
        """Every (set, page size, context symbols) that some configuration of the walk has."""
        if self._contexts is None:
            self._contexts = self._find_contexts()
        return self._contexts

    def _context_builds(self) -> list[CachedBuild]:
        """Each context's build, shared by every device (its expressions are read once)."""
        if self._builds is None:
            self._builds = [
                cached(_ContextBuild(page, truth)) for _, page, truth in self.contexts()
            ]
        return self._builds

    def _find_contexts(self) -> list[tuple[Any, int, dict[str, bool]]]:
        bdd = self.bdd
        pages: dict[int, Any] = {}
        none = bdd.true
        for sym, size in PAGE_BITS:
            on = self.expr(sym)
            pages[size] = pages.get(size, bdd.false) | (none & on)
            none = none & ~on
        pages[4096] = pages.get(4096, bdd.false) | none
        out: list[tuple[Any, int, dict[str, bool]]] = [
            (u, size, {}) for size, u in sorted(pages.items())
        ]
        for sym in _CONTEXT_SYMBOLS:
            on = self.expr(sym)
            out = [
                (u & lit, size, {**truth, sym: val})
                for u, size, truth in out
                for lit, val in ((on, True), (~on, False))
            ]
        return [c for c in out if c[0] & self.walk.final != bdd.false]

    def _exactly(self, kind: str, items: Sequence[Any]) -> list[tuple[int, Any]]:
        """``(k, the set where exactly k of items hold)`` for each k that holds somewhere
        (``kind``: what is counted).

        Memoised by the sets themselves (a BDD is canonical: equal sets are one node), so the
        many candidates that give alike (one mode at several page sizes, pagemap or not) share
        one count."""
        key = (kind, *items)
        got = self._counts.get(key)
        if got is None:
            false = self.bdd.false
            got = self._counts[key] = [
                (k, u) for k, u in enumerate(exactly(self.bdd, items)) if u != false
            ]
        return got

    def _gives(self, dt: Any, c: runtime.Candidate, pagemap: bool, page: int) -> dict[str, Any]:
        """Where candidate ``c`` of a ``dt`` device gives each feature (it does not depend on
        the device itself: computed once per device type, candidate, pagemap and page size).

        The conditions are read under the kernel and page size ``candidates_for`` gives its
        verdicts with, from the same memo (the catalog's cache), so each is computed once; the
        page size only where the verdicts depend on it (:func:`verdict_page`)."""
        page = verdict_page(self._kernel, page)
        key = (dt.name, c, pagemap, page)
        got = self._gives_memo.get(key)
        if got is None:
            bdd = self.bdd
            cache = cache_for(self.cat)
            got = {}
            for f in self.cat.features:
                how = enabling_condition(f, dt, c.mode, c.map, c.align, pagemap, cache,
                                         self._kernel, page)
                if how is None:
                    got[f.name] = bdd.false
                    continue
                any_cond = bdd.false
                for e in how[1]:
                    any_cond = any_cond | self.expr(e)
                got[f.name] = self.expr(how[0]) & any_cond
            self._gives_memo[key] = got
        return got

    # -- one device --------------------------------------------------------------------------
    def device(self, device: Any) -> DeviceSets:
        """``device``'s sets: its candidates under every context, ranked at once."""
        dt = self.cat.device_type(str(device.type))
        listed = self._listed(device, dt)
        # where some possible candidate gives the features, by the sets where it gives each
        reach: dict[tuple[Any, ...], Any] = {}
        ranked: list[_Ranked] = []
        for item, where in listed.items():
            possible = self._possible(dt, item.candidate) & where
            if possible == self.bdd.false:
                continue
            gives = self._gives(dt, item.candidate, item.pagemap, item.page)
            alike = tuple(gives.values())
            reach[alike] = reach[alike] | possible if alike in reach else possible
            if device.pin is None or runtime.pin_matches(device.pin, item.candidate):
                ranked.extend(self._ranks(device, item, possible, gives))
        achievable = self._achievable(reach)
        parts, ok = self._outcomes(ranked)
        if self.progress is not None:
            self._done += 1
            self.progress("decide", self._done, len(self.devices))
        return DeviceSets(str(device.name), parts, achievable, ok)

    def _achievable(self, reach: dict[tuple[Any, ...], Any]) -> dict[str, Any]:
        """Where each feature is given by some possible candidate, from ``reach``: where the
        candidates giving alike are possible (most give as some other does)."""
        names = [f.name for f in self.cat.features]
        out = {name: self.bdd.false for name in names}
        for gives, where in reach.items():
            for name, u in zip(names, gives):
                out[name] = out[name] | (where & u)
        return out

    def _listed(self, device: Any, dt: Any) -> dict[_Listed, Any]:
        """Every possible candidate ``candidates_for`` lists for ``device`` under some context,
        with the set of the contexts it is listed alike under (position, rank and costs).

        A configuration lies in one context, so ranking every context's candidates together,
        each possible only within its contexts, gives each context its own ranking; merging
        the contexts where a candidate is listed alike builds its sets once, not per context
        (most candidates do not change with ``ZONE_DEVICE`` or the two arch conditions)."""
        at_start = at_its_start(device)
        out: dict[_Listed, Any] = {}
        for (ctx, page, truth), build in zip(self.contexts(), self._context_builds()):
            pagemap = bool(dt.pagemap and truth["ZONE_DEVICE"])
            # what each gives is read off the catalog's conditions (_gives), not the verdicts
            results = runtime.candidates_for(at_start, build, self.cat, features=False)
            for index, r in enumerate(results):
                if not r.possible:
                    continue  # refused by its layout, or a mode this device type cannot host
                lay = r.layout
                assert lay is not None
                rank = r.rank(self.cat)
                item = _Listed(index, r.candidate, pagemap, page, (rank[2],) + rank[4:],
                               lay.dram_memmap, lay.capacity_lost)
                out[item] = out[item] | ctx if item in out else ctx
        return out

    def _possible(self, dt: Any, c: runtime.Candidate) -> Any:
        """Where the build has candidate ``c``: its mode's build expression on a ``dt`` device
        and (for modes with aligns) its align's."""
        key = (dt.name, c.mode, c.align)
        got = self._possible_memo.get(key)
        if got is None:
            got = self._possible_memo[key] = self._build_has(dt, c)
        return got

    def _build_has(self, dt: Any, c: runtime.Candidate) -> Any:
        """:meth:`_possible`, computed."""
        mode = self.cat.mode(c.mode)
        possible = self.expr(dt.build_for(mode.name, mode))
        if mode.aligns:
            cond = self.bdd.false
            for rule in self.cat.aligns:
                if rule.bytes == c.align:
                    cond = cond | self.expr(rule.build)
            possible = possible & cond
        return possible

    def _ranks(self, device: Any, item: _Listed, possible: Any,
               gives: dict[str, Any]) -> list[_Ranked]:
        """``item``'s rank where ``possible``, by its counts of missing required and wanted
        features (``decide``'s rank with those counts read off the sets)."""
        req = self._exactly("missing", [~gives[f] for f in device.requires])
        want = self._exactly("missing", [~gives[f] for f in device.wants])
        nfeat = self._exactly("given", [gives[f.name] for f in self.cat.features])
        over, tail = item.tail[0], item.tail[1:]
        cost = (item.dram, item.capacity)
        out: list[_Ranked] = []
        for a, ra in req:
            with_a = possible & ra
            if with_a == self.bdd.false:
                continue  # nowhere: it could never win
            for b, rb in want:
                where = with_a & rb
                if where != self.bdd.false:
                    out.append(((a > 0, a, over, b) + tail + (item.position,), where, cost, nfeat))
        return out

    def _outcomes(
        self, ranked: list[_Ranked]
    ) -> tuple[dict[Totals, Any], dict[tuple[int, int], Any]]:
        """Where each outcome wins, walking ``ranked`` in rank order; where no candidate is
        possible, a finding: nothing gained or spent."""
        bdd = self.bdd
        parts: dict[Totals, Any] = {}
        ok: dict[tuple[int, int], Any] = {}
        ranked.sort(key=lambda x: x[0])
        taken = bdd.false
        for key, where, cost, nfeat in ranked:
            wins = where & ~taken
            taken = taken | where
            if wins == bdd.false:
                continue
            if not key[0] and not key[2]:  # nothing required missing, within budget
                ok[cost] = ok[cost] | wins if cost in ok else wins
            for k, u in nfeat:
                part = wins & u
                if part != bdd.false:
                    t = (k, *cost)
                    parts[t] = parts.get(t, bdd.false) | part
        rest = self._everywhere() & ~taken
        if rest != bdd.false:
            parts[(0, 0, 0)] = parts.get((0, 0, 0), bdd.false) | rest
        return parts, ok

    def _everywhere(self) -> Any:
        """The union of the contexts."""
        got = self.bdd.false
        for ctx, _, _ in self.contexts():
            got = got | ctx
        return got

    # -- every device ------------------------------------------------------------------------
    def totals(self, sets: Sequence[DeviceSets]) -> dict[Totals, Any]:
        """The configurations behind each total over the devices (sums of their outcomes)."""
        return self._summed([ds.parts for ds in sets], (0, 0, 0))

    def ok_totals(self, sets: Sequence[DeviceSets]) -> dict[tuple[int, int], Any]:
        """The configurations where every device's decision is ok, by total (DRAM, capacity)."""
        return self._summed([ds.ok for ds in sets], (0, 0))

    def _summed(self, parts: Sequence[dict[Any, Any]], zero: tuple[int, ...]) -> dict[Any, Any]:
        """Where each sum of one outcome per device holds. Summed context by context: the
        contexts are disjoint, and under one a device has a handful of its outcomes (about a
        tenth of the pairs to intersect), then the contexts' sums are joined."""
        false = self.bdd.false
        out: dict[Any, Any] = {}
        for ctx, _page, _truth in self.contexts():
            cur = {zero: self.walk.final & ctx}
            for mine in parts:
                here = [(k, u & ctx) for k, u in mine.items()]
                here = [(k, u) for k, u in here if u != false]
                nxt: dict[Any, Any] = {}
                for t, where in cur.items():
                    for k, part in here:
                        both = where & part
                        if both == false:
                            continue
                        s = tuple(map(add, t, k))
                        nxt[s] = nxt[s] | both if s in nxt else both
                cur = nxt
            for t, u in cur.items():
                out[t] = out[t] | u if t in out else u
        return out

    def unreachable(self, ds: DeviceSets) -> tuple[str, ...]:
        final = self.walk.final
        return tuple(
            sorted(f for f, u in ds.achievable.items() if final & u == self.bdd.false)
        )


def frontier(totals: dict[Totals, Any]) -> list[Totals]:
    """The totals no other one beats: more features, less DRAM, less capacity lost."""
    keys = sorted(totals, key=lambda k: (-k[0], k[1], k[2]))
    front: list[Totals] = []
    for k in keys:
        if not any(f[0] >= k[0] and f[1] <= k[1] and f[2] <= k[2] for f in front):
            front.append(k)
    return front
