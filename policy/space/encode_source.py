"""Kconfig steps as generated Python source (:func:`policy.space.encode.compile_model` lays them
out).

Each step is a function of the partial configuration ``s`` (a tuple in the step's layout) that
lists every outcome a user assignment can give: the default path (no line in ``.config``) and
each clamped user value, then ``select`` and promotion, exactly as kconfiglib 14.1 computes
``Symbol.tri_value`` and ``Choice.selection`` (the table in docs/explore.md).
"""

from __future__ import annotations

from typing import Any

import kconfiglib

from policy.space.treeread import (
    REL,
    TRI,
    Unsupported,
    Virtual,
    choice_slot,
    is_tristate_like,
    prompt_conditions,
)


class Gen:
    """Turns kconfiglib expressions into Python source over a state tuple ``s``."""

    def __init__(self, layout: dict[str, int]) -> None:
        self.layout = layout

    def atom(self, item: Any) -> str:
        if isinstance(item, kconfiglib.Choice):
            return f"s[{self.layout[choice_slot(item)]}]"
        if item.is_constant:
            if item.name in TRI:
                return str(TRI[item.name])
            raise Unsupported(f"constant {item.name!r} in a logical context")
        if not item.nodes:
            return "0"  # undefined symbols are n (kconfiglib: UNKNOWN type evaluates to 0)
        return f"s[{self.layout[item.name]}]"

    def expr(self, e: Any) -> str:
        if not isinstance(e, tuple):
            return self.atom(e)
        op = e[0]
        if op is kconfiglib.AND:
            a, b = self.expr(e[1]), self.expr(e[2])
            return f"min({a}, {b})"
        if op is kconfiglib.OR:
            a, b = self.expr(e[1]), self.expr(e[2])
            return f"max({a}, {b})"
        if op is kconfiglib.NOT:
            return f"(2 - {self.expr(e[1])})"
        rel, a, b = e
        for operand in (a, b):
            if not isinstance(operand, kconfiglib.Choice) and not (
                is_tristate_like(operand)
                or (operand.is_constant and operand.name in TRI)
                or not operand.nodes
                and not operand.is_constant
            ):
                raise Unsupported(f"relation {kconfiglib.expr_str(e)} compares non-tristate values")
            if (
                not isinstance(operand, kconfiglib.Choice)
                and not operand.nodes
                and not operand.is_constant
            ):
                raise Unsupported(f"relation {kconfiglib.expr_str(e)} reads an undefined symbol")
        return f"(2 if {self.atom(a)} {REL[rel]} {self.atom(b)} else 0)"


def _visibility(gen: Any, item: Any) -> str:
    """Python source of a symbol's or choice's prompt visibility: the max over its prompts."""
    prompts = prompt_conditions(item)
    if not prompts:
        return "0"
    vis = gen.expr(prompts[0])
    for cond in prompts[1:]:
        vis = f"max({vis}, {gen.expr(cond)})"
    return str(vis)


def virtual_source(
    v: Virtual, gen: Gen, pos: dict[str, int], after: list[str], collapse: set[str]
) -> str:
    return (
        f"def step(s):\n    v = 1 if {gen.expr(v.expr)} else 0\n"
        f"    return [({_out_tuple(pos, after, {v.name: 'v'}, collapse)}, 0, None, (v,))]\n"
    )


def _out_tuple(
    pos: dict[str, int], after: list[str], local: dict[str, str], collapse: set[str]
) -> str:
    """The state after a step as a tuple expression. Runs of slots carried over in place are
    slices of the state (``s[0:30] + (s[31], v)``): the steps' code is compiled at run time for
    every replay, and a cone's states hold dozens of slots."""
    items: list[tuple[int, str]] = []  # (position carried over, or -1; the element's code)
    for x in after:
        if x in local:
            items.append((-1, f"(1 if {local[x]} else 0)" if x in collapse else local[x]))
        elif x in collapse:
            items.append((-1, f"(1 if s[{pos[x]}] else 0)"))
        else:
            items.append((pos[x], f"s[{pos[x]}]"))
    pieces: list[str] = []
    loose: list[str] = []
    k = 0
    while k < len(items):
        start, code = items[k]
        end = k + 1
        while start >= 0 and end < len(items) and items[end][0] == start + end - k:
            end += 1
        if end - k > 1:
            if loose:
                pieces.append("(" + "".join(e + ", " for e in loose) + ")")
                loose = []
            pieces.append(f"s[{start}:{start + end - k}]")
        else:
            loose.append(code)
        k = end
    if loose or not pieces:
        pieces.append("(" + "".join(e + ", " for e in loose) + ")")
    return "(" + " + ".join(pieces) + ")"


def symbol_source(
    sym: Any,
    gen: Gen,
    pos: dict[str, int],
    after: list[str],
    allowed: frozenset[str],
    kconf: Any,
    collapse: set[str],
) -> tuple[str, tuple[str, ...]]:
    modules = kconf.modules.name
    is_bool = sym.orig_type is kconfiglib.BOOL
    # the symbol's run-time type: tristate symbols are bool while MODULES is n
    if is_bool:
        typ_bool = "True"
    elif sym.name == modules:
        typ_bool = "True"
    else:
        typ_bool = f"(s[{pos[modules]}] == 0)"
    lines = ["def step(s):"]
    prompts = prompt_conditions(sym)
    if prompts:
        lines.append(f"    vis = {_visibility(gen, sym)}")
        lines.append(f"    if vis == 1 and {typ_bool}: vis = 2")
    else:
        lines.append("    vis = 0")
    lines.append("    d = 0")
    indent = "    "
    for value, cond in sym.defaults:
        lines.append(f"{indent}c = {gen.expr(cond)}")
        lines.append(f"{indent}if c:")
        lines.append(f"{indent}    d = min({gen.expr(value)}, c)")
        lines.append(f"{indent}else:")
        indent += "    "
    lines.append(f"{indent}pass")
    has_imply = sym.weak_rev_dep is not kconf.n
    if has_imply:
        lines.append(f"    w = {gen.expr(sym.weak_rev_dep)}")
        lines.append(f"    if w and {gen.expr(sym.direct_dep)}: d = max(w, d)")
    else:
        lines.append("    w = 0")
    lines.append(f"    r = {gen.expr(sym.rev_dep)}")
    lines.append("    out = []")
    lines.append("    seen = set()")
    # candidates: no user value first (the default path), then each user value
    user_values = ("n", "y") if is_bool else ("n", "m", "y")
    user = sym.name in allowed and bool(prompts)
    cands = ["(None, d)"]
    if user:
        cands += [
            f"(({sym.name!r}, {v!r}), min({TRI[v]}, vis)) if vis else (None, -1)"
            for v in user_values
        ]
    lines.append("    for dec, v in (" + ", ".join(cands) + ",):")
    lines.append("        if v < 0 or (dec is not None and not vis): continue")
    lines.append("        v = max(v, r)")
    lines.append(f"        if v == 1 and ({typ_bool} or w == 2): v = 2")
    lines.append("        if v in seen: continue")
    lines.append("        seen.add(v)")
    cost = "(1 if v else 0)" if prompts else "0"
    lines.append(
        f"        out.append(({_out_tuple(pos, after, {sym.name: 'v'}, collapse)}, "
        f"{cost}, dec, (v,)))"
    )
    lines.append("    return out")
    src = "\n".join(lines) + "\n"
    return src, ((sym.name,) if user else ())


def choice_source(
    choice: Any,
    gen: Gen,
    pos: dict[str, int],
    after: list[str],
    allowed: frozenset[str],
    kconf: Any,
    collapse: set[str],
) -> tuple[str, tuple[str, ...]]:
    slot = choice_slot(choice)
    lines = ["def step(s):"]
    lines.append(f"    vis = {_visibility(gen, choice)}")
    lines.append("    if vis == 1: vis = 2")  # bool choice
    lines.append("    out = []")
    # Choice.tri_value: non-optional 1, optional 0 (raised by a user value), min vis, m -> y
    names = [s.name for s in choice.syms]
    local_gen = Gen({**gen.layout, slot: "@tri"})  # type: ignore[dict-item]
    zero = {slot: "tri", **{n: "0" for n in names}}
    lines.append("    for base in (1,):")
    lines.append("        tri = min(base, vis)")
    lines.append("        if tri == 1: tri = 2")
    lines.append("        if tri != 2:")
    lines.append(
        f"            out.append(({_out_tuple(pos, after, zero, collapse)}, 0, None, "
        f"(tri,) + (0,) * {len(names)}))"
    )
    lines.append("            continue")
    for k, sym in enumerate(choice.syms):
        lines.append(f"        v{k} = {_visibility(local_gen, sym)}")
    visible = "[" + ", ".join(f"{k}" for k in range(len(names))) + "]"
    lines.append(
        f"        vis_entries = [k for k in {visible} if "
        f"(v0, {', '.join(f'v{k}' for k in range(1, len(names)))})[k]]"
        if len(names) > 1
        else "        vis_entries = [0] if v0 else []"
    )
    # default selection: the first default whose condition holds and whose entry is visible
    lines.append("        default = None")
    for sym, cond in choice.defaults:
        k = names.index(sym.name)
        lines.append(
            f"        if default is None and {local_gen.expr(cond)} and {k} in vis_entries: "
            f"default = {k}"
        )
    lines.append("        if default is None and vis_entries: default = vis_entries[0]")
    lines.append("        if not vis_entries:")
    lines.append(
        f"            out.append(({_out_tuple(pos, after, zero, collapse)}, 0, None, "
        f"(tri,) + (0,) * {len(names)}))"
    )
    lines.append("            continue")
    lines.append("        for k in vis_entries:")
    names_lit = "(" + "".join(f"{n!r}, " for n in names) + ")"
    user_ok = "(" + "".join(f"{n in allowed!r}, " for n in names) + ")"
    lines.append("            if k != default and not " + user_ok + "[k]: continue")
    lines.append("            dec = None if k == default else (" + names_lit + "[k], 'y')")
    vals = {slot: "tri", **{n: f"(2 if k == {j} else 0)" for j, n in enumerate(names)}}
    lines.append(
        f"            out.append(({_out_tuple(pos, after, vals, collapse)}, 1, dec, (tri,) "
        f"+ tuple(2 if k == j else 0 for j in range({len(names)}))))"
    )
    lines.append("    return out")
    src = "\n".join(lines) + "\n"
    src = src.replace("s[@tri]", "tri")
    return src, tuple(n for n in names if n in allowed)
