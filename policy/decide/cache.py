"""Every memo the decision uses, in one place: a :class:`DecisionCache` per catalog.

A device's decision is a pure function of the build's values, the device's facts and the
catalog, so results are kept by value: layouts by everything ``costs`` reads, a candidate's
feature verdicts by the catalog conditions that hold under the build, the build-independent part
of each verdict by feature and candidate. Keys are names and numbers, never ``id()`` of a
temporary object. :class:`CachedBuild` keeps one build's Kconfig expression results for one
evaluation: the values of its expressions, the why-off chains of those that are off, and per
device type what the build decides of the candidates before any device fact is read
(:mod:`policy.decide.plan`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policy.errors import UndefinedSymbolError
from policy.kconfig.chain import ChainStep


def build_holds(build: Any, expr: str) -> bool:
    """True when the Kconfig expression is y or m in ``build``."""
    if expr == "y":
        return True
    try:
        return build.eval(expr) in ("y", "m")
    except UndefinedSymbolError:
        # a symbol the tree does not define is off: the catalog may outlive a tree edit
        return False


class CachedBuild:
    """A build whose Kconfig expression results are memoised (it is itself a build)."""

    def __init__(self, build: Any) -> None:
        self.build = build
        self._cache: dict[str, str] = {}
        self._chains: dict[str, tuple[ChainStep, ...]] = {}
        self._fingerprint: str | None = None
        # device type name -> (the catalog, its policy.decide.plan.Plan under this build)
        self.plans: dict[str, tuple[object, Any]] = {}

    @property
    def name(self) -> str:
        return str(self.build.name)

    @property
    def arch(self) -> str:
        return str(self.build.arch)

    @property
    def page_size(self) -> int:
        return int(self.build.page_size)

    def enabled(self, sym: str) -> bool:
        return bool(self.build.enabled(sym))

    def why_expr_off(self, expr: str) -> tuple[ChainStep, ...]:
        return tuple(self.build.why_expr_off(expr))

    def eval(self, expr: str) -> str:
        got = self._cache.get(expr)
        if got is None:
            got = self._cache[expr] = self.build.eval(expr)
        return got

    def holds(self, expr: str) -> bool:
        return build_holds(self, expr)

    def chain(self, expr: str) -> tuple[ChainStep, ...]:
        got = self._chains.get(expr)
        if got is None:
            try:
                got = tuple(self.build.why_expr_off(expr))
            except UndefinedSymbolError:
                # a symbol this kernel's tree does not define (DEV_DAX_CXL on 6.1): off, no chain
                got = ()
            self._chains[expr] = got
        return got

    @property
    def fingerprint(self) -> str:
        """A hash of everything a decision reads from the build: kernel version, arch, page size,
        every value.

        Two configs whose text differs only in comments or order (or only in symbols outside
        the model) have the same fingerprint, so they share memoised decisions.
        """
        got = self._fingerprint
        if got is None:
            import hashlib  # only here: the memo of repeated decisions (matrix, fleet)

            kernel = getattr(self.build, "kernel", "")  # version rules (e.g. 6.12's refusals)
            h = hashlib.sha256(f"{kernel}\0{self.arch}\0{self.page_size}".encode())
            for sym, val in sorted(self.build.values.items()):
                h.update(f"\0{sym}={val}".encode())
            got = self._fingerprint = h.hexdigest()
        return got


def cached(build: Any) -> CachedBuild:
    """``build`` with memoised expressions (itself when it already is)."""
    return build if isinstance(build, CachedBuild) else CachedBuild(build)


@dataclass
class DecisionCache:
    """The memo tables of one catalog's decisions (see the module docstring)."""

    # (device facts, region align, whole device, layout kind, mode, map, align, page size,
    #  exists, and what the kind reads of the build and the call: compat align, dedup arch,
    #  pagemap, zero-size refused by the kernel version, start range) -> costs.Layout
    #  (policy.decide.layouts.layout)
    layouts: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    # (device type, mode, map, align, pagemap, holds of each feature expression) -> verdicts
    verdicts: dict[tuple[Any, ...], tuple[Any, ...]] = field(default_factory=dict)
    # (feature, device type, mode, map, align, pagemap) -> the build-independent verdict parts
    feature_memos: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    # (device type, mode, map, align, pagemap, kernel, page) -> every feature's such parts
    candidate_memos: dict[tuple[Any, ...], tuple[Any, ...]] = field(default_factory=dict)
    # every build expression a feature verdict may read, in catalog order (computed once)
    feature_exprs: tuple[str, ...] | None = None
    # (build fingerprint, device type, size, start align, pin, requires, wants, budgets) -> the
    # Decision (policy.decide.memo), oldest dropped first past MAX_DECISIONS
    decisions: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    # (decision key, row form) -> a reporter's text of the decision without its names
    # (policy.report.rows), dropped together with the decisions
    rows: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    def clear(self) -> None:
        self.decisions.clear()
        self.rows.clear()
        self.layouts.clear()
        self.verdicts.clear()
        self.feature_memos.clear()
        self.candidate_memos.clear()
        self.feature_exprs = None


# catalog identity -> (the catalog, its cache): the catalog is held, so its id stays its own
_CACHES: dict[int, tuple[object, DecisionCache]] = {}


def cache_for(cat: object) -> DecisionCache:
    """The one :class:`DecisionCache` of ``cat`` (the shipped catalog has one for the process)."""
    got = _CACHES.get(id(cat))
    if got is None or got[0] is not cat:
        got = _CACHES[id(cat)] = (cat, DecisionCache())
    return got[1]
