"""What a fleet run counts, in memory that grows with configurations and decisions, not hosts'
namespaces: hosts and namespaces per configuration × decision, DRAM and capacity totals, findings
by code, and the hosts that need a plan. Workers count their chunks; the counts are merged."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from policy.decide.records import Decision
from policy.errors import Diagnostic

SCHEMA_VERSION = 1
TOTALS = ("size_bytes", "usable_bytes", "capacity_lost_bytes", "dram_memmap_bytes")


@dataclass
class Summary:
    """Counts over hosts (mergeable: a chunk's summary adds into the run's)."""

    hosts: int = 0
    hosts_ok: int = 0
    namespaces: int = 0
    # (config id, config name, mode, map, align, verdict) -> [hosts, namespaces]
    cells: dict[tuple[Any, ...], list[int]] = field(default_factory=dict)
    # config id (content hash) -> [name, fingerprint, hosts, namespaces]
    configs: dict[str, list[Any]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOTALS, 0))
    findings: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    need_plan: list[str] = field(default_factory=list)
    errors: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.need_plan and not self.errors

    def add_host(self, host: str, config_id: str, fingerprint: str,
                 decisions: Sequence[Decision], diagnostics: Sequence[Diagnostic]) -> None:
        """One host's decisions (sorted by device) and its listing's warnings."""
        self.hosts += 1
        self.namespaces += len(decisions)
        name = decisions[0].build if decisions else ""
        cfg = self.configs.get(config_id)
        if cfg is None:
            cfg = self.configs[config_id] = [name, fingerprint, 0, 0]
        cfg[2] += 1
        cfg[3] += len(decisions)
        seen: set[tuple[Any, ...]] = set()
        ok = True
        for d in decisions:
            c = d.chosen
            cand = c.candidate if c else None
            key = (config_id, d.build, cand.mode if cand else None, cand.map if cand else None,
                   cand.align if cand else None, d.outcome)
            cell = self.cells.get(key)
            if cell is None:
                cell = self.cells[key] = [0, 0]
            if key not in seen:
                seen.add(key)
                cell[0] += 1
            cell[1] += 1
            lay = c.layout if c else None
            self.totals["size_bytes"] += d.size
            if lay is not None:
                self.totals["usable_bytes"] += lay.usable
                self.totals["capacity_lost_bytes"] += lay.capacity_lost
                self.totals["dram_memmap_bytes"] += lay.dram_memmap
            for f in d.findings:
                self.findings[f.code] += 1
            ok = ok and d.ok
        for x in diagnostics:
            self.warnings[x.code] += 1
        if ok:
            self.hosts_ok += 1
        else:
            self.need_plan.append(host)

    def add_error(self, host: str, diagnostics: Sequence[Diagnostic]) -> None:
        """A host whose inputs could not be read: a finding for that host."""
        self.hosts += 1
        for x in diagnostics:
            self.findings[x.code] += 1
        self.errors.append((host, tuple(x.render() for x in diagnostics)))

    def merge(self, other: Summary) -> None:
        """Add a later chunk's counts (hosts stay in order: chunks are merged in order)."""
        self.hosts += other.hosts
        self.hosts_ok += other.hosts_ok
        self.namespaces += other.namespaces
        for key, (h, n) in other.cells.items():
            cell = self.cells.setdefault(key, [0, 0])
            cell[0] += h
            cell[1] += n
        for cid, (name, fp, h, n) in other.configs.items():
            cfg = self.configs.setdefault(cid, [name, fp, 0, 0])
            cfg[2] += h
            cfg[3] += n
        for k, v in other.totals.items():
            self.totals[k] += v
        self.findings.update(other.findings)
        self.warnings.update(other.warnings)
        self.need_plan.extend(other.need_plan)
        self.errors.extend(other.errors)

    def to_document(self) -> dict[str, Any]:
        """The JSON summary (``--summary json``, and what ``--query`` searches)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "ok": self.ok,
            "verdict": "ok" if self.ok else "findings",
            "hosts": {"total": self.hosts, "ok": self.hosts_ok,
                      "need_plan": len(self.need_plan), "unreadable": len(self.errors)},
            "namespaces": self.namespaces,
            "configs": [
                {"id": cid, "name": name, "fingerprint": fp, "hosts": h, "namespaces": n}
                for cid, (name, fp, h, n) in sorted(self.configs.items(),
                                                    key=lambda kv: (kv[1][0], kv[0]))
            ],
            "decisions": [
                {"config_id": k[0], "config": k[1], "mode": k[2], "map": k[3], "align": k[4],
                 "verdict": k[5], "hosts": h, "namespaces": n}
                for k, (h, n) in sorted(self.cells.items(), key=lambda kv: _cell_order(kv[0]))
            ],
            "totals": dict(self.totals),
            "findings": dict(sorted(self.findings.items())),
            "warnings": dict(sorted(self.warnings.items())),
            "hosts_need_plan": list(self.need_plan),
            "hosts_unreadable": [{"host": h, "diagnostics": list(r)} for h, r in self.errors],
        }


def _cell_order(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return (key[1], key[0], key[2] or "", key[3] or "", key[4] or 0, key[5])
