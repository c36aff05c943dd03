"""What the model predicts for one oracle case: refusal, usable bytes, DRAM, feature verdicts.

Two interchangeable backends behind one small interface (``predict(spec, start) -> Prediction``):

* :class:`PolicyModel` asks pmempolicy itself: ``policy.runtime.candidates_for`` (the engine behind
  ``pmempolicy evaluate``) for an ``nvdimm`` device of the case's size under Debian's amd64 build,
  falling back to ``policy.costs`` + ``policy.features`` directly where the engine or the build
  loader is not available. This is the default.
* :class:`ReferenceModel` is a small independent transcription of the reference
  (``kernel-6.1-pmem.md`` section 4 formula, section 6 feature matrix). It was the adapter used
  before ``policy.costs`` landed and is kept as a cross-check of the model itself.

Both take ``struct_page_size`` so that a deliberately wrong model (60 bytes per page) can be built.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
PAGE = 4096
REPO = Path(__file__).resolve().parents[2]

# Features the guest probes (see guest/daxprobe.c, guest/ibvprobe.c, guest/init.sh).
PROBED_FEATURES = (
    "dax_mmap",
    "map_sync",
    "gup_dax_mapping",
    "longterm_pin",
    "o_direct_dax_file",
    "block_io",
    "sector_atomic",
    "system_ram",
    "pmd_faults",
    "pud_faults",
)
MEMORY_BLOCK = 128 * MiB  # x86_64 memory_block_size_bytes() for a guest this small


@dataclass(frozen=True)
class Prediction:
    refused: bool
    refused_by: Optional[str] = None  # "ndctl" | "kernel" | None
    reason: str = ""
    usable: Optional[int] = None  # what `ndctl list` prints as size
    dram: Optional[int] = None  # DRAM bytes spent on struct pages (+ vmemmap PTEs)
    features: dict = field(default_factory=dict)  # name -> bool
    source: str = ""


# --------------------------------------------------------------------------- reference adapter
class ReferenceModel:
    """Section 4 of the reference, transcribed independently of policy.costs."""

    name = "reference"

    def __init__(self, struct_page_size: int = 64, dedup_arch: bool = True) -> None:
        self.sp = struct_page_size
        self.dedup_arch = dedup_arch

    def capabilities(self) -> dict:
        return {
            "sector": [512, 520, 528, 4096, 4104, 4160, 4224],
            "fsdax": [4 * KiB, 2 * MiB, 1 * GiB],
            "devdax": [4 * KiB, 2 * MiB, 1 * GiB],
        }

    def predict(self, spec: dict, start: int = 0) -> Prediction:
        mode, size, map_, align = spec["mode"], spec["size"], spec.get("map"), spec.get("align")
        feats = reference_features(mode, map_, align)
        if size % (16 * MiB):
            # ndctl: every size must be a multiple of the region align (16 MiB default in 6.1)
            return Prediction(
                True, "ndctl", "size not a multiple of the region align", source=self.name
            )
        if mode == "raw":
            return Prediction(False, usable=size, dram=0, features=feats, source=self.name)
        if mode == "sector":
            return Prediction(
                False,
                usable=_btt_usable(size, spec.get("sector_size") or 4096),
                dram=0,
                features=feats,
                source=self.name,
            )
        if mode == "system-ram":
            base = self.predict({**spec, "mode": "devdax"}, start)
            if base.refused:
                return base
            dataoff = size - base.usable - ((start + size) % max(align, 2 * MiB))
            # drivers/dax/kmem.c dax_kmem_range(): hot-add only whole memory blocks
            lo = -(-(start + dataoff) // MEMORY_BLOCK) * MEMORY_BLOCK
            hi = (start + dataoff + base.usable) // MEMORY_BLOCK * MEMORY_BLOCK
            if hi <= lo:
                # dev_dax_kmem_probe: "rejecting DAX region without any memory after alignment"
                return Prediction(True, "kernel", "no whole memory block", source=self.name)
            return Prediction(
                False,
                usable=hi - lo,  # the onlined System RAM
                dram=(hi - lo) // PAGE * self.sp,
                features={"system_ram": True},
                source=self.name,
            )
        if align not in (4 * KiB, 2 * MiB, 1 * GiB):
            return Prediction(
                True, "ndctl", f"align {align} not in the region's capabilities", source=self.name
            )
        if size % align:
            return Prediction(True, "ndctl", "size not a multiple of align", source=self.name)
        if size < 16 * MiB:
            return Prediction(True, "ndctl", "below 16 MiB", source=self.name)
        a = max(align, 2 * MiB)
        npfns0 = (size - 8 * KiB) // PAGE
        end_trunc = (start + size) - (start + size) // a * a
        if map_ == "dev":
            dataoff = -(-(start + 8 * KiB + self.sp * npfns0) // a) * a - start
        else:
            dataoff = -(-(start + 8 * KiB) // a) * a - start
        if dataoff >= size:
            return Prediction(
                True, "kernel", "unable to satisfy requested alignment", source=self.name
            )
        usable = size - dataoff - end_trunc
        if map_ == "dev":
            # whole 128 MiB sections: vmemmap from the altmap; partial ones: DRAM base pages
            sec, lo, hi = 128 * MiB, start, start + size - end_trunc
            full_lo, full_hi = -(-lo // sec) * sec, hi // sec * sec
            pieces = [hi - lo] if full_lo >= full_hi else [full_lo - lo, hi - full_hi]
            dram = sum(-(-(p // PAGE * self.sp) // PAGE) * PAGE for p in pieces if p > 0)
        elif (
            mode == "devdax"
            and align > 4 * KiB
            and self.dedup_arch
            and self.sp & (self.sp - 1) == 0
        ):
            dram = (size // align) * 2 * PAGE + size // PAGE * self.sp // PAGE * 8
        else:
            dram = size // PAGE * self.sp
        return Prediction(False, usable=usable, dram=dram, features=feats, source=self.name)


def _btt_usable(size: int, lbasize: int) -> int:
    remaining, nlba = size - 4 * KiB, 0
    while remaining:
        arena = min(512 * GiB, remaining)
        remaining -= arena
        if arena < 16 * MiB:
            break
        avail = arena // 4096 * 4096 - 2 * 4096 - 16384
        internal = (avail - 4096) // (lbasize + 4)
        nlba += internal - 256
    return nlba * lbasize


def reference_features(mode: str, map_: Optional[str], align: Optional[int] = None) -> dict:
    """Section 6 feature matrix (Debian amd64, a synchronous NFIT region).

    Fault sizes (measured, see docs/kernel-oracle.md): device-dax faults exactly at its align
    (ndctl: "enforces fault granularity"); fsdax up to PMD whatever its align, because the data
    is always 2 MiB aligned (fs/dax.c handles PTE/PMD only)."""
    dax = mode in ("fsdax", "devdax")
    return {
        # fsdax: the data always starts 2 MiB-aligned (nd_pfn_init A = max(align, 2 MiB)) and
        # fs/dax.c ignores the pfn align, so PMD faults work even with --align 4K;
        # devdax faults at exactly its align (a 1 GiB device maps PUDs only)
        "pmd_faults": mode == "fsdax" or (mode == "devdax" and align == 2 * MiB),
        "pud_faults": mode == "devdax" and (align or 0) >= 1 * GiB,
        "system_ram": mode == "system-ram",
        "dax_mmap": dax,
        "map_sync": dax,
        "gup_dax_mapping": dax,
        "longterm_pin": mode == "devdax",
        "o_direct_dax_file": mode == "fsdax",
        "block_io": mode in ("raw", "sector", "fsdax"),
        "sector_atomic": mode == "sector",
    }


# --------------------------------------------------------------------------- pmempolicy adapter
def _import_policy():
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from policy.decide import costs  # noqa: F401

    return costs


@functools.lru_cache(maxsize=4)
def _debian_build(config_path: Optional[str], series: Optional[str] = None):
    """Debian's amd64 build as policy.kconfig resolves it: the kernel package's own config when
    given (through import-config, which must reproduce every modelled symbol), else the shipped
    ``debian_amd64`` defconfig. Failures propagate: a silent fallback would hide a broken model."""
    _import_policy()
    from policy import kconfig

    if config_path and Path(config_path).is_file():
        rep = kconfig.import_config(Path(config_path))
        if rep.differences:
            raise ValueError(f"model cannot reproduce {rep.differences}")
        return rep.build, f"path: {Path(config_path).name}"
    name = "debian_amd64" if series in (None, "6.1") else f"debian_amd64@{series}"
    return kconfig.load_build(kconfig.find_defconfig(name)), f"shipped: {name}"


# the oracle's region kinds as pmempolicy device types (policy/data/features.yaml device_types)
DEVICE_TYPES = {"nfit": "nvdimm", "e820": "e820", "virtio": "virtio-pmem"}


def _nfit_device(name: str, size: int, start_align: Optional[int], region: str = "nfit"):
    """A bare namespace as a pmempolicy device: no requirements, no budget, no pin. A label-less
    region's namespace (e820, virtio-pmem) exists already: the kernel made it over the region."""
    from policy.profiles import DeviceProfile

    return DeviceProfile(
        name=name, host=None, type=DEVICE_TYPES[region], size=size, start_align=start_align,
        numa_node=None, requires=(), wants=(), budget_dram=None, budget_capacity=None,
        budget_text=None, pin=None, source="kernel-oracle", line=0,
    )


class PolicyModel:
    """pmempolicy's own answer (policy.runtime / policy.costs / policy.features)."""

    name = "pmempolicy"

    def __init__(
        self,
        struct_page_size: int = 64,
        config_path: Optional[str] = None,
        use_engine: bool = True,
        series: Optional[str] = None,
    ) -> None:
        self.costs = _import_policy()
        self.sp = struct_page_size
        self.config_path = config_path or os.environ.get("KORACLE_DEBIAN_CONFIG")
        loaded = _debian_build(self.config_path, series)
        self.build, self.build_source = loaded if loaded else (None, None)
        self.use_engine = use_engine and self.build is not None and struct_page_size == 64
        self.notes: list[str] = []
        if self.build is None:
            self.notes.append(
                "Debian build not loadable via policy.kconfig: feature verdicts from "
                "the reference matrix, dedup assumed (x86_64)"
            )
        else:
            self.notes.append(f"build: {self.build_source}")
        if not self.use_engine:
            self.notes.append("layouts from policy.costs directly (engine bypassed)")
        else:
            self.notes.append(
                "layouts and verdicts from policy.runtime.candidates_for (pmempolicy evaluate)"
            )

    # -- the engine path: what `pmempolicy evaluate` computes for this device
    def _engine(self, spec: dict, start: int) -> Optional[Prediction]:
        from policy.decide import runtime

        dev = _nfit_device(spec["id"], spec["size"], start or None, spec.get("region", "nfit"))
        mode, map_ = spec["mode"], spec.get("map")
        align = spec.get("align") or self.build.page_size
        results = runtime.candidates_for(dev, self.build)
        match = [
            r
            for r in results
            if r.candidate.mode == mode
            and (r.candidate.map or None) == (map_ or None)
            and (r.candidate.align == align or mode in ("raw", "sector"))
        ]
        if not match:
            offered = sorted({r.candidate.align for r in results if r.candidate.mode == mode})
            # no candidate for this align: the model predicts a refusal but not who refuses
            return Prediction(
                True,
                None,
                f"align {align} not offered (model aligns {offered})",
                source="pmempolicy evaluate",
            )
        r = match[0]
        if not r.possible:
            by = r.refused.by if r.refused is not None else "kernel"
            return Prediction(True, by, r.why_impossible, source="pmempolicy evaluate")
        lay = r.layout
        feats = {v.feature: bool(v.enabled) for v in r.features}
        if mode == "sector" and (spec.get("sector_size") or 4096) != 4096:
            lay = self.costs.btt_layout(spec["size"], spec["sector_size"])
        return Prediction(
            False,
            usable=lay.usable,
            dram=lay.dram_memmap,
            features=feats,
            source="pmempolicy evaluate",
        )

    def _direct(self, spec: dict, start: int) -> Prediction:
        c = self.costs
        mode, size, map_, align = spec["mode"], spec["size"], spec.get("map"), spec.get("align")
        feats = self._features(mode, map_, align, spec.get("region", "nfit"))
        # the oracle's NFIT region (>= 128 MiB, one mapping): region_devs.c default_align is
        # 16 MiB and ndctl refuses other sizes, whatever the mode
        region = spec.get("region", "nfit")
        refusal = c.region_align_refusal(size, c.region_default_align(c.GiB))
        if refusal is not None and region == "nfit":
            return Prediction(True, refusal.by, refusal.render(), source="policy.costs")
        if mode == "raw":
            # e820 and virtio-pmem regions are PAGEMAP: the raw namespace gets a memmap in DRAM
            lay = c.raw_layout(size, pagemap=region != "nfit", struct_page_size=self.sp)
        elif mode == "sector":
            lay = c.btt_layout(size, spec.get("sector_size") or 4096)
        elif mode == "system-ram":
            lay = c.system_ram_layout(size, map_, align, start=start, struct_page_size=self.sp)
        else:
            if align not in (4 * KiB, 2 * MiB, 1 * GiB):
                return Prediction(True, None, f"align {align} not supported", source="policy.costs")
            from policy.kconfig import versions

            gate = versions.get(str(getattr(self.build, "kernel", None) or "6.1")).dedup_gate
            dedup_arch = True if self.build is None else self.build.enabled(gate)
            lay = c.pfn_layout(
                size,
                map_,
                align,
                mode=mode,
                start=start,
                struct_page_size=self.sp,
                arch_optimize_vmemmap=dedup_arch,
            )
        if lay.refused is not None:
            return Prediction(True, lay.refused.by, lay.refused.render(), source="policy.costs")
        return Prediction(
            False, usable=lay.usable, dram=lay.dram_memmap, features=feats, source="policy.costs"
        )

    def _features(
        self, mode: str, map_: Optional[str], align: Optional[int], region: str = "nfit"
    ) -> dict:
        if self.build is None:
            return reference_features(mode, map_, align)
        from policy.decide import catalog as F

        cat = F.catalog()
        dt = cat.device_type(DEVICE_TYPES[region])
        pagemap = dt.pagemap and self.build.enabled("ZONE_DEVICE")
        return {
            f.name: bool(
                F.feature_verdict(f, self.build, dt, mode, map_, align or PAGE, pagemap).enabled
            )
            for f in cat.features
        }

    def capabilities(self) -> dict:
        """What the model lets a 16 GiB NFIT namespace use: aligns per mode, BTT sector sizes."""
        out: dict = {"sector": sorted(getattr(self.costs, "BTT_LBASIZES", ()))}
        from policy.decide import runtime

        dev = _nfit_device("caps", 16 * GiB, None)
        results = runtime.candidates_for(dev, self.build) if self.build is not None else []
        for mode in ("fsdax", "devdax"):
            out[mode] = sorted(
                {r.candidate.align for r in results if r.candidate.mode == mode and r.possible}
            )
        return out

    def predict(self, spec: dict, start: int = 0) -> Prediction:
        if self.use_engine:
            p = self._engine(spec, start)
            if p is not None:
                return p
        return self._direct(spec, start)


def config_for(doc: dict, results_path: Optional[Path] = None) -> Optional[str]:
    """The kernel package's config for a results document: the copy beside the results file
    (``kernel.config_file``), else the path it was read from during the run."""
    k = doc.get("kernel") or {}
    if results_path is not None and k.get("config_file"):
        p = Path(results_path).resolve().parent / k["config_file"]
        if p.is_file():
            return str(p)
    if k.get("config") and Path(k["config"]).is_file():
        return k["config"]
    return None


def series_of(doc: dict) -> str:
    """The modelled kernel version a results document was measured on (6.1 before 6.12 runs)."""
    return str((doc.get("kernel") or {}).get("series") or "6.1")


def default_model(config_path: Optional[str] = None, series: Optional[str] = None):
    """pmempolicy's model (``--model reference`` selects the independent reference adapter)."""
    return PolicyModel(config_path=config_path, series=series)
