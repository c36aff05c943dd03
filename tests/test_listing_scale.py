"""Large listings stay exact: positions on demand, raw sizes in closed form, ambiguity said.

Positions: the reader's skeleton and the path-following lookup give every value the offset a
full walk of the text gives. Raw sizes: the closed-form inversion equals a brute-force search
over every raw size on the 4 KiB grid (small sizes, every map and several aligns), does a
bounded number of layout computations for any input, and says when several raw sizes fit.
A profile path that is not a regular file is refused without blocking.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from policy.decide import costs
from policy.ndctl import jsontext
from policy.ndctl.listing import parse_listing
from policy.ndctl.rawsize import RawSize, recover_raw_size

ROOT = Path(__file__).resolve().parent.parent
NDCTL = ROOT / "tests" / "data" / "ndctl"
MiB, GiB = costs.MiB, costs.GiB
LISTINGS = sorted(NDCTL.glob("*.json"))


# ------------------------------------------------------------------------------------ positions


def _full_walk(doc: jsontext.PositionedText) -> dict[tuple[Any, ...], int]:
    pos: dict[tuple[Any, ...], int] = {}
    for n, start in enumerate(doc.roots):
        jsontext._walk(doc.text, start, (f"${n}",), pos)
    return pos


def _texts() -> Iterator[tuple[str, bytes]]:
    for path in LISTINGS:
        yield path.name, path.read_bytes()
    # several top-level values, as concatenated ndctl runs print them
    yield "concatenated", b"\n".join(p.read_bytes() for p in LISTINGS[:4])


@pytest.mark.parametrize("name,data", list(_texts()), ids=lambda x: x if isinstance(x, str) else "")
def test_every_value_is_located_as_a_full_walk_locates_it(name: str, data: bytes) -> None:
    doc, _ = jsontext.decode_values(data, name)
    full = _full_walk(jsontext.decode_values(data, name)[0])
    assert len(full) > 3
    for where, offset in full.items():
        assert doc.offset(where) == offset, where
        # a path that is not there is located at its nearest ancestor, as before
        assert doc.offset(where + ("no-such-key",)) == offset
    assert doc._pos is None  # no full walk was needed


def test_line_and_column_forward_and_backward() -> None:
    data = (NDCTL / "pmem-docs-list-RuN-map-dev.json").read_bytes()
    doc, _ = jsontext.decode_values(data, "x")
    full = sorted(_full_walk(doc).values())
    lines = doc.text.split("\n")

    def expected(offset: int) -> tuple[int, int]:
        before = doc.text[:offset]
        return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1

    for offset in full + full[::-1]:  # the cursor going forward, then the table going back
        line, col = doc.linecol(offset)
        assert (line, col) == expected(offset)
        assert lines[line - 1][col - 1] == doc.text[offset]


def test_a_warning_inside_a_big_listing_is_located_exactly() -> None:
    ns = {"dev": "namespace0.0", "mode": "fsdax", "map": "dev", "uuid": "u", "align": 2 * MiB}
    items = [dict(ns, dev=f"namespace{i}.0", size=costs.pfn_layout(
        64 * GiB, "dev", 2 * MiB).usable) for i in range(2000)]
    items[1234]["size"] = 1000000000  # no raw size gives it
    text = json.dumps(items, indent=1)
    listing = parse_listing(text, "big.json")
    (diag,) = [d for d in listing.diagnostics if d.code == "ndctl-inconsistent"]
    line = text.split("\n")[diag.line - 1]
    assert line[diag.col - 1:].startswith("1000000000")
    assert diag.json_path == "$[1234].size"


def test_duplicate_keys_and_depth_are_still_located() -> None:
    with pytest.raises(jsontext.NdctlInputError) as err:
        parse_listing('[{"dev":"namespace0.0",\n  "size":1, "size":2, "mode":"raw"}]', "d.json")
    assert err.value.diagnostics[0].render().startswith("d.json:2:13: error: duplicate key 'size'")
    deep = '{"regions":' * 80 + "[]" + "}" * 80
    with pytest.raises(jsontext.NdctlInputError) as err:
        parse_listing(deep, "deep.json")
    assert "nested more than 64 levels deep" in err.value.diagnostics[0].message


# ------------------------------------------------------------------------------------ raw sizes

LIMIT = 96 * MiB  # every raw size up to here, on the 4 KiB grid
SAFE = 56 * MiB  # usable sizes whose every raw size (usable + metadata + 2 aligns) is below LIMIT
ALIGNS = (4096, 2 * MiB, 8 * MiB)


@pytest.fixture(scope="module")
def tables() -> dict[tuple[str, int], list[int | None]]:
    """usable(D) for D = 4 KiB * i, ndctl's own refusals left out (the sysfs view)."""
    out: dict[tuple[str, int], list[int | None]] = {}
    for map_ in ("mem", "dev"):
        for align in ALIGNS:
            row: list[int | None] = []
            for d in range(0, LIMIT, 4096):
                lay = costs.pfn_layout(d, map_, align, ndctl=False)  # type: ignore[arg-type]
                row.append(None if lay.refused else lay.usable)
            out[(map_, align)] = row
    return out


def _brute(row: list[int | None], align: int, lo: int, hi: int) -> RawSize:
    """What the old search found, over every size: the align grid (ndctl), else 4 KiB."""
    def grid_ok(d: int, ndctl: bool) -> bool:
        return not ndctl or (d % align == 0 and d >= costs.NDCTL_MIN_DAX_SIZE)

    for grid, ndctl in ((align, True), (4096, False)):
        if grid == 4096 and align == 4096 and not ndctl:
            break
        found = [i * 4096 for i, u in enumerate(row) if u is not None and lo <= u <= hi
                 and (i * 4096) % grid == 0 and grid_ok(i * 4096, ndctl)]
        if found:
            value = max(found, key=lambda d: ((d & -d).bit_length(), -d))
            note = "" if ndctl else "x"
            return RawSize(value, found[0], found[-1], len(found), grid, True, note)
    near = [(min(abs(u - lo), abs(u - hi)), i * 4096) for i, u in enumerate(row)
            if u is not None and (i * 4096) % align == 0 and grid_ok(i * 4096, True)]
    value = min(near)[1]
    return RawSize(value, value, value, 0, align, False, "")


def _same(got: RawSize, want: RawSize) -> bool:
    return (got.value, got.lo, got.hi, got.candidates, got.grid, got.consistent,
            bool(got.note)) == (want.value, want.lo, want.hi, want.candidates, want.grid,
                                want.consistent, bool(want.note))


@pytest.mark.parametrize("map_", ["mem", "dev"])
@pytest.mark.parametrize("align", ALIGNS)
def test_closed_form_equals_brute_force(
    tables: dict[tuple[str, int], list[int | None]], map_: str, align: int
) -> None:
    row = tables[(map_, align)]
    usables = sorted({u for u in row if u and u <= SAFE})
    assert usables
    targets = [(u, u) for u in usables]  # every usable size a namespace can have
    targets += [(u + 4096, u + 4096) for u in usables[::3]]  # sizes no namespace has
    targets += [(u - 3 * MiB, u + 5 * MiB) for u in usables[::5] if u > 3 * MiB]  # -u ranges
    checked = ambiguous = inconsistent = 0
    for lo, hi in targets:
        got = recover_raw_size.__wrapped__("fsdax", map_, align, lo, hi)  # type: ignore
        want = _brute(row, align, lo, hi)
        assert _same(got, want), (lo, hi, got, want)
        checked += 1
        ambiguous += got.candidates > 1
        inconsistent += not got.consistent
    assert checked > 5 and inconsistent > 0
    assert ambiguous > 0 or align > 4096  # 4 KiB align: a 2 MiB layout align, 512 sizes each


def _count_layouts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    pfn, btt = costs.pfn_layout, costs.btt_usable

    def pfn_counted(*a: Any, **k: Any) -> costs.Layout:
        calls[0] += 1
        return pfn(*a, **k)

    def btt_counted(*a: Any, **k: Any) -> int:
        calls[0] += 1
        return btt(*a, **k)

    monkeypatch.setattr(costs, "pfn_layout", pfn_counted)
    monkeypatch.setattr(costs, "btt_usable", btt_counted)
    return calls


@pytest.mark.parametrize("args", [
    ("fsdax", "dev", 4096, (1 << 64) - 12345, (1 << 64) - 12345),  # inconsistent, 16 EiB, 4 KiB
    ("devdax", "mem", 4096, (1 << 63) + 1, (1 << 63) + 1),
    ("fsdax", "dev", GiB, 10**19, 10**19),
    ("devdax", "dev", 4096, 10**9, 10**9),
    ("fsdax", "dev", 2 * MiB, 3 * MiB + 4096, 3 * MiB + 4096),  # below every usable size
    ("fsdax", "mem", 2 * MiB, 17 * GiB, 17 * GiB + 10**7),  # a -u range: several raw sizes
    ("sector", None, None, (1 << 64) - (1 << 40), (1 << 64) - (1 << 40)),
    ("sector", None, None, 10**12, 10**12 + 10**7),
])
def test_recovery_does_a_bounded_number_of_layouts(
    monkeypatch: pytest.MonkeyPatch, args: tuple[Any, ...]
) -> None:
    calls = _count_layouts(monkeypatch)
    raw = recover_raw_size.__wrapped__(*args)  # type: ignore[attr-defined]
    assert calls[0] <= 200, calls[0]  # the search it replaces tried up to 300,000 sizes
    assert raw.value > 0
    if raw.consistent:
        assert raw.lo <= raw.value <= raw.hi and raw.candidates >= 1


# ---------------------------------------------------------------------------------- ambiguity


def test_several_raw_sizes_are_said_with_what_differs() -> None:
    # a real listing: 4225761280 usable bytes of devdax map=dev come from 4 GiB - 2 MiB or 4 GiB,
    # and the two differ in DRAM (a partial 128 MiB section)
    listing = parse_listing((NDCTL / "pmem-docs-list-N-devdax.json").read_bytes(), "l.json")
    (diag,) = [d for d in listing.diagnostics if d.code == "ndctl-ambiguous"]
    assert diag.severity == "warning" and diag.json_path == "$.size"
    assert diag.message.startswith("namespace0.0: 2 raw sizes give a usable size of 4225761280")
    assert "from 4292870144 to 4294967296 bytes" in diag.message
    assert "DRAM for struct pages 2064384 at the smallest, 0 at the largest" in diag.message
    ns = listing.namespace("namespace0.0")
    assert ns.raw is not None and ns.raw.value == 4 * GiB


def test_a_u_range_says_the_usable_size_differs() -> None:
    listing = parse_listing((NDCTL / "pmem-docs-create-sector-u.json").read_bytes(), "s.json")
    (diag,) = [d for d in listing.diagnostics if d.code == "ndctl-ambiguous"]
    assert "raw sizes give a usable size of 134085000000..134094247690 bytes for sector" in (
        diag.message)
    assert "usable 134085001216 at the smallest, 134094245888 at the largest" in diag.message


def test_one_raw_size_is_not_ambiguous() -> None:
    usable = costs.pfn_layout(64 * GiB, "mem", 2 * MiB).usable
    listing = parse_listing(json.dumps({"dev": "namespace0.0", "mode": "fsdax", "map": "mem",
                                        "align": 2 * MiB, "uuid": "u", "size": usable}))
    assert not listing.diagnostics
    assert listing.namespaces[0].raw_size == 64 * GiB


# ------------------------------------------------------------------------ profiles: regular files


@pytest.mark.parametrize("command", [["validate"], ["evaluate"]])
def test_a_fifo_profile_is_refused_without_blocking(tmp_path: Path, command: list[str]) -> None:
    fifo = tmp_path / "profile.yaml"
    os.mkfifo(fifo)
    exe = [sys.executable, "-c", "from policy.cli import main; main()"]
    try:
        proc = subprocess.run([*exe, *command, str(fifo)], capture_output=True, text=True,
                              timeout=60, cwd=ROOT)
    except subprocess.TimeoutExpired:  # pragma: no cover - the regression itself
        pytest.fail(f"{command[0]} blocked on a FIFO")
    assert proc.returncode == 2, proc.stderr
    said = proc.stdout + proc.stderr
    assert f"{fifo}: error: is a FIFO, expected a profile file" in said
    assert "Traceback" not in said


def test_a_character_device_profile_is_refused() -> None:
    from policy.profiles.profile import load_profiles

    got = load_profiles(["/dev/null"])
    assert got.unreadable
    assert got.diagnostics[0].render() == (
        "/dev/null: error: is a character device, expected a profile file [io-error]")


def test_an_ambiguity_shared_by_many_namespaces_is_said_once() -> None:
    data = json.loads((NDCTL / "pmem-docs-list-N-devdax.json").read_text())
    many = [dict(data, dev=f"namespace{i}.0", chardev=f"dax{i}.0") for i in range(500)]
    listing = parse_listing(json.dumps(many, indent=2), "many.json")
    (diag,) = [d for d in listing.diagnostics if d.code == "ndctl-ambiguous"]
    assert diag.message.startswith("namespace0.0: 2 raw sizes give a usable size of 4225761280")
    assert diag.message.endswith("; so do 499 more namespaces of the same mode and listed size "
                                 "(namespace1.0, namespace2.0, namespace3.0, ...)")
    assert (diag.line, diag.col, diag.json_path) == (6, 13, "$[0].size")  # "size": 4225761280
