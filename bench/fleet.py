"""Time ``pmempolicy fleet`` on a generated fleet, against one ``evaluate`` per host.

Usage: .venv/bin/python bench/fleet.py [HOSTS] [NAMESPACES_PER_HOST] [PEER_SAMPLE]
(defaults 100000 10 20). Generates a JSON Lines inventory in a temp dir: ~20 distinct configs
(configs/*_defconfig and tests/data/debian-6.1/*.xz, plus comment-only variants), namespaces
with modes/maps/aligns as in the real listings of tests/data/ndctl and usable sizes from raw
sizes of 16 GiB..3 TiB through the kernel's arithmetic. Prints wall time, namespaces/s, peak
RSS (the largest process, and all processes together, sampled), CPU seconds (which, unlike wall
time, do not depend on what else the machine runs), the peer's time on a sample of hosts
extrapolated to the fleet, and the ratio; then `evaluate --ndctl` of one 100,000-namespace
listing. Rows go to /dev/null. Exits 1 if the fleet takes 60 s or more or its processes together
peak at 500 MB or more, or the listing 10 s or more.
"""
from __future__ import annotations

import json
import lzma
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EXE = str(ROOT / ".venv" / "bin" / "pmempolicy")
G = 1 << 30
RAW_SIZES = [g * G for g in (16, 32, 63, 126, 128, 252, 256, 378, 504, 512, 756, 1008, 1512,
                              2016, 3024)]
# (mode, map, align, weight): as the real listings of tests/data/ndctl set namespaces up
SHAPES = [("fsdax", "mem", 2 * 1024 * 1024, 4), ("fsdax", "dev", 2 * 1024 * 1024, 4),
          ("devdax", "dev", 2 * 1024 * 1024, 3), ("devdax", "dev", 4096, 1),
          ("sector", None, None, 1), ("raw", None, None, 1)]


def usable(mode: str, map_: str | None, align: int | None, raw: int) -> int:
    from policy.decide import costs

    if mode == "raw":
        return raw
    if mode == "sector":
        return costs.btt_usable(raw, 512)
    return costs.pfn_layout(raw, map_, align or 0, mode=mode).usable  # type: ignore[arg-type]


def configs(tmp: Path, wanted: int = 20) -> list[Path]:
    base = sorted((ROOT / "configs").glob("*_defconfig"))
    debs = sorted((ROOT / "tests" / "data" / "debian-6.1").glob("config.*.xz"))
    out = [*base, *debs]
    n = 0
    while len(out) < wanted:  # comment-only variants: distinct content, the same build
        src = debs[n % len(debs)]
        dst = tmp / f"variant{n}.xz"
        text = lzma.decompress(src.read_bytes()) + f"# fleet variant {n}\n".encode()
        dst.write_bytes(lzma.compress(text))
        out.append(dst)
        n += 1
    return out


def namespaces(rnd: random.Random, n: int, table: dict[tuple, int]) -> list[dict]:
    out = []
    weights = [s[3] for s in SHAPES]
    for i in range(n):
        mode, map_, align, _ = rnd.choices(SHAPES, weights)[0]
        raw = rnd.choice(RAW_SIZES)
        key = (mode, map_, align, raw)
        if key not in table:
            table[key] = usable(mode, map_, align, raw)
        ns: dict = {"dev": f"namespace{i}.0", "mode": mode, "size": table[key]}
        if map_:
            ns.update(map=map_, align=align)
        if mode == "sector":
            ns["sector_size"] = 512
        out.append(ns)
    return out


def ndctl_shaped(n: int, ns: dict) -> dict:
    """``ns`` with the fields ``ndctl list -N`` prints for such a namespace (ndctl/json.c)."""
    out = dict(ns)
    out["uuid"] = f"{n:08x}-0286-474d-839a-52afe7d0da5f"
    if ns["mode"] == "devdax":
        out["chardev"] = f"dax{n}.0"
    elif ns["mode"] != "raw" or n % 2:
        out["blockdev"] = f"pmem{n}" + ("s" if ns["mode"] == "sector" else "")
    out["numa_node"] = n % 2
    return out


def generate(tmp: Path, hosts: int, per_host: int) -> tuple[Path, list[tuple[Path, dict]]]:
    rnd = random.Random(17)
    cfgs = configs(tmp)
    table: dict[tuple, int] = {}
    path = tmp / "fleet.jsonl"
    sample = []
    with open(path, "w") as f:
        for h in range(hosts):
            cfg = cfgs[rnd.randrange(len(cfgs))]
            listing = namespaces(rnd, per_host, table)
            f.write(json.dumps({"host": f"host{h:06d}", "config": str(cfg), "ndctl": listing})
                    + "\n")
            if len(sample) < 64:
                sample.append((cfg, listing))
    return path, sample


def _tree_rss(pid: int) -> int:
    """Resident KiB of ``pid`` and all its descendants now (0 once it is gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")),
                              0)
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return total


def timed(cmd: list[str]) -> tuple[float, int, float, float, float]:
    """Wall seconds, exit code, peak RSS (MB) of the largest process of ``cmd``'s tree, peak
    RSS (MB) of the whole tree (sampled every 50 ms) and CPU seconds (user + system, every
    process of the tree)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(os.devnull, "w") as null:
        proc = subprocess.Popen(cmd, stdout=null, stderr=subprocess.PIPE)
        peak_tree = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak_tree
            while not stop.wait(0.05):
                peak_tree = max(peak_tree, _tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, err = proc.communicate()
        stop.set()
        sampler.join()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        sys.stderr.write(err.decode()[-2000:])
    return wall, proc.returncode, max(after.ru_maxrss, before.ru_maxrss) / 1024, \
        peak_tree / 1024, cpu


def main() -> int:
    hosts = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    per_host = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    peer_n = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    ok = True
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print("load average at start: " + " ".join(f"{x:.1f}" for x in os.getloadavg())
              + f" on {os.cpu_count()} cores")
        t0 = time.perf_counter()
        inv, sample = generate(tmp, hosts, per_host)
        print(f"generated {hosts} hosts x {per_host} namespaces in "
              f"{time.perf_counter() - t0:.1f} s ({inv.stat().st_size / 1e6:.0f} MB)")
        wall, code, rss, tree, cpu = timed([EXE, "fleet", str(inv), "--summary-output",
                                            str(tmp / "summary.txt")])
        total = hosts * per_host
        cores = os.cpu_count() or 1
        print(f"fleet: {wall:.1f} s wall, {total / wall:,.0f} namespaces/s "
              f"({total / wall / cores:,.0f} per core), exit {code}; CPU {cpu:.1f} s "
              f"({total / cpu:,.0f} namespaces per CPU-second); peak RSS {rss:.0f} MB "
              f"(largest process), {tree:.0f} MB (all processes, sampled)")
        print((tmp / "summary.txt").read_text().splitlines()[0])
        ok = ok and wall < 60 and tree < 500
        peer = 0.0
        for n, (cfg, listing) in enumerate(sample[:peer_n]):
            lp = tmp / f"peer{n}.json"
            lp.write_text(json.dumps(listing))
            peer += timed([EXE, "evaluate", "--config", str(cfg), "--ndctl", str(lp),
                           "--format", "json"])[0]
        per = peer / max(1, min(peer_n, len(sample)))
        print(f"peer: {per * 1000:.0f} ms per host (timed on {min(peer_n, len(sample))} hosts), "
              f"{per * hosts:.0f} s extrapolated to {hosts} hosts; "
              f"fleet is {per * hosts / wall:.0f}x faster")
        rnd = random.Random(1)
        listing = namespaces(rnd, 100_000, {})
        big = tmp / "big.json"
        big.write_text(json.dumps(listing))
        # as ndctl prints it: indented, with the fields a real namespace has
        shaped = tmp / "ndctl-shaped.json"
        shaped.write_text(json.dumps([ndctl_shaped(n, ns) for n, ns in enumerate(listing)],
                                     indent=2))
        for path, what in ((big, "compact"), (shaped, "indented, ndctl's fields")):
            wall, code, rss, tree, cpu = timed([EXE, "evaluate", "--config", "debian_amd64",
                                                "--ndctl", str(path), "--format", "json"])
            print(f"evaluate --ndctl, 100,000 namespaces ({what}, "
                  f"{path.stat().st_size / 1e6:.0f} MB): {wall:.1f} s wall, CPU {cpu:.1f} s, "
                  f"peak RSS {tree:.0f} MB (sampled)")
            ok = ok and wall < 10
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
