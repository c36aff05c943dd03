"""``compare``'s text: per device, what changes between two configurations (80 columns)."""
from __future__ import annotations

import textwrap
from typing import IO, Any, Optional

from policy.units import format_size

WIDTH = 80


def _or_dash(n: Optional[int]) -> str:
    return "-" if n is None else format_size(n)


def _cut(text: str) -> str:
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


def _pair(label: str, old: str, new: str) -> str:
    arrow = "  (same)" if old == new else f" -> {new}"
    line = f"  {label:<9} {old}{arrow}"
    if len(line) > WIDTH and old != new:
        # "system-ram map=mem align=2M -> system-ram map=mem align=2M memmap=device": the new
        # value on its own line rather than cut
        return _cut(f"  {label:<9} {old}") + "\n" + _cut(" " * 10 + f"-> {new}")
    return _cut(line)


def _wrap(label: str, text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=f"  {label:<9} ",
                         subsequent_indent=" " * 12, break_on_hyphens=False)


def render_comparison(result: Any, out: IO[str]) -> None:
    """Write ``result`` (a :class:`policy.api.Comparison`) as text."""
    out.write(_cut(f"compare {result.old} (Linux {result.old_kernel}) -> "
                   f"{result.new} (Linux {result.new_kernel})") + "\n")
    changed = sum(d.changed for d in result.devices)
    out.write(f"{changed} of {len(result.devices)} devices change\n")
    for d in result.devices:
        mark = "changed" if d.changed else "same"
        out.write("\n" + _cut(f"{d.device} ({format_size(d.size)}): {mark}") + "\n")
        o, n = d.old, d.new
        lines = [
            _pair("decision", o.choice or "none", n.choice or "none"),
            _pair("ok", "yes" if o.ok else "NO", "yes" if n.ok else "NO"),
            _pair("DRAM", _or_dash(o.dram), _or_dash(n.dram)),
            _pair("usable", _or_dash(o.usable), _or_dash(n.usable)),
            _pair("lost", _or_dash(o.capacity_lost), _or_dash(n.capacity_lost)),
        ]
        if o.zone or n.zone:
            lines.append(_pair("zone", o.zone or "-", n.zone or "-"))
        if d.gained:
            lines += _wrap("gains", " ".join(d.gained))
        if d.lost:
            lines += _wrap("loses", " ".join(d.lost))
        for side, s in (("old", o), ("new", n)):
            for msg in s.findings:
                lines += _wrap(f"{side} FIND", msg)
            for msg in s.warnings:
                lines += _wrap(f"{side} warn", msg)
        out.write("".join(line + "\n" for line in lines))
