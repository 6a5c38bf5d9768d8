"""The command line: a thin layer over the library. Each command parses options, calls one library
function and renders the result; library errors become one line on stderr and an exit code."""

from __future__ import annotations

from tokctl.cli.app import app, main

__all__ = ["app", "main"]
