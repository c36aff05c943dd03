"""Reporters for ``pmempolicy validate``: text, json, github, junit and sarif.

Each reporter sees only the :class:`~policy.profiles.ProfileSet` and writes to a stream;
``REPORTERS`` maps the ``--format`` names to the classes. With ``strict``, warnings count as
failures (exactly as the exit code does).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar, TextIO

if TYPE_CHECKING:  # keep start-up light: reporters are imported on every validate run
    from policy.errors import Diagnostic
    from policy.profiles.profile import FileResult, ProfileSet

JSON_SCHEMA_VERSION = 1
TOOL = "pmempolicy"
INFO_URI = "https://github.com/pmempolicy/pmempolicy"


class Reporter:
    """Base class: ``report(result, stream)`` writes the whole result."""

    name: ClassVar[str] = ""

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict

    def report(self, result: ProfileSet, stream: TextIO) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def failed(self, diag: Diagnostic) -> bool:
        """Does this diagnostic fail its file?"""
        return diag.severity == "error" or (self.strict and diag.severity == "warning")

    @staticmethod
    def verdict(fr: FileResult, strict: bool) -> str:
        if fr.unreadable:
            return "unreadable"
        return "valid" if fr.passed(strict) else "invalid"


def _summary(result: ProfileSet, strict: bool) -> dict[str, int]:
    errors = sum(d.severity == "error" for d in result.diagnostics)
    warnings = sum(d.severity == "warning" for d in result.diagnostics)
    valid = sum(f.passed(strict) for f in result.files)
    return {"files": len(result.files), "valid": valid, "invalid": len(result.files) - valid,
            "errors": errors, "warnings": warnings, "devices": len(result.devices)}


class TextReporter(Reporter):
    """One ``path:line:col: severity: message (at $.json.path) [code]`` line per problem."""

    name = "text"

    def report(self, result: ProfileSet, stream: TextIO) -> None:
        stream.writelines(diag.render() + "\n" for diag in result.diagnostics)
        s = _summary(result, self.strict)
        plural = "" if s["files"] == 1 else "s"
        stream.write(
            f"{s['files']} file{plural} checked: {s['valid']} valid, {s['invalid']} invalid "
            f"({s['errors']} error(s), {s['warnings']} warning(s)"
            f"{', strict' if self.strict else ''})\n"
        )


def _diag_json(d: Diagnostic) -> dict[str, Any]:
    return {"severity": d.severity, "code": d.code, "message": d.message, "path": d.path,
            "line": d.line, "col": d.col, "json_path": d.json_path}


class JsonReporter(Reporter):
    """A stable JSON document (``schema_version`` 1): verdict strings and booleans per file."""

    name = "json"

    def report(self, result: ProfileSet, stream: TextIO) -> None:
        ok = result.passed(self.strict)
        doc = {
            "schema_version": JSON_SCHEMA_VERSION,
            "tool": TOOL,
            "command": "validate",
            "strict": self.strict,
            "ok": ok,
            "verdict": "valid" if ok else "invalid",
            "summary": _summary(result, self.strict),
            "files": [
                {
                    "path": f.path,
                    "ok": f.passed(self.strict),
                    "verdict": self.verdict(f, self.strict),
                    "devices": [d.name for d in f.devices],
                    "diagnostics": [_diag_json(d) for d in f.diagnostics],
                }
                for f in result.files
            ],
        }
        json.dump(doc, stream, indent=2)
        stream.write("\n")


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


class GithubReporter(Reporter):
    """GitHub Actions workflow commands: ``::error file=F,line=L,col=C,title=T::message``."""

    name = "github"

    def report(self, result: ProfileSet, stream: TextIO) -> None:
        for d in result.diagnostics:
            level = (
                "error" if self.failed(d) else ("warning" if d.severity == "warning" else "notice")
            )
            props = [f"file={_gh_escape(d.path, True)}"]
            if d.line is not None:
                props.append(f"line={d.line}")
                if d.col is not None:
                    props.append(f"col={d.col}")
            props.append(f"title={_gh_escape(f'pmempolicy {d.code}', True)}")
            where = f" (at {d.json_path})" if d.json_path and d.json_path != "$" else ""
            stream.write(f"::{level} {','.join(props)}::{_gh_escape(d.message + where)}\n")


class JunitReporter(Reporter):
    """JUnit XML: one testsuite, one testcase per file; a failure lists the file's problems."""

    name = "junit"

    def report(self, result: ProfileSet, stream: TextIO) -> None:
        import xml.etree.ElementTree as ET

        s = _summary(result, self.strict)
        errors = sum(f.unreadable for f in result.files)
        suite = ET.Element("testsuite", name="pmempolicy validate", tests=str(s["files"]),
                           failures=str(s["invalid"] - errors), errors=str(errors), skipped="0")
        for f in result.files:
            case = ET.SubElement(suite, "testcase", classname="pmempolicy.validate", name=f.path)
            failing = [d for d in f.diagnostics if self.failed(d)]
            if failing:
                tag = "error" if f.unreadable else "failure"
                el = ET.SubElement(case, tag, message=failing[0].message, type=failing[0].code)
                el.text = "\n".join(d.render() for d in failing)
            rest = [d for d in f.diagnostics if not self.failed(d)]
            if rest:
                ET.SubElement(case, "system-out").text = "\n".join(d.render() for d in rest)
        stream.write('<?xml version="1.0" encoding="utf-8"?>\n')
        stream.write(ET.tostring(suite, encoding="unicode"))
        stream.write("\n")


class SarifReporter(Reporter):
    """SARIF 2.1.0: one run, a rule per diagnostic code, results with physical regions."""

    name = "sarif"

    def report(self, result: ProfileSet, stream: TextIO) -> None:
        codes = sorted({d.code for d in result.diagnostics})
        index = {c: i for i, c in enumerate(codes)}
        results = []
        for d in result.diagnostics:
            location: dict[str, Any] = {"artifactLocation": {"uri": d.path}}
            if d.line is not None:
                region: dict[str, int] = {"startLine": d.line}
                if d.col is not None:
                    region["startColumn"] = d.col
                location["region"] = region
            level = (
                "error" if self.failed(d) else ("warning" if d.severity == "warning" else "note")
            )
            results.append(
                {
                    "ruleId": d.code,
                    "ruleIndex": index[d.code],
                    "level": level,
                    "message": {
                        "text": d.message
                        + (f" (at {d.json_path})" if d.json_path and d.json_path != "$" else "")
                    },
                    "locations": [{"physicalLocation": location}],
                }
            )
        doc = {
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": TOOL,
                            "informationUri": INFO_URI,
                            "rules": [{"id": c, "shortDescription": {"text": c}} for c in codes],
                        }
                    },
                    "results": results,
                }
            ],
        }
        json.dump(doc, stream, indent=2)
        stream.write("\n")


REPORTERS: dict[str, type[Reporter]] = {
    cls.name: cls
    for cls in (TextReporter, JsonReporter, GithubReporter, JunitReporter, SarifReporter)
}


def report(result: ProfileSet, stream: TextIO, fmt: str = "text", strict: bool = False,
           reporter: type[Reporter] | None = None) -> None:
    """Write ``result`` to ``stream`` in format ``fmt`` (a key of :data:`REPORTERS`)."""
    (reporter or REPORTERS[fmt])(strict=strict).report(result, stream)
