"""The default ``pmempolicy matrix`` text: a grid of configurations × devices.

Each cell is the decision (``mode map align``, e.g. ``fsdax dev 2M``) and a mark: ``✓`` every
requirement and budget met, ``!`` a finding, ``✗`` no mode possible. Devices go in column blocks
so every line fits the style's width; a name that does not fit is shortened with ``…`` and the
legend maps it back to its full name (never cut silently).
"""
from __future__ import annotations

from typing import TextIO

from policy.decide.runtime import Decision
from policy.evaluate import FeatureMatrix
from policy.report.style import PLAIN, Role, TextStyle, fit_lines
from policy.units import ndctl_size

OK, FINDING, IMPOSSIBLE = "✓", "!", "✗"
MAX_NAME = 16  # a device column wider than this is shortened with …
MAX_LABEL = 20  # the same for the configuration labels
GAP = 2


def cell_text(d: Decision) -> str:
    """``fsdax dev 2M ✓``: mode (``*`` for a modelled proposal), map, align (``2M+``: system-ram
    with memmap_on_memory) and the mark."""
    c = d.chosen
    if c is None:
        return f"none {IMPOSSIBLE}"
    mode = c.candidate.mode + ("*" if c.proposal else "")
    memmap = "+" if c.candidate.memmap == "device" else ""  # short: one width for all columns
    return f"{mode} {c.candidate.map or '-'} {ndctl_size(c.candidate.align)}{memmap} " + (
        OK if d.ok else FINDING)


def cell_role(d: Decision) -> Role:
    if d.chosen is None:
        return "impossible"
    if not d.ok:
        return "finding"
    return "proposal" if d.chosen.proposal else "ok"


class _Names:
    """Short names that fit a width, with the legend of every shortened one."""

    def __init__(self) -> None:
        self.legend: dict[str, str] = {}

    def fit(self, name: str, width: int) -> str:
        if len(name) <= width:
            return name
        short = name[: width - 1] + "…"
        n = 2
        while short in self.legend and self.legend[short] != name:
            tag = f"…{n}"
            short = name[: width - len(tag)] + tag
            n += 1
        self.legend[short] = name
        return short


class GridReporter:
    """Configurations down, devices across (in blocks that fit), a legend and a summary."""

    def __init__(self, style: TextStyle = PLAIN) -> None:
        self.style = style

    def report(self, result: FeatureMatrix, stream: TextIO) -> None:
        style, names = self.style, _Names()
        width = max(style.width, 40)
        cells = {(d.build, d.device): d for d in result.rows}
        texts = {k: cell_text(d) for k, d in cells.items()}
        cell_w = max([len(t) for t in texts.values()] + [4])
        col_w = max(cell_w, min(MAX_NAME, max([len(n) for n in result.devices] + [0])))
        label_w = min(MAX_LABEL, max([len(c) for c in result.configs] + [6]))
        per_block = max(1, (width - label_w) // (col_w + GAP))
        devices = list(result.devices)
        blocks = [devices[i: i + per_block] for i in range(0, len(devices), per_block)] or [[]]
        for b, block in enumerate(blocks):
            if b:
                stream.write("\n")
            head = f"{'CONFIG':<{label_w}}" + "".join(
                " " * GAP + f"{names.fit(dev, col_w):<{col_w}}" for dev in block)
            stream.write(style.paint(head.rstrip(), "heading") + "\n")
            for config in result.configs:
                line = f"{names.fit(config, label_w):<{label_w}}"
                for dev in block:
                    d = cells.get((config, dev))
                    text = texts[(config, dev)] if d is not None else "-"
                    pad = " " * (col_w - len(text))
                    painted = style.paint(text, cell_role(d)) if d is not None else text
                    line += " " * GAP + painted + pad
                stream.write(line.rstrip() + "\n")
        self._legend(result, names, stream)

    def _legend(self, result: FeatureMatrix, names: _Names, stream: TextIO) -> None:
        style, width = self.style, max(self.style.width, 40)
        items: list[tuple[str, str, Role | None]] = [
            ("legend:", "", None), (OK, " ok", "ok"),
            (FINDING, " finding (requirement, budget or pin unmet)", "finding"),
            (IMPOSSIBLE, " no mode possible", "impossible"),
            ("cell: mode map align;", "", None),
            ("*", " modelled 2015 proposal, not in Linux", "proposal"),
        ]
        if any(r.chosen is not None and r.chosen.candidate.memmap == "device"
               for r in result.rows):
            items.append(("+", " after the align: system-ram memmap on the memory itself "
                          "(memmap_on_memory)", None))
        stream.write("\n")
        line, used = "", 0
        for mark, text, role in items:
            n = len(mark + text)
            if used and (used + 2 + n > width or mark.startswith("cell")):
                stream.write(line + "\n")
                line, used = "", 0
            piece = (style.paint(mark, role) if role else mark) + text
            line, used = (line + "  " + piece, used + 2 + n) if used else (piece, n)
        stream.write(line + "\n")
        lines = [f"{short} = {full}" for short, full in sorted(names.legend.items())]
        lines += [x.render() for x in result.diagnostics]
        bad = sum(not r.ok for r in result.rows)
        lines.append(
            f"{len(result.rows)} evaluations, {bad} with findings; "
            "reasons and costs: pmempolicy matrix --details"
        )
        for line in lines:
            stream.write(fit_lines(line, width) + "\n")
