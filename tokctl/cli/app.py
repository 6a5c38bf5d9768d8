"""The typer application. Command modules register themselves; errors are turned into one line here."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from tokctl.cli import fastparams
from tokctl.errors import TokctlError

fastparams.install()  # typer's pydantic coercion costs ~0.1 s per run; plain values skip it

# Each module defines ``register(app)``; add a line here when adding a command module.
COMMAND_MODULES = (
    "tokctl.cli.count",
    "tokctl.cli.tokenizers",
    "tokctl.cli.compare",
    "tokctl.cli.quality",
    "tokctl.cli.audit",
    "tokctl.cli.usage",
    "tokctl.cli.models",
    "tokctl.cli.price",
    "tokctl.cli.reconcile",
)


try:  # typer >= 0.29 vendors click
    from typer._click.exceptions import ClickException as _ClickException
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import ClickException as _ClickException  # type: ignore[assignment]

_PASS_THROUGH = (typer.Exit, typer.Abort, _ClickException)


class _Group(TyperGroup):
    """Turns library errors into ``error: ...`` plus the error's exit code, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TokctlError as exc:
            typer.echo(f"error: {exc.one_line()}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except _PASS_THROUGH:
            raise
        except KeyboardInterrupt:
            typer.echo("error: interrupted", err=True)
            raise typer.Exit(130) from None
        except BrokenPipeError:
            raise typer.Exit(0) from None
        except Exception as exc:
            if _debug():
                raise
            typer.echo(
                f"error: internal error: {type(exc).__name__}: {exc}; "
                "this is a bug in tokctl, please report it (TOKCTL_DEBUG=1 shows the traceback)",
                err=True,
            )
            raise typer.Exit(70) from None


def _debug() -> bool:
    from tokctl.settings import current

    try:
        return current().debug
    except TokctlError:  # a malformed TOKCTL_DEBUG must not hide the error being reported
        return False


app = typer.Typer(
    cls=_Group,
    name="tokctl",
    help="Token accounting across LLM vendors: count, compare, price, ingest usage, reconcile bills, "
    "measure service quality.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version as dist_version

        typer.echo(f"tokctl {dist_version('tokctl')}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Show the version and exit.", is_eager=True, callback=_show_version
    ),
) -> None:
    """Token accounting across LLM vendors."""


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    try:
        app()
    except BrokenPipeError:
        # stdout closed early (``tokctl ... | head``): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
