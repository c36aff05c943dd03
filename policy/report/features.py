"""The feature catalog for people and scripts (``pmempolicy features``, ``docs/features.md``).

One document built from :func:`policy.decide.catalog.catalog`, rendered as an 80-column table,
JSON (``schema_version`` 1) or the Markdown table of ``docs/features.md`` (a test keeps that file
equal to ``pmempolicy features --format markdown``).
"""
from __future__ import annotations

import json
import textwrap
from typing import Any, TextIO

from policy.decide.catalog import Catalog, RuntimeCond

SCHEMA_VERSION = 1
FORMATS = ("table", "json", "markdown")


def _gives(c: RuntimeCond) -> str:
    return c.describe().replace("|", "/")


def document(cat: Catalog) -> dict[str, Any]:
    """Every feature: name, one-line meaning, the conditions that give it, build, source."""
    return {
        "schema_version": SCHEMA_VERSION,
        "features": [
            {
                "name": f.name,
                "summary": f.summary,
                "proposal": f.proposal,
                "given_by": [
                    {
                        "modes": list(c.modes),
                        "maps": list(c.maps) if c.maps else None,
                        "min_align": c.min_align or None,
                        "aligns": list(c.aligns) if c.aligns else None,
                        "device_types": list(c.device_types) if c.device_types else None,
                        "pagemap": c.pagemap,
                        "sync_only": c.sync_only,
                        "build": c.build,
                        "text": _gives(c),
                    }
                    for c in f.runtime
                ],
                "build": f.build,
                "reason": f.reason,
                "source": f.source,
            }
            for f in cat.features
        ],
    }


def report_table(doc: dict[str, Any], out: TextIO) -> None:
    """One block per feature, wrapped to 80 columns."""
    wrap = textwrap.TextWrapper(width=80, initial_indent="    ", subsequent_indent="      ")
    for f in doc["features"]:
        star = " *" if f["proposal"] else ""
        out.write(textwrap.fill(f"{f['name']}{star}: {f['summary']}", width=80,
                                subsequent_indent="      ") + "\n")
        for g in f["given_by"]:
            out.write(wrap.fill(f"given by: {g['text']}") + "\n")
        for label, text in (("build", f["build"]), ("source", f["source"])):
            out.write(wrap.fill(f"{label}: {text}") + "\n")
    out.write(f"{len(doc['features'])} features; * = modelled 2015 proposal, not in Linux\n")


def report_json(doc: dict[str, Any], out: TextIO) -> None:
    out.write(json.dumps(doc, indent=2) + "\n")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def report_markdown(doc: dict[str, Any], out: TextIO) -> None:
    """``docs/features.md``: a heading, a line on how it is made, and the table."""
    out.write(
        "# The feature catalog\n\n"
        "Generated from `policy/data/features.yaml` by `pmempolicy features --format markdown`"
        " (a test keeps this file equal to that output). Profiles name these features in"
        " `requires` and `wants`. *given by*: the modes (and maps, aligns, device types) that"
        " give the feature at run time; *build*: the Kconfig expression the kernel must"
        " satisfy; `*`: a modelled 2015 proposal, not in Linux.\n\n"
        "| feature | meaning | given by | build | kernel source |\n"
        "|---|---|---|---|---|\n"
    )
    for f in doc["features"]:
        name = f"`{f['name']}`" + (" *" if f["proposal"] else "")
        gives = "; ".join(_cell(g["text"]) for g in f["given_by"])
        out.write(f"| {name} | {_cell(f['summary'])} | {gives} | `{_cell(f['build'])}` | "
                  f"{_cell(f['source'])} |\n")


REPORTERS = {"table": report_table, "json": report_json, "markdown": report_markdown}
