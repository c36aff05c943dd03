"""Sizes in ``ndctl list`` output: ``-u`` human sizes, and the raw size behind a usable size.

:func:`human_size_range` turns ndctl's rounded ``-u`` text back into the byte range it stands for;
:func:`recover_raw_size` inverts the kernel's arithmetic in closed form to find every raw
namespace size D that gives a listed usable size, as a few intervals (no search: O(1) per
namespace for any size and any align). The inversion is of the formulas of
:func:`policy.decide.costs.pfn_layout` (``drivers/nvdimm/pfn_devs.c:nd_pfn_init``) and
:func:`policy.decide.costs.btt_usable` (``drivers/nvdimm/btt.c``); every interval's ends are
checked against those functions, and a test compares the whole inversion with a brute-force
search.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from typing import Any

from policy.decide import costs
from policy.errors import Diagnostic

DEFAULT_ALIGN = 2 * costs.MiB  # ndctl's default --align for fsdax and devdax
NEAREST_STEPS = 64  # multiples of the layout align tried on each side for the nearest size

_HUMAN = re.compile(r"\s*(\d+)\.(\d\d) (MiB|GiB)(?: \((\d+)\.(\d\d) (MB|GB)\))?\s*\Z")


@dataclass(frozen=True)
class RawSize:
    """The raw namespace sizes D that give a listed usable size, on a grid.

    ``candidates`` counts them, ``lo``..``hi`` is their range and ``value`` the one used to
    evaluate: the only one, else the "roundest" (most trailing zero bits, then smallest).
    ``consistent`` is false when no D gives the listed size; ``value`` is then the D whose usable
    size is nearest. ``grid`` is the step of the sizes counted (the namespace align, as ndctl
    requires sizes to be multiples of it, else 4 KiB: a namespace made through sysfs).
    """

    value: int
    lo: int
    hi: int
    candidates: int
    grid: int
    consistent: bool = True
    note: str = ""

    @property
    def exact(self) -> bool:
        return self.consistent and self.candidates == 1


def human_size_range(text: str) -> tuple[int, int] | None:
    """Bytes that ndctl ``-u`` prints as ``text``: ``(lo, hi)`` inclusive, or None if not one.

    ``util/json.c:display_size`` rounds to centi-MiB below 2 GiB, centi-GiB above
    (``c = (bytes*200/unit + 1)/2``) and adds the JEDEC figure rounded the same way in MB/GB.
    """
    m = _HUMAN.match(text)
    if not m:
        return None
    whole, cents, unit, jwhole, jcents, junit = m.groups()

    def window(c: int, scale: int) -> tuple[int, int]:
        # floor(bytes*200/scale) in {2c-1, 2c}  <=>  (2c-1)*scale/200 <= bytes < (2c+1)*scale/200
        lo = -(-max(2 * c - 1, 0) * scale // 200)
        hi = -(-(2 * c + 1) * scale // 200) - 1
        return lo, hi

    lo, hi = window(int(whole) * 100 + int(cents), costs.MiB if unit == "MiB" else costs.GiB)
    # MiB only from 5000 KiB (below, a plain number) to just under 2 GiB; GiB from 2 GiB on
    lo, hi = (
        (max(lo, 5000 * 1024), min(hi, 2 * costs.GiB - 1))
        if unit == "MiB"
        else (max(lo, 2 * costs.GiB), hi)
    )
    if jwhole is not None:
        jlo, jhi = window(int(jwhole) * 100 + int(jcents), 10**6 if junit == "MB" else 10**9)
        lo, hi = max(lo, jlo), min(hi, jhi)
    return (lo, hi) if lo <= hi else None


def _trailing_zeros(n: int) -> int:
    return (n & -n).bit_length() if n else 0


def _roundest(a: int, b: int) -> int:
    """The number in [a, b] (1 <= a <= b) with the most trailing zero bits (it is unique)."""
    if a == b:
        return a
    p = 1 << (((a - 1) ^ b).bit_length() - 1)
    return b & ~(p - 1)


Intervals = list[tuple[int, int]]


def _on_grid(spans: Intervals, grid: int, d_min: int) -> Intervals:
    """``spans`` cut to sizes >= ``d_min`` that are multiples of ``grid``; empty ones dropped."""
    out = []
    for a, b in spans:
        a = -(-max(a, d_min) // grid) * grid
        b = b // grid * grid
        if a <= b:
            out.append((a, b))
    return sorted(out)


def _pfn_spans(j: int, big_a: int, map_: costs.PfnMap) -> Intervals:
    """Every D (any byte) whose :func:`policy.decide.costs.pfn_layout` usable size is ``j * A``
    at a start of 0, where ``A = max(align, 2 MiB)`` (j >= 1).

    ``end_trunc = D mod A``, so with ``D = k*A + r`` the usable size is ``k*A - dataoff``:
    map=mem: ``dataoff = A`` (the 8 KiB info block rounded up to A), so ``k = j + 1``;
    map=dev: ``dataoff = m*A`` with ``m = ceil((8 KiB + 64*q) / A)``, ``q = (D - 8 KiB) / 4 KiB``
    (the on-device memmap); ``k - m = j`` and ``m`` is about ``k/64``, so k lies within a few
    of ``64*j/63``, and for each k the q giving ``m = k - j`` is an interval.
    """
    page, info, per = costs.PAGE_SIZE, costs.PFN_INFO_RESERVE, costs.MAX_STRUCT_PAGE_SIZE
    if map_ == "mem":
        return [((j + 1) * big_a, (j + 2) * big_a - 1)]
    out = []
    k0 = j * 64 // 63
    for k in range(max(j + 1, k0 - 2), k0 + 5):
        m = k - j
        # (m-1)*A < info + per*q <= m*A
        q_lo = ((m - 1) * big_a - info) // per + 1
        q_hi = (m * big_a - info) // per
        lo = max(k * big_a, info + page * max(q_lo, 0))
        hi = min((k + 1) * big_a - 1, info + page * q_hi + page - 1)
        if q_hi >= 0 and lo <= hi:
            out.append((lo, hi))
    return out


def _usable(d: int, map_: costs.PfnMap, align: int, mode: str, ndctl: bool) -> int | None:
    lay = costs.pfn_layout(d, map_, align, mode=mode, ndctl=ndctl)
    return None if lay.refused else lay.usable


def _pfn_found(lo: int, hi: int, map_: costs.PfnMap, align: int, mode: str, grid: int,
               ndctl: bool) -> Intervals:
    """The sizes on ``grid`` giving a usable size in [lo, hi] (at most ~6 multiples of A lie
    in a ``-u`` range: it is a hundredth of a GiB wide at most)."""
    big_a = max(align, costs.SUBSECTION_SIZE)
    d_min = costs.NDCTL_MIN_DAX_SIZE if ndctl else costs.PFN_INFO_RESERVE + 1
    spans: Intervals = []
    for j in range(max(1, -(-lo // big_a)), hi // big_a + 1):
        spans += _pfn_spans(j, big_a, map_)
    found = _on_grid(spans, grid, d_min)
    for a, b in found:  # the inversion agrees with the kernel's arithmetic at every end
        for d in (a, b):
            u = _usable(d, map_, align, mode, ndctl)
            if u is None or not lo <= u <= hi:
                raise AssertionError(f"raw size inversion disagrees with pfn_layout at {d}")
    return found


def _pfn_nearest(lo: int, hi: int, map_: costs.PfnMap, align: int, mode: str, grid: int,
                 ndctl: bool) -> int | None:
    """The smallest D on ``grid`` whose usable size is nearest to [lo, hi] (none in it)."""
    big_a = max(align, costs.SUBSECTION_SIZE)
    d_min = costs.NDCTL_MIN_DAX_SIZE if ndctl else costs.PFN_INFO_RESERVE + 1
    best: tuple[int, int] | None = None
    below, above = lo // big_a, -(-hi // big_a)
    for side in (-1, 1):  # the first multiple of A reached on each side is that side's nearest
        for n in range(NEAREST_STEPS):
            j = below - n if side < 0 else above + n
            if j < 1:
                break
            got = _on_grid(_pfn_spans(j, big_a, map_), grid, d_min)
            if got:
                gap = lo - j * big_a if side < 0 else j * big_a - hi
                if best is None or (gap, got[0][0]) < best:
                    best = (gap, got[0][0])
                break
    return best[1] if best else None


def _result(found: Intervals, grid: int, note: str = "") -> RawSize:
    count = sum((b - a) // grid + 1 for a, b in found)
    value = max((_roundest(a, b) for a, b in found), key=lambda d: (_trailing_zeros(d), -d))
    return RawSize(value, found[0][0], found[-1][1], count, grid, True, note)


@functools.lru_cache(maxsize=4096)  # a fleet lists the same few sizes over and over
def recover_raw_size(mode: str, map_: str | None, align: int | None, lo: int, hi: int,
                     sector_size: int | None = None) -> RawSize:
    """Every raw size D whose usable size (as :mod:`policy.decide.costs` computes it) is in [lo,
    hi].

    ``mode`` is the kernel mode: ``raw`` (D = usable), ``sector`` (inverts
    :func:`policy.decide.costs.btt_usable`, non-decreasing: two binary searches),
    ``fsdax``/``devdax``/``system-ram`` (inverts :func:`policy.decide.costs.pfn_layout` in closed
    form; the namespace is assumed to start on a 2 MiB boundary, as the kernel requires). D is
    taken on the namespace align (ndctl refuses other sizes), then on 4 KiB (a namespace created
    through sysfs) when the align grid has none.
    """
    if mode == "raw":
        return RawSize(lo, lo, hi, hi - lo + 1, 1)
    if mode == "sector":
        lba = sector_size if sector_size in costs.BTT_LBASIZES else 4096
        return _recover_btt(lo, hi, lba)
    if map_ not in ("mem", "dev"):
        raise ValueError(f"map must be mem or dev for {mode}")
    pfn_map: costs.PfnMap = "mem" if map_ == "mem" else "dev"
    al = align or DEFAULT_ALIGN
    pfn_mode = "devdax" if mode == "system-ram" else mode
    found = _pfn_found(lo, hi, pfn_map, al, pfn_mode, al, True)
    if found:
        return _result(found, al)
    if al > 4096:
        found = _pfn_found(lo, hi, pfn_map, al, pfn_mode, 4096, False)
        if found:
            return _result(found, 4096, f"no size that is a multiple of the {al}-byte align "
                           "gives it (created outside ndctl?)")
    nearest = _pfn_nearest(lo, hi, pfn_map, al, pfn_mode, al, True)
    if nearest is None and al > 4096:
        nearest = _pfn_nearest(lo, hi, pfn_map, al, pfn_mode, 4096, False)
    value = nearest if nearest is not None else hi
    return RawSize(value, value, value, 0, al, False, "")


def _recover_btt(lo: int, hi: int, lba: int) -> RawSize:
    page = costs.BTT_PG_SIZE
    if hi <= 0:
        return RawSize(0, 0, 0, 0, page, False)

    def first_page(target: int) -> int:
        """The first D (in pages) with btt_usable(D) >= target (btt_usable is non-decreasing)."""
        low, high = 1, (target * 2 + 64 * costs.MiB) // page + 1
        while low < high:
            mid = (low + high) // 2
            if costs.btt_usable(mid * page, lba) >= target:
                high = mid
            else:
                low = mid + 1
        return low

    first, past = first_page(lo), first_page(hi + 1)
    if first < past:
        return _result([(first * page, (past - 1) * page)], page)
    return RawSize(first * page, first * page, first * page, 0, page, False)


@functools.lru_cache(maxsize=4096)
def spread(mode: str, map_: str | None, align: int | None, raw: RawSize,
           sector_size: int | None = None) -> tuple[tuple[int, int], tuple[int, int]]:
    """``(usable, DRAM)`` at the smallest and at the largest candidate of ``raw``, each as
    ``(at lo, at hi)``: whether the evaluation depends on which raw size the namespace has.

    DRAM is the struct-page memmap in DRAM under :mod:`policy.decide.costs`' defaults (4 KiB
    pages, 64-byte struct pages, no vmemmap dedup); raw and sector namespaces have none here.
    """
    ends = (raw.lo, raw.hi)
    if mode == "raw":
        return ends, (0, 0)
    if mode == "sector":
        lba = sector_size if sector_size in costs.BTT_LBASIZES else 4096
        u = (costs.btt_usable(raw.lo, lba), costs.btt_usable(raw.hi, lba))
        return u, (0, 0)
    pfn_map: costs.PfnMap = "mem" if map_ == "mem" else "dev"
    al = align or DEFAULT_ALIGN
    if mode == "system-ram":
        lays = [costs.system_ram_layout(d, pfn_map, al) for d in ends]
    else:
        lays = [costs.pfn_layout(d, pfn_map, al, mode=mode, ndctl=False) for d in ends]
    return (lays[0].usable, lays[1].usable), (lays[0].dram_memmap, lays[1].dram_memmap)


@functools.lru_cache(maxsize=4096)  # a fleet lists the same names and sizes on many hosts
def raw_size_notes(dev: str, mode: str, map_: str | None, align: int | None,
                   size: tuple[int, int], raw: RawSize, sector_size: int | None = None,
                   ambiguity: bool = True) -> tuple[tuple[str, str], ...]:
    """The listing's warnings about namespace ``dev``'s raw size, as ``(code, message)``: no raw
    size gives the listed size, only sizes off the align grid do, or (``ambiguity``) several
    do."""
    if raw.consistent and not raw.note and (raw.candidates <= 1 or not ambiguity):
        return ()  # nothing to say (most namespaces): no text built
    shown = f"{size[0]}" if size[0] == size[1] else f"{size[0]}..{size[1]}"
    how = mode + (f" map={map_}" if map_ else "") + (f" align={align}" if align else "")
    if not raw.consistent:
        return (("ndctl-inconsistent",
                 f"{dev}: no namespace size gives a usable size of {shown} bytes for {how} under "
                 f"Linux 6.1's arithmetic (searched multiples of {raw.grid}); "
                 f"evaluating the nearest, {raw.value} bytes"),)
    out = [("ndctl-off-grid", f"{dev}: {raw.note}")] if raw.note else []
    if raw.candidates > 1 and ambiguity:
        (u_lo, u_hi), (d_lo, d_hi) = spread(mode, map_, align, raw, sector_size)
        text = (f"{dev}: {raw.candidates} raw sizes give a usable size of {shown} bytes for "
                f"{how}, from {raw.lo} to {raw.hi} bytes (multiples of {raw.grid}); evaluating "
                f"{raw.value}")
        differ = ([f"usable {u_lo} at the smallest, {u_hi} at the largest"] if u_lo != u_hi
                  else []) + ([f"DRAM for struct pages {d_lo} at the smallest, {d_hi} at the "
                               "largest"] if d_lo != d_hi else [])
        out.append(("ndctl-ambiguous", text + (
            "; the answer depends on which: " + "; ".join(differ) + " (Linux 6.1's arithmetic)"
            if differ else "; the smallest and the largest give the same usable size and DRAM")))
    return tuple(out)


class RawNotes:
    """A listing's raw-size warnings, an ambiguity said once per kind of namespace.

    Namespaces with the same mode, map, align and listed size have the same raw sizes: the
    first is warned about (located), and its warning names how many more share it and the
    first few of them, so a listing of 100,000 equal namespaces has one warning, not 100,000.
    """

    SHOWN = 3  # namespaces named in the warning besides the first

    def __init__(self) -> None:
        self.seen: dict[tuple[Any, ...], list[Any]] = {}  # key -> [note index, names, count]
        self._key: tuple[Any, ...] = ()

    def notes(self, dev: str, mode: str, map_: str | None, align: int | None,
              size: tuple[int, int], raw: RawSize, sector_size: int | None = None
              ) -> tuple[tuple[str, str], ...]:
        """:func:`raw_size_notes`, the ambiguity left out when said already."""
        key = (mode, map_, align, size, sector_size)
        entry = self.seen.get(key) if raw.consistent and raw.candidates > 1 else None
        if entry is not None:
            entry[2] += 1
            if len(entry[1]) < self.SHOWN:
                entry[1].append(dev)
        self._key = key
        return raw_size_notes(dev, mode, map_, align, size, raw, sector_size, entry is None)

    def placed(self, index: int) -> None:
        """The ambiguity warning just returned is ``notes[index]`` of the listing."""
        self.seen[self._key] = [index, [], 0]

    def merged(self, notes: list[Diagnostic]) -> list[Diagnostic]:
        """``notes`` with each ambiguity warning naming the namespaces that share it."""
        for index, names, more in self.seen.values():
            if more:
                d = notes[index]
                shown = ", ".join(names) + (", ..." if more > len(names) else "")
                notes[index] = replace(d, message=f"{d.message}; so do {more} more namespaces "
                                       f"of the same mode and listed size ({shown})")
        return notes
