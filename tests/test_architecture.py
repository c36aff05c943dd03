"""The house by stage: imports inside ``policy/`` point one way, down the pipeline, with no cycle.

The graph is read from the source (every ``import`` and ``from ... import``, at module level or
inside a function), so a lazy import cannot hide a circle.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "policy"

# the stages in pipeline order: a module may import its own stage and the stages before it
STAGES = (
    "foundation",  # errors, resources, atomic, units
    "kconfig",
    "profiles",
    "decide",
    "ndctl",
    "evaluate",
    "fleet",
    "space",
    "api",
    "report",
    "cli",
)
FOUNDATION = {"errors", "resources", "atomic", "units"}
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """``module -> modules of policy it imports`` (a ``from pkg import sub`` names ``pkg.sub``)."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(mod, path.name == "__init__.py", node)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                           for a in node.names]
            for t in targets:
                if t in mods and t != mod:
                    graph[mod].add(t)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def stage_of(mod: str) -> str:
    parts = mod.split(".")
    if len(parts) == 1:
        return "foundation"  # policy/__init__.py
    head = parts[1]
    return "foundation" if head in FOUNDATION else head


def test_the_graph_is_read() -> None:
    graph = import_graph()
    # known edges, so a broken reader cannot pass the tests below by reading nothing
    assert "policy.decide.catalog" in graph["policy.decide.runtime"]
    assert "policy.kconfig.tree" in graph["policy.kconfig"]


def test_no_import_cycle() -> None:
    assert _cycle(import_graph()) is None


def test_the_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_imports_point_down_the_pipeline() -> None:
    bad = []
    for mod, deps in import_graph().items():
        here = STAGES.index(stage_of(mod))
        for dep in deps:
            if STAGES.index(stage_of(dep)) > here:
                bad.append(f"{mod} ({stage_of(mod)}) imports {dep} ({stage_of(dep)})")
    assert not bad, "\n".join(bad)


def test_every_module_belongs_to_a_stage() -> None:
    for mod in _modules():
        assert stage_of(mod) in STAGES, mod


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


def test_one_size_formatter() -> None:
    """Only ``policy/units.py`` formats sizes; every other module calls it."""
    pattern = re.compile(r"^\s*def (_size|_ndctl_size|human_size|format_size|ndctl_size)\(", re.M)
    defining = [str(p.relative_to(ROOT)) for p in sorted(PKG.rglob("*.py"))
                if pattern.search(p.read_text(encoding="utf-8"))]
    assert defining == ["policy/units.py"]


@pytest.mark.parametrize("args", [
    ("matrix",), ("matrix", "-v"), ("evaluate",),
    ("explain", "longterm_pin", "--device", "db01-pmem0"),
])
def test_text_output_prints_sizes_one_way(args: tuple[str, ...]) -> None:
    """No raw byte counts in text meant for people: sizes come out as ``6.25 GiB``."""
    from click.testing import CliRunner

    from policy.cli import cli

    out = CliRunner().invoke(cli, list(args)).output
    assert out.strip()
    raw = re.findall(r"\b\d{5,} ?(?:B|bytes)\b", out)
    assert not raw, raw[:5]
