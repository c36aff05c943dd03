"""Stage 2, the devices: profile YAML in, :class:`DeviceProfile` records and diagnostics out.

Contract: ``load_profiles(paths) -> ProfileSet`` never raises for a bad file (it is a failed
row with ``Diagnostic`` values); ``load_profile_text`` for one document. Imports only the
foundation and the JSON Schema in ``policy/data``.

Modules: ``yamlload`` (YAML 1.2 scalars, duplicate keys, alias bombs, positions), ``schema``
(the schema checker that agrees with jsonschema), ``profile`` (semantic checks, records).
"""
from __future__ import annotations

from policy.profiles.profile import (
    FileResult,
    ProfileSet,
    check_document,
    expand_paths,
    load_profile_text,
    load_profiles,
)
from policy.profiles.records import (
    ALIGNS,
    DEVICE_TYPES,
    MODES,
    PAGE_MODES,
    DeviceProfile,
    DeviceType,
    Pin,
)
from policy.profiles.schema import SchemaChecker, schema, schema_text

__all__ = [
    "ALIGNS", "DEVICE_TYPES", "MODES", "PAGE_MODES", "DeviceProfile", "DeviceType", "FileResult",
    "Pin", "ProfileSet", "SchemaChecker", "check_document", "expand_paths", "load_profile_text",
    "load_profiles", "schema", "schema_text",
]
