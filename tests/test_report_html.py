"""``report`` and ``plot``: the self-contained HTML page, the charts, and the page in Chromium."""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from policy.cli import main
from policy.evaluate import evaluate

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", "-o", str(path)]) == 0
    return path


def test_report_is_self_contained_with_one_cell_per_pair(report_file: Path) -> None:
    html = report_file.read_text()
    result = evaluate()
    cells = re.findall(r'<td class="cell (\w+)" data-config="([^"]+)" data-device="([^"]+)"',
                       html)
    assert len(cells) == len(result.configs) * len(result.devices)
    assert {(c, d) for _, c, d in cells} == {(c, d) for c in result.configs
                                              for d in result.devices}
    # no network: nothing loaded from elsewhere (SVG namespaces are names, not fetches)
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert not re.search(r"\b(src|href)=\"(https?:)?//", html)
    assert html.count("<svg") == 2  # cost curves and the frontier
    assert "6.25 GiB" in html and "128 MiB" in html  # the seed's points
    assert "<details>" in html and "ZONE_DEVICE" in html  # chains on click and hover
    assert "profiles/workstation-8g-nvdimm.yaml" in html  # inputs with provenance


def test_plot_writes_deterministic_svg_and_png(tmp_path: Path) -> None:
    svg1, svg2, png = tmp_path / "a.svg", tmp_path / "b.svg", tmp_path / "m.png"
    assert main(["plot", "costs", "-o", str(svg1)]) == 0
    assert main(["plot", "costs", "-o", str(svg2)]) == 0
    assert svg1.read_bytes() == svg2.read_bytes() and svg1.read_text().startswith("<svg")
    assert main(["plot", "matrix", "-o", str(png), "--config", "debian_amd64"]) == 0
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert main(["plot", "costs", "-o", str(tmp_path / "x.gif")]) == 2


def _png_colours(data: bytes) -> int:
    """How many distinct pixel rows the PNG has (zlib-decoded IDAT; 1 means all one colour)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos: pos + 8])
        chunk = data[pos + 8: pos + 8 + n]
        if kind == b"IHDR":
            width = struct.unpack(">I", chunk[:4])[0]
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw = zlib.decompress(idat)
    assert width > 0
    return len({raw[i: i + 64] for i in range(1, len(raw), 997)})


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
def test_report_renders_in_headless_chromium(report_file: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    user = tmp_path / "profile"
    url = report_file.resolve().as_uri()
    base = [CHROMIUM, *FLAGS, f"--user-data-dir={user}", "--enable-logging=stderr", "--v=0"]
    done = subprocess.run([*base, f"--screenshot={shot}", "--window-size=1280,2000", url],
                          capture_output=True, text=True, timeout=120)
    assert shot.is_file(), done.stderr[-2000:]
    assert _png_colours(shot.read_bytes()) > 10  # not blank: many different rows
    keep = Path(__file__).resolve().parent.parent / "build" / "report-screenshot.png"
    keep.parent.mkdir(exist_ok=True)
    shutil.copy(shot, keep)  # for a person to look at
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120)
    result = evaluate()
    cells = re.findall(r'<td class="cell \w+" data-config=', dom.stdout)
    assert len(cells) == len(result.configs) * len(result.devices)
    assert dom.stdout.count("<svg") == 2
    for log in (done.stderr, dom.stderr):
        bad = [line for line in log.splitlines()
               if "Uncaught" in line or "ERROR:CONSOLE" in line or ":CONSOLE(" in line]
        assert not bad, bad
