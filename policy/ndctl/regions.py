"""The regions of a listing: what ndctl says about them, and what a namespace reads from its own.

Region facts are facts about the hardware: ``align`` (ndctl sizes new namespaces in it),
interleave ways (``mappings``), free space (``available_size``, ``max_available_extent``) and
the persistence domain. They reach the layout through the namespace's device record.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policy.profiles.records import DeviceType


@dataclass(frozen=True)
class Region:
    """A region of a ``-R`` listing, as ndctl/json.c util_region_to_json prints it: its size
    range, free space (``available_size``; ``max_available_extent``, the largest free piece a
    new namespace can take), ``align`` (sysfs regionX/align: ndctl sizes namespaces in it),
    interleave ways (the entries of ``mappings``, one per DIMM), persistence domain, provider."""

    dev: str
    size_lo: int
    size_hi: int
    available_lo: int | None
    type: str | None
    align: int | None
    provider: str | None
    line: int = 0
    max_extent: int | None = None
    mappings: int | None = None
    persistence_domain: str | None = None



def provider_device_type(provider: str | None) -> DeviceType:
    """The device type a bus provider name says (ACPI.NFIT, e820, virtio, cxl)."""
    p = (provider or "").lower()
    if "e820" in p:
        return "e820"
    if "virtio" in p:
        return "virtio-pmem"
    if "cxl" in p:
        return "cxl"
    return "nvdimm"
