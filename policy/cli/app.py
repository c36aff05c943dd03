"""The click application: a lazy command registry and the one exit-code boundary.

Each command lives in its own module and is imported only when it runs, so ``pmempolicy
validate`` does not pay for kconfiglib and ``--help`` stays fast. ``policy.cli.main`` is the
console script; it imports this module for every command line but ``--version``.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any, Optional

import click

from policy import __version__
from policy.errors import ExitCode, PolicyError

# command name -> "module:attribute" below policy.cli
COMMANDS: dict[str, str] = {
    # the kernel config workflow (policy/cli/config_cmds.py)
    "menuconfig": "config_cmds:menuconfig",
    "olddefconfig": "config_cmds:olddefconfig",
    "alldefconfig": "config_cmds:alldefconfig",
    "allnoconfig": "config_cmds:allnoconfig",
    "allyesconfig": "config_cmds:allyesconfig",
    "savedefconfig": "config_cmds:savedefconfig",
    "defconfig": "config_cmds:defconfig",
    "listnewconfig": "config_cmds:listnewconfig",
    "set": "config_cmds:set_cmd",
    "get": "config_cmds:get_cmd",
    "import-config": "config_cmds:import_config",
    # device profiles (policy/cli/profile_cmds.py)
    "validate": "profile_cmds:validate",
    "schema": "profile_cmds:schema",
    # the policy and the feature matrix (policy/cli/eval_cmds.py)
    "evaluate": "eval_cmds:evaluate",
    "matrix": "eval_cmds:matrix",
    "explain": "eval_cmds:explain",
    "compare": "compare_cmds:compare",
    # the feature catalog (policy/cli/catalog_cmds.py)
    "features": "catalog_cmds:features",
    # real-world inputs and plans (policy/cli/plan_cmds.py)
    "plan": "plan_cmds:plan",
    # a fleet's configs and listings at once (policy/cli/fleet_cmds.py)
    "fleet": "fleet_cmds:fleet",
    # the whole configuration space (policy/cli/explore_cmds.py)
    "explore": "explore_cmds:explore",
    "solve": "explore_cmds:solve",
    # the HTML report and single charts (policy/cli/report_cmds.py)
    "report": "report_cmds:report",
    "plot": "report_cmds:plot",
}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> Optional[click.Command]:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(f"{__package__}.{module_name}")
        except ModuleNotFoundError as err:
            if err.name == f"{__package__}.{module_name}":
                return None
            raise
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pmempolicy")
@click.option(
    "--traceback", "show_traceback", is_flag=True, help="Show the traceback of an internal error."
)
def cli(show_traceback: bool) -> None:
    """Decide and explain how Linux gives persistent memory its struct pages.

    Exit codes: 0 ok; 1 findings (invalid profile, unmet requirement or budget, a value that
    did not take); 2 usage error or unreadable/malformed input; 3 internal error.
    """


def run(args: Sequence[str]) -> int:
    """Run one command line and map its outcome to an :class:`ExitCode` (the one boundary)."""
    show_traceback = "--traceback" in args
    code: int
    try:
        result: Any = cli.main(args=list(args), prog_name="pmempolicy", standalone_mode=False)
        code = int(result) if isinstance(result, int) else ExitCode.OK
    except PolicyError as err:
        click.echo(err.render(), err=True)
        code = err.exit_code
    except click.exceptions.Exit as err:
        code = err.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        code = ExitCode.USAGE
    except click.ClickException as err:
        err.show()
        code = ExitCode.USAGE
    except BrokenPipeError:
        code = ExitCode.OK
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        code = 130
    except Exception:  # the boundary: anything unexpected is a bug, exit 3
        if show_traceback:
            import traceback

            traceback.print_exc()
        else:
            exc = sys.exc_info()[1]
            click.echo(
                f"internal error: {type(exc).__name__}: {exc} (rerun with --traceback for details)",
                err=True,
            )
        code = ExitCode.INTERNAL
    return code
