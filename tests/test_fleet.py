"""fleet: small fleets of real listings and real configs, checked row by row against evaluate."""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from policy.cli import cli
from policy.resources import data_file

ROOT = Path(__file__).resolve().parent.parent
NDCTL = ROOT / "tests" / "data" / "ndctl"
DEBIAN = ROOT / "tests" / "data" / "debian-6.1"
CONFIGS = ROOT / "configs"

# host -> (config, listing): real Debian configs (xz), shipped defconfigs and real listings
HOSTS = {
    "db-01": (DEBIAN / "config.amd64_none_amd64.xz", NDCTL / "insights-ndctl-list-Ni.json"),
    "db-02": (DEBIAN / "config.amd64_none_amd64.xz", NDCTL / "pmem-docs-list-RuN-map-dev.json"),
    "arm-01": (DEBIAN / "config.arm64_none_arm64.xz", NDCTL / "daos-ndctl-list-N-3t.json"),
    "rt-01": (CONFIGS / "rt_amd64_defconfig", NDCTL / "ndctl-man-list-BN.json"),
    "dev-01": (CONFIGS / "option1a_dev_defconfig", NDCTL / "pmem-docs-create-sector-u.json"),
}


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin, standalone_mode=False,
                                catch_exceptions=False)
    code = result.return_value if isinstance(result.return_value, int) else result.exit_code
    return code, result.stdout, result.stderr


def config_name(config: Path) -> str:
    return "config.xz" if config.suffix == ".xz" else "config"


def make_dir(tmp: Path, hosts: dict[str, tuple[Path, Path]]) -> Path:
    inv = tmp / "inventory"
    for host, (config, listing) in hosts.items():
        folder = inv / host
        folder.mkdir(parents=True)
        (folder / config_name(config)).symlink_to(config)  # symlinks are allowed
        shutil.copy(listing, folder / "ndctl.json")
    return inv


def make_jsonl(tmp: Path, hosts: dict[str, tuple[Path, Path]]) -> Path:
    lines = []
    for n, (host, (config, listing)) in enumerate(hosts.items()):
        obj: dict[str, Any] = {"host": host}
        obj["config"] = str(config)
        try:
            inline = json.loads(listing.read_text())
        except ValueError:  # several top-level values (ndctl list run twice): a file only
            inline = None
        if n % 2 and inline is not None:
            obj["ndctl"] = inline
        else:
            obj["ndctl_path"] = str(listing)
        lines.append(json.dumps(obj))
    path = tmp / "fleet.jsonl"
    path.write_text("\n".join(reversed(lines)) + "\n")  # out of order on purpose
    return path


def evaluate_rows(config: Path, listing: Path) -> list[dict[str, Any]]:
    _, out, _ = run("evaluate", "--config", str(config), "--ndctl", str(listing),
                    "--format", "json")
    rows: list[dict[str, Any]] = json.loads(out)["results"]
    return rows


def rows_of(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def check_against_evaluate(rows: list[dict[str, Any]], hosts: dict[str, tuple[Path, Path]],
                           renamed: bool) -> None:
    assert [r["host"] for r in rows] == sorted(r["host"] for r in rows)
    by_host: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_host.setdefault(r.pop("host"), []).append(r)
    assert set(by_host) == set(hosts)
    for host, (config, listing) in hosts.items():
        want = evaluate_rows(config, listing)
        got = by_host[host]
        assert len(got) == len(want), host
        for g, w in zip(got, want):
            if renamed:  # the host folder names the file "config"/"config.xz"
                w["config"] = config_name(config)
            assert list(g) == list(w)
            for key in w:
                assert g[key] == w[key], (host, key)


def test_directory_fleet_equals_evaluate_per_host(tmp_path: Path) -> None:
    code, out, err = run("fleet", str(make_dir(tmp_path, HOSTS)), "--jobs", "1")
    rows = rows_of(out)
    check_against_evaluate(rows, HOSTS, renamed=True)
    assert code == (0 if all(r["ok"] for r in rows_of(out)) else 1)
    assert "fleet: 5 hosts" in err


def test_jsonl_fleet_equals_evaluate_per_host(tmp_path: Path) -> None:
    code, out, _ = run("fleet", str(make_jsonl(tmp_path, HOSTS)), "--jobs", "2")
    check_against_evaluate(rows_of(out), HOSTS, renamed=False)


def test_jsonl_from_stdin_and_config_text(tmp_path: Path) -> None:
    lines = [json.dumps({"host": h, "config_text": c.read_text(),
                         "ndctl": json.loads(lst.read_text())})
             for h, (c, lst) in HOSTS.items() if c.suffix != ".xz" and h != "rt-01"]
    code, out, _ = run("fleet", "-", "--jobs", "1", stdin="\n".join(lines) + "\n")
    rows = rows_of(out)
    assert {r["host"] for r in rows} == {"dev-01"} and code == 0
    assert all(r["config"] == "config" for r in rows)


def test_jobs_do_not_change_the_output(tmp_path: Path) -> None:
    many = {f"{h}-{i}": v for i in range(4) for h, v in HOSTS.items()}
    inv = str(make_jsonl(tmp_path, many))
    one = run("fleet", inv, "--jobs", "1", "--summary", "json")
    two = run("fleet", inv, "--jobs", "2", "--summary", "json")
    assert one == two
    csv1 = run("fleet", inv, "--jobs", "1", "--format", "csv")
    csv2 = run("fleet", inv, "--jobs", "2", "--format", "csv")
    assert csv1 == csv2


def test_more_chunks_than_in_flight_keep_every_host_in_order(tmp_path: Path) -> None:
    from policy.fleet.engine import AHEAD, MAX_CHUNK_HOSTS

    # more hosts than the workers' chunks in flight hold, so chunks are handed out as others end
    n = MAX_CHUNK_HOSTS * 2 * AHEAD + 37
    many = {f"h{i:04d}": HOSTS[("db-01", "rt-01", "dev-01")[i % 3]] for i in range(n)}
    inv = str(make_jsonl(tmp_path, many))
    code1, out1, _ = run("fleet", inv, "--jobs", "1")
    code2, out2, _ = run("fleet", inv, "--jobs", "2")
    assert (code1, out1) == (code2, out2)
    hosts = [r["host"] for r in rows_of(out2)]
    assert sorted(set(hosts)) == sorted(many) and hosts == sorted(hosts)


def test_rows_copied_to_a_real_file_descriptor(tmp_path: Path) -> None:
    import subprocess
    import sys

    # stdout a regular file: the chunks go to it by sendfile, after the CSV header
    many = {f"{h}-{i}": v for i in range(40) for h, v in HOSTS.items()}
    inv = str(make_jsonl(tmp_path, many))
    _, want, _ = run("fleet", inv, "--jobs", "1", "--format", "csv")
    out = tmp_path / "rows.csv"
    with open(out, "wb") as f:
        proc = subprocess.run([sys.executable, "-c", "from policy.cli import main; main()",
                               "fleet", inv, "--jobs", "2", "--format", "csv"], stdout=f,
                              stderr=subprocess.PIPE, cwd=ROOT, timeout=300, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    assert out.read_text() == want and want.count("\n") > len(many)


def test_a_broken_host_is_a_finding_and_the_run_goes_on(tmp_path: Path) -> None:
    inv = make_dir(tmp_path, HOSTS)
    (inv / "bad-ndctl").mkdir()
    (inv / "bad-ndctl" / "config").symlink_to(CONFIGS / "debian_amd64_defconfig")
    (inv / "bad-ndctl" / "ndctl.json").write_text('{\n  "dev": "namespace0.0",\n  "size": \n}\n')
    (inv / "bad-config").mkdir()
    (inv / "bad-config" / "config").write_bytes(b"\xfd7zXZ\x00 not really xz")
    shutil.copy(NDCTL / "btt-check.namespace.json", inv / "bad-config" / "ndctl.json")
    (inv / "no-config").mkdir()
    code, out, err = run("fleet", str(inv), "--jobs", "2", "--summary", "json")
    assert code == 1
    rows = rows_of(out)
    errors = {r["host"]: r for r in rows if r["verdict"] == "error"}
    assert set(errors) == {"bad-ndctl", "bad-config", "no-config"}
    rendered = errors["bad-ndctl"]["findings"][0]["rendered"]
    assert rendered.startswith(f"{inv / 'bad-ndctl' / 'ndctl.json'}:4:1: error:")
    good = [r for r in rows if r["verdict"] != "error"]
    check_against_evaluate(good, HOSTS, renamed=True)
    doc = json.loads(err)
    assert doc["hosts"]["unreadable"] == 3 and doc["hosts"]["total"] == 8
    assert [h["host"] for h in doc["hosts_unreadable"]] == ["bad-config", "bad-ndctl", "no-config"]


def test_an_inline_listing_is_located_in_the_inventory_line(tmp_path: Path) -> None:
    config, listing = HOSTS["db-02"]
    good = json.dumps({"host": "a-good", "config": str(config),
                       "ndctl": json.loads(listing.read_text())})
    bad_ns = {"dev": "namespace0.0", "mode": "fsdax", "map": "dev", "size": "lots"}
    bad = json.dumps({"host": "b-bad", "config": str(config), "ndctl": [bad_ns]})
    dup = '{"host": "c-dup", "config": "x", "config": "y", "ndctl": []}'
    path = tmp_path / "fleet.jsonl"
    # a byte order mark before the first line, as json.loads takes it
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join([good, bad, dup]) + "\n").encode())
    code, out, _ = run("fleet", str(path), "-j", "1")
    rows = {r["host"]: r for r in rows_of(out)}
    assert code == 1 and rows["a-good"]["verdict"] != "error"
    (finding,) = rows["b-bad"]["findings"]
    col = bad.index('"lots"') + 1
    assert finding["rendered"].startswith(f"{path}:2:{col}: error: size 'lots' is not a number")
    assert finding["rendered"].endswith("(at $[0].size) [ndctl-bad-size]")
    (finding,) = rows["c-dup"]["findings"]
    col = dup.index('"config": "y') + 1  # the second "config"
    assert finding["rendered"].startswith(f"{path}:3:{col}: error: duplicate key 'config'")


def test_csv_rows_match_evaluate_csv(tmp_path: Path) -> None:
    _, out, _ = run("fleet", str(make_jsonl(tmp_path, HOSTS)), "--format", "csv", "-j", "1")
    got = list(csv.reader(io.StringIO(out)))
    config, listing = HOSTS["db-01"]
    _, ev, _ = run("evaluate", "--config", str(config), "--ndctl", str(listing), "--format", "csv")
    want = list(csv.reader(io.StringIO(ev)))
    assert got[0] == ["host"] + want[0]
    assert [r[1:] for r in got if r[0] == "db-01"] == want[1:]


def test_summary_counts_and_query(tmp_path: Path) -> None:
    inv = str(make_jsonl(tmp_path, HOSTS))
    _, out, err = run("fleet", inv, "--summary", "json", "-j", "1")
    doc = json.loads(err)
    rows = rows_of(out)
    assert doc["namespaces"] == len(rows)
    assert sum(c["namespaces"] for c in doc["decisions"]) == len(rows)
    assert len(doc["configs"]) == 4  # db-01 and db-02 share one config: loaded once
    assert doc["totals"]["dram_memmap_bytes"] == sum(r["costs"]["dram_memmap_bytes"] for r in rows)
    need = sorted({r["host"] for r in rows if not r["ok"]})
    assert doc["hosts_need_plan"] == need
    summary = tmp_path / "summary.json"
    _, _, err = run("fleet", inv, "--query", "hosts.total", "--summary-output", str(summary))
    assert json.loads(summary.read_text()) == 5 and err == ""


def test_unreadable_inventory_exits_2(tmp_path: Path) -> None:
    from policy.cli import main

    assert main(["fleet", str(tmp_path / "missing")]) == 2


def test_bad_json_line_is_a_host_finding(tmp_path: Path) -> None:
    config, listing = HOSTS["rt-01"]
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps({"host": "ok-1", "config": str(config),
                                "ndctl_path": str(listing)}) + "\n{not json\n")
    code, out, _ = run("fleet", str(path), "-j", "1")
    assert code == 1
    assert [r["host"] for r in rows_of(out)][-1] == "ok-1"
    assert any(r["verdict"] == "error" for r in rows_of(out))


def test_schema_accepts_the_documented_lines() -> None:
    schema = json.loads(data_file("fleet-host.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    assert v.is_valid({"host": "a", "config": "a/config", "ndctl_path": "a/ndctl.json"})
    assert v.is_valid({"host": "a", "config_text": "CONFIG_X=y\n", "ndctl": [{"dev": "x"}]})
    assert not v.is_valid({"host": "a", "config": "c"})
    assert not v.is_valid({"config": "c", "ndctl": {}})


@pytest.mark.parametrize("listing", sorted(NDCTL.glob("*.json")), ids=lambda p: p.name)
def test_memoised_evaluate_json_is_the_plain_document(listing: Path) -> None:
    from policy.evaluate import evaluate
    from policy.kconfig.sources import load_builds
    from policy.ndctl.devices import to_devices
    from policy.ndctl.listing import read_listing
    from policy.report.matrix import JsonReporter, to_document

    lst = read_listing(listing)
    devices = to_devices(lst) * 1
    result = evaluate(load_builds(["debian_amd64"]), devices, diagnostics=lst.diagnostics)
    buf = io.StringIO()
    JsonReporter().report(result, buf)
    assert buf.getvalue() == json.dumps(to_document(result), indent=2) + "\n"


def test_decide_memo_equals_decide() -> None:
    from policy.decide.memo import decide_memo
    from policy.decide.runtime import decide
    from policy.kconfig.sources import load_builds
    from policy.ndctl.devices import to_devices
    from policy.ndctl.listing import read_listing

    build = load_builds([str(DEBIAN / "config.amd64_none_amd64.xz")])[0]
    for listing in sorted(NDCTL.glob("*.json")):
        for d in to_devices(read_listing(listing)):
            for _ in range(2):
                assert decide_memo(d, build) == decide(d, build)
