"""The oracle guest's initramfs: busybox, the kernel's modules, ndctl/daxctl and the probes.

Written by a small newc cpio writer (no external cpio). Modules come with their modules.dep
closure; compressed modules (Debian's 6.12 ships .ko.xz) are decompressed into the initramfs, so
busybox modprobe loads them with plain init_module whatever its own xz support.
"""

from __future__ import annotations

import gzip
import lzma
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("KORACLE_CACHE", HERE / ".cache"))
MODULES = [
    "nfit",
    "libnvdimm",
    "nd_pmem",
    "nd_btt",
    "dax_pmem",
    "device_dax",
    "kmem",
    "loop",
    "ext4",
    "crc32c_generic",
    "crc32_generic",
    "e1000",
    "rdma_rxe",
    "ib_uverbs",
]
# loaded only in boots that have such a region (cases.env EXTRA_MODULES)
REGION_MODULES = {
    "e820": ["nd_e820"],
    "virtio": ["virtio_pci", "virtio_pmem", "nd_virtio"],
}
GUEST_BINARIES = [
    "/usr/bin/ndctl",
    "/usr/bin/daxctl",
    "/usr/sbin/mkfs.ext4",
    "/usr/bin/rdma",
    "/usr/sbin/ip",
]
PROVIDER_LIB = "/usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav34.so"


def log(msg: str) -> None:
    print(f"[oracle {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, **kw)


def _strip_ko(rel: str) -> str:
    """modules.dep path -> the uncompressed name it gets in the initramfs."""
    return re.sub(r"\.ko\.(xz|zst|gz)$", ".ko", rel)


def ldd_libs(path: str) -> set[str]:
    out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    libs = set()
    for line in out.splitlines():
        m = re.search(r"=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if m:
            libs.add(m.group(1))
    return libs


def module_closure(moddir: Path, wanted: list[str]) -> list[str]:
    """Every module ``wanted`` needs, dependencies first (paths as modules.dep names them)."""
    dep: dict[str, list[str]] = {}
    for line in (moddir / "modules.dep").read_text().splitlines():
        k, _, v = line.partition(":")
        dep[k] = v.split()
    byname = {Path(k).name.split(".ko")[0].replace("-", "_"): k for k in dep}
    seen: list[str] = []

    def add(rel: str) -> None:
        if rel in seen:
            return
        for d in dep.get(rel, []):
            add(d)
        seen.append(rel)

    builtin_file = moddir / "modules.builtin"
    builtin = builtin_file.read_text() if builtin_file.exists() else ""
    for w in wanted:
        rel = byname.get(w.replace("-", "_"))
        if rel is None and re.search(rf"/{re.escape(w)}\.ko$", builtin, re.M):
            continue  # built into the kernel (6.12: virtio_pci)
        if rel is None:
            raise SystemExit(f"module {w} not in {moddir}")
        add(rel)
    return seen


class Cpio:
    """Minimal newc writer (no external cpio needed)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.ino = 1
        self.names: set[str] = set()

    def _hdr(self, name: str, mode: int, size: int, nlink: int = 1, target: bytes = b"") -> None:
        nm = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(nm), 0]
        self.ino += 1
        h = b"070701" + b"".join(b"%08X" % f for f in fields) + nm
        h += b"\0" * ((4 - len(h) % 4) % 4)
        self.chunks.append(h)

    def _data(self, data: bytes) -> None:
        self.chunks.append(data + b"\0" * ((4 - len(data) % 4) % 4))

    def dir(self, name: str) -> None:
        name = name.strip("/")
        if not name or name in self.names:
            return
        parent = os.path.dirname(name)
        if parent:
            self.dir(parent)
        self.names.add(name)
        self._hdr(name, 0o40755, 0, 2)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        name = name.strip("/")
        if name in self.names:
            return
        self.dir(os.path.dirname(name))
        self.names.add(name)
        self._hdr(name, 0o100000 | mode, len(data))
        self._data(data)

    def symlink(self, name: str, target: str) -> None:
        name = name.strip("/")
        if name in self.names:
            return
        self.dir(os.path.dirname(name))
        self.names.add(name)
        t = target.encode()
        self._hdr(name, 0o120777, len(t))
        self._data(t)

    def host_file(self, path: str, dest: str | None = None) -> None:
        """Copy a host file, following symlinks but keeping the symlink name too."""
        p = Path(path)
        dest = dest or path
        real = p.resolve()
        if p.is_symlink() and dest == path:
            self.symlink(
                dest,
                os.path.relpath(real, p.parent) if real.parent == p.parent.resolve() else str(real),
            )
            self.host_file(str(real))
            return
        self.file(dest, real.read_bytes(), real.stat().st_mode & 0o777)

    def bytes(self) -> bytes:
        self._hdr("TRAILER!!!", 0, 0)
        return b"".join(self.chunks)


def build_probes(outdir: Path) -> dict[str, Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    g = HERE / "guest"
    dax = outdir / "daxprobe"
    ibv = outdir / "ibvprobe"
    sh(["gcc", "-O2", "-Wall", "-static", "-o", str(dax), str(g / "daxprobe.c")])
    sh(["gcc", "-O2", "-Wall", "-o", str(ibv), str(g / "ibvprobe.c"), "-libverbs"])
    return {"daxprobe": dax, "ibvprobe": ibv}


def cases_script(cases: list[dict]) -> str:
    lines = ["# generated by tools/kernel-oracle/oracle.py"]
    for c in cases:
        # >= 4 x 2 MiB so that the page-table growth tells PTE from PMD faults (daxprobe.c)
        maplen = max(c.get("align") or 0, 8 << 20)
        if c["mode"] in ("raw", "sector", "fsdax"):
            maplen = 8 << 20
        probe = c["probe"]
        if c["mode"] == "system-ram":
            # k: dax/kmem through sysfs; d0/d1: daxctl, d1 asking for memmap_on_memory
            via = c.get("via", "sysfs")
            probe = "k" if via == "sysfs" else f"d{1 if c.get('memmap_on_memory') else 0}"
        lines.append(
            f"run_case {shlex.quote(c['id'])} {c.get('region', 'nfit')} {probe} {maplen} -- "
            + " ".join(shlex.quote(a) for a in c["args"])
        )
    return "\n".join(lines) + "\n"


def build_initramfs(
    kdir: Path, info: dict, cases: list[dict], out: Path, regions: list[str]
) -> Path:
    kver = info["kernel_release"]
    moddir = kdir / "lib" / "modules" / kver
    if not (moddir / "modules.dep").exists():
        log("depmod for the extracted kernel tree")
        sh(["depmod", "-b", str(kdir), kver])
    probes = build_probes(CACHE / f"probes-{kver}")
    c = Cpio()
    for d in (
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "proc",
        "sys",
        "dev",
        "tmp",
        "mnt",
        "run",
        "etc",
        "lib/x86_64-linux-gnu",
        "usr/lib/x86_64-linux-gnu",
    ):
        c.dir(d)
    c.symlink("lib64", "lib")
    c.file("bin/busybox", Path("/bin/busybox").read_bytes(), 0o755)
    applets = subprocess.run(
        ["/bin/busybox", "--list"], capture_output=True, text=True
    ).stdout.split()
    for a in applets:
        if a in ("busybox",):
            continue
        c.symlink(f"bin/{a}", "busybox")
    c.symlink("sbin/modprobe", "../bin/busybox")
    libs: set[str] = set()
    for b in GUEST_BINARIES + [str(probes["ibvprobe"]), PROVIDER_LIB]:
        libs |= ldd_libs(b)
    for b in GUEST_BINARIES:
        c.file(b.lstrip("/"), Path(b).read_bytes(), 0o755)
    c.file("usr/bin/daxprobe", probes["daxprobe"].read_bytes(), 0o755)
    c.file("usr/bin/ibvprobe", probes["ibvprobe"].read_bytes(), 0o755)
    c.file(PROVIDER_LIB.lstrip("/"), Path(PROVIDER_LIB).read_bytes(), 0o755)
    c.file("etc/libibverbs.d/rxe.driver", b"driver rxe\n")
    for lib in sorted(libs):
        real = Path(lib).resolve()
        c.file(lib.lstrip("/"), real.read_bytes(), 0o755)
    c.file(
        "lib64/ld-linux-x86-64.so.2",
        Path("/lib64/ld-linux-x86-64.so.2").resolve().read_bytes(),
        0o755,
    ) if "lib64/ld-linux-x86-64.so.2" not in c.names else None
    # kernel modules: closure of MODULES, then depmod on the initramfs tree
    extra = [m for k in regions for m in REGION_MODULES.get(k, [])]
    mods = module_closure(moddir, MODULES + extra)
    stage = CACHE / f"modstage-{kver}"  # per kernel: runs of two kernels may overlap
    shutil.rmtree(stage, ignore_errors=True)
    sdir = stage / "lib" / "modules" / kver
    for rel in mods:
        dst = sdir / _strip_ko(rel)
        dst.parent.mkdir(parents=True, exist_ok=True)
        data = (moddir / rel).read_bytes()
        if rel.endswith(".xz"):
            data = lzma.decompress(data)
        elif rel.endswith(".gz"):
            data = gzip.decompress(data)
        elif rel.endswith(".zst"):
            data = subprocess.run(
                ["zstd", "-dc", str(moddir / rel)], capture_output=True, check=True
            ).stdout
        dst.write_bytes(data)
    for f in ("modules.builtin", "modules.order", "modules.builtin.modinfo"):
        if (moddir / f).exists():
            shutil.copy2(moddir / f, sdir / f)
    sh(["depmod", "-b", str(stage), kver])
    for p in sorted(stage.rglob("*")):
        if p.is_file():
            c.file(str(p.relative_to(stage)), p.read_bytes(), 0o644)
    c.file("init", (HERE / "guest" / "init.sh").read_bytes(), 0o755)
    c.file("cases.sh", cases_script(cases).encode(), 0o644)
    env = f"REGIONS='{' '.join(regions)}'\nEXTRA_MODULES='{' '.join(extra)}'\n"
    c.file("cases.env", env.encode(), 0o644)
    c.file("etc/passwd", b"root:x:0:0:root:/:/bin/sh\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.compress(c.bytes(), compresslevel=1))
    log(
        f"initramfs {out} ({out.stat().st_size >> 20} MiB, {len(mods)} modules, {len(cases)} cases)"
    )
    return out


