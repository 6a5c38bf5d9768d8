"""Options shared by every command, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from tokctl.render import OutputFormat

FormatOption = Annotated[
    Optional[OutputFormat],  # noqa: UP045 - typer needs Optional here
    typer.Option("--format", "-f", help="Output format (default: table, or from the -o suffix)."),
]
OutputOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--output", "-o", help="Write the result to this file, atomically, instead of stdout."),
]
