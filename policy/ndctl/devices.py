"""A listing's namespaces as device profiles, and a short description of a listing."""
from __future__ import annotations

import types
from collections.abc import Iterator

from policy.decide.costs import BTT_LBASIZES
from policy.ndctl.listing import Listing
from policy.profiles import DeviceProfile


def to_devices(listing: Listing) -> list[DeviceProfile]:
    """One :class:`policy.profiles.DeviceProfile` per active namespace, pinned to its current setup.

    Evaluating them reports the features and costs of what the host runs now. The name is the
    namespace (``namespace1.0``), the size the recovered raw size, the pin the current
    mode/map/align (and BTT sector size); the region's align and interleave ways and the
    namespace's start (sysfs ``resource``) where the listing carries them; labels carry what
    ndctl said.
    """
    from policy.profiles.records import DeviceProfile, Pin

    out: list[DeviceProfile] = []
    regions = {r.dev: r for r in listing.regions}
    for ns in listing.active:
        region = regions.get(ns.region)
        if ns.kernel_mode == "sector":
            lbasize = ns.sector_size if ns.sector_size in BTT_LBASIZES else None
            pin = Pin("sector", sector_size=lbasize)
        elif ns.kernel_mode == "raw":
            pin = Pin("raw")
        else:
            pin = Pin(ns.kernel_mode, ns.map, ns.align)
        labels = {
            "ndctl.dev": ns.dev,
            "ndctl.mode": ns.mode,
            "ndctl.size": str(ns.size),
            "ndctl.region": ns.region,
        }
        for key, val in (
            ("ndctl.blockdev", ns.blockdev),
            ("ndctl.chardev", ns.chardev),
            ("ndctl.name", ns.name),
        ):
            if val:
                labels[key] = val
        out.append(DeviceProfile(
            name=ns.dev, host=None, type=ns.device_type, size=ns.raw_size,
            start_align=None, numa_node=ns.numa_node, requires=(), wants=(), budget_dram=None,
            budget_capacity=None, budget_text=None, pin=pin, source=listing.path, line=ns.line,
            labels=types.MappingProxyType(labels), exists=True, start=ns.start,
            region_align=region.align if region else None,
            interleave_ways=region.mappings if region else None))
    return out


def describe(listing: Listing) -> Iterator[str]:
    """Lines for humans: each namespace, its raw size and how it was recovered."""
    for ns in listing.namespaces:
        if ns.idle:
            yield f"{ns.dev}: idle ({ns.mode}, no capacity)"
            continue
        raw = ns.raw
        assert raw is not None
        how = (
            ns.kernel_mode
            + (f" map={ns.map}" if ns.map else "")
            + (f" align={ns.align}" if ns.align else "")
        )
        if not raw.consistent:
            got = f"inconsistent; nearest raw size {raw.value}"
        elif raw.exact:
            got = f"raw size {raw.value}"
        else:
            got = (f"raw size {raw.lo}..{raw.hi} ({raw.candidates} on a {raw.grid}-byte grid), "
                   f"using {raw.value}")
        yield f"{ns.dev}: {how}, usable {ns.size}, {got}"
