"""policy.api.explain_feature takes what policy.evaluate takes: names, paths or objects."""
from __future__ import annotations

from pathlib import Path

import pytest

from policy import api, kconfig, profiles, resources
from policy.errors import UsageError


def test_names_and_objects_give_the_same_explanation() -> None:
    by_name = api.explain_feature("longterm_pin", "db01-pmem0", "debian_amd64")
    build = kconfig.load_build(kconfig.find_defconfig("debian_amd64"))
    dev = next(d for d in profiles.load_profiles([resources.profiles_dir()]).devices
               if d.name == "db01-pmem0")
    assert by_name == api.explain_feature("longterm_pin", dev, build)
    path = Path(resources.profiles_dir()) / "db01-pmem0.yaml"
    if not path.exists():
        path = Path(resources.profiles_dir()) / "db-400g-odirect.yaml"
    assert api.explain_feature("longterm_pin", path, "debian_amd64") == by_name
    assert not by_name.enabled and by_name.change


def test_unknown_device_name_suggests() -> None:
    with pytest.raises(UsageError, match="did you mean 'db01-pmem0'"):
        api.explain_feature("longterm_pin", "db01-pmem9", "debian_amd64")
