"""Generate the oracle's case lists (JSON in, one entry per namespace to create).

A case is a dict:
  id          unique name
  boot        which boot (QEMU run) it belongs to; a boot has one NVDIMM region
  size        namespace size in bytes (ndctl --size)
  mode        raw | sector | fsdax | devdax
  map         mem | dev | None (only fsdax/devdax)
  align       bytes or None (only fsdax/devdax)
  sector_size bytes or None (sector mode)
  probe       1 = run the feature probes (mkfs/mount -o dax/mmap/MAP_SYNC/O_DIRECT/ibv_reg_mr)
  args        the ndctl create-namespace arguments (after -r REGION); @NS is the region's
              namespace (label-less regions are reconfigured: -e NS -f)
  region      nfit (label-backed NVDIMM, default) | e820 (memmap=nn!ss on the kernel command
              line, nd_e820) | virtio (virtio-pmem-pci, ND_REGION_ASYNC); a label-less region
              (e820, virtio) is as large as its case: one namespace over the whole region
  via         system-ram only: sysfs (unbind + kmem/new_id, online_movable) | daxctl
              (`daxctl reconfigure-device --mode=system-ram`)
  memmap_on_memory  system-ram via daxctl: ask for the memmap on the hot-added memory
              (dax bus attribute, 6.8+)
  boot_args   extra kernel command line of the case's boot (memory_hotplug.memmap_on_memory=1)
"""

from __future__ import annotations

import json
import sys

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

FULL_SIZES = [128 * MiB, 256 * MiB, 1 * GiB, 2 * GiB, 16 * GiB, 80 * GiB]
ALIGNS = [4 * KiB, 2 * MiB, 1 * GiB]  # what the 6.1 x86_64 kernel lists in supported_alignments
PROBE_SIZES = {256 * MiB, 2 * GiB}


def human(n: int) -> str:
    for unit, mult in (("G", GiB), ("M", MiB), ("K", KiB)):
        if n % mult == 0:
            return f"{n // mult}{unit}"
    return str(n)


def make_case(
    boot: str,
    size: int,
    mode: str,
    map_: str | None = None,
    align: int | None = None,
    sector_size: int | None = None,
    probe: bool = False,
    tag: str = "",
    region: str = "nfit",
    via: str = "sysfs",
    memmap_on_memory: bool = False,
    boot_args: tuple[str, ...] = (),
) -> dict:
    # system-ram = a devdax namespace reconfigured to dax/kmem in the guest (init.sh)
    args = ["--mode", "devdax" if mode == "system-ram" else mode]
    if region == "nfit":
        args += ["--size", human(size)]
    else:
        args = ["-e", "@NS", "-f", *args]  # the whole label-less region
    if map_:
        args += ["--map", map_]
    if align:
        args += ["--align", human(align)]
    if sector_size:
        args += ["--sector-size", str(sector_size)]
    parts = (
        ([region] if region != "nfit" else [])
        + [mode, human(size)]
        + ([map_] if map_ else [])
        + ([f"a{human(align)}"] if align else [])
        + ([f"s{sector_size}"] if sector_size else [])
        + ([via] if mode == "system-ram" and via != "sysfs" else [])
        + (["mom"] if memmap_on_memory else [])
        + (["mhp"] if any("memmap_on_memory=1" in a for a in boot_args) else [])
        + ([tag] if tag else [])
    )
    case = {
        "id": "-".join(parts),
        "boot": boot,
        "size": size,
        "mode": mode,
        "map": map_,
        "align": align,
        "sector_size": sector_size,
        "probe": 1 if probe else 0,
        "args": args,
        "region": region,
    }
    if mode == "system-ram":
        case["via"] = via
        case["memmap_on_memory"] = memmap_on_memory
    if boot_args:
        case["boot_args"] = list(boot_args)
    return case


MOM = ("memory_hotplug.memmap_on_memory=1",)


def labelless_cases(boot: str, region: str, size: int) -> list[dict]:
    """One label-less region (e820 or virtio-pmem): every mode on its whole-region namespace."""
    return [
        make_case(boot, size, "raw", probe=True, region=region),
        make_case(boot, size, "sector", sector_size=4096, region=region),
        make_case(boot, size, "fsdax", "mem", 2 * MiB, probe=True, region=region),
        make_case(boot, size, "fsdax", "dev", 2 * MiB, probe=True, region=region),
        make_case(boot, size, "fsdax", "mem", 4 * KiB, region=region),
        make_case(boot, size, "devdax", "mem", 2 * MiB, probe=True, region=region),
        make_case(boot, size, "devdax", "dev", 2 * MiB, probe=True, region=region),
        make_case(boot, size, "devdax", "dev", 4 * KiB, probe=True, region=region),
        make_case(boot, size, "devdax", "mem", 1 * GiB, probe=True, region=region),
        make_case(boot, size, "system-ram", "mem", 2 * MiB, region=region, via="daxctl"),
    ]


def ci_cases() -> list[dict]:
    b = "ci"
    return [
        make_case(b, 256 * MiB, "raw", probe=True),
        make_case(b, 256 * MiB, "sector", probe=True),
        make_case(b, 256 * MiB, "fsdax", "mem", 2 * MiB, probe=True),
        make_case(b, 1 * GiB, "fsdax", "dev", 2 * MiB, probe=True),
        make_case(b, 256 * MiB, "devdax", "dev", 2 * MiB, probe=True),
        make_case(b, 1 * GiB, "devdax", "mem", 2 * MiB, probe=True),
        make_case(b, 2 * GiB, "devdax", "mem", 1 * GiB, probe=True),
        make_case(b, 1 * GiB, "fsdax", "dev", 1 * GiB),  # kernel refuses: cannot satisfy align
        make_case(b, 8 * MiB, "fsdax", "mem", 2 * MiB),  # ndctl refuses: < 16 MiB
        # a raw namespace of a PAGEMAP region (memmap=512M!4G) and devdax on an async region
        make_case(b, 512 * MiB, "raw", probe=True, region="e820"),
        make_case(b, 512 * MiB, "devdax", "mem", 2 * MiB, probe=True, region="virtio"),
        # devdax -> dax/kmem, last: it re-plugs RAM
        make_case(b, 1 * GiB, "system-ram", "mem", 2 * MiB, via="daxctl"),
    ]


def full_cases() -> list[dict]:
    out: list[dict] = []
    for size in FULL_SIZES:
        b = f"s{human(size)}"
        probe = size in PROBE_SIZES
        out.append(make_case(b, size, "raw", probe=probe))
        out.append(make_case(b, size, "sector", sector_size=4096, probe=probe))
        for mode in ("fsdax", "devdax"):
            for map_ in ("mem", "dev"):
                for align in ALIGNS:
                    out.append(make_case(b, size, mode, map_, align, probe=probe))
    b = "extra"
    out += [
        make_case(b, 8 * MiB, "fsdax", "mem", 2 * MiB),  # ndctl: below 16 MiB
        make_case(b, 8 * MiB, "devdax", "dev", 4 * KiB),
        make_case(b, 8 * MiB, "raw"),
        make_case(b, 1536 * MiB, "fsdax", "dev", 1 * GiB),  # ndctl: size not a multiple of align
        make_case(b, 256 * MiB, "fsdax", "dev", 64 * KiB),  # align the kernel does not list
        make_case(b, 256 * MiB, "devdax", "mem", 64 * KiB),
        make_case(b, 256 * MiB, "sector", sector_size=512),
        make_case(b, 3 * GiB, "fsdax", "mem", 1 * GiB),
        make_case(b, 3 * GiB, "devdax", "dev", 1 * GiB),
        make_case(b, 48 * MiB, "fsdax", "dev", 2 * MiB),
        make_case(b, 48 * MiB, "devdax", "mem", 2 * MiB),
        make_case(b, 144 * MiB, "fsdax", "mem", 2 * MiB),  # not a multiple of a 128 MiB section
        make_case(b, 144 * MiB, "fsdax", "dev", 2 * MiB),
        make_case(b, 64 * MiB, "raw"),
        make_case(b, 64 * MiB, "raw", tag="repeat"),  # noise baseline: repeat of the above
        make_case(b, 1 * GiB, "system-ram", "dev", 2 * MiB),  # devdax -> dax/kmem
        make_case(b, 2 * GiB, "system-ram", "mem", 1 * GiB),
        # daxctl, and the memmap_on_memory request without the boot switch (refused or ignored)
        make_case(b, 1 * GiB, "system-ram", "mem", 2 * MiB, via="daxctl"),
        make_case(b, 1 * GiB, "system-ram", "mem", 2 * MiB, via="daxctl", memmap_on_memory=True),
    ]
    # dax/kmem cases get a boot each: a kernel that onlines hot-added memory into ZONE_NORMAL
    # itself (Debian 6.12) may not let it go again, and the region would stay taken
    ram = [c for c in out if c["mode"] == "system-ram"]
    for i, c in enumerate(ram):
        c["boot"] = f"ram{i}"
    out = [c for c in out if c["mode"] != "system-ram"] + ram
    out += labelless_cases("e820", "e820", 2 * GiB)
    out += labelless_cases("virtio", "virtio", 2 * GiB)
    # booted with memory_hotplug.memmap_on_memory=1: dax/kmem with and without the request
    out += [
        make_case("mom0", 1 * GiB, "system-ram", "mem", 2 * MiB, via="daxctl", boot_args=MOM),
        make_case("mom1", 1 * GiB, "system-ram", "mem", 2 * MiB, via="daxctl",
                  memmap_on_memory=True, boot_args=MOM),
        make_case("mom2", 2 * GiB, "system-ram", "dev", 2 * MiB, via="daxctl",
                  memmap_on_memory=True, boot_args=MOM),
    ]
    return out


def ci_cases_short() -> list[dict]:
    """The CI subset of every kernel after the first: one case per kind of check (usable, DRAM
    with and without dedup, PUD faults, a kernel refusal, e820, virtio-pmem, daxctl system-ram),
    so that CI boots each kernel once and stays short."""
    b = "ci"
    return [
        make_case(b, 256 * MiB, "fsdax", "mem", 2 * MiB, probe=True),
        make_case(b, 1 * GiB, "devdax", "mem", 2 * MiB, probe=True),
        make_case(b, 2 * GiB, "devdax", "mem", 1 * GiB),
        make_case(b, 1 * GiB, "fsdax", "dev", 1 * GiB),  # kernel refuses: cannot satisfy align
        make_case(b, 512 * MiB, "raw", probe=True, region="e820"),
        make_case(b, 512 * MiB, "devdax", "mem", 2 * MiB, probe=True, region="virtio"),
        make_case(b, 1 * GiB, "system-ram", "mem", 2 * MiB, via="daxctl"),
    ]


def subset(name: str, series: str = "6.1") -> list[dict]:
    """The case list of a subset on a kernel version (``series``): the full run is the same on
    every kernel; CI boots the whole CI list on 6.1 and a shorter one on later kernels."""
    if name == "ci":
        return ci_cases() if series == "6.1" else ci_cases_short()
    if name == "full":
        return full_cases()
    raise SystemExit(f"unknown subset {name!r} (ci|full)")


if __name__ == "__main__":
    json.dump(subset(sys.argv[1] if len(sys.argv) > 1 else "ci"), sys.stdout, indent=1)
