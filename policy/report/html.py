"""``pmempolicy report``: one self-contained HTML page (styles inline, no script, no network).

The page holds the feature matrix as heatmaps (configurations × devices; features ×
configurations), each finding's chain on hover (``title``) and on click (``<details>``), the
cost curves and explore's Pareto frontier as inline SVG, the findings, and the inputs with
where they came from.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Optional

from policy.decide.catalog import catalog
from policy.decide.costs import memmap_bytes
from policy.decide.runtime import Decision
from policy.evaluate import FeatureMatrix
from policy.report.grid import cell_role, cell_text
from policy.report.plots import ROLE_COLORS
from policy.units import format_size


@dataclass(frozen=True)
class InputRecord:
    """One input of the report and where it came from."""

    kind: str  # "configuration" | "profile"
    name: str
    source: str  # the file it was read from
    detail: str = ""


@dataclass(frozen=True)
class ReportPage:
    """Everything on the page; charts are ready ``<svg>`` text (empty: left out)."""

    matrix: FeatureMatrix
    inputs: tuple[InputRecord, ...]
    costs_svg: str = ""
    frontier_svg: str = ""
    frontier_note: str = ""
    version: str = ""


CSS_TEMPLATE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{font-size:1.5em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0} th,td{border:1px solid #bbb;padding:2px 4px}
th{background:#f0f0f0;text-align:left} td.cell{font-family:monospace;font-size:12px;
white-space:nowrap}
.wide{overflow-x:auto}
td.ok{background:{ok}} td.proposal{background:{proposal}}
td.finding{background:{finding}}
td.impossible{background:{impossible};color:#fff}
td.cell details summary{cursor:pointer} td.cell details{font-size:12px;white-space:normal;
max-width:28em;font-family:system-ui,sans-serif}
td.feat{text-align:center;font-family:monospace}
.legend span{display:inline-block;padding:2px 8px;margin-right:6px;border:1px solid #999}
ol.chain{margin:0;padding-left:1.4em} code{font-size:12px}
svg{max-width:100%;height:auto}
"""
CSS = CSS_TEMPLATE
for _role, _colour in ROLE_COLORS.items():
    CSS = CSS.replace("{" + _role + "}", _colour)


def _chain_lines(d: Decision) -> list[str]:
    lines = [f"{d.build} / {d.device}: {d.reason}"]
    for f in d.findings:
        lines.append(f"[{f.code}] {f.message}")
        lines += [("  → " if i else "  ") + step.render() for i, step in enumerate(f.chain)]
    return lines


def _cell(d: Decision) -> str:
    role = cell_role(d)
    lines = _chain_lines(d)
    title = escape("\n".join(lines), quote=True)
    attrs = (f'class="cell {role}" data-config="{escape(d.build, True)}" '
             f'data-device="{escape(d.device, True)}" title="{title}"')
    if not d.findings:
        return f"<td {attrs}>{escape(cell_text(d))}</td>"
    body = "".join(f"<li>{escape(x)}</li>" for x in lines[1:])
    return (f"<td {attrs}><details><summary>{escape(cell_text(d))}</summary>"
            f"<ol class=\"chain\">{body}</ol></details></td>")


def _heatmap(m: FeatureMatrix) -> str:
    head = "".join(f"<th>{escape(dev)}</th>" for dev in m.devices)
    rows = []
    for c in m.configs:
        cells = "".join(_cell(m.row(c, dev)) for dev in m.devices)
        rows.append(f"<tr><th>{escape(c)}</th>{cells}</tr>")
    return (f'<div class="wide"><table id="heatmap"><tr><th>configuration \\ device</th>{head}</tr>'
            + "".join(rows) + "</table></div>")


def _feature_heatmap(m: FeatureMatrix) -> str:
    """Features × configurations: how many devices get each feature (shade by share)."""
    names = sorted(f.name for f in catalog().features)
    head = "".join(f"<th>{escape(c)}</th>" for c in m.configs)
    rows = []
    for name in names:
        cells = []
        for c in m.configs:
            on = [d.device for d in (m.row(c, dev) for dev in m.devices) if d.chosen is not None
                  and any(v.feature == name and v.enabled for v in d.chosen.features)]
            share = len(on) / max(1, len(m.devices))
            title = escape(f"{name} under {c}: " + (", ".join(on) or "no device"), True)
            bg = f"rgba(76,175,80,{0.1 + 0.9 * share:.2f})" if on else "#fafafa"
            cells.append(f'<td class="feat" style="background:{bg}" title="{title}">'
                         f"{len(on)}/{len(m.devices)}</td>")
        rows.append(f"<tr><th>{escape(name)}</th>{''.join(cells)}</tr>")
    return ('<div class="wide"><table id="features">'
            f"<tr><th>feature \\ configuration</th>{head}</tr>"
            + "".join(rows) + "</table></div>")


def _findings(m: FeatureMatrix) -> str:
    items = []
    for d in m.rows:
        for f in d.findings:
            chain = "".join(f"<li><code>{escape(s.render())}</code></li>" for s in f.chain)
            items.append(
                f"<li><b>{escape(d.build)}</b> / <b>{escape(d.device)}</b> "
                f"[{escape(f.code)}] {escape(f.message)}"
                + (f'<ol class="chain">{chain}</ol>' if chain else "") + "</li>")
    diags = "".join(f"<li><code>{escape(x.render())}</code></li>" for x in m.diagnostics)
    return (f"<p>{sum(len(d.findings) for d in m.rows)} findings in "
            f"{sum(not d.ok for d in m.rows)} of {len(m.rows)} evaluations.</p>"
            f"<details><summary>every finding with its chain</summary><ul>{''.join(items)}"
            f"</ul></details>" + (f"<h3>profile diagnostics</h3><ul>{diags}</ul>" if diags
                                  else ""))


def _inputs(inputs: Sequence[InputRecord]) -> str:
    rows = "".join(
        f"<tr><td>{escape(i.kind)}</td><td>{escape(i.name)}</td><td><code>{escape(i.source)}"
        f"</code></td><td>{escape(i.detail)}</td></tr>" for i in inputs)
    return ("<table id=\"inputs\"><tr><th>kind</th><th>name</th><th>read from</th>"
            f"<th>detail</th></tr>{rows}</table>")


def _legend() -> str:
    return ('<p class="legend"><span class="ok" style="background:{ok}">✓ ok</span>'
            '<span style="background:{proposal}">* modelled 2015 proposal</span>'
            '<span style="background:{finding}">! finding</span>'
            '<span style="background:{impossible};color:#fff">✗ no mode possible</span> '
            "hover a cell for its reason and chain, click a finding to open it</p>"
            ).format(**ROLE_COLORS)


def render_html(page: ReportPage) -> str:
    """The whole page as one string."""
    m = page.matrix
    verdict = "ok" if m.ok else "findings"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>pmempolicy report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>pmempolicy: how persistent memory gets its struct pages</h1>",
        f"<p>{len(m.configs)} configurations × {len(m.devices)} devices: verdict "
        f"<b>{verdict}</b>. {escape(page.version)}</p>",
        "<h2>Decisions: configurations × devices</h2>", _legend(), _heatmap(m),
        "<h2>Features per configuration (devices that get each)</h2>", _feature_heatmap(m),
    ]
    if page.costs_svg:
        parts += ["<h2>Cost curves</h2>",
                  "<p>DRAM spent on struct pages and capacity lost against device size (1 GiB "
                  f"to 4 TiB, log scales). The seed's points: an 8 GiB NVDIMM needs "
                  f"{format_size(memmap_bytes(8 << 30))} of struct pages, 400 GiB needs "
                  f"{format_size(memmap_bytes(400 << 30))}.</p>",
                  f'<figure id="costs">{page.costs_svg}</figure>']
    if page.frontier_svg:
        parts += ["<h2>Pareto frontier (pmempolicy explore)</h2>",
                  f"<p>{escape(page.frontier_note)}</p>",
                  f'<figure id="frontier">{page.frontier_svg}</figure>']
    parts += ["<h2>Findings</h2>", _findings(m), "<h2>Inputs</h2>", _inputs(page.inputs),
              "</body></html>"]
    return "\n".join(parts) + "\n"


def frontier_note(doc: Optional[dict[str, Any]]) -> str:
    if doc is None:
        return ""
    return (f"{doc['count']} distinct valid configurations of the shipped tree; "
            f"{len(doc['frontier'])} on the frontier (more features, less DRAM, less capacity "
            "lost), each labelled with its id in `pmempolicy explore`.")
