"""The kernel config workflow: menuconfig, the *config targets, set, get, import-config."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import click

from policy import kconfig
from policy.atomic import file_state, locked, write_atomic
from policy.errors import ExitCode, UsageError

CONFIG_HELP = "The .config to read and write (default: $KCONFIG_CONFIG, else .config)."


@dataclass(frozen=True)
class ConfigSettings:
    """Where the configuration lives."""

    config: Path

    @classmethod
    def from_option(cls, value: Optional[str]) -> ConfigSettings:
        return cls(Path(value or os.environ.get("KCONFIG_CONFIG") or ".config"))


def config_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--config PATH`` option every config command takes."""
    return click.option("--config", "config", metavar="PATH", help=CONFIG_HELP)(fn)


def _write(path: Path, text: str) -> None:
    if write_atomic(path, text, backup=True):
        click.echo(f"Configuration saved to '{path}'")
    else:
        click.echo(f"No change to configuration in '{path}'")


def _current(settings: ConfigSettings, *, reading: bool = False) -> kconfig.BuildConfig:
    """The configuration in ``--config`` resolved, or the defaults when there is none yet.

    A symlink loop, a dangling symlink or anything but a regular file is an error (exit 2); a
    command that only reads says on stderr that it answers from the defaults (as the kernel's
    ``conf`` does), never silently.
    """
    if file_state(settings.config) == "file":
        return kconfig.load_build(settings.config)
    if reading:
        click.echo(f"warning: {settings.config}: no such file; using the defaults", err=True)
    return kconfig.defaults()


@click.command()
@config_option
def olddefconfig(config: Optional[str]) -> None:
    """Resolve the .config: keep its values, give new symbols their defaults."""
    settings = ConfigSettings.from_option(config)
    with locked(settings.config):
        _write(settings.config, kconfig.render_config(_current(settings)))


@click.command()
@config_option
def alldefconfig(config: Optional[str]) -> None:
    """Write a .config with every symbol at its default."""
    settings = ConfigSettings.from_option(config)
    with locked(settings.config):
        _write(settings.config, kconfig.render_config(kconfig.defaults()))


@click.command()
@config_option
def allnoconfig(config: Optional[str]) -> None:
    """Write a .config with every symbol that can be n set to n."""
    settings = ConfigSettings.from_option(config)
    with locked(settings.config):
        _write(settings.config, kconfig.render_config(kconfig.allno()))


@click.command()
@config_option
def allyesconfig(config: Optional[str]) -> None:
    """Write a .config with every symbol that can be y set to y."""
    settings = ConfigSettings.from_option(config)
    with locked(settings.config):
        _write(settings.config, kconfig.render_config(kconfig.allyes()))


@click.command()
@config_option
@click.option("--out", "out", metavar="PATH", default="defconfig", show_default=True,
              help="Where to write the minimal configuration.")
def savedefconfig(config: Optional[str], out: str) -> None:
    """Write the minimal configuration (only values that differ from the defaults)."""
    settings = ConfigSettings.from_option(config)
    if file_state(settings.config) == "missing":
        raise UsageError(f"{settings.config}: no such file; nothing to save")
    text = kconfig.render_config(kconfig.load_build(settings.config), minimal=True)
    path = Path(out)
    if write_atomic(path, text):
        click.echo(f"Minimal configuration saved to '{path}'")
    else:
        click.echo(f"No change to minimal configuration in '{path}'")


@click.command()
@config_option
@click.argument("name")
def defconfig(config: Optional[str], name: str) -> None:
    """Write the .config from a shipped defconfig NAME (see configs/) or a defconfig PATH."""
    settings = ConfigSettings.from_option(config)
    build = kconfig.load_build(kconfig.find_defconfig(name))
    with locked(settings.config):
        _write(settings.config, kconfig.render_config(build))


@click.command()
@config_option
def listnewconfig(config: Optional[str]) -> None:
    """List the visible symbols the .config gives no value for, with their defaults."""
    settings = ConfigSettings.from_option(config)
    for name, value in kconfig.new_symbols(_current(settings, reading=True)):
        click.echo(f"CONFIG_{name}={value}")


def _split_assignment(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise UsageError(f"{text!r}: expected SYMBOL=VALUE")
    name, value = text.split("=", 1)
    name = name.strip()
    if name.startswith("CONFIG_"):
        name = name[len("CONFIG_"):]
    if not name:
        raise UsageError(f"{text!r}: expected SYMBOL=VALUE")
    return name, value.strip().strip('"')


def _known(build: kconfig.BuildConfig, names: list[str]) -> None:
    """A UsageError (exit 2) naming every unknown symbol, each with its closest known name."""
    unknown = [n for n in names if n not in build.values]
    if unknown:
        # only here: importing it loads the profiles package (PyYAML), ~20 ms of every get/set
        from policy.profiles.schema import suggest

        raise UsageError(
            "unknown symbol(s): "
            + ", ".join(f"{n}{suggest(n, sorted(build.values))}" for n in unknown)
            + " (not in the pmempolicy Kconfig tree)"
        )


@click.command("set")
@config_option
@click.option("--with-deps", "with_deps", is_flag=True,
              help="Also make every change the values need to take (their unmet dependencies, "
                   "a symbol that rules them out), found as explain finds its smallest change; "
                   "print what else changed.")
@click.argument("assignments", nargs=-1, required=True, metavar="SYM=VALUE...")
def set_cmd(config: Optional[str], with_deps: bool, assignments: tuple[str, ...]) -> int:
    """Set symbols; say which values did not take and why (exit 1, nothing written).

    A value does not take when its dependencies are unmet: the unmet chain is shown down to the
    root cause, each step with its Kconfig file:line, then every change it needs (all of them,
    not one per run); --with-deps makes those changes too.
    """
    settings = ConfigSettings.from_option(config)
    pairs = [_split_assignment(a) for a in assignments]
    with locked(settings.config):  # the read-modify-write of concurrent sets must not interleave
        return _set(settings, pairs, with_deps)


def _set(settings: ConfigSettings, pairs: list[tuple[str, str]], with_deps: bool = False) -> int:
    from policy.kconfig.deps import dependencies

    current = _current(settings)
    _known(current, [n for n, _ in pairs])
    result = kconfig.set_values(current, pairs)
    if result.failures:
        deps = dependencies(current, pairs)
        if with_deps and deps.ok:
            click.echo("also set (needed): " + " ".join(f"{n}={v}" for n, v in deps.needed))
            _write(settings.config, kconfig.render_config(deps.result.build))
            return ExitCode.OK
        for name, wanted, got, chain in result.failures:
            click.echo(f"{name}={wanted} did not take: {name} is {got}", err=True)
            for depth, step in enumerate(chain):
                click.echo(f"  {'  ' * depth}-> {step.render()}", err=True)
        if deps.ok:
            flat = " ".join(f"{n}={v}" for n, v in deps.needed)
            click.echo(f"the whole change needed: {flat} (then "
                       + " ".join(f"{n}={v}" for n, v in pairs)
                       + "); 'pmempolicy set --with-deps' applies it", err=True)
        else:
            left = ", ".join(f"{n}={w}" for n, w, _, _ in deps.result.failures)
            click.echo(f"no change found that lets {left} take", err=True)
        click.echo(f"'{settings.config}' not written", err=True)
        return ExitCode.FINDINGS
    _write(settings.config, kconfig.render_config(result.build))
    return ExitCode.OK


@click.command("get")
@config_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.argument("symbols", nargs=-1, required=True, metavar="SYM...")
def get_cmd(config: Optional[str], fmt: str, symbols: tuple[str, ...]) -> None:
    """Show symbols' values: y, m, n, a number or string, or absent (dependencies unmet)."""
    settings = ConfigSettings.from_option(config)
    build = _current(settings, reading=True)
    names = [s[len("CONFIG_"):] if s.startswith("CONFIG_") else s for s in symbols]
    _known(build, names)
    if fmt == "json":
        doc = {
            "schema_version": 1,
            "config": str(settings.config),
            "symbols": {n: {"value": build.state(n), "enabled": build.enabled(n)} for n in names},
        }
        click.echo(json.dumps(doc, indent=2))
        return
    for n in names:
        click.echo(f"{n}={build.state(n)}")


@click.command("import-config")
@config_option
@click.argument("src", metavar="SRC")
def import_config(config: Optional[str], src: str) -> int:
    """Import a real distro kernel config (plain, .gz, .xz; /proc/config.gz) into the model.

    Lines outside the model are counted and ignored; every modeled symbol whose resulting value
    differs from what SRC states is listed (exit 1).
    """
    settings = ConfigSettings.from_option(config)
    report = kconfig.import_config(Path(src))
    click.echo(
        f"{src}: {report.assignments} assignments, {report.outside_model} outside the model "
        f"(ignored), {report.assignments - report.outside_model} modeled"
    )
    for name, said, got, line in report.differences:
        where = f"{src}:{line}" if line else f"{src}"  # line 0: the file has no line for it
        click.echo(f"{where}: CONFIG_{name}: file says {said}, model gives {got}", err=True)
    with locked(settings.config):
        _write(settings.config, kconfig.render_config(report.build))
    return ExitCode.FINDINGS if report.differences else ExitCode.OK


@click.command()
@config_option
def menuconfig(config: Optional[str]) -> None:
    """Edit the .config in kconfiglib's terminal menuconfig (needs a terminal)."""
    settings = ConfigSettings.from_option(config)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("menuconfig needs a terminal; use 'pmempolicy set' in scripts")
    if file_state(settings.config) == "file":
        kconfig.load_build(settings.config)  # refuse a bad file before the UI opens
    kconfig.run_menuconfig(settings.config)
