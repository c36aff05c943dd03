"""Kconfig expressions evaluated against a frozen snapshot of values, and why-off chains.

kconfiglib evaluates expressions against its own mutable state; pmempolicy keeps several
configurations side by side, so it parses an expression once with kconfiglib's own parser and
evaluates it here over a ``{symbol: value}`` mapping with kconfiglib's rules (n=0, m=1, y=2; AND is
min, OR is max, NOT is 2-x; relations compare numbers, else strings).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

import kconfiglib

from policy.errors import UndefinedSymbolError, UsageError
from policy.kconfig.chain import ChainStep

TRI = ("n", "m", "y")


def definition(sym: Any) -> tuple[str, int]:
    """File and line of a symbol's (first) definition, relative to the tree root."""
    if not sym.nodes:
        return ("<undefined>", 0)
    node = sym.nodes[0]
    return (str(node.filename), int(node.linenr))


# (tree, expression text) -> parsed: a cache, keyed by the tree too because a parsed expression
# holds that tree's Symbol objects (trees are parsed once per process and kept, see kconfig)
_EXPR_CACHE: dict[tuple[kconfiglib.Kconfig, str], Any] = {}


def parse_expr(kconf: kconfiglib.Kconfig, expr: str) -> Any:
    """Parse ``expr`` against ``kconf``; :class:`UsageError` for bad syntax or undefined symbols."""
    parsed = _EXPR_CACHE.get((kconf, expr))
    if parsed is None:
        try:
            # the same steps as Kconfig.eval_string, keeping the parsed expression
            kconf.filename = None
            kconf._tokens = kconf._tokenize("if " + expr)
            kconf._line = expr
            kconf._tokens_i = 1
            parsed = kconf._expect_expr_and_eol()
        except kconfiglib.KconfigError as err:
            raise UsageError(f"bad Kconfig expression {expr!r}: {err}") from err
        _check_expr_symbols(kconf, parsed, expr)
        _EXPR_CACHE[(kconf, expr)] = parsed
    return parsed


def _check_expr_symbols(kconf: kconfiglib.Kconfig, parsed: Any, expr: str) -> None:
    for item in kconfiglib.expr_items(parsed):
        if isinstance(item, kconfiglib.Symbol) and not item.is_constant and not item.nodes:
            raise UndefinedSymbolError(
                f"Kconfig expression {expr!r} names undefined symbol {item.name}"
            )


def _sym_value(sym: Any, values: Mapping[str, str]) -> str:
    if isinstance(sym, kconfiglib.Choice):
        best = max((TRI.index(values.get(s.name, "n")) for s in sym.syms), default=0)
        return TRI[best]
    if sym.is_constant:
        return str(sym.name)
    return values.get(sym.name, "n")


def tri(expr: Any, values: Mapping[str, str]) -> int:
    if not isinstance(expr, tuple):
        if not isinstance(expr, kconfiglib.Choice) and expr.orig_type not in (
            kconfiglib.BOOL, kconfiglib.TRISTATE, kconfiglib.UNKNOWN
        ):
            return 0
        value = _sym_value(expr, values)
        return TRI.index(value) if value in TRI else 0
    op = expr[0]
    if op is kconfiglib.AND:
        return min(tri(expr[1], values), tri(expr[2], values))
    if op is kconfiglib.OR:
        return max(tri(expr[1], values), tri(expr[2], values))
    if op is kconfiglib.NOT:
        return 2 - tri(expr[1], values)
    rel, a, b = expr
    va, vb = _sym_value(a, values), _sym_value(b, values)
    try:
        comp = _num(va) - _num(vb)
    except ValueError:
        comp = (va > vb) - (va < vb)
    result = {
        kconfiglib.EQUAL: comp == 0,
        kconfiglib.UNEQUAL: comp != 0,
        kconfiglib.LESS: comp < 0,
        kconfiglib.LESS_EQUAL: comp <= 0,
        kconfiglib.GREATER: comp > 0,
        kconfiglib.GREATER_EQUAL: comp >= 0,
    }[rel]
    return 2 if result else 0


def _num(value: str) -> int:
    if value in TRI:
        raise ValueError(value)
    return int(value, 0) if value.lower().startswith("0x") else int(value)


def culprit(expr: Any, values: Mapping[str, str], want_on: bool) -> Optional[tuple[str, bool]]:
    """The first symbol that makes ``expr`` fail to be (on if want_on, else off)."""
    if not isinstance(expr, tuple):
        if isinstance(expr, kconfiglib.Choice) or expr.is_constant:
            return None
        on = tri(expr, values) > 0
        return (str(expr.name), want_on) if on != want_on else None
    op = expr[0]
    if op is kconfiglib.NOT:
        return culprit(expr[1], values, not want_on)
    if op in (kconfiglib.AND, kconfiglib.OR):
        conj = (op is kconfiglib.AND) == want_on
        for sub in (expr[1], expr[2]):
            ok = (tri(sub, values) > 0) == want_on
            if conj and not ok:
                return culprit(sub, values, want_on)
        if not conj:
            for sub in (expr[1], expr[2]):
                found = culprit(sub, values, want_on)
                if found:
                    return found
        return None
    for side in (expr[1], expr[2]):
        if isinstance(side, kconfiglib.Symbol) and not side.is_constant:
            return (str(side.name), True)
    return None


def why_off(
    kconf: kconfiglib.Kconfig, values: Mapping[str, str], name: str, seen: set[str]
) -> list[ChainStep]:
    sym = kconf.syms.get(name)
    if sym is None or not sym.nodes:
        return [ChainStep(name, "n", "", "<undefined>", 0, "not defined in the pmempolicy tree",
                          "undefined")]
    file, line = definition(sym)
    value = values.get(name, "n")
    if name in seen:
        return [ChainStep(name, value, "", file, line, "dependency loop", "loop")]
    seen.add(name)
    dep = sym.direct_dep
    if tri(dep, values) == 0:
        needs = kconfiglib.expr_str(dep)
        step = ChainStep(name, value, needs, file, line)
        found = culprit(dep, values, want_on=True)
        if found is None:
            return [step]
        cname, want_on = found
        if want_on:
            return [step] + why_off(kconf, values, cname, seen)
        csym = kconf.syms[cname]
        cfile, cline = definition(csym)
        return [step, ChainStep(cname, values.get(cname, "n"), "", cfile, cline,
                                "is on, which rules this out", "rules-out")]
    if sym.choice is not None and value == "n":
        chosen = next((s.name for s in sym.choice.syms if values.get(s.name) == "y"), None)
        note = f"another entry of its choice is selected ({chosen})" if chosen else "not chosen"
        return [ChainStep(name, value, "", file, line, note, "choice")]
    prompted = any(node.prompt for node in sym.nodes)
    if prompted and tri(sym.nodes[0].prompt[1], values) > 0:
        return [ChainStep(name, value, "", file, line, "set to n in the configuration", "user-off")]
    selectors = sorted({
        f"{item.name}={values.get(item.name, 'n')}"
        for item in kconfiglib.expr_items(sym.rev_dep)
        if isinstance(item, kconfiglib.Symbol) and not item.is_constant
    })
    if selectors:
        note = "promptless and nothing selects it (selected by: " + ", ".join(selectors) + ")"
    else:
        note = "promptless and its default is off"
    return [ChainStep(name, value, "", file, line, note, "unselected")]


