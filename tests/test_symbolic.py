"""The BDD walk (policy.symbolic) and the symbolic evaluation (policy.explore_sym) against the
explicit enumeration and runtime.decide, which are themselves checked against brute-force
kconfiglib (tests/test_explore.py); ``explore --all`` end to end."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from test_explore import ARCH, KCONFIG_CONF, SELECTS, SMALL, _c_projection

from policy import kconfig, resources
from policy.cli import main
from policy.decide import runtime
from policy.decide.catalog import catalog, enabling_condition, feature_verdict
from policy.space import explore, symbolic, symbolic_eval as explore_sym
from policy.space.listed import _outcome

# a wider sub-space (6,020 configurations): the first 34 symbols of the default pmem space
WIDE = 34
TRI = ("n", "m", "y")


@pytest.fixture(scope="module")
def kconf() -> Any:
    return kconfig.parse_tree()


@pytest.fixture(scope="module")
def proj(kconf: Any) -> tuple[str, ...]:
    return explore.projection_symbols([s.name for s in kconf.unique_defined_syms])


@pytest.fixture(scope="module")
def devices() -> Sequence[Any]:
    from policy import profiles

    return profiles.load_profiles([resources.profiles_dir()]).devices


def _sets(w: symbolic.Walk) -> set[frozenset[str]]:
    return {
        frozenset(n for n, on in zip(w.projection, cfg) if on) for cfg in w.configurations()
    }


@pytest.mark.parametrize(
    "space", [SMALL, ARCH, SELECTS, None], ids=["small", "arch", "selects", "wide"]
)
def test_bdd_set_equals_the_enumeration(
    space: Sequence[str] | None, kconf: Any, proj: tuple[str, ...]
) -> None:
    space = space or explore.default_space()[:WIDE]
    sp = explore.enumerate_space(space, whole_tree=False)
    w = symbolic.walk(kconf, proj, space)
    assert w.count() == len(sp.configurations) > 5
    assert _sets(w) == {c.on for c in sp.configurations}


@pytest.mark.parametrize("space", [SMALL, ARCH, SELECTS], ids=["small", "arch", "selects"])
def test_bdd_values_equal_the_enumeration(
    space: Sequence[str], kconf: Any, proj: tuple[str, ...]
) -> None:
    sp = explore.enumerate_space(space)
    w = symbolic.walk(kconf, proj, space, whole_tree=True, values=True)
    assert set(w.seen) == set(sp.settable)  # the values of every user option
    for name in sp.settable:
        assert frozenset(TRI[x] for x in w.seen[name]) == sp.seen[name], name


def test_bdd_values_of_the_whole_tree_equal_option_values(
    kconf: Any, proj: tuple[str, ...]
) -> None:
    w = symbolic.walk(kconf, proj, None, whole_tree=True, values=True)
    for name, vals in explore.option_values().items():
        assert frozenset(TRI[x] for x in w.seen[name]) == vals, name


def test_whole_tree_values_from_two_cones_equal_the_walk_of_every_step(
    kconf: Any, proj: tuple[str, ...]
) -> None:
    every = symbolic.walk(kconf, proj, None, whole_tree=True, values=True)
    cone = symbolic.walk(kconf, proj, None, values=True)
    assert len(cone.layers) < len(every.layers)
    assert set(cone.seen) < set(every.seen)  # some options are only in the second cone
    assert symbolic.whole_tree_values(kconf, proj, cone) == every.seen
    assert symbolic.whole_tree_values(kconf, proj) == every.seen
    # any projection: here the pmem sub-tree's symbols
    assert symbolic.whole_tree_values(kconf, explore.default_space()) == every.seen


def test_whole_tree_and_cone_walks_give_the_same_set(kconf: Any, proj: tuple[str, ...]) -> None:
    cone = symbolic.walk(kconf, proj, explore.default_space())
    whole = symbolic.walk(kconf, proj, explore.default_space(), whole_tree=True)
    assert cone.projection == whole.projection or set(cone.projection) == set(whole.projection)
    assert cone.count() == whole.count() > 100_000
    # the whole tree holds every configuration of the default space, and more
    assert symbolic.walk(kconf, proj, None).count() > cone.count()


def test_enabling_condition_is_feature_verdict() -> None:
    """Every candidate of every device type, every feature, every truth assignment of the
    expressions the verdict may read: enabled exactly when the returned condition holds."""
    cat = catalog()

    class Build:
        def __init__(self, truth: dict[str, bool]) -> None:
            self.truth = truth

        def eval(self, expr: str) -> str:
            return "y" if self.truth[expr] else "n"

    checked = 0
    aligns = sorted({a.bytes for a in cat.aligns} | {4096, 16384, 65536})
    for dt in cat.device_types:
        for mode in cat.modes:
            for map_ in (*mode.maps, None):
                for align in aligns:
                    for pagemap in (False, True):
                        for f in cat.features:
                            how = enabling_condition(f, dt, mode.name, map_, align, pagemap)
                            exprs = sorted(
                                {f.build} | {c.build for c in f.runtime} - {"y"}
                            )
                            for bits in itertools.product((False, True), repeat=len(exprs)):
                                truth = dict(zip(exprs, bits), y=True)
                                v = feature_verdict(
                                    f, Build(truth), dt, mode.name, map_, align, pagemap
                                )
                                want = how is not None and truth[how[0]] and any(
                                    truth[e] for e in how[1]
                                )
                                assert v.enabled == want, (f.name, dt.name, mode.name, align)
                                checked += 1
    assert checked > 10_000


@pytest.fixture(scope="module")
def wide(devices: Sequence[Any], kconf: Any, proj: tuple[str, ...]) -> tuple[Any, ...]:
    space = explore.default_space()[:WIDE]
    result = explore.explore(devices, space, workers=1)
    w = symbolic.walk(kconf, proj, space)
    return result, w


def test_symbolic_outcomes_equal_runtime_decide(wide: tuple[Any, ...], devices: Any) -> None:
    """Each device's (features, DRAM, capacity) under each configuration: the set it lies in
    over BDDs equals runtime.decide's outcome (the explicit evaluator, tested equal to decide)."""
    result, w = wide
    sym = explore_sym.SymbolicEvaluation(w, devices)
    sets = {ds.device: ds for ds in (sym.device(d) for d in sym.devices)}
    var = dict(zip(w.projection, w.proj_vars))
    for e in result.evaluated:
        cube = w.bdd.cube({var[n]: n in e.config.on for n in w.projection})
        for o in e.outcomes:
            parts = sets[o.device].parts
            got = [k for k, u in parts.items() if u & cube != w.bdd.false]
            assert got == [(len(o.features), o.dram, o.capacity)], (o.device, e.config.id)
    assert {ds.device: sym.unreachable(ds) for ds in sets.values()} == dict(result.unreachable)


def test_symbolic_totals_and_frontier_equal_the_enumeration(
    wide: tuple[Any, ...], devices: Any
) -> None:
    result, w = wide
    sym = explore_sym.SymbolicEvaluation(w, devices)
    totals = sym.totals([sym.device(d) for d in sym.devices])
    got = {}
    for t, u in totals.items():
        for cfg in w.configurations(u):
            got[frozenset(n for n, on in zip(w.projection, cfg) if on)] = t
    want = {e.config.on: (e.features, e.dram, e.capacity) for e in result.evaluated}
    assert got == want
    by_id = {e.config.id: e for e in result.evaluated}
    assert explore_sym.frontier(totals) == [
        (by_id[i].features, by_id[i].dram, by_id[i].capacity) for i in result.frontier
    ]


def test_a_wrong_rank_is_caught(
    wide: tuple[Any, ...], devices: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting the features present instead of missing (a bug this module once had) changes
    the totals: the comparison above would fail."""
    result, w = wide
    sym = explore_sym.SymbolicEvaluation(w, devices)
    real = sym._exactly

    def present(kind: str, items: Sequence[Any]) -> list[Any]:
        return real(kind + " (wrong)", [~u for u in items] if kind == "missing" else items)

    monkeypatch.setattr(sym, "_exactly", present)
    totals = sym.totals([sym.device(d) for d in sym.devices])
    want = {(e.features, e.dram, e.capacity) for e in result.evaluated}
    assert set(totals) != want


def test_sets_built_at_the_start_equal_those_over_every_start(
    wide: tuple[Any, ...], devices: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The devices' sets are built without the start ranges (``at_its_start``): the same sets
    as with the devices themselves, whose unknown starts are laid out over every start."""
    _, w = wide
    assert any(getattr(d, "start", None) is None for d in devices)
    fast = explore_sym.SymbolicEvaluation(w, devices)
    quick = [fast.device(d) for d in fast.devices]
    monkeypatch.setattr(explore_sym, "at_its_start", lambda device: device)
    slow = explore_sym.SymbolicEvaluation(w, devices)
    assert quick == [slow.device(d) for d in slow.devices]


# ------------------------------------------------------------------------ explore --all


@pytest.fixture(scope="module")
def whole(devices: Sequence[Any]) -> explore.ExploreResult:
    return explore.explore(devices, None, listing=False)


def test_explore_all_counts_the_whole_tree(
    whole: explore.ExploreResult, kconf: Any, proj: tuple[str, ...]
) -> None:
    assert whole.space.listed == "frontier"
    w = symbolic.walk(kconf, proj, None, whole_tree=True)
    assert whole.count == w.count() > len(explore.enumerate_space(SMALL).configurations)
    values = explore.option_values()
    assert whole.dead == tuple(s for s, v in values.items() if v == {"n"})
    assert whole.always_on == tuple(s for s, v in values.items() if "n" not in v)


def test_explore_all_frontier_witnesses_are_real(
    whole: explore.ExploreResult, proj: tuple[str, ...]
) -> None:
    """Each frontier witness, loaded by kconfiglib, has its projection, and runtime.decide on
    that real build gives the reported totals; no two frontier points dominate each other."""
    cat = catalog()
    assert len(whole.frontier) >= 3
    pts = []
    for e in whole.evaluated:
        c = e.config
        build = kconfig.load_text(c.config_text(), "<witness>", f"w{c.id}")
        assert frozenset(s for s in proj if build.enabled(s)) == c.on, c.config_text()
        outs = [
            _outcome(runtime.decide(d, build, cat), d, cat)
            for d in sorted(whole_devices(), key=lambda d: str(d.name))
        ]
        t = (sum(len(o.features) for o in outs), sum(o.dram for o in outs),
             sum(o.capacity for o in outs))
        assert t == (e.features, e.dram, e.capacity)
        pts.append(t)
    for p in pts:
        for q in pts:
            assert not (q != p and q[0] >= p[0] and q[1] <= p[1] and q[2] <= p[2]), (p, q)


@pytest.mark.skipif(
    not KCONFIG_CONF.exists(), reason="needs Debian's kconfig-conf (kconfig-frontends-nox)"
)
def test_explore_all_witnesses_confirmed_by_c_kconfig_conf(
    whole: explore.ExploreResult, proj: tuple[str, ...], tmp_path: Path
) -> None:
    """Every frontier witness read back from the BDDs, run through Debian's C kconfig-conf
    (--olddefconfig), gives its configuration: a second, independent Kconfig implementation."""
    assert whole.evaluated
    for e in whole.evaluated:
        assert _c_projection(e.config.config_text(), tmp_path, proj) == e.config.on


def whole_devices() -> Sequence[Any]:
    from policy import profiles

    return profiles.load_profiles([resources.profiles_dir()]).devices


def test_explore_all_frontier_is_not_beaten_by_the_default_space(
    whole: explore.ExploreResult, devices: Any, kconf: Any, proj: tuple[str, ...]
) -> None:
    """The whole tree holds the default space: no total reachable there beats the whole-tree
    frontier (checked over BDDs on the default space, 357,536 configurations)."""
    w = symbolic.walk(kconf, proj, explore.default_space())
    sym = explore_sym.SymbolicEvaluation(w, devices)
    totals = sym.totals([sym.device(d) for d in sym.devices])
    front = [(e.features, e.dram, e.capacity) for e in whole.evaluated]
    for t in totals:
        assert any(f[0] >= t[0] and f[1] <= t[1] and f[2] <= t[2] for f in front), t


def test_cli_explore_all_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--all", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert err == ""
    assert doc["listed"] == "frontier" and doc["complete"] is True
    assert doc["count"] > 1_000_000
    assert len(doc["configurations"]) == len(doc["frontier"]) >= 3
    assert all(c["frontier"] for c in doc["configurations"])
    assert {d["device"] for d in doc["frontier"][0]["devices"]} == set(doc["devices"])
    # without --list the whole tree is the default space
    assert main(["explore", "--format", "json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain["count"] == doc["count"] and plain["enumerated"] == doc["enumerated"]
    assert plain["frontier"] == doc["frontier"]


def test_cli_explore_all_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--all"]) == 0
    out = capsys.readouterr().out
    assert "counted over BDDs" in out and "Pareto frontier" in out


def test_cli_all_with_list_is_refused_at_the_limit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--all", "--list", "--limit", "1000"]) == 2
    err = capsys.readouterr().err
    assert "more than 1000 partial configurations" in err and "without --list" in err


@pytest.mark.parametrize("space", [SMALL, SELECTS], ids=["small", "selects"])
def test_cli_bdd_and_listing_agree(
    space: Sequence[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The same sub-tree with and without --list: the same count, unreachable features, options
    and frontier totals (the BDD run lists only the frontier)."""
    docs = []
    for extra in ([], ["--list"]):
        assert main(["explore", "--config-space", ",".join(space), "--format", "json", *extra]) == 0
        docs.append(json.loads(capsys.readouterr().out))
    bdd, listed = docs
    assert bdd["listed"] == "frontier" and listed["listed"] == "all"
    assert bdd["count"] == listed["count"] == len(listed["configurations"])
    for key in ("unreachable_features", "dead_options", "always_on", "projection", "enumerated"):
        assert bdd[key] == listed[key], key

    def totals(doc: dict[str, Any]) -> list[tuple[int, int, int]]:
        return [
            (c["features"], c["dram_memmap_bytes"], c["capacity_lost_bytes"])
            for c in doc["frontier"]
        ]

    assert totals(bdd) == totals(listed)
    # both witnesses have the fewest enabled options of their frontier point
    assert [a["options"] for a in bdd["frontier"]] == [b["options"] for b in listed["frontier"]]


# every device type, with pins, budgets, requirements, wants, odd sizes and start alignments
VARIED = """\
apiVersion: pmempolicy/v1
kind: HostProfile
metadata: {name: varied}
spec:
  devices:
""" + "".join(
    f"""    - name: {kind}-{k}
      device: {{type: {kind}, size: {size}{start}}}
{extra}"""
    for kind in ("nvdimm", "cxl", "virtio-pmem", "e820", "hmem")
    for k, (size, start, extra) in enumerate(
        [
            ("64GiB", "", "      wants: [pmd_faults, map_sync, pud_faults]\n"),
            ("1040MiB", ", start_align: 2MiB", "      requires: [dax_mmap]\n"),
            ("2TiB", ", start_align: 16MiB",
             "      requires: [longterm_pin]\n      budget: {dram: 1GiB}\n"),
            ("8GiB", "", "      budget: {capacity: 0%}\n      wants: [block_io, sector_atomic]\n"),
            ("4GiB", "", "      pin: {mode: %s, map: mem, align: 2MiB}\n"
             % ("system-ram" if kind == "hmem" else "fsdax")),
            ("32GiB", "", "      pin: {mode: devdax}\n      wants: [system_ram, p2pdma]\n"),
            ("16GiB", "",
             "      requires: [pfn_io]\n      wants: [extent_pages, ondemand_pages]\n"),
        ]
    )
)


def test_symbolic_outcomes_equal_runtime_decide_for_every_device_type(
    wide: tuple[Any, ...]
) -> None:
    """As above, for 35 devices covering every device type, pins (mode only, and mode, map and
    align), DRAM and capacity budgets, requirements and wants (proposals too), a size that is
    not a multiple of the region alignment and start alignments."""
    from policy import profiles

    loaded = profiles.load_profile_text(VARIED, "varied.yaml")
    assert not [d for d in loaded.diagnostics if d.severity == "error"], loaded.diagnostics
    devices = loaded.devices
    assert len({d.type for d in devices}) == 5
    _, w = wide
    result = explore.explore(devices, explore.default_space()[:WIDE], workers=1)
    sym = explore_sym.SymbolicEvaluation(w, devices)
    sets = {ds.device: ds for ds in (sym.device(d) for d in sym.devices)}
    var = dict(zip(w.projection, w.proj_vars))
    seen: set[tuple[str, tuple[int, int, int]]] = set()
    for e in result.evaluated:
        cube = w.bdd.cube({var[n]: n in e.config.on for n in w.projection})
        for o in e.outcomes:
            got = [k for k, u in sets[o.device].parts.items() if u & cube != w.bdd.false]
            want = (len(o.features), o.dram, o.capacity)
            assert got == [want], (o.device, e.config.id, o.choice)
            seen.add((o.device, want))
    assert {ds.device: sym.unreachable(ds) for ds in sets.values()} == dict(result.unreachable)
    assert len(seen) > 3 * len(devices)  # the sub-space gives the devices varied outcomes


def _union(sets: Sequence[dict[Any, Any]], false: Any) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for one in sets:
        for k, u in one.items():
            out[k] = out.get(k, false) | u
    return {k: u for k, u in out.items() if u != false}


def test_contexts_ranked_together_equal_each_context_alone(wide: tuple[Any, ...]) -> None:
    """A device's candidates are ranked over every run-time context at once, merged where
    candidates_for lists them alike: the same sets as ranking under each context alone (no
    merging) and taking their union, for every device type, pin, budget and requirement."""
    from policy import profiles

    devices = profiles.load_profile_text(VARIED, "varied.yaml").devices
    _, w = wide
    false = w.bdd.false
    together = explore_sym.SymbolicEvaluation(w, devices)
    assert len(together.contexts()) > 4
    alone = []
    for ctx in together.contexts():
        one = explore_sym.SymbolicEvaluation(w, devices)
        one._contexts = [ctx]
        alone.append([one.device(d) for d in one.devices])
    for i, d in enumerate(together.devices):
        got = together.device(d)
        each = [sets[i] for sets in alone]
        assert {t: u for t, u in got.parts.items() if u != false} == _union(
            [s.parts for s in each], false), d.name
        assert {t: u for t, u in got.ok.items() if u != false} == _union(
            [s.ok for s in each], false), d.name
        assert got.achievable == {
            f: _union([{f: s.achievable[f]} for s in each], false).get(f, false)
            for f in got.achievable
        }, d.name


@pytest.mark.parametrize("seed", range(24))
def test_bdd_equals_the_enumeration_on_random_sub_trees(
    seed: int, kconf: Any, proj: tuple[str, ...]
) -> None:
    """24 seeded random sub-trees: 16 symbols of the pmem space and 6 of the whole tree
    (choices, selects, imply, tristates, arch options in any mix; 3 to 156 configurations): the
    same configurations and the same values of every user option both ways."""
    import random

    from policy.space import encode

    pick = random.Random(seed)
    settable = encode.settable_symbols(kconf)
    space = tuple(
        dict.fromkeys(pick.sample(explore.default_space(), 16) + pick.sample(settable, 6))
    )
    sp = explore.enumerate_space(space)
    w = symbolic.walk(kconf, proj, space, whole_tree=True, values=True)
    assert _sets(w) == {c.on for c in sp.configurations}, space
    for name in sp.settable:
        assert frozenset(TRI[x] for x in w.seen[name]) == sp.seen[name], (space, name)


def test_cli_explore_query(capsys: pytest.CaptureFixture[str]) -> None:
    """--query selects from the JSON document, as matrix's does; a bad expression exits 2."""
    assert main(["explore", "--config-space", ",".join(SMALL), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    space = ",".join(SMALL)
    assert main(["explore", "--config-space", space, "--query", "frontier[].features"]) == 0
    assert json.loads(capsys.readouterr().out) == [f["features"] for f in doc["frontier"]]
    assert main(["explore", "--config-space", "BTT", "--query", "frontier[?"]) == 2
    assert "bad --query" in capsys.readouterr().err
