#!/usr/bin/env python3
"""arm64 attempt: boot Debian's arm64 6.12 under qemu-system-aarch64 (virt, UEFI, one NVDIMM).

  arm64.py [--timeout SECONDS]

A smoke boot, not the full oracle: the initramfs holds the static arm64 busybox and the NVDIMM
modules only (no ndctl: its arm64 libraries would have to be collected as well), and the guest
prints what the kernel made of the NVDIMM: the nd bus devices, the region's size and align, and
the alignments the pfn and dax seeds offer (drivers/nvdimm/pfn_devs.c
nd_pfn_supported_alignments). Needs qemu-system-arm, qemu-efi-aarch64, and
`apt-get download linux-image-6.12.*-arm64-unsigned:arm64 busybox-static:arm64` (dpkg
--add-architecture arm64). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import lzma
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from initramfs import CACHE, Cpio, _strip_ko, log, module_closure, sh  # noqa: E402

FIRMWARE = "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"
MODULES = ["nfit", "libnvdimm", "nd_pmem", "nd_btt", "dax_pmem", "device_dax"]
INIT = """#!/bin/sh
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
echo "@@UP $(cut -d' ' -f1 /proc/uptime)"
echo "@@UNAME $(uname -r)"
for m in nfit nd_pmem nd_btt dax_pmem device_dax; do modprobe $m || echo "@@MODPROBE_FAIL $m"; done
i=0; while [ ! -e /sys/bus/nd/devices/region0 ] && [ $i -lt 30 ]; do sleep 1; i=$((i+1)); done
echo "@@ND $(ls /sys/bus/nd/devices | tr '\\n' ' ')"
for f in /sys/bus/nd/devices/region*/size /sys/bus/nd/devices/region*/align \\
	/sys/bus/nd/devices/*/supported_alignments /sys/bus/nd/devices/ndbus*/provider; do
	[ -r "$f" ] && echo "@@SYSFS $f $(cat $f)"
done
dmesg | grep -iE 'nfit|nvdimm|pmem|nd_|acpi: nfit' | sed 's/^/@@DMESG /'
echo "@@DONE $(cut -d' ' -f1 /proc/uptime)"
poweroff -f
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timeout", type=int, default=900)
    a = ap.parse_args(argv)
    kdirs = sorted(glob.glob(str(CACHE / "linux-image-6.12.*-arm64-unsigned_*_arm64")))
    bb = CACHE / "bb-arm64" / "bin" / "busybox"
    if not kdirs or not bb.exists():
        print("need the arm64 kernel and busybox-static extracted in .cache (see the docstring)")
        return 2
    kdir = Path(kdirs[-1])
    kver = next((kdir / "boot").glob("vmlinuz-*")).name[len("vmlinuz-"):]
    moddir = kdir / "lib" / "modules" / kver
    if not (moddir / "modules.dep").exists():
        sh(["depmod", "-b", str(kdir), kver])
    c = Cpio()
    for d in ("bin", "proc", "sys", "dev", "tmp"):
        c.dir(d)
    c.file("bin/busybox", bb.read_bytes(), 0o755)
    for applet in ("sh", "mount", "cat", "ls", "tr", "sed", "grep", "dmesg", "modprobe", "sleep",
                   "cut", "uname", "poweroff"):
        c.symlink(f"bin/{applet}", "busybox")
    stage = CACHE / "modstage-arm64"
    shutil.rmtree(stage, ignore_errors=True)
    sdir = stage / "lib" / "modules" / kver
    for rel in module_closure(moddir, MODULES):
        dst = sdir / _strip_ko(rel)
        dst.parent.mkdir(parents=True, exist_ok=True)
        data = (moddir / rel).read_bytes()
        dst.write_bytes(lzma.decompress(data) if rel.endswith(".xz") else data)
    sh(["depmod", "-b", str(stage), kver])
    for p in sorted(stage.rglob("*")):
        if p.is_file():
            c.file(str(p.relative_to(stage)), p.read_bytes(), 0o644)
    c.file("init", INIT.encode(), 0o755)
    work = CACHE / "work" / "arm64"
    work.mkdir(parents=True, exist_ok=True)
    initrd = work / "initrd.gz"
    initrd.write_bytes(gzip.compress(c.bytes(), compresslevel=1))
    img = work / "nvdimm0.img"
    with open(img, "wb") as fh:
        fh.truncate((1 << 30) + (2 << 20))
    console = work / "console.log"
    console.unlink(missing_ok=True)
    cmd = [
        "qemu-system-aarch64", "-machine", "virt,nvdimm=on,gic-version=3", "-cpu", "max",
        "-smp", "2", "-m", "2G,slots=2,maxmem=8G", "-bios", FIRMWARE,
        "-kernel", str(next((kdir / "boot").glob("vmlinuz-*"))), "-initrd", str(initrd),
        "-append", "console=ttyAMA0 panic=-1 loglevel=4 rdinit=/init",
        "-object",
        f"memory-backend-file,id=nvmem0,share=on,mem-path={img},size={(1 << 30) + (2 << 20)}",
        "-device", "nvdimm,id=nv0,memdev=nvmem0,label-size=131072",
        "-display", "none", "-monitor", "none", "-no-reboot", "-serial", f"file:{console}",
    ]
    log(f"arm64 boot, timeout {a.timeout}s")
    t0 = time.monotonic()
    proc = subprocess.run(["timeout", "--kill-after=10", str(a.timeout), *cmd],
                          capture_output=True, text=True)
    wall = time.monotonic() - t0
    img.unlink(missing_ok=True)
    text = console.read_text(errors="replace") if console.exists() else ""
    recs = [ln[2:] for ln in text.splitlines() if ln.startswith("@@")]
    print(json.dumps({
        "kernel": kdir.name, "qemu_rc": proc.returncode, "wall_seconds": round(wall, 1),
        "qemu_stderr": proc.stderr[-2000:], "records": recs,
        "console_tail": text[-3000:] if not any(r.startswith("DONE") for r in recs) else "",
    }, indent=1))
    return 0 if any(r.startswith("DONE") for r in recs) else 1


if __name__ == "__main__":
    sys.exit(main())
