"""Property tests: no input makes the loader raise or validate exit outside 0, 1, 2."""
from __future__ import annotations

import io
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from policy.cli import main
from policy.profiles import load_profile_text
from policy.report.diagnostics import REPORTERS

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
    st.sampled_from(["no", "on", "8GiB", "1%", "devdax", "nvdimm", "pmempolicy/v1", "DeviceProfile",
                     "HostProfile", "dax_mmap", "1GiB", "mem", "0"]),
)
_keys = st.one_of(st.text(max_size=10), st.sampled_from(
    ["apiVersion", "kind", "metadata", "spec", "name", "device", "devices", "type", "size",
     "start_align", "requires", "wants", "budget", "pin", "mode", "map", "align", "dram"]))
_trees = st.recursive(_scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(_keys, kids, max_size=5)), max_leaves=30)
_profiles = st.fixed_dictionaries({
    "apiVersion": st.sampled_from(["pmempolicy/v1", "v2"]),
    "kind": st.sampled_from(["DeviceProfile", "HostProfile"]),
    "metadata": st.fixed_dictionaries({"name": st.sampled_from(["a", "B", "x-1"])}),
    "spec": _trees,
})


def _check(data: Any) -> None:
    result = load_profile_text(data, "prop.yaml")
    assert len(result.files) == 1
    for d in result.diagnostics:
        assert "\n" not in d.render()
    for cls in REPORTERS.values():
        cls(strict=True).report(result, io.StringIO())


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    _check(data)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_trees, _profiles))
def test_arbitrary_yaml_trees_never_raise(tree: Any) -> None:
    _check(yaml.safe_dump(tree, allow_unicode=True))
    _check(yaml.safe_dump(tree, default_flow_style=True))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=200), _profiles.map(lambda t: yaml.safe_dump(t).encode())),
       st.sampled_from(sorted(REPORTERS)), st.booleans())
def test_validate_exit_code_is_0_1_or_2(data: bytes, fmt: str, strict: bool) -> None:
    runner = CliRunner()
    args = ["validate", "-", "--format", fmt] + (["--strict"] if strict else [])
    with runner.isolation(input=data):
        code = main(args)
    assert code in (0, 1, 2)
