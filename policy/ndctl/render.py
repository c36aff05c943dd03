"""A plan as text: commented shell that is safe to paste.

Every argument of a command is quoted with :func:`shlex.join`, and every comment is one line
with control characters escaped, so neither a profile nor a listing (a namespace ``name`` with
``$(...)``, ``;`` or a newline) can put a command of its own into the text.
"""
from __future__ import annotations

import shlex
import textwrap

from policy.ndctl.planrecords import Plan


def comment(text: str) -> str:
    """``text`` as the body of one shell comment line: control characters escaped."""
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


WIDTH = 80


def command_line(argv: tuple[str, ...] | list[str]) -> str:
    """The argv as shell text, every argument quoted where it needs to be; past 80 columns it
    is continued with ``\\`` between arguments (never inside one)."""
    words = [shlex.quote(a) for a in argv]
    lines: list[str] = []
    cur = ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > WIDTH - 2:
            lines.append(cur + " \\")
            cur = "    " + w
        else:
            cur = f"{cur} {w}" if cur else w
    lines.append(cur)
    return "\n".join(lines)


def _wrap_comments(lines: list[str]) -> list[str]:
    """Comment lines folded to 80 columns, each piece a comment of its own."""
    out: list[str] = []
    for line in lines:
        if not line.startswith("#") or len(line) <= WIDTH:
            out.append(line)
            continue
        lead = "# !!! " if line.startswith("# !!!") else "# "
        body = line[len(lead):] if line.startswith(lead) else line[1:].lstrip()
        out.extend(textwrap.wrap(body, width=WIDTH, initial_indent=lead,
                                 subsequent_indent=lead + "  ", break_long_words=True,
                                 break_on_hyphens=False))
    return out


def render_text(plan: Plan) -> str:
    """The plan for humans: shell comments, the commands, loud warnings before destructive ones."""
    c = comment
    lines = [
        f"# pmempolicy plan: config {c(plan.config)}"
        + (f", current namespaces from {c(plan.listing)}" if plan.listing
           else ", from no namespaces"),
        "# Nothing has been run. Review, then run the commands yourself.",
    ]
    n_destroy = sum(s.destroys_data for s in plan.steps)
    if n_destroy:
        lines += [
            "#",
            f"# !!! WARNING: {n_destroy} of these commands DESTROY DATA on the namespaces "
            "they name.",
            "# !!! Back up first; unmount file systems and stop users of the devices.",
        ]
    for d in plan.diagnostics:
        lines.append(f"# listing: {c(d)}")
    if not plan.profiles:
        lines.append("# no profiles given: nothing to change (the shipped examples are never "
                     "implied; name PROFILE... to plan)")
    elif not plan.steps:
        lines.append("# no commands: "
                     + ("the current setup already matches the policy" if plan.ok
                        else "see the problems below"))
    for s in plan.steps:
        lines.append("")
        lines.append(f"# {c(s.device)}: {c(s.reason)}")
        if s.destroys_data:
            lines.append(f"# !!! DESTROYS DATA on {c(s.namespace or 'the device')}")
        lines.append(command_line(s.command))
    if plan.unchanged:
        lines.append("")
        lines += [f"# unchanged: {c(d)} is {c(n)} ({c(st)})" for d, n, st in plan.unchanged]
    if plan.unmanaged:
        lines += [f"# unmanaged: {c(n)} (no profile names it; left alone)"
                  for n in plan.unmanaged]
    for note in plan.notes:
        lines.append(f"# note: {c(note)}")
    if plan.problems:
        lines.append("")
        lines += [f"# problem: {c(f.device)}: {c(f.message)} [{f.code}]" for f in plan.problems]
    return "\n".join(_wrap_comments(lines)) + "\n"
