"""Sizes in ``ndctl list`` output: ``-u`` human sizes, and the raw size behind a usable size.

:func:`human_size_range` turns ndctl's rounded ``-u`` text back into the byte range it stands for;
:func:`recover_raw_size` reverses the kernel's arithmetic (:mod:`policy.decide.costs`, never
re-implemented here) to find every raw namespace size D that gives a listed usable size.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from policy.decide import costs

DEFAULT_ALIGN = 2 * costs.MiB  # ndctl's default --align for fsdax and devdax
SEARCH_LIMIT = 300_000  # most raw sizes tried for one namespace

_HUMAN = re.compile(r"\s*(\d+)\.(\d\d) (MiB|GiB)(?: \((\d+)\.(\d\d) (MB|GB)\))?\s*\Z")


@dataclass(frozen=True)
class RawSize:
    """The raw namespace sizes D that give a listed usable size, searched on a grid.

    ``candidates`` counts them, ``lo``..``hi`` is their range and ``value`` the one used to
    evaluate: the only one, else the "roundest" (most trailing zero bits, then smallest).
    ``consistent`` is false when no D gives the listed size; ``value`` is then the D whose usable
    size is nearest. ``grid`` is the step searched (the namespace align, as ndctl requires sizes
    to be multiples of it, else 4 KiB).
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


def _pick(found: list[int]) -> int:
    return max(found, key=lambda d: (_trailing_zeros(d), -d))


def _search(lo: int, hi: int, d_min: int, d_max: int, grid: int,
            usable: Callable[[int], int | None]) -> tuple[list[int], int | None]:
    """Every D on ``grid`` in [d_min, d_max] with usable(D) in [lo, hi], and the nearest D."""
    found: list[int] = []
    nearest: tuple[int, int] | None = None
    d = max(grid, -(-d_min // grid) * grid)
    while d <= d_max:
        u = usable(d)
        if u is not None:
            if lo <= u <= hi:
                found.append(d)
            gap = min(abs(u - lo), abs(u - hi))
            if nearest is None or gap < nearest[0]:
                nearest = (gap, d)
        d += grid
    return found, (nearest[1] if nearest else None)


@functools.lru_cache(maxsize=4096)  # a fleet lists the same few sizes over and over
def recover_raw_size(mode: str, map_: str | None, align: int | None, lo: int, hi: int,
                     sector_size: int | None = None) -> RawSize:
    """Every raw size D whose usable size (as :mod:`policy.decide.costs` computes it) is in [lo,
    hi].

    ``mode`` is the kernel mode: ``raw`` (D = usable), ``sector`` (inverts
    :func:`policy.decide.costs.btt_usable`, exact), ``fsdax``/``devdax``/``system-ram`` (inverts
    :func:`policy.decide.costs.pfn_layout`; the namespace is assumed to start on a 2 MiB boundary,
    as the
    kernel requires). D is searched on the namespace align (ndctl refuses other sizes), then on
    4 KiB (a namespace created through sysfs) when the align grid has none.
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
    a = max(al, costs.SUBSECTION_SIZE)
    pfn_mode = "devdax" if mode == "system-ram" else mode
    if pfn_map == "dev":
        d_min = max(0, lo * 64 // 63 - 4 * costs.MiB)
        d_max = (hi + 2 * a) * 64 // 63 + 4 * costs.MiB
    else:
        d_min, d_max = lo + a, hi + 2 * a

    def usable(d: int, ndctl: bool) -> int | None:
        lay = costs.pfn_layout(d, pfn_map, al, mode=pfn_mode, ndctl=ndctl)
        return None if lay.refused else lay.usable

    found, nearest = _search(lo, hi, d_min, d_max, al, lambda d: usable(d, True))
    grid, note = al, ""
    if not found and al > 4096 and (d_max - d_min) // 4096 <= SEARCH_LIMIT:
        found4, near4 = _search(lo, hi, d_min, d_max, 4096, lambda d: usable(d, False))
        if found4:
            found, grid = found4, 4096
            note = (f"no size that is a multiple of the {al}-byte align gives it "
                    "(created outside ndctl?)")
        nearest = nearest or near4
    if found:
        return RawSize(_pick(found), found[0], found[-1], len(found), grid, True, note)
    value = nearest if nearest is not None else hi
    return RawSize(value, value, value, 0, grid, False, "")


def _recover_btt(lo: int, hi: int, lba: int) -> RawSize:
    page = costs.BTT_PG_SIZE
    if hi <= 0:
        return RawSize(0, 0, 0, 0, page, False)
    # btt_usable is non-decreasing in D: binary-search the first D (in pages) reaching lo
    low, high = 1, (hi * 2 + 64 * costs.MiB) // page + 1
    while low < high:
        mid = (low + high) // 2
        if costs.btt_usable(mid * page, lba) >= lo:
            high = mid
        else:
            low = mid + 1
    found: list[int] = []
    d = low * page
    while costs.btt_usable(d, lba) <= hi and len(found) <= SEARCH_LIMIT:
        found.append(d)
        d += page
    if found:
        return RawSize(_pick(found), found[0], found[-1], len(found), page)
    return RawSize(low * page, low * page, low * page, 0, page, False)
