"""Charts with matplotlib (imported here only, lazily): cost curves, the matrix, the frontier.

Figures are built without pyplot (no GUI backend, no global state) and written as SVG or PNG.
SVG output is deterministic: ``svg.hashsalt`` is fixed and the date left out, so the same
inputs give the same bytes.
"""
from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from policy.decide.costs import memmap_bytes
from policy.evaluate import FeatureMatrix
from policy.report.curves import SEED_POINTS, Series, cost_series
from policy.units import format_size

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# the colours of the text roles (policy.report.style): ok, proposal, finding, impossible
ROLE_COLORS = {"ok": "#4caf50", "proposal": "#26c6da", "finding": "#ffca28",
               "impossible": "#e53935"}
RC: dict[str, Any] = {"svg.hashsalt": "pmempolicy", "svg.fonttype": "none", "font.size": 9}


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _size_axis(ax: Any, axis: str) -> None:
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _pos: format_size(int(v)) if v >= 1 else "0")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def costs_figure(series: Sequence[Series] = ()) -> Figure:
    """DRAM memmap and capacity lost against device size (log-log), one line per
    mode/map/align, the seed's points marked. Zero costs cannot sit on a log axis: those
    series are listed in the legend as ``0 B``."""
    data = tuple(series) or cost_series()
    fig = _figure(11, 5.2)
    axes = fig.subplots(1, 2)
    for ax, attr, title in ((axes[0], "dram", "DRAM spent on struct pages (memmap)"),
                            (axes[1], "lost", "device capacity lost")):
        for s in data:
            pts = [(x, y) for x, y in zip(s.sizes, getattr(s, attr)) if y]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", label=s.label)
            else:
                ax.plot([], [], linestyle="none", label=f"{s.label}: 0 B")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        _size_axis(ax, "x")
        _size_axis(ax, "y")
        ax.set_title(title)
        ax.set_xlabel("device size")
        ax.grid(True, which="major", alpha=0.3)
    for size, label in SEED_POINTS:
        y = memmap_bytes(size)
        axes[0].plot([size], [y], marker="o", markersize=9, markerfacecolor="none",
                     markeredgecolor="black", linestyle="none")
        axes[0].annotate(f"{label} → {format_size(y)}", (size, y), textcoords="offset points",
                         xytext=(-10, 12), ha="right", fontsize=8)
    axes[1].legend(fontsize=7, loc="upper left")
    return fig


def _role(d: Any) -> str:
    if d.chosen is None:
        return "impossible"
    if not d.ok:
        return "finding"
    return "proposal" if d.chosen.proposal else "ok"


def matrix_figure(result: FeatureMatrix) -> Figure:
    """The matrix as a heatmap: configurations × devices, each cell coloured by its verdict
    and labelled with the decision."""
    from matplotlib.colors import ListedColormap

    from policy.report.grid import cell_text

    roles = list(ROLE_COLORS)
    grid = [[roles.index(_role(result.row(c, d))) for d in result.devices]
            for c in result.configs]
    fig = _figure(max(6.0, 1.3 * len(result.devices) + 2), max(3.0, 0.45 * len(result.configs)
                                                                 + 1.5))
    ax = fig.subplots()
    ax.imshow(grid, cmap=ListedColormap(list(ROLE_COLORS.values())), vmin=0,
              vmax=len(roles) - 1, aspect="auto")
    ax.set_xticks(range(len(result.devices)), labels=list(result.devices), rotation=30,
                  ha="right")
    ax.set_yticks(range(len(result.configs)), labels=list(result.configs))
    for i, c in enumerate(result.configs):
        for j, d in enumerate(result.devices):
            ax.text(j, i, cell_text(result.row(c, d)), ha="center", va="center", fontsize=7)
    ax.set_title("decision per configuration × device (green ok, cyan proposal, "
                 "yellow finding, red no mode)")
    return fig


def frontier_figure(points: Sequence[dict[str, Any]]) -> Figure:
    """explore's Pareto frontier: DRAM memmap against capacity lost, coloured by features."""
    fig = _figure(7, 5)
    ax = fig.subplots()
    sc = ax.scatter([p["dram"] for p in points], [p["lost"] for p in points],
                    c=[p["features"] for p in points], cmap="viridis", s=40)
    for p in points:
        ax.annotate(str(p["id"]), (p["dram"], p["lost"]), textcoords="offset points",
                    xytext=(4, 4), fontsize=7)
    fig.colorbar(sc, ax=ax, label="features gained (all devices)")
    _size_axis(ax, "x")
    _size_axis(ax, "y")
    ax.set_xlabel("DRAM memmap (all devices)")
    ax.set_ylabel("capacity lost (all devices)")
    ax.set_title(f"Pareto frontier: {len(points)} configurations")
    ax.grid(True, alpha=0.3)
    return fig


def svg_text(fig: Figure, prefix: str = "") -> str:
    """The figure as an ``<svg>`` element (no XML prolog), ids prefixed with ``prefix`` so
    several charts can sit in one page."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(RC):  # type: ignore[arg-type]
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    if prefix:
        text = re.sub(r'(\bid="|url\(#|href="#)', rf"\g<1>{prefix}", text)
    return text


def png_bytes(fig: Figure) -> bytes:
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context(RC):  # type: ignore[arg-type]
        fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return buf.getvalue()
