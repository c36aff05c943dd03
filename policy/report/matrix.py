"""Reporters of ``pmempolicy evaluate`` and ``matrix``: a FeatureMatrix as table, JSON or CSV.

``to_document`` is the JSON contract (``policy/data/matrix.schema.json``, ``schema_version`` 1);
CSV flattens it to one row per configuration × device with stable column names.
"""
from __future__ import annotations

import csv
import json
import textwrap
from typing import Any, Callable, TextIO

from policy.decide.cache import cache_for
from policy.decide.catalog import catalog
from policy.decide.runtime import Decision
from policy.evaluate import SCHEMA_VERSION, FeatureMatrix, modelled_costs
from policy.report.grid import GridReporter
from policy.report.style import PLAIN, TextStyle
from policy.units import format_size, ndctl_size


def _decision_doc(d: Decision) -> dict[str, Any]:
    chosen = d.chosen
    lay = chosen.layout if chosen else None
    features: dict[str, Any] = {}
    if chosen is not None:
        for v in chosen.features:
            features[v.feature] = {"enabled": v.enabled, "why": v.why, "source": v.source}
    else:
        for f in catalog().features:
            features[f.name] = {
                "enabled": False,
                "why": "no runtime mode was chosen",
                "source": f.source,
            }
    return {
        "config": d.build,
        "device": d.device,
        "device_type": d.device_type,
        "ok": d.ok,
        "verdict": d.outcome,
        "decision": {
            "mode": chosen.candidate.mode if chosen else None,
            "map": chosen.candidate.map if chosen else None,
            "align": chosen.candidate.align if chosen else None,
            "proposal": chosen.proposal if chosen else False,
            "reason": d.reason,
        },
        "features": features,
        "costs": {
            "size_bytes": d.size,
            "usable_bytes": lay.usable if lay else 0,
            "capacity_lost_bytes": lay.capacity_lost if lay else 0,
            "dram_memmap_bytes": lay.dram_memmap if lay else 0,
            "dram_pte_bytes": lay.dram_pte if lay else 0,
            "memmap_bytes": lay.memmap if lay else 0,
            "dataoff_bytes": lay.dataoff if lay else 0,
            "end_trunc_bytes": lay.end_trunc if lay else 0,
            "vmemmap_dedup": lay.dedup if lay else False,
            **_start_range(lay),
            "modelled": [
                {"name": m.name, "value": m.value, "unit": m.unit, "assumptions": m.assumptions}
                for m in modelled_costs(d)
            ],
        },
        "findings": [
            {
                "code": f.code,
                "message": f.message,
                "feature": f.feature,
                "chain": [step.render() for step in f.chain],
            }
            for f in d.findings
        ],
        "warnings": list(d.warnings),
        "candidates": [
            {
                "mode": c.candidate.mode,
                "map": c.candidate.map,
                "align": c.candidate.align,
                "possible": c.possible,
                "chosen": c is chosen,
                "why": c.lost if c is not chosen else d.reason,
                "chain": [step.render() for step in c.chain],
            }
            for c in d.candidates
        ],
    }


def to_document(result: FeatureMatrix) -> dict[str, Any]:
    """The JSON document (described by ``matrix.schema.json``)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "ok": result.ok,
        "verdict": result.verdict,
        "configs": list(result.configs),
        "devices": list(result.devices),
        "features": sorted(f.name for f in catalog().features),
        "results": [_decision_doc(d) for d in result.rows],
        "diagnostics": [
            {"severity": x.severity, "code": x.code, "message": x.message, "path": x.path,
             "line": x.line, "rendered": x.render()}
            for x in result.diagnostics
        ],
    }




class _Reporter:
    """Base: every reporter is built with the text style (machine formats ignore it)."""

    def __init__(self, style: TextStyle = PLAIN) -> None:
        self.style = style


def memo_row(d: Decision, form: str, make: Callable[[Decision], Any]) -> Any:
    """``make(d)``, a row form without the names, kept by the decision's memo key (when it has
    one) in the :class:`~policy.decide.cache.DecisionCache`: equal decisions render once."""
    if d.key is None:
        return make(d)
    rows = cache_for(catalog()).rows
    got = rows.get((d.key, form))
    if got is None:
        got = rows[(d.key, form)] = make(d)
    return got


def decision_fields(d: Decision) -> dict[str, Any]:
    """A ``results[]`` row without ``config`` and ``device`` (they differ between equal
    decisions)."""
    doc = _decision_doc(d)
    del doc["config"], doc["device"]
    return doc


def _indented_tail(d: Decision) -> str:
    # the row at depth 2 of the document as json.dump(indent=2) writes it, from "device_type" on
    text = json.dumps(decision_fields(d), indent=2)[2:]
    return "    " + text.replace("\n", "\n    ")


class JsonReporter(_Reporter):
    """The JSON document, indented, keys in a stable order.

    Written row by row (the same text as ``json.dump(to_document(result), indent=2)``), each
    distinct decision rendered once: a listing of many equal namespaces streams.
    """

    def report(self, result: FeatureMatrix, stream: TextIO) -> None:
        doc = to_document(FeatureMatrix(result.configs, result.devices, (), result.diagnostics))
        doc.update(ok=result.ok, verdict=result.verdict)  # of the rows left out above
        # a raw newline cannot occur inside a JSON string: this is the key, never a name
        head, _, tail = json.dumps(doc, indent=2).partition('\n  "results": []')
        stream.write(head + '\n  "results": [')
        sep = "\n"
        for d in result.rows:
            stream.write(f'{sep}    {{\n      "config": {json.dumps(d.build)},\n      "device": '
                         f'{json.dumps(d.device)},\n' + memo_row(d, "json", _indented_tail))
            sep = ",\n"
        stream.write(("\n  ]" if result.rows else "]") + tail + "\n")


CSV_FIELDS = (
    "config", "device", "device_type", "ok", "verdict", "mode", "map", "align_bytes", "size_bytes",
    "usable_bytes", "capacity_lost_bytes", "dram_memmap_bytes", "reason",
)


class CsvReporter(_Reporter):
    """One row per configuration × device; a ``feature:<name>`` column (true/false) per feature."""

    def report(self, result: FeatureMatrix, stream: TextIO) -> None:
        names = sorted(f.name for f in catalog().features)
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(list(CSV_FIELDS) + [f"feature:{n}" for n in names])
        for row in to_document(result)["results"]:
            dec, cst = row["decision"], row["costs"]
            writer.writerow(
                [
                    row["config"],
                    row["device"],
                    row["device_type"],
                    str(row["ok"]).lower(),
                    row["verdict"],
                    dec["mode"] or "",
                    dec["map"] or "",
                    dec["align"] or "",
                    cst["size_bytes"],
                    cst["usable_bytes"],
                    cst["capacity_lost_bytes"],
                    cst["dram_memmap_bytes"],
                    dec["reason"],
                ]
                + [str(row["features"][n]["enabled"]).lower() for n in names]
            )


class TableReporter(_Reporter):
    """A compact 80-column table: one line per device, then its enabled features and findings
    (``matrix --details``)."""

    verbose = False

    def report(self, result: FeatureMatrix, stream: TextIO) -> None:
        header = f"{'CONFIG':<12} {'DEVICE':<15} {'MODE':<10} {'MAP':<3} {'ALIGN':>5} " \
                 f"{'SIZE':>8} {'USABLE':>8} {'DRAM':>8} {'OK':>3}"
        paint = self.style.paint
        stream.write(paint(header, "heading") + "\n")
        wrap = textwrap.TextWrapper(width=max(self.style.width, 80), initial_indent="    ",
                                    subsequent_indent="    ", break_on_hyphens=False)
        for d in result.rows:
            c = d.chosen
            lay = c.layout if c else None
            mode = (c.candidate.mode + ("*" if c.proposal else "")) if c else "-"
            line = (
                f"{_fit(d.build, 12):<12} {_fit(d.device, 15):<15} {mode:<10} "
                f"{(c.candidate.map or '-') if c else '-':<3} "
                f"{ndctl_size(c.candidate.align) if c else '-':>5} {format_size(d.size):>8} "
                f"{format_size(lay.usable) if lay else '-':>8} "
                f"{format_size(lay.dram_memmap) if lay else '-':>8} "
                + paint(f"{'yes' if d.ok else 'NO':>3}", "ok" if d.ok else
                        ("finding" if c is not None else "impossible"))
            )
            stream.write(line + "\n")
            if c is not None:
                on = [v.feature for v in c.features if v.enabled]
                stream.write(wrap.fill("features: " + (" ".join(on) or "none")) + "\n")
            if self.verbose:
                stream.write(wrap.fill("why: " + d.reason) + "\n")
                if c is not None:
                    for v in c.features:
                        flag = "on " if v.enabled else "off"
                        stream.write(wrap.fill(f"{flag} {v.feature}: {v.why}") + "\n")
                    if lay is not None:
                        stream.write(wrap.fill(
                            f"costs: size {format_size(d.size)}, usable "
                            f"{format_size(lay.usable)}, capacity lost "
                            f"{format_size(lay.capacity_lost)}, DRAM memmap "
                            f"{format_size(lay.dram_memmap)}"
                            + (" (vmemmap dedup)" if lay.dedup else "")) + "\n")
            stream.writelines(
                paint(wrap.fill(f"FINDING [{f.code}] {f.message}"), "finding") + "\n"
                for f in d.findings
            )
            stream.writelines(wrap.fill(f"warning: {w}") + "\n" for w in d.warnings)
        stream.writelines(x.render() + "\n" for x in result.diagnostics)
        stream.write(
            f"{len(result.rows)} evaluations, {sum(not r.ok for r in result.rows)} with findings"
            "; * = modelled 2015 proposal, not in Linux\n"
        )


class VerboseTableReporter(TableReporter):
    """The table plus reasons, every feature with its why, and the costs (``evaluate``)."""

    verbose = True


REPORTERS: dict[str, type] = {
    "table": GridReporter,  # matrix: configurations × devices, one decision per cell
    "json": JsonReporter,
    "csv": CsvReporter,
}

# matrix --details: today's per-device lines; evaluate: those with reasons, features and costs
DETAILS_REPORTERS: dict[str, type] = dict(REPORTERS, table=TableReporter)
EVALUATE_REPORTERS: dict[str, type] = dict(REPORTERS, table=VerboseTableReporter)


def _fit(name: str, width: int) -> str:
    """``name`` in ``width`` columns, cut with a visible ``…`` (never silently)."""
    return name if len(name) <= width else name[: width - 1] + "…"


def _start_range(lay: Any) -> dict[str, Any]:
    """``start_range`` where the costs depend on a start the input does not give."""
    rng = getattr(lay, "start_range", None)
    if rng is None:
        return {}
    return {"start_range": {"usable_bytes": list(rng.usable),
                            "dram_memmap_bytes": list(rng.dram),
                            "start_granule_bytes": rng.granule,
                            "refused_somewhere": rng.refused > 0}}
