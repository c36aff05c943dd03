#!/usr/bin/env python3
"""Compare a kernel-oracle results file with the model (pure Python, no QEMU needed).

  compare.py RESULTS.json [--model pmempolicy|reference] [--struct-page-size N] [--json OUT]

For every case it checks
  refusal     the kernel/ndctl refused the namespace <=> the model says it is impossible
              (and who refuses: ndctl or the kernel)
  usable      `ndctl list -N` size == the model's usable bytes (exact); for system-ram the
              System RAM dax/kmem onlined (whole memory blocks)
  dram        DRAM the namespace took (free pages incl. per-CPU lists, before/after create)
              == the model's DRAM figure within DRAM_TOL_PAGES + DRAM_TOL_REL * model
  feature:*   each probed feature verdict == the model's verdict
Exit status 1 if there is any disagreement.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import model as model_mod  # noqa: E402

PAGE = 4096
GiB = 1 << 30
# Measurement noise of the DRAM figure, established from the full run (docs/kernel-oracle.md):
# raw and sector namespaces (no struct pages at all) moved the free-page count by 3..35 pages,
# and over all 81 DRAM checks of the first full run measured - model was -20..+35 pages,
# independent of the namespace
# size (128 MiB..80 GiB). The tolerance is therefore absolute: 64 pages = 256 KiB.
DRAM_TOL_PAGES = 64
DRAM_TOL_REL = 0.0


def measured_refusal(case: dict) -> tuple[bool, Optional[str]]:
    rc = case.get("rc")
    lst = case.get("list")
    created = rc == 0 and isinstance(lst, list) and len(lst) > 0
    if created:
        return False, None
    err = case.get("stderr", "") + "\n" + case.get("blocks", {}).get("dmesg", "")
    kernel = any(
        s in err
        for s in (
            "failed to enable",
            "libndctl: ndctl_pfn_enable",
            "ndctl_dax_enable",
            "ndctl_btt_enable",
            "ndctl_namespace_enable",
        )
    )
    return True, "kernel" if kernel else "ndctl"


def measured_start(case: dict) -> int:
    for k, v in case.get("sysfs", {}).items():
        if k.endswith("/resource") and "/namespace" in k:
            try:
                return int(v.split()[0], 16)
            except (ValueError, IndexError):
                pass
    return 0


def kmem_dram(case: dict) -> Optional[int]:
    """DRAM the dax/kmem hot-add spent: pages onlined minus the growth of free pages."""
    k = case.get("kmem") or {}
    try:
        mt0, mt1 = int(k["mt0"]), int(k["mt1"])
        f0, f1 = int(k["free0"]), int(k["free1"])
    except (KeyError, ValueError):
        return None
    onlined_pages = (mt1 - mt0) * 1024 // PAGE
    return (onlined_pages - (f1 - f0)) * PAGE


def kmem_onlined(case: dict) -> Optional[int]:
    """Bytes dax/kmem onlined as System RAM: onlined memory blocks x block_size_bytes
    (KMEM_BLOCKS), else the growth of MemTotal. Whole blocks only (drivers/dax/kmem.c)."""
    k = case.get("kmem") or {}
    parts = str(k.get("blocks", "")).split()
    try:
        if len(parts) >= 3:
            return int(parts[1]) * int(parts[2], 16)
        return (int(k["mt1"]) - int(k["mt0"])) * 1024
    except (KeyError, ValueError):
        return None


def measured_usable(case: dict) -> Optional[int]:
    """What the namespace offers: `ndctl list` size; for system-ram the onlined System RAM."""
    if (case.get("spec") or {}).get("mode") == "system-ram":
        return kmem_onlined(case)
    return case["list"][0].get("size")


def measured_dram(case: dict) -> Optional[int]:
    if (case.get("spec") or {}).get("mode") == "system-ram":
        return kmem_dram(case)
    a, b = case.get("free_before"), case.get("free_after")
    if a is None or b is None:
        return None
    return (a - b) * PAGE


def region_kind(case: dict) -> str:
    return str((case.get("spec") or {}).get("region") or "nfit")


# region kinds whose regions are ND_REGION_ASYNC (drivers/nvdimm/virtio_pmem.c): writes reach the
# host's media only through the virtio flush request
ASYNC_REGIONS = ("virtio",)


def memmap_on_memory_in_effect(case: dict) -> bool:
    """dax/kmem was asked for the memmap on the hot-added memory and could be: the dax device's
    memmap_on_memory attribute reads 1 (writing it fails with EOPNOTSUPP without the boot switch,
    drivers/dax/bus.c) and memory_hotplug.memmap_on_memory is on."""
    k = case.get("kmem") or {}
    return str(k.get("mom", "")).strip() == "1" and str(k.get("mom_param", "")).strip() == "Y"


def made_as(case: dict) -> dict:
    """The namespace ndctl actually made, as a case spec. On a PAGEMAP label-less region (e820,
    virtio-pmem) `--mode fsdax --map mem` gives no pfn device: the raw namespace already has its
    pages in DRAM (sysfs mode "memory", no holder; measured with ndctl 76.1), so the case is
    compared with the model's raw namespace of that region."""
    spec = dict(case.get("spec") or {})
    if region_kind(case) == "nfit" or spec.get("mode") != "fsdax" or spec.get("map") != "mem":
        return spec
    sysfs = case.get("sysfs") or {}
    mode = [v for k, v in sysfs.items() if k.endswith("/mode") and "/namespace" in k]
    holder = [v for k, v in sysfs.items() if k.endswith("/holder") and "/namespace" in k]
    if case.get("rc") == 0 and mode == ["memory"] and holder in ([""], []):
        spec.update(mode="raw", map=None, align=None, made_as="raw")
    return spec


def observations(case: dict) -> dict:
    """Facts measured beside the checks, which no model figure covers yet (recorded only)."""
    out: dict = {}
    p = case.get("probe") if isinstance(case.get("probe"), dict) else {}
    if p.get("map_sync"):
        out["map_sync_accepted"] = p["map_sync"] == "ok"
    k = case.get("kmem") or {}
    if k:
        zones = sorted({b[2].split(",")[0] for b in k.get("block_list", []) if len(b) > 2})
        onlined = kmem_onlined(case)
        mt = None
        try:
            mt = (int(k["mt1"]) - int(k["mt0"])) * 1024
        except (KeyError, ValueError):
            pass
        out.update(
            kmem_via=(case.get("spec") or {}).get("via", "sysfs"),
            memmap_on_memory_attr=k.get("mom"),
            memmap_on_memory_param=k.get("mom_param"),
            memmap_on_memory_set=k.get("mom_set"),
            auto_online_blocks=k.get("auto_online"),
            zones=zones,
            memtotal_growth=mt,
            onlined_bytes=onlined,
            # the memmap the kernel placed on the hot-added memory itself (not in MemTotal)
            memmap_on_device=(onlined - mt) if (onlined is not None and mt is not None) else None,
            dram=kmem_dram(case),
        )
    return out


def measured_features(case: dict) -> dict:
    """Feature verdicts observed in the guest; absent = not probed in this case."""
    spec = case.get("spec") or {}
    if spec.get("mode") == "system-ram" and case.get("rc") == 0:
        k = case.get("kmem") or {}
        blocks = str(k.get("blocks", "0 0")).split()
        return {"system_ram": k.get("driver") == "kmem" and len(blocks) > 1 and int(blocks[1]) > 0}
    if not spec.get("probe") or case.get("rc") != 0:
        return {}
    lst = case.get("list") if isinstance(case.get("list"), list) else []
    ns = lst[0] if lst else {}
    mode = ns.get("mode")
    p = case.get("probe") if isinstance(case.get("probe"), dict) else {}
    ibv = case.get("ibv") if isinstance(case.get("ibv"), dict) else {}
    out: dict = {}
    out["block_io"] = bool(ns.get("blockdev"))
    out["sector_atomic"] = mode == "sector" and str(ns.get("blockdev", "")).endswith("s")
    if mode == "devdax":
        dax_mapping = p.get("mmap") == "ok"
    else:
        dax_mapping = (
            case.get("dax_mount") == "ok" and p.get("dax_attr") == "yes" and p.get("mmap") == "ok"
        )
    out["dax_mmap"] = dax_mapping
    if p.get("map_sync") and region_kind(case) in ASYNC_REGIONS:
        # map_sync is the promise (a CPU store is persistent once it retires), not the flag: on an
        # ND_REGION_ASYNC region nothing keeps it, even where the kernel accepts the flag
        # (device-dax never checks synchrony: drivers/dax/device.c; observations record it)
        out["map_sync"] = False
    elif p.get("map_sync"):
        out["map_sync"] = p["map_sync"] == "ok"
    elif not dax_mapping:
        out["map_sync"] = False
    if dax_mapping and str(p.get("gup_dax_mapping", "")).startswith(("ok", "err")):
        out["gup_dax_mapping"] = p["gup_dax_mapping"] == "ok"
    elif not dax_mapping:
        out["gup_dax_mapping"] = False
    if mode == "fsdax" and str(p.get("o_direct_dax_file", "")).startswith(("ok", "err")):
        out["o_direct_dax_file"] = dax_mapping and p["o_direct_dax_file"] == "ok"
    elif mode in ("raw", "sector", "devdax"):
        out["o_direct_dax_file"] = False  # there is no DAX file on such a namespace
    fs = p.get("fault_size")
    misaligned = isinstance(p.get("extent_mod_2m"), int) and p["extent_mod_2m"] != 0
    if dax_mapping and fs == "pte" and misaligned:
        pass  # the file's extent is not 2 MiB-aligned on the device: PMD faults not probed
    elif dax_mapping and fs in ("pte", "pmd", "pud"):
        out["pmd_faults"] = fs == "pmd"
        out["pud_faults"] = fs == "pud"
    elif not dax_mapping:
        out["pmd_faults"] = out["pud_faults"] = False  # page cache: 4 KiB pages only
    lt = str(ibv.get("longterm_pin", ""))
    if ibv.get("control_anon") == "ok" and lt.startswith(("ok", "err")):
        out["longterm_pin"] = dax_mapping and lt == "ok"
    elif not dax_mapping:
        out["longterm_pin"] = False
    # anything else (e.g. rdma not available) stays unprobed: never guessed
    return out


def dram_tolerance(model_bytes: int) -> int:
    return DRAM_TOL_PAGES * PAGE + int(DRAM_TOL_REL * model_bytes)


def compare(doc: dict, model=None) -> dict:
    series = model_mod.series_of(doc)
    model = model or model_mod.default_model(model_mod.config_for(doc), series)
    # a kernel that can put dax/kmem's memmap on the hot-added memory (6.8+): the model has no
    # figure for it yet, so such cases are recorded and listed, not compared
    mom_kernel = _kernel_has_memmap_on_memory(series)
    not_compared: dict = {}
    rows, disagreements = [], []
    not_probed: dict = {}
    for case in doc["cases"]:
        spec = case.get("spec")
        if not spec:
            continue
        start = measured_start(case)
        asked = spec
        spec = made_as(case)
        pred = model.predict(spec, start % GiB)
        ref, ref_by = measured_refusal(case)
        row = {
            "id": case["id"],
            "mode": spec["mode"],
            "size": spec["size"],
            "map": spec.get("map"),
            "align": spec.get("align"),
            "start": start,
            "checks": [],
        }

        def check(
            kind: str, measured, predicted, ok: bool, note: str = "", row=row, case=case
        ) -> None:
            c = {"kind": kind, "measured": measured, "model": predicted, "ok": ok}
            if note:
                c["note"] = note
            row["checks"].append(c)
            if not ok:
                disagreements.append({"id": case["id"], **c})

        if not case.get("complete", True):
            check("complete", False, True, False, "case did not finish in the guest")
        check(
            "refusal",
            ref,
            pred.refused,
            ref == pred.refused,
            f"kernel/ndctl stderr: {case.get('stderr', '')[:200]}" if ref else pred.reason,
        )
        if ref and pred.refused and pred.refused_by is not None:
            check("refused_by", ref_by, pred.refused_by, ref_by == pred.refused_by, pred.reason)
        obs = observations(case)
        if spec.get("made_as"):
            obs["ndctl_made"] = f"{spec['made_as']} (asked: {asked['mode']} map={asked['map']})"
        if obs:
            row["observed"] = obs
        if not ref and not pred.refused and mom_kernel and memmap_on_memory_in_effect(case):
            not_compared.setdefault("memmap_on_memory", []).append(case["id"])
            for name, val in measured_features(case).items():
                if name in pred.features:
                    check(f"feature:{name}", val, pred.features[name], val == pred.features[name])
        elif not ref and not pred.refused:
            usable = measured_usable(case)
            note = "onlined System RAM (KMEM_BLOCKS)" if spec["mode"] == "system-ram" else ""
            check("usable", usable, pred.usable, usable == pred.usable, note)
            dram = measured_dram(case)
            if dram is not None and pred.dram is not None:
                tol = dram_tolerance(pred.dram)
                check("dram", dram, pred.dram, abs(dram - pred.dram) <= tol, f"tolerance ±{tol}")
            feats = measured_features(case)
            for name in model_mod.PROBED_FEATURES:
                if name not in feats:
                    if spec.get("probe") and spec["mode"] != "system-ram" and name != "system_ram":
                        not_probed.setdefault(name, []).append(case["id"])
                    continue
                if name not in pred.features:
                    check(f"feature:{name}", feats[name], None, False, "model has no verdict")
                    continue
                check(
                    f"feature:{name}",
                    feats[name],
                    pred.features[name],
                    feats[name] == pred.features[name],
                )
        rows.append(row)
    # region capabilities: every align (fsdax, devdax) and BTT sector size the kernel accepts
    caps_fn = getattr(model, "capabilities", None)
    for boot in doc.get("boots", []):
        regions = (boot.get("boot_info") or {}).get("regions")
        if not caps_fn or not isinstance(regions, list) or not regions:
            continue
        want = caps_fn()
        row = {
            "id": f"capabilities@{boot.get('name')}",
            "mode": None,
            "size": None,
            "map": None,
            "align": None,
            "start": None,
            "checks": [],
        }
        for cap in [c for r in regions for c in r.get("capabilities", [])]:
            got = sorted(cap.get("alignments") or cap.get("sector_sizes") or [])
            pred = want.get(cap["mode"])
            if pred is None:
                continue
            c = {
                "kind": f"capabilities:{cap['mode']}",
                "measured": got,
                "model": pred,
                "ok": got == pred,
            }
            row["checks"].append(c)
            if not c["ok"]:
                disagreements.append({"id": row["id"], **c})
        rows.append(row)
        break  # one region description is enough: every boot has the same NVDIMM
    kinds: dict = {}
    for r in rows:
        for c in r["checks"]:
            k = c["kind"].split(":")[0]
            kinds.setdefault(k, [0, 0])
            kinds[k][0] += 1
            kinds[k][1] += 0 if c["ok"] else 1
    return {
        "model": getattr(model, "name", type(model).__name__),
        "model_notes": getattr(model, "notes", []),
        "kernel": doc.get("kernel"),
        "n_cases": sum(1 for r in rows if r["mode"] is not None),
        "checks": {k: {"total": v[0], "disagree": v[1]} for k, v in kinds.items()},
        "not_probed": not_probed,
        "not_compared": not_compared,
        "disagreements": disagreements,
        "rows": rows,
        "dram_tolerance": {"pages": DRAM_TOL_PAGES, "relative": DRAM_TOL_REL},
    }


def _kernel_has_memmap_on_memory(series: str) -> bool:
    model_mod._import_policy()
    from policy.kconfig import versions

    try:
        return bool(versions.get(series).memmap_on_memory)
    except ValueError:
        return False


def dram_noise(doc: dict) -> dict:
    """How noisy the DRAM figure is, independently of any model.

    ``zero_pages``: raw and sector namespaces (no struct pages anywhere, by construction of the
    kernel): whatever the free-page count moved is noise. ``create_minus_destroy_pages``: pages
    taken by the create minus pages given back by the destroy of the same namespace.
    """
    vals, destroy_vs_create = [], []
    for c in doc["cases"]:
        s = c.get("spec") or {}
        if c.get("rc") != 0 or c.get("free_after") is None:
            continue
        create = c["free_before"] - c["free_after"]
        if s.get("mode") in ("raw", "sector") and (s.get("region") or "nfit") == "nfit":
            vals.append(create)  # PAGEMAP regions give raw a memmap: not zero there
        if c.get("free_destroyed") is not None and s.get("mode") != "system-ram":
            destroy_vs_create.append(create - (c["free_destroyed"] - c["free_after"]))

    def stats(v: list) -> dict:
        return {"n": len(v), "min": min(v, default=None), "max": max(v, default=None)}

    return {"zero_pages": stats(vals), "create_minus_destroy_pages": stats(destroy_vs_create)}


def dram_residuals(rep: dict) -> dict:
    """measured - model, in pages, over every DRAM check of a comparison report."""
    r = [
        (c["measured"] - c["model"]) // PAGE
        for row in rep["rows"]
        for c in row["checks"]
        if c["kind"] == "dram"
    ]
    return {"n": len(r), "min": min(r, default=None), "max": max(r, default=None)}


def render(rep: dict) -> str:
    kern = rep.get("kernel") or {}
    out = [
        f"model: {rep['model']}  cases: {rep['n_cases']}  "
        f"kernel: {kern.get('package')} {kern.get('deb_version')}"
    ]
    for n in rep["model_notes"]:
        out.append(f"  note: {n}")
    for k, v in sorted(rep["checks"].items()):
        out.append(f"  {k:10s} {v['total']:4d} checks, {v['disagree']} disagreements")
    for name, ids in sorted(rep["not_probed"].items()):
        out.append(f"  not probed: {name} ({len(ids)} cases)")
    for name, ids in sorted(rep.get("not_compared", {}).items()):
        out.append(f"  not yet compared ({name}: no model figure): {', '.join(ids)}")
    for d in rep["disagreements"]:
        out.append(
            f"DISAGREE {d['id']}: {d['kind']}: kernel={d['measured']} model={d['model']}"
            + (f" ({d['note']})" if d.get("note") else "")
        )
    out.append(
        "OK: no disagreements"
        if not rep["disagreements"]
        else f"FAIL: {len(rep['disagreements'])} disagreements"
    )
    return "\n".join(out)


def main(argv: Optional[list] = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("results", type=Path)
    ap.add_argument("--model", choices=["pmempolicy", "reference"], default="pmempolicy")
    ap.add_argument(
        "--struct-page-size", type=int, default=64, help="deliberately wrong models for testing"
    )
    ap.add_argument("--json", type=Path, help="write the full report here")
    a = ap.parse_args(argv)
    doc = json.loads(a.results.read_text())
    if a.model == "reference":
        m = model_mod.ReferenceModel(struct_page_size=a.struct_page_size)
    else:
        m = model_mod.PolicyModel(
            struct_page_size=a.struct_page_size,
            config_path=model_mod.config_for(doc, a.results),
            series=model_mod.series_of(doc),
        )
    rep = compare(doc, m)
    rep["dram_noise"] = dram_noise(doc)
    rep["dram_residual_pages"] = dram_residuals(rep)
    print(
        f"DRAM noise (pages): {rep['dram_noise']}; "
        f"measured-model residuals: {rep['dram_residual_pages']}"
    )
    if a.json:
        a.json.write_text(json.dumps(rep, indent=1) + "\n")
    print(render(rep))
    return 1 if rep["disagreements"] else 0


if __name__ == "__main__":
    sys.exit(main())
