"""The CLI as a whole: version, help for every command, and every command documented in the README."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command
from typer.testing import CliRunner

from tokctl.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"


def _commands() -> list[list[str]]:
    root = get_command(app)
    found = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        if sub:
            found += [[name, child] for child in sub]
        else:
            found.append([name])
    return found


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("tokctl ")


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    commands = _commands()
    assert len(commands) >= 12
    for words in commands:
        result = CliRunner().invoke(app, [*words, "--help"])
        assert result.exit_code == 0, words
        assert "Usage:" in result.stdout
        summary = result.stdout.split("Usage:", 1)[1].splitlines()
        assert any(line.strip() and not line.strip().startswith(("Usage", "tokctl")) for line in summary), words
        assert f"tokctl {' '.join(words)}" in readme, f"document 'tokctl {' '.join(words)}' in README.md"
