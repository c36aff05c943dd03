"""The device records (:class:`DeviceProfile`, :class:`Pin`), the names and limits profiles use,
and the catalog's feature names as the checks read them."""
from __future__ import annotations

import functools
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from policy.resources import data_file
from policy.units import GiB, MiB

DeviceType = Literal["nvdimm", "cxl", "virtio-pmem", "e820", "hmem"]
CreatedBy = Literal["ndctl", "sysfs"]
DEVICE_TYPES: tuple[str, ...] = ("nvdimm", "cxl", "virtio-pmem", "e820", "hmem")
MODES: tuple[str, ...] = (
    "raw", "sector", "fsdax", "devdax", "system-ram", "ondemand", "pfn", "extent",
)
PAGE_MODES = ("fsdax", "devdax", "system-ram")  # permanent struct pages: map and align apply
ALIGNS: tuple[int, ...] = (4096, 2 * MiB, GiB)
MIN_PFN_NAMESPACE = 16 * MiB  # ndctl refuses smaller fsdax/devdax namespaces
COMPAT_ALIGN = 2 * MiB  # memremap_compat_align() on x86_64/arm64 (SUBSECTION_SIZE)
INFO_BLOCK = 8 * 1024  # nd_pfn info block (drivers/nvdimm/pfn_devs.c:nd_pfn_init)


@dataclass(frozen=True)
class Pin:
    """A fixed runtime choice: ``mode`` (:data:`MODES`), ``map`` ("mem"/"dev"), ``align`` bytes,
    and for sector mode the BTT ``sector_size``."""

    mode: str
    map: str | None = None
    align: int | None = None
    # sector mode: the BTT's logical block size (ndctl --sector-size); None is 4096
    sector_size: int | None = None


@dataclass(frozen=True)
class DeviceProfile:
    """One device to decide for, with everything resolved to bytes.

    ``name`` is ``metadata.name`` for a DeviceProfile and ``<host>/<device name>`` for each
    device of a HostProfile (``host`` is then the host's name). Budgets are bytes; a percentage
    is of ``size``. ``line`` is where the device is described in ``source``.
    """

    name: str
    host: str | None
    type: DeviceType
    size: int
    start_align: int | None
    numa_node: int | None
    requires: tuple[str, ...]
    wants: tuple[str, ...]
    budget_dram: int | None
    budget_capacity: int | None
    budget_text: str | None
    pin: Pin | None
    source: str
    line: int
    labels: Mapping[str, str] = field(
        default_factory=lambda: types.MappingProxyType({}), hash=False
    )
    # the namespace exists (read from a listing): it is evaluated as it is, and what today's
    # ndctl would refuse to create is a warning, not an impossibility
    exists: bool = False
    # device.match: selectors naming the namespace of an ndctl listing this device is
    # (host, region, namespace, uuid, name); empty when the profile names none
    match: Mapping[str, str] = field(
        default_factory=lambda: types.MappingProxyType({}), hash=False
    )
    # the namespace's physical start address, where it is known (a profile's device.start, a
    # listing's sysfs resource); start_align is then its alignment
    start: int | None = None
    # region facts (ndctl list -R: align, mappings), where known: they replace the device type's
    # default region align (drivers/nvdimm/region_devs.c default_align) in ndctl's sizing rules
    region_align: int | None = None
    interleave_ways: int | None = None
    # "ndctl": created by ndctl, whose checks apply first; "sysfs": written through sysfs (or by
    # firmware, or an older ndctl), so only the kernel's rules apply
    created_by: CreatedBy = "ndctl"


@functools.lru_cache(maxsize=1)
def _catalog() -> frozenset[str]:
    """Feature names of the catalog, read straight from ``features.yaml``.

    ``policy.decide.catalog.feature_names()`` gives the same set (a test checks it) but validates
    the
    whole catalog with jsonschema first, which would put ~100 ms on every ``validate`` start.
    """
    return frozenset(str(f["name"]) for f in _catalog_doc()["features"])


@functools.lru_cache(maxsize=1)
def _catalog_doc() -> dict[str, Any]:
    import yaml

    with open(data_file("features.yaml"), "rb") as fh:
        doc = yaml.load(fh, Loader=yaml.CSafeLoader)
    assert isinstance(doc, dict)
    return doc


def effective_region_align(type_align: int, region_align: int | None,
                           interleave_ways: int | None) -> int:
    """The align ndctl sizes namespaces in: the region's own when known, else the device type's
    default (``type_align``, 0 for regions with no namespace sizing), multiplied by the
    interleave ways when it is not divisible by them (drivers/nvdimm/region_devs.c
    default_align: 16 MiB on a 3-way interleave is 48 MiB)."""
    if region_align is not None:
        return region_align
    ways = interleave_ways or 1
    if type_align and type_align % ways:
        return type_align * ways
    return type_align
