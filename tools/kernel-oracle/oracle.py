#!/usr/bin/env python3
"""Kernel oracle: boot Debian's 6.1 kernel under QEMU with emulated NVDIMMs and record what it does.

  oracle.py fetch                  apt-get install the tools; apt-get download + dpkg -x the kernel
  oracle.py run --subset ci|full   build the initramfs, boot once per case group, write results
  compare.py RESULTS.json          compare a results file with the model

Everything downloaded or built goes under tools/kernel-oracle/.cache/ (git-ignored).
"""

from __future__ import annotations

import argparse
import gzip
import json
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
sys.path.insert(0, str(HERE))

import cases as cases_mod  # noqa: E402
import results as results_mod  # noqa: E402

CACHE = Path(os.environ.get("KORACLE_CACHE", HERE / ".cache"))
KERNEL_PKG_RE = r"^linux-image-6\.1\.0-(\d+)-amd64-unsigned$"
APT_PKGS = [
    "qemu-system-x86",
    "busybox-static",
    "ndctl",
    "kmod",
    "rdma-core",
    "ibverbs-providers",
    "libibverbs-dev",
    "iproute2",
    "e2fsprogs",
    "gcc",
    "libc6-dev",
]
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
GUEST_BINARIES = ["/usr/bin/ndctl", "/usr/sbin/mkfs.ext4", "/usr/bin/rdma", "/usr/sbin/ip"]
PROVIDER_LIB = "/usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav34.so"


def log(msg: str) -> None:
    print(f"[oracle {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, **kw)


# --------------------------------------------------------------------------- fetch
def newest_kernel_package() -> str:
    out = subprocess.run(
        ["apt-cache", "search", "--names-only", r"^linux-image-6\.1\.0-.*-amd64-unsigned$"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = [ln.split()[0] for ln in out.splitlines() if re.match(KERNEL_PKG_RE, ln.split()[0])]
    if not names:
        raise SystemExit("no linux-image-6.1.0-*-amd64-unsigned in apt (run apt-get update)")
    return max(names, key=lambda n: int(re.match(KERNEL_PKG_RE, n).group(1)))


def fetch(update: bool = True) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    missing = [
        p for p in APT_PKGS if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode
    ]
    if missing or update:
        if update or missing:
            log("apt-get update")
            sh(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL)
        if missing:
            log(f"apt-get install {' '.join(missing)}")
            sh(
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                stdout=subprocess.DEVNULL,
            )
    pkg = os.environ.get("KORACLE_KERNEL_PKG") or newest_kernel_package()
    debs = sorted(CACHE.glob(f"{pkg}_*.deb"))
    if not debs:
        log(f"apt-get download {pkg}")
        sh(["apt-get", "download", pkg], cwd=CACHE, stderr=subprocess.DEVNULL)
        debs = sorted(CACHE.glob(f"{pkg}_*.deb"))
    deb = debs[-1]
    kdir = CACHE / deb.stem
    if not (kdir / "boot").is_dir():
        log(f"dpkg -x {deb.name}")
        tmp = kdir.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        sh(["dpkg", "-x", str(deb), str(tmp)])
        tmp.rename(kdir)
    return kdir


def kernel_info(kdir: Path) -> dict:
    vmlinuz = next((kdir / "boot").glob("vmlinuz-*"))
    kver = vmlinuz.name[len("vmlinuz-") :]
    deb_version = kdir.name.split("_")[1]
    qemu = subprocess.run(
        ["qemu-system-x86_64", "--version"], capture_output=True, text=True
    ).stdout.splitlines()[0]
    ndctl = subprocess.run(["ndctl", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "package": kdir.name.split("_")[0],
        "deb_version": deb_version,
        "kernel_release": kver,
        "vmlinuz": str(vmlinuz),
        "config": str(kdir / "boot" / f"config-{kver}"),
        "qemu": qemu,
        "ndctl": ndctl,
    }


# --------------------------------------------------------------------------- initramfs
def ldd_libs(path: str) -> set[str]:
    out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    libs = set()
    for line in out.splitlines():
        m = re.search(r"=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if m:
            libs.add(m.group(1))
    return libs


def module_closure(moddir: Path, wanted: list[str]) -> list[str]:
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

    for w in wanted:
        rel = byname.get(w.replace("-", "_"))
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
        probe = "k" if c["mode"] == "system-ram" else c["probe"]
        lines.append(
            f"run_case {shlex.quote(c['id'])} region0 {probe} {maplen} -- "
            + " ".join(shlex.quote(a) for a in c["args"])
        )
    return "\n".join(lines) + "\n"


def build_initramfs(kdir: Path, info: dict, cases: list[dict], out: Path) -> Path:
    kver = info["kernel_release"]
    moddir = kdir / "lib" / "modules" / kver
    if not (moddir / "modules.dep").exists():
        log("depmod for the extracted kernel tree")
        sh(["depmod", "-b", str(kdir), kver])
    probes = build_probes(CACHE / "probes")
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
    mods = module_closure(moddir, MODULES)
    stage = CACHE / "modstage"
    shutil.rmtree(stage, ignore_errors=True)
    sdir = stage / "lib" / "modules" / kver
    for rel in mods:
        dst = sdir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(moddir / rel, dst)
    for f in ("modules.builtin", "modules.order", "modules.builtin.modinfo"):
        if (moddir / f).exists():
            shutil.copy2(moddir / f, sdir / f)
    sh(["depmod", "-b", str(stage), kver])
    for p in sorted(stage.rglob("*")):
        if p.is_file():
            c.file(str(p.relative_to(stage)), p.read_bytes(), 0o644)
    c.file("init", (HERE / "guest" / "init.sh").read_bytes(), 0o755)
    c.file("cases.sh", cases_script(cases).encode(), 0o644)
    c.file("etc/passwd", b"root:x:0:0:root:/:/bin/sh\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.compress(c.bytes(), compresslevel=1))
    log(
        f"initramfs {out} ({out.stat().st_size >> 20} MiB, {len(mods)} modules, {len(cases)} cases)"
    )
    return out


# --------------------------------------------------------------------------- boot
def boot(
    info: dict,
    initrd: Path,
    workdir: Path,
    region_bytes: int,
    ncases: int,
    guest_mem: str = "3G",
    accel: str = "tcg",
    smp: int = 2,
) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    img = workdir / "nvdimm0.img"
    if img.exists():
        img.unlink()
    label = 128 << 10
    backing = region_bytes + (2 << 20)  # QEMU puts the label area at the end; keep 2 MiB alignment
    with open(img, "wb") as fh:
        fh.truncate(backing)  # sparse
    console, results = workdir / "console.log", workdir / "serial1.txt"
    for f in (console, results):
        f.unlink(missing_ok=True)
    maxmem = (region_bytes >> 30) + 16
    cmd = [
        "qemu-system-x86_64",
        "-machine",
        f"pc,nvdimm=on,accel={accel}",
        "-cpu",
        "max",
        "-smp",
        str(smp),
        "-m",
        f"{guest_mem},slots=4,maxmem={maxmem}G",
        "-kernel",
        info["vmlinuz"],
        "-initrd",
        str(initrd),
        "-append",
        "console=ttyS0 panic=-1 oops=panic loglevel=4 rdinit=/init",
        "-object",
        f"memory-backend-file,id=nvmem0,share=on,mem-path={img},size={backing}",
        "-device",
        f"nvdimm,id=nv0,memdev=nvmem0,label-size={label}",
        "-nic",
        "user,model=e1000",
        "-display",
        "none",
        "-monitor",
        "none",
        "-no-reboot",
        "-serial",
        f"file:{console}",
        "-serial",
        f"file:{results}",
    ]
    tmo = 240 + 120 * ncases
    log(f"boot: {ncases} cases, region {region_bytes >> 20} MiB, timeout {tmo}s")
    t0 = time.monotonic()
    proc = subprocess.run(
        ["timeout", "--kill-after=10", str(tmo), *cmd], capture_output=True, text=True
    )
    wall = time.monotonic() - t0
    log(f"boot finished rc={proc.returncode} in {wall:.0f}s")
    img.unlink(missing_ok=True)
    return {
        "qemu_cmd": cmd,
        "qemu_rc": proc.returncode,
        "qemu_stderr": proc.stderr[-4000:],
        "wall_seconds": round(wall, 1),
        "timed_out": proc.returncode in (124, 137),
        "serial": results.read_text(errors="replace") if results.exists() else "",
        "console_tail": console.read_text(errors="replace")[-6000:] if console.exists() else "",
    }


def run(
    subset: str,
    out: Path,
    only_boots: list[str] | None = None,
    no_update: bool = False,
    cases_file: str | None = None,
) -> dict:
    kdir = fetch(update=not no_update)
    info = kernel_info(kdir)
    all_cases = json.loads(Path(cases_file).read_text()) if cases_file else cases_mod.subset(subset)
    boots: dict[str, list[dict]] = {}
    for c in all_cases:
        boots.setdefault(c["boot"], []).append(c)
    doc = {
        "schema": 1,
        "subset": subset,
        "kernel": info,
        "host": {"uname": os.uname().release, "nproc": os.cpu_count()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "boots": [],
        "cases": [],
    }
    for name, cs in boots.items():
        if only_boots and name not in only_boots:
            continue
        initrd = CACHE / "work" / name / "initrd.gz"
        build_initramfs(kdir, info, cs, initrd)
        region = max(max(c["size"] for c in cs) + (1 << 30), 4 << 30)
        r = boot(info, initrd, CACHE / "work" / name, region, len(cs))
        parsed = results_mod.parse_serial(r["serial"])
        got = {c["id"] for c in parsed["cases"]}
        meta = {k: v for k, v in r.items() if k not in ("serial",)}
        meta.update(
            name=name,
            n_cases=len(cs),
            region_bytes=region,
            boot_info=parsed["boot"],
            missing_cases=[c["id"] for c in cs if c["id"] not in got],
        )
        if meta["missing_cases"] or r["qemu_rc"] != 0:
            log(f"boot {name}: rc={r['qemu_rc']} missing={meta['missing_cases']}")
        else:
            meta.pop("console_tail", None)
        doc["boots"].append(meta)
        spec = {c["id"]: c for c in cs}
        for pc in parsed["cases"]:
            pc["spec"] = spec.get(pc["id"])
            for dup in (
                "list",
                "probe",
                "ibv",
                "stdout",
                "stderr",
            ):  # parsed copies live at top level
                pc["blocks"].pop(dup, None)
            doc["cases"].append(pc)
        (CACHE / "work" / name / "serial1.txt").write_text(r["serial"])
    doc["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    out.parent.mkdir(parents=True, exist_ok=True)
    # keep Debian's config of this kernel beside the results, so the comparison can use it later
    cfg_name = f"config-{info['kernel_release']}.xz"
    (out.parent / cfg_name).write_bytes(lzma.compress(Path(info["config"]).read_bytes()))
    doc["kernel"]["config_file"] = cfg_name
    out.write_text(json.dumps(doc, indent=1) + "\n")
    log(f"wrote {out} ({len(doc['cases'])} cases)")
    return doc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch")
    r = sub.add_parser("run")
    r.add_argument("--subset", default="ci", choices=["ci", "full"])
    r.add_argument("--out", type=Path)
    r.add_argument("--boot", action="append", help="only these boots (case groups)")
    r.add_argument("--no-update", action="store_true", help="skip apt-get update")
    r.add_argument("--cases", help="a JSON case list instead of --subset (see cases.py)")
    cs = sub.add_parser("cases")
    cs.add_argument("--subset", default="ci")
    a = ap.parse_args(argv)
    if a.cmd == "fetch":
        print(json.dumps(kernel_info(fetch()), indent=1))
    elif a.cmd == "cases":
        print(json.dumps(cases_mod.subset(a.subset), indent=1))
    elif a.cmd == "run":
        out = a.out or (CACHE / f"results-{a.subset}.json")
        doc = run(a.subset, out, a.boot, a.no_update, a.cases)
        bad = [b for b in doc["boots"] if b["missing_cases"] or b["qemu_rc"] != 0]
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
