"""Rows of ``pmempolicy fleet`` (JSON Lines or CSV) and its summary as text.

A row is ``host`` followed by the fields of ``evaluate``'s ``results[]`` row for that namespace
(:func:`policy.report.matrix.decision_fields`); equal decisions are rendered once
(:func:`policy.report.matrix.memo_row`). A host whose inputs cannot be read is one row with
``device`` null, ``verdict`` ``"error"`` and its located diagnostics as findings.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring_ascii
from typing import Any

from policy.decide.catalog import catalog
from policy.decide.records import Decision
from policy.errors import Diagnostic
from policy.fleet.summary import Summary
from policy.report.matrix import CSV_FIELDS, decision_fields, memo_row
from policy.units import format_size, ndctl_size

_dumps = json.JSONEncoder(separators=(",", ":")).encode
# a JSON string as _dumps writes it (ensure_ascii), without the encoder's per-call dispatch
_string: Callable[[str], str] = encode_basestring_ascii


def _jsonl_tail(d: Decision) -> str:
    return _dumps(decision_fields(d))[1:]  # from "device_type" on, with the closing brace


class JsonlRows:
    """One compact JSON object per line."""

    def header(self) -> str:
        return ""

    def rows(self, host: str, decisions: Sequence[Decision]) -> str:
        h = _string(host)
        return "".join(
            f'{{"host":{h},"config":{_string(d.build)},"device":{_string(d.device)},'
            + memo_row(d, "jsonl", _jsonl_tail) + "\n"
            for d in decisions
        )

    def host_error(self, host: str, diagnostics: Sequence[Diagnostic]) -> str:
        return _dumps({
            "host": host, "config": None, "device": None, "ok": False, "verdict": "error",
            "findings": [
                {"code": x.code, "message": x.message, "feature": None, "chain": [],
                 "path": x.path, "line": x.line, "col": x.col, "rendered": x.render()}
                for x in diagnostics
            ],
        }) + "\n"


def _feature_names() -> list[str]:
    return sorted(f.name for f in catalog().features)


def _csv_tail(d: Decision) -> tuple[str, ...]:
    row = decision_fields(d)
    dec, cst = row["decision"], row["costs"]
    return tuple(str(x) for x in [
        row["device_type"], str(row["ok"]).lower(), row["verdict"], dec["mode"] or "",
        dec["map"] or "", dec["align"] or "", cst["size_bytes"], cst["usable_bytes"],
        cst["capacity_lost_bytes"], cst["dram_memmap_bytes"], dec["reason"],
    ] + [str(row["features"][n]["enabled"]).lower() for n in _feature_names()])


class CsvRows:
    """``host`` then evaluate's CSV columns; one row per namespace."""

    def header(self) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(
            ["host", *CSV_FIELDS] + [f"feature:{n}" for n in _feature_names()]
        )
        return buf.getvalue()

    def rows(self, host: str, decisions: Sequence[Decision]) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerows((host, d.build, d.device) + memo_row(d, "csv", _csv_tail) for d in decisions)
        return buf.getvalue()

    def host_error(self, host: str, diagnostics: Sequence[Diagnostic]) -> str:
        buf = io.StringIO()
        reason = "; ".join(x.render() for x in diagnostics)
        blank = [""] * len(_feature_names())
        csv.writer(buf, lineterminator="\n").writerow(
            [host, "", "", "", "false", "error", "", "", "", "", "", "", "", reason] + blank
        )
        return buf.getvalue()


FORMATS = ("jsonl", "csv")


def make_rows(fmt: str) -> JsonlRows | CsvRows:
    """The row renderer of ``--format``."""
    return CsvRows() if fmt == "csv" else JsonlRows()


def summary_text(summary: Summary) -> str:
    """The summary for people."""
    doc: dict[str, Any] = summary.to_document()
    hosts = doc["hosts"]
    out = [f"fleet: {hosts['total']} hosts, {doc['namespaces']} namespaces, "
           f"{len(doc['configs'])} distinct configs; {hosts['ok']} ok, "
           f"{hosts['need_plan']} need a plan, {hosts['unreadable']} unreadable"]
    for c in doc["configs"]:
        out.append(f"  config {c['name']} [{c['id']}]: {c['hosts']} hosts, "
                   f"{c['namespaces']} namespaces")
    out.append(f"  {'CONFIG':<28} {'MODE':<10} {'MAP':<3} {'ALIGN':>6} {'VERDICT':<8} "
               f"{'HOSTS':>7} {'NAMESPACES':>10}")
    for r in doc["decisions"]:
        align = ndctl_size(r["align"]) if r["align"] else "-"
        out.append(f"  {(r['config'] + ' [' + r['config_id'][:6] + ']')[:28]:<28} "
                   f"{r['mode'] or '-':<10} {r['map'] or '-':<3} {align:>6} {r['verdict']:<8} "
                   f"{r['hosts']:>7} {r['namespaces']:>10}")
    t = doc["totals"]
    out.append(f"  totals: size {format_size(t['size_bytes'])}, usable "
               f"{format_size(t['usable_bytes'])}, capacity lost "
               f"{format_size(t['capacity_lost_bytes'])}, DRAM memmap "
               f"{format_size(t['dram_memmap_bytes'])}")
    for code, n in doc["findings"].items():
        out.append(f"  finding {code}: {n}")
    for code, n in doc["warnings"].items():
        out.append(f"  warning {code}: {n}")
    if doc["hosts_need_plan"]:
        out.append("  need a plan: " + " ".join(doc["hosts_need_plan"]))
    for h in doc["hosts_unreadable"]:
        out.extend(f"  {h['host']}: {line}" for line in h["diagnostics"])
    return "\n".join(out) + "\n"
