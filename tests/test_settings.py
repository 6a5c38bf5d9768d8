"""tokctl.settings: every TOKCTL_* variable read in one place, with one convention, and nowhere else."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.usage_helpers import EXAMPLES
from tokctl import settings
from tokctl.cli.app import app
from tokctl.errors import UsageError
from tokctl.ingest.options import ReadOptions
from tokctl.settings import Settings

ROOT = Path(__file__).resolve().parent.parent / "tokctl"
NAMES = {v for k, v in vars(settings).items() if k.isupper() and isinstance(v, str) and v.startswith("TOKCTL_")}


def _environ_uses(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            lines += [node.lineno for a in node.names if a.name in ("environ", "getenv", "environb")]
    return lines


def test_only_settings_reads_the_environment() -> None:
    found = [
        f"{p.relative_to(ROOT.parent)}:{line}"
        for p in sorted(ROOT.rglob("*.py"))
        if p.name != "settings.py" or p.parent != ROOT
        for line in _environ_uses(p)
    ]
    assert not found, (
        "the environment is read outside tokctl/settings.py; add a field to tokctl.settings.Settings (parsed by "
        "its one convention) and read it there with settings.current(): " + ", ".join(found)
    )


def test_every_variable_named_in_the_code_is_a_setting() -> None:
    named = set()
    for path in ROOT.rglob("*.py"):
        named |= set(re.findall(r"\bTOKCTL_[A-Z_]*[A-Z]\b", path.read_text(encoding="utf-8")))
    assert named - NAMES == set(), "add these to tokctl/settings.py (a constant, a field, a line in its table)"
    table = settings.__doc__ or ""
    assert all(name in table for name in NAMES), "every variable has a line in the table of tokctl/settings.py"


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("yes", True), ("ON", True), ("true", True), ("0", False), ("off", False)]
)
def test_switches_take_one_convention(value: str, expected: bool) -> None:
    for name, field in ((settings.ROW_READER, "row_reader"), (settings.FORK, "fork"), (settings.DEBUG, "debug")):
        assert getattr(Settings.from_environ({name: value}), field) is expected


def test_unset_or_empty_is_the_default() -> None:
    assert Settings.from_environ({}) == Settings()
    assert Settings.from_environ({settings.BPE_OPENAI: " ", settings.WORKERS: ""}) == Settings()
    assert Settings() == Settings(None, None, None, row_reader=False, bpe_openai=True, fork=True, debug=False)


@pytest.mark.parametrize(("name", "value"), [("TOKCTL_FORK", "maybe"), ("TOKCTL_WORKERS", "0"),
                                             ("TOKCTL_WORKERS", "two"), ("TOKCTL_WORKERS", "-1")])  # fmt: skip
def test_a_malformed_value_is_an_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(UsageError, match=name) as caught:
        Settings.from_environ({name: value})
    assert caught.value.fix and name in caught.value.fix


def test_workers_means_exactly_that_many_when_the_caller_leaves_it_to_tokctl(monkeypatch: pytest.MonkeyPatch) -> None:
    from tokctl.ingest.read import _worker_count

    big = 1 << 40  # past the size where tokctl would pick by CPU count
    monkeypatch.setenv(settings.WORKERS, "3")
    assert _worker_count(ReadOptions(workers=None), [], 10) == 3  # small input: still 3, it was asked for
    assert _worker_count(ReadOptions(workers=2), [], big) == 2  # the caller's count wins
    monkeypatch.delenv(settings.WORKERS)
    assert _worker_count(ReadOptions(workers=None), [], 10) == 1


def test_paths_follow_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tokctl.paths import cache_dir, config_path

    monkeypatch.setenv(settings.CACHE_DIR, str(tmp_path / "c"))
    monkeypatch.setenv(settings.CONFIG, str(tmp_path / "x.toml"))
    assert (cache_dir(), config_path()) == (tmp_path / "c", tmp_path / "x.toml")


def test_the_cli_reports_a_malformed_variable_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.WORKERS, "many")
    result = CliRunner().invoke(app, ["usage", "report", str(EXAMPLES / "deepseek_requests.jsonl")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: TOKCTL_WORKERS='many' is not a positive whole number; set TOKCTL_WORKERS to 1, 2, ... or unset it"
    ]
