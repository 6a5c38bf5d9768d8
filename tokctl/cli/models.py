"""``tokctl models``: the models the registry prices, and everything about one of them."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from tokctl.cli.options import FormatOption, OutputOption

models_app = typer.Typer(help="List models with their tokenizer and current price; show one in full.")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")


@models_app.callback(invoke_without_command=True)
def list_models(
    ctx: typer.Context,
    provider: Annotated[Optional[str], typer.Option("--provider", help="Only this billing platform.")] = None,  # noqa: UP045
    search: Annotated[Optional[str], typer.Option("--search", help="Text in the id, an alias or the name.")] = None,  # noqa: UP045
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Every model: platform, tokenizer and accuracy, context window, current input and output price."""
    if ctx.invoked_subcommand is not None:
        return
    from tokctl.cli.models_render import models_report
    from tokctl.pricing.listing import list_models as run
    from tokctl.render import render

    render(models_report(run(provider, search)), fmt, output)


@models_app.command("show")
def show(
    model: Annotated[str, typer.Argument(help="Model id or alias; PLATFORM/MODEL names the platform.")],
    provider: Annotated[Optional[str], typer.Option("--provider", help="Billing platform.")] = None,  # noqa: UP045
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Aliases, tokenizer and the full price history: tiers, time windows, batch, service tiers, sources."""
    from tokctl.cli.models_render import model_report
    from tokctl.pricing.listing import describe_model
    from tokctl.render import render

    render(model_report(describe_model(model, provider)), fmt, output)
