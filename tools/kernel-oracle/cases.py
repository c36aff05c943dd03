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
  args        the ndctl create-namespace arguments (after -r REGION)
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
) -> dict:
    # system-ram = a devdax namespace reconfigured to dax/kmem in the guest (kmem_probe in init.sh)
    args = ["--mode", "devdax" if mode == "system-ram" else mode, "--size", human(size)]
    if map_:
        args += ["--map", map_]
    if align:
        args += ["--align", human(align)]
    if sector_size:
        args += ["--sector-size", str(sector_size)]
    parts = (
        [mode, human(size)]
        + ([map_] if map_ else [])
        + ([f"a{human(align)}"] if align else [])
        + ([f"s{sector_size}"] if sector_size else [])
        + ([tag] if tag else [])
    )
    return {
        "id": "-".join(parts),
        "boot": boot,
        "size": size,
        "mode": mode,
        "map": map_,
        "align": align,
        "sector_size": sector_size,
        "probe": 1 if probe else 0,
        "args": args,
    }


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
        make_case(
            b, 1 * GiB, "system-ram", "mem", 2 * MiB
        ),  # devdax -> dax/kmem (last: it re-plugs RAM)
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
    ]
    return out


def subset(name: str) -> list[dict]:
    if name == "ci":
        return ci_cases()
    if name == "full":
        return full_cases()
    raise SystemExit(f"unknown subset {name!r} (ci|full)")


if __name__ == "__main__":
    json.dump(subset(sys.argv[1] if len(sys.argv) > 1 else "ci"), sys.stdout, indent=1)
