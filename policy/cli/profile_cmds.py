"""``pmempolicy validate`` and ``pmempolicy schema``: device profiles for CI and editors."""
from __future__ import annotations

import io
import sys
from dataclasses import dataclass

import click

from policy.cli.options import emit, format_option, output_option, to_stdout
from policy.errors import ExitCode, UsageError
from policy.report.diagnostics import REPORTERS


@dataclass(frozen=True)
class ValidateSettings:
    """The options of one ``validate`` run."""

    paths: tuple[str, ...]
    fmt: str
    strict: bool
    output: str | None = None  # --output FILE ("-" or None: stdout)


def run_validate(settings: ValidateSettings) -> ExitCode:
    """Load and check every profile, report to stdout, and map the outcome to an exit code."""
    from policy.profiles.profile import load_profiles

    if not settings.paths:
        raise UsageError("give at least one PATH: a profile file, a directory, or - for stdin")
    stdin = None
    if "-" in settings.paths:
        from policy.cli.options import read_stdin
        from policy.profiles.yamlload import MAX_BYTES

        stdin = read_stdin(MAX_BYTES, "a device profile")
    result = load_profiles(settings.paths, stdin=stdin)
    if to_stdout(settings.output):
        out = sys.stdout
        REPORTERS[settings.fmt](strict=settings.strict).report(result, out)
        out.flush()
    else:
        # the file gets --format; stdout keeps the text lines as the run's log
        buf = io.StringIO()
        REPORTERS[settings.fmt](strict=settings.strict).report(result, buf)
        emit(buf.getvalue(), settings.output)
        if settings.fmt != "text":
            REPORTERS["text"](strict=settings.strict).report(result, sys.stdout)
            sys.stdout.flush()
    if result.unreadable:
        return ExitCode.USAGE
    return ExitCode.OK if result.passed(settings.strict) else ExitCode.FINDINGS


@click.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@format_option(
    sorted(REPORTERS),
    "Output format: text lines, JSON, GitHub annotations, JUnit XML or SARIF 2.1.0.",
    default="text",
)
@click.option("--strict", is_flag=True, help="Warnings are findings too (exit 1).")
@output_option()
def validate(paths: tuple[str, ...], fmt: str, strict: bool, output: str | None) -> int:
    """Check device profiles: files, directories (*.yaml, *.yml, recursively) or - for stdin.

    Reports every problem as path:line:col: error: message [code]. Exit 0 all valid, 1
    findings, 2 usage error or unreadable input.
    """
    return int(run_validate(ValidateSettings(paths, fmt, strict, output)))


@click.command()
def schema() -> int:
    """Print the profile JSON Schema (Draft 2020-12) for editors and other validators."""
    from policy.profiles.schema import schema_text

    click.echo(schema_text(), nl=False)
    return int(ExitCode.OK)
