"""The profile JSON Schema and the small validator that applies it (:class:`SchemaChecker`).

``policy/data/profile.schema.json`` (Draft 2020-12) is applied by :class:`SchemaChecker`, which
supports exactly the keywords the schema uses. It gives the same verdicts and error locations as
``jsonschema`` (``tests/test_profiles_schema.py`` checks that on the whole corpus) but keeps
jsonschema's ~100 ms import off the start-up path.
"""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from policy.errors import clip
from policy.profiles.yamlload import PathKey
from policy.resources import data_file


@functools.lru_cache(maxsize=1)
def schema_text() -> str:
    """The shipped JSON Schema, as text (what ``pmempolicy schema`` prints)."""
    return data_file("profile.schema.json").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The shipped JSON Schema (Draft 2020-12) for profile files."""
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded


_PATTERN_HINTS = {
    "name": "use lower-case letters, digits, '-', '_' and '.', "
    "starting and ending with a letter or digit",
    "regionName": "the region is the kernel's name, region followed by digits (region0)",
    "size": "write bytes (4096) or a number with a unit (KiB, MiB, GiB, TiB)",
    "budgetValue": "write a size (64MiB) or a percentage of the device size (1%)",
    "features": "feature names are lower-case words joined by '_' (e.g. longterm_pin)",
}


@dataclass(frozen=True)
class SchemaError:
    """One schema violation: where, which keyword, and a message for humans."""

    path: PathKey
    keyword: str
    message: str
    key: str | None = None  # for unknown keys: the key itself (located at the key)


def _type_ok(value: Any, name: str) -> bool:
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "boolean":
        return isinstance(value, bool)
    return name == "null" and value is None


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def describe(value: Any) -> str:
    """``the string 'no'``, ``the boolean true``, ``a mapping`` — for messages."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "null (an empty value)"
    if isinstance(value, str):
        return f"the string {clip(value)}"
    if isinstance(value, (int, float)):
        return f"the number {clip(value)}"
    return "a mapping" if isinstance(value, dict) else "a list"


_TYPE_WORDS = {"integer": "an integer", "string": "a string", "object": "a mapping",
               "array": "a list", "number": "a number", "boolean": "a boolean", "null": "null"}
_ANNOTATIONS = {
    "$schema",
    "$id",
    "title",
    "description",
    "$comment",
    "examples",
    "default",
    "$defs",
}


def suggest(word: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ""."""
    import difflib  # only on the error path: keeps start-up light

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class SchemaChecker:
    """Applies the shipped schema; supports exactly the keywords it uses (others raise)."""

    def __init__(self, root: dict[str, Any] | None = None) -> None:
        self.root = schema() if root is None else root

    def errors(self, value: Any) -> list[SchemaError]:
        """Every violation of the schema by ``value``."""
        return list(self._check(value, self.root, (), None))

    def _resolve(self, ref: str) -> tuple[dict[str, Any], str]:
        if not ref.startswith("#/$defs/"):
            raise ValueError(f"unsupported $ref {ref!r}")
        name = ref[len("#/$defs/"):]
        return self.root["$defs"][name], name

    def _check(
        self, v: Any, s: dict[str, Any], path: PathKey, defname: str | None
    ) -> Iterator[SchemaError]:
        for kw, arg in s.items():
            if kw in _ANNOTATIONS:
                continue
            if kw == "$ref":
                sub, name = self._resolve(arg)
                yield from self._check(v, sub, path, name)
            elif kw == "allOf":
                for sub in arg:
                    yield from self._check(v, sub, path, defname)
            elif kw == "if":
                if not any(True for _ in self._check(v, arg, path, defname)):
                    if "then" in s:
                        yield from self._check(v, s["then"], path, defname)
                elif "else" in s:
                    yield from self._check(v, s["else"], path, defname)
            elif kw in ("then", "else"):
                continue
            elif kw == "type":
                names = [arg] if isinstance(arg, str) else arg
                if not any(_type_ok(v, n) for n in names):
                    want = " or ".join(_TYPE_WORDS[n] for n in names)
                    yield SchemaError(path, "type", f"expected {want}, got {describe(v)}")
            elif kw == "enum":
                if not any(_equal(v, e) for e in arg):
                    shown = ", ".join(str(e) for e in arg)
                    hint = suggest(v, [str(e) for e in arg]) if isinstance(v, str) else ""
                    yield SchemaError(path, "enum", f"{describe(v)} is not one of: {shown}{hint}")
            elif kw == "const":
                if not _equal(v, arg):
                    yield SchemaError(path, "const", f"expected {arg!r}, got {describe(v)}")
            elif kw == "required":
                if isinstance(v, dict):
                    for key in arg:
                        if key not in v:
                            yield SchemaError(path, "required", f"missing required key {clip(key)}")
            elif kw == "properties":
                if isinstance(v, dict):
                    for key, sub in arg.items():
                        if key in v:
                            yield from self._check(v[key], sub, path + (key,), defname)
            elif kw == "additionalProperties":
                if isinstance(v, dict):
                    known = s.get("properties", {})
                    for key in v:
                        if key in known:
                            continue
                        if arg is False:
                            hint = suggest(key, list(known))
                            yield SchemaError(path, "additionalProperties",
                                              f"unknown key {clip(key)}{hint}", key)
                        else:
                            yield from self._check(v[key], arg, path + (key,), defname)
            elif kw == "items":
                if isinstance(v, list):
                    for i, item in enumerate(v):
                        yield from self._check(item, arg, path + (i,), defname)
            elif kw in ("minItems", "maxItems"):
                if isinstance(v, list) and (len(v) < arg if kw == "minItems" else len(v) > arg):
                    word = "at least" if kw == "minItems" else "at most"
                    yield SchemaError(path, kw, f"expected {word} {arg} item(s), got {len(v)}")
            elif kw == "uniqueItems":
                if arg and isinstance(v, list):
                    for i, item in enumerate(v):
                        if any(_equal(item, other) for other in v[:i]):
                            yield SchemaError(
                                path, "uniqueItems", f"{describe(item)} is listed more than once"
                            )
                            break
            elif kw in ("minimum", "maximum"):
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    if (v < arg) if kw == "minimum" else (v > arg):
                        word = "at least" if kw == "minimum" else "at most"
                        yield SchemaError(path, kw, f"must be {word} {arg}, got {clip(v)}")
            elif kw in ("minLength", "maxLength"):
                if isinstance(v, str) and (len(v) < arg if kw == "minLength" else len(v) > arg):
                    word = "at least" if kw == "minLength" else "at most"
                    yield SchemaError(path, kw, f"must be {word} {arg} character(s) long")
            elif kw == "pattern":
                if isinstance(v, str) and _regex(arg).search(v) is None:
                    hint = _PATTERN_HINTS.get(defname or "", "")
                    yield SchemaError(
                        path, "pattern",
                        f"{clip(v)} is not valid here" + (f": {hint}" if hint else ""),
                    )
            else:
                raise ValueError(f"schema keyword {kw!r} is not supported by SchemaChecker")


@functools.cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
