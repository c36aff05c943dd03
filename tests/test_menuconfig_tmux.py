"""kconfiglib's menuconfig driven in a real terminal (tmux): open, toggle, save, quit."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from policy import kconfig

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (CI installs it)")

PMEMPOLICY = Path(sys.executable).with_name("pmempolicy")


class Terminal:
    """One tmux session on a private socket."""

    def __init__(self, socket: str, cwd: Path) -> None:
        self.socket = socket
        self.cwd = cwd

    def tmux(self, *args: str) -> str:
        assert TMUX is not None
        done = subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True, text=True,
                              cwd=self.cwd, timeout=30)
        return done.stdout

    def start(self, command: str) -> None:
        self.tmux("new-session", "-d", "-s", "t", "-x", "110", "-y", "35", command)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")


@pytest.fixture()
def terminal(tmp_path: Path, request: pytest.FixtureRequest) -> Terminal:
    term = Terminal(f"pmempolicy-test-{id(request)}", tmp_path)
    yield term  # type: ignore[misc]
    term.tmux("kill-server")


def test_menuconfig_toggle_save_quit(terminal: Terminal, tmp_path: Path) -> None:
    assert PMEMPOLICY.is_file(), "the venv's pmempolicy console script"
    subprocess.run([str(PMEMPOLICY), "defconfig", "debian_arm64"], cwd=tmp_path, check=True,
                   capture_output=True)
    before = kconfig.load_build(tmp_path / ".config")
    assert before.value("ZONE_DEVICE") == "n"

    terminal.start(f"{PMEMPOLICY} menuconfig; echo EXIT=$?; sleep 30")
    terminal.wait_for(lambda s: "2015 proposals" in s and "[Q] Quit" in s, "the main menu")

    # Jump to ZONE_DEVICE with '/', then toggle it with space
    terminal.keys("/")
    terminal.wait_for(lambda s: "Jump to" in s or "Search" in s or "search" in s, "the jump dialog")
    terminal.keys("ZONE_DEVICE")
    terminal.wait_for(lambda s: "Device memory (pmem, HMM, etc...) hotplug support" in s,
                      "ZONE_DEVICE in the search results")
    terminal.keys("Enter")
    screen = terminal.wait_for(
        lambda s: "[ ] Device memory (pmem, HMM, etc...) hotplug support" in s,
        "ZONE_DEVICE shown off",
    )
    assert "Memory Management options" in screen
    terminal.keys("Space")
    terminal.wait_for(lambda s: "[*] Device memory (pmem, HMM, etc...) hotplug support" in s,
                      "ZONE_DEVICE toggled on")

    # Save and quit: Q asks whether to save
    terminal.keys("q")
    terminal.wait_for(lambda s: "Save" in s and "(Y)es" in s, "the save prompt")
    terminal.keys("y")
    terminal.wait_for(lambda s: "EXIT=0" in s, "menuconfig to exit")

    after = kconfig.load_build(tmp_path / ".config")
    assert after.value("ZONE_DEVICE") == "y"
    assert after.value("NVDIMM_PFN") == "y"  # default LIBNVDIMM once ZONE_DEVICE is on
    old = kconfig.load_build(tmp_path / ".config.old")
    assert old.value("ZONE_DEVICE") == "n"


def test_menuconfig_refuses_without_a_terminal(tmp_path: Path) -> None:
    done = subprocess.run([str(PMEMPOLICY), "menuconfig"], cwd=tmp_path, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert "menuconfig needs a terminal" in done.stderr
    assert not (tmp_path / ".config").exists()
