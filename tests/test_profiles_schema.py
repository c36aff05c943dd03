"""The shipped schema: well-formed, documented, and SchemaChecker agrees with jsonschema."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings, strategies as st

from policy.profiles import SchemaChecker, schema
from policy.profiles.yamlload import load_yaml

CORPUS = Path(__file__).parent / "data" / "profiles"
SHIPPED = Path(__file__).resolve().parent.parent / "profiles"
FILES = sorted(CORPUS.rglob("*.yaml")) + sorted(SHIPPED.glob("*.yaml"))


def _documents() -> Iterator[tuple[str, Any]]:
    for path in FILES:
        doc, _ = load_yaml(path.read_bytes(), path.name)
        if doc is not None:
            yield path.name, doc.value


DOCS = list(_documents())


def _jsonschema_view(value: Any) -> tuple[bool, set[tuple[tuple[Any, ...], str]]]:
    validator = jsonschema.Draft202012Validator(schema())
    errors = list(validator.iter_errors(value))
    return not errors, {(tuple(e.absolute_path), str(e.validator)) for e in errors}


def _our_view(value: Any) -> tuple[bool, set[tuple[tuple[Any, ...], str]]]:
    errors = SchemaChecker().errors(value)
    return not errors, {(e.path, e.keyword) for e in errors}


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def _properties(node: Any, where: str = "$") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{where}.{name}", sub
        for key, sub in node.items():
            yield from _properties(sub, f"{where}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            yield from _properties(sub, f"{where}[{i}]")


def test_every_property_has_a_description() -> None:
    props = list(_properties(schema()))
    assert len(props) > 20
    missing = [where for where, sub in props if not sub.get("description")]
    assert missing == []


@pytest.mark.parametrize(("name", "value"), DOCS, ids=[n for n, _ in DOCS])
def test_checker_agrees_with_jsonschema_on_corpus(name: str, value: Any) -> None:
    assert _our_view(value) == _jsonschema_view(value)


def test_corpus_has_schema_failures_to_compare() -> None:
    assert sum(not _our_view(v)[0] for _, v in DOCS) >= 8


_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 2**41),
    st.floats(allow_nan=False),
    st.sampled_from(
        ["nvdimm", "hmem", "8GiB", "1%", "no", "devdax", "mem", "2MiB", "dax_mmap", "x y", ""]
    ),
)
_keys = st.sampled_from(
    [
        "apiVersion",
        "kind",
        "metadata",
        "spec",
        "name",
        "labels",
        "device",
        "devices",
        "type",
        "size",
        "start_align",
        "numa_node",
        "requires",
        "wants",
        "budget",
        "dram",
        "capacity",
        "pin",
        "mode",
        "map",
        "align",
        "extra",
    ]
)
_tree = st.recursive(
    _leaf,
    lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(_keys, kids, max_size=5)),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["DeviceProfile", "HostProfile", "Other"]),
    spec=_tree,
    meta=_tree,
)
def test_checker_agrees_with_jsonschema_on_generated_documents(
    kind: str, spec: Any, meta: Any
) -> None:
    doc = {"apiVersion": "pmempolicy/v1", "kind": kind, "metadata": meta, "spec": spec}
    assert _our_view(doc) == _jsonschema_view(doc)


def test_schema_file_is_plain_json() -> None:
    text = (
        Path(__file__).resolve().parent.parent / "policy" / "data" / "profile.schema.json"
    ).read_text()
    assert json.loads(text) == schema()
