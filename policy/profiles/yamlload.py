"""Safe YAML for profiles: YAML 1.2 core-schema scalars, duplicate keys, bounded aliases, limits.

libyaml (``yaml.CSafeLoader``) only *composes* the document into nodes, which keep their marks
(the approach of pre-commit's ``yaml_rewrite.py``). Everything that PyYAML would do silently is
checked on the node graph before any value is built:

* scalars resolve by the YAML 1.2 core schema: ``no``/``yes``/``on``/``off`` stay strings (the
  "Norway problem"), ``0o17`` is octal, ``2015-01-01`` is a string;
* a key given twice is an error naming both locations (PyYAML keeps the last one);
* aliases are expanded only if the whole expanded tree stays under :data:`MAX_NODES` nodes, so a
  "billion laughs" file is refused in microseconds; recursive aliases are refused;
* files over :data:`MAX_BYTES`, non-UTF-8 bytes, empty files, several documents, tabs in the
  indentation and nesting deeper than :data:`MAX_DEPTH` are refused with a located message.

Nothing here raises for bad content: :func:`load_yaml` returns the problems as Diagnostics.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from policy.errors import Diagnostic, clip

MAX_BYTES = 1 << 20  # 1 MiB: a profile is a few hundred bytes
MAX_NODES = 10_000  # nodes of the fully expanded document
MAX_DEPTH = 64  # nesting of mappings and sequences

PathKey = tuple[str | int, ...]
Mark = tuple[int, int]  # 1-based line, column

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class _Core12Loader(yaml.CSafeLoader):
    """libyaml composer whose implicit resolvers are those of the YAML 1.2 core schema."""

    yaml_implicit_resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}


for _tag, _regexp, _first in (
    (_NULL, r"^(?:~|null|Null|NULL|)$", list("~nN") + [""]),
    (_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    (_INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        _FLOAT,
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+.0123456789"),
    ),
):
    _Core12Loader.add_implicit_resolver(_tag, re.compile(_regexp), _first)


@dataclass(frozen=True)
class Loaded:
    """A loaded document: plain JSON-like ``value`` plus where each part was written.

    ``marks`` maps a path (``("spec", "devices", 0)``) to the 1-based (line, col) of its value
    node; ``key_marks`` maps the path of a mapping entry to the location of its key.
    """

    value: Any
    marks: dict[PathKey, Mark] = field(default_factory=dict)
    key_marks: dict[PathKey, Mark] = field(default_factory=dict)

    def mark(self, path: PathKey) -> Mark:
        """The location of ``path``, or of its nearest ancestor that was written."""
        while path not in self.marks and path:
            path = path[:-1]
        return self.marks.get(path, (1, 1))


class _Reject(Exception):
    """Stop building: the document cannot be turned into a value."""

    def __init__(self, code: str, message: str, mark: Mark) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.mark = mark


def _node_mark(node: yaml.Node) -> Mark:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _expanded_size(root: yaml.Node) -> int:
    """Nodes in the tree once every alias is expanded; raises on cycles or past MAX_NODES."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    aliases = [0]  # nodes reached a second time: only aliases do that

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            aliases[0] += 1
            return sizes[key]
        if key in active:
            raise _Reject("yaml-alias", "recursive alias: a node contains itself", _node_mark(node))
        if isinstance(node, yaml.ScalarNode):
            return 1
        active.add(key)
        if len(active) > MAX_DEPTH:
            raise _Reject(
                "yaml-depth", f"nesting deeper than {MAX_DEPTH} levels", _node_mark(node)
            )
        children = [c for pair in node.value for c in pair] if isinstance(
            node, yaml.MappingNode
        ) else list(node.value)
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_NODES and not aliases[0]:
                raise _Reject(
                    "yaml-size",
                    f"document has more than {MAX_NODES} nodes; a device profile has a few dozen",
                    _node_mark(node),
                )
            if total > MAX_NODES:
                raise _Reject(
                    "yaml-alias",
                    f"document expands to more than {MAX_NODES} nodes (alias bomb?); "
                    "aliases are expanded only up to that limit",
                    _node_mark(node),
                )
        active.discard(key)
        sizes[key] = total
        return total

    return size(root)


def _scalar(node: yaml.ScalarNode) -> Any:
    tag, text = node.tag, node.value
    if tag == _STR:
        return text
    if tag == _NULL:
        if text in ("~", "null", "Null", "NULL", ""):
            return None
    elif tag == _BOOL:
        if text in ("true", "True", "TRUE"):
            return True
        if text in ("false", "False", "FALSE"):
            return False
    elif tag == _INT:
        try:
            if text.startswith("0o"):
                return int(text[2:], 8)
            if text.startswith("0x"):
                return int(text[2:], 16)
            return int(text, 10)
        except ValueError:
            pass
    elif tag == _FLOAT:
        lowered = text.lower()
        if lowered.lstrip("+-") == ".inf":
            return -math.inf if text.startswith("-") else math.inf
        if lowered == ".nan":
            return math.nan
        try:
            return float(text)
        except ValueError:
            pass
    else:
        raise _Reject(
            "yaml-tag",
            f"unsupported tag {clip(tag)}: profiles use plain YAML values only",
            _node_mark(node),
        )
    raise _Reject(
        "yaml-tag", f"{clip(text)} is not a valid {tag.rsplit(':', 1)[-1]}", _node_mark(node)
    )


class _Builder:
    """Turns a composed node graph into plain values, recording marks and duplicate keys."""

    def __init__(self) -> None:
        self.marks: dict[PathKey, Mark] = {}
        self.key_marks: dict[PathKey, Mark] = {}
        self.problems: list[tuple[str, str, Mark, PathKey]] = []

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.marks[path] = _node_mark(node)
        if isinstance(node, yaml.ScalarNode):
            return _scalar(node)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                raise _Reject("yaml-tag", f"unsupported tag {clip(node.tag)}", _node_mark(node))
            return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
        if node.tag != _MAP:
            raise _Reject("yaml-tag", f"unsupported tag {clip(node.tag)}", _node_mark(node))
        result: dict[str, Any] = {}
        first: dict[str, Mark] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Reject(
                    "yaml-key", "mapping keys must be plain strings", _node_mark(key_node)
                )
            key = _scalar(key_node)
            if not isinstance(key, str):
                raise _Reject(
                    "yaml-key",
                    f"mapping key {clip(key_node.value)} must be a string (quote it)",
                    _node_mark(key_node),
                )
            here = _node_mark(key_node)
            if key in first:
                line, col = first[key]
                self.problems.append(
                    (
                        "yaml-duplicate-key",
                        f"duplicate key {clip(key)}: first defined at line {line}, column {col}",
                        here,
                        path + (key,),
                    )
                )
                continue  # keep the first value; the file is invalid anyway
            first[key] = here
            self.key_marks[path + (key,)] = here
            result[key] = self.build(value_node, path + (key,))
        return result


def _first_tab_indent(text: str) -> Mark | None:
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" \t")
        indent = line[: len(line) - len(stripped)]
        if "\t" in indent and stripped and not stripped.startswith("#"):
            return (lineno, indent.index("\t") + 1)
    return None


def decode(data: bytes | str, path: str) -> tuple[str | None, list[Diagnostic]]:
    """UTF-8 text of ``data`` (a BOM is dropped) or the Diagnostic saying why there is none."""
    if isinstance(data, str):
        if len(data.encode("utf-8", "surrogatepass")) > MAX_BYTES:
            return None, [_diag("file-too-large", _too_large(), path, None)]
        text = data
    else:
        if len(data) > MAX_BYTES:
            return None, [_diag("file-too-large", _too_large(), path, None)]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            before = data[: err.start]
            line = before.count(b"\n") + 1
            col = len(before) - (before.rfind(b"\n") + 1) + 1
            msg = f"not UTF-8: byte 0x{data[err.start]:02x} at offset {err.start} cannot be decoded"
            return None, [_diag("encoding", msg, path, (line, col))]
    text = text.removeprefix("\ufeff")
    return text, []


def _too_large() -> str:
    return f"file is larger than {MAX_BYTES // 1024} KiB; profiles are small, refusing to parse it"


def _diag(
    code: str, message: str, path: str, mark: Mark | None, json_path: str = "$"
) -> Diagnostic:
    line, col = mark if mark else (None, None)
    return Diagnostic("error", code, " ".join(message.split()), path, line, col, json_path)


def json_path(path: PathKey) -> str:
    """``("spec", "devices", 0, "name")`` -> ``$.spec.devices[0].name``."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part):
            out += f".{part}"
        else:
            out += "[" + repr(part) + "]"
    return out


def load_yaml(data: bytes | str, path: str) -> tuple[Loaded | None, list[Diagnostic]]:
    """Parse one profile file's bytes (or text) into a :class:`Loaded`, or say why not.

    ``path`` only labels the Diagnostics. The returned document is None when the file cannot
    be turned into a value; duplicate keys are reported but the document is still returned
    (with the first value of each key) so that its other problems are reported too.
    """
    text, problems = decode(data, path)
    if text is None:
        return None, problems
    loader = _Core12Loader(text)
    try:
        try:
            if not loader.check_node():
                return None, [_diag("empty", "empty file: expected one YAML document", path, None)]
            root = loader.get_node()
            if loader.check_node():
                extra = loader.get_node()
                mark = _node_mark(extra) if extra is not None else None
                return None, [
                    _diag(
                        "yaml-multi-doc",
                        "more than one YAML document in the file; put each profile in its own file",
                        path,
                        mark,
                    )
                ]
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as err:
        tab = _first_tab_indent(text)
        if tab is not None:
            return None, [
                _diag("yaml-tab", "tab character in indentation; indent with spaces", path, tab)
            ]
        ymark = err.problem_mark or err.context_mark
        where = (ymark.line + 1, ymark.column + 1) if ymark is not None else None
        message = ": ".join(p for p in (err.context, err.problem) if p) or "invalid YAML"
        return None, [_diag("yaml-syntax", f"invalid YAML: {message}", path, where)]
    except yaml.reader.ReaderError as err:  # control characters: a position, not a mark
        before = text[: err.position]
        where = (before.count("\n") + 1, err.position - (before.rfind("\n") + 1) + 1)
        char = err.character if isinstance(err.character, str) else chr(err.character or 0)
        msg = f"invalid YAML: unacceptable character #x{ord(char):04x}: {err.reason}"
        return None, [_diag("yaml-syntax", msg, path, where)]
    except yaml.YAMLError as err:
        return None, [_diag("yaml-syntax", f"invalid YAML: {err}", path, None)]
    if root is None:  # check_node() said a document follows; libyaml always gives one
        return None, [_diag("empty", "empty file: expected one YAML document", path, None)]
    try:
        _expanded_size(root)
        builder = _Builder()
        value = builder.build(root, ())
    except _Reject as rej:
        return None, [_diag(rej.code, rej.message, path, rej.mark)]
    diags = [_diag(code, msg, path, mark, json_path(p)) for code, msg, mark, p in builder.problems]
    return Loaded(value, builder.marks, builder.key_marks), diags
