"""Parse the guest's second-serial-port records into JSON (one dict per case)."""

from __future__ import annotations

import json


def _json_or_text(text: str):
    t = text.strip()
    if not t:
        return None
    try:
        return json.loads(t)
    except ValueError:
        return t


def parse_serial(text: str) -> dict:
    boot: dict = {"blocks": {}, "sysfs": {}, "events": []}
    cases: list[dict] = []
    cur: dict | None = None
    block_name: str | None = None
    block_lines: list[str] = []
    for raw in text.replace("\r", "").split("\n"):
        if block_name is not None:
            if raw == f"@@END {block_name}":
                val = "\n".join(block_lines)
                tgt = cur if cur is not None else boot
                tgt["blocks"][block_name] = val
                block_name = None
            else:
                block_lines.append(raw)
            continue
        if not raw.startswith("@@"):
            continue
        key, _, val = raw[2:].partition(" ")
        if key == "BEGIN":
            block_name, block_lines = val, []
            continue
        if key == "CASE":
            cur = {"id": val, "blocks": {}, "sysfs": {}, "events": [], "complete": False}
            cases.append(cur)
            continue
        if key == "ENDCASE":
            if cur is not None:
                cur["complete"] = True
            cur = None
            continue
        tgt = cur if cur is not None else boot
        if key == "SYSFS":
            path, _, v = val.partition(" ")
            tgt["sysfs"][path] = v.strip()
        elif key == "KMEM_BLOCK":
            # KMEM_BLOCK memoryN state valid,zones
            tgt.setdefault("kmem", {}).setdefault("block_list", []).append(val.split())
        elif key == "REGION":
            # REGION kind regionN [provider]
            parts = val.split()
            if len(parts) >= 2:
                tgt.setdefault("regions_by_kind", {})[parts[0]] = parts[1]
        elif key.startswith("KMEM_"):
            tgt.setdefault("kmem", {})[key[5:].lower()] = val
        elif key in (
            "RC",
            "FREE_BEFORE",
            "FREE_AFTER",
            "FREE_DESTROYED",
            "FREE_BOOT",
            "MEMTOTAL",
            "MKFS",
            "INIT_LABELS",
        ):
            try:
                tgt[key.lower()] = int(val.split()[0])
            except (ValueError, IndexError):
                tgt[key.lower()] = None
        elif key in ("T0", "T1", "BOOT_START", "CASES_START", "CASES_END"):
            try:
                tgt[key.lower()] = float(val)
            except ValueError:
                pass
        elif key in ("CMD", "CMDLINE", "UNAME", "RXE", "DAX_MOUNT", "PROBE_NOTE", "LOOP_FAIL"):
            tgt[key.lower()] = val
        elif key == "DONE":
            boot["done"] = True
        else:
            tgt["events"].append(raw[2:])
    for c in cases:
        b = c["blocks"]
        c["list"] = _json_or_text(b.get("list", ""))
        c["probe"] = _json_or_text(b.get("probe", ""))
        c["ibv"] = _json_or_text(b.get("ibv", ""))
        c["stdout"] = b.get("stdout", "").strip()
        c["stderr"] = b.get("stderr", "").strip()
    boot["regions"] = _json_or_text(boot["blocks"].get("regions", ""))
    return {"boot": boot, "cases": cases}
