"""The feature catalog: names, build conditions, run-time conditions, reasons and kernel sources."""
from __future__ import annotations

import functools
from typing import Any

import yaml

from .resources import data_file


@functools.lru_cache(maxsize=1)
def _raw_catalog() -> dict[str, Any]:
    with open(data_file("features.yaml"), encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    assert isinstance(doc, dict)
    return doc


def feature_names() -> frozenset[str]:
    """Every feature name the catalog defines (profiles may require or want only these)."""
    return frozenset(str(f["name"]) for f in _raw_catalog()["features"])
