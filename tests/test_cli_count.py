"""``tokctl count`` and ``tokctl tokenizers`` through the CLI: output, exit codes, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.reference_engines import EXACT_IDS
from tokctl.cli import app

runner = CliRunner()


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def doc(tmp_path: Path) -> Path:
    path = tmp_path / "doc.md"
    path.write_text("hello world\n", encoding="utf-8")
    return path


def test_json_output_shape(doc: Path) -> None:
    code, out, _ = run("count", str(doc), "-m", "gpt-4o", "-t", "cl100k_base", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["files"] == [
        {
            "path": str(doc),
            "bytes": 12,
            "chars": 12,
            "counts": [
                {
                    "model": "gpt-4o",
                    "tokenizer": "o200k_base",
                    "tokens": 3,
                    "accuracy": "exact",
                    "provider": "openai",
                },
                {"model": None, "tokenizer": "cl100k_base", "tokens": 3, "accuracy": "exact"},
            ],
        }
    ]
    assert data["totals"][0] == {
        "model": "gpt-4o",
        "tokenizer": "o200k_base",
        "tokens": 3,
        "accuracy": "exact",
        "provider": "openai",
        "chars": 12,
        "bytes": 12,
    }
    assert data["skipped"] == []


def test_table_output(doc: Path) -> None:
    code, out, _ = run("count", str(doc), "-m", "gpt-4o")
    assert code == 0
    assert "gpt-4o" in out and "o200k_base" in out and "exact" in out


def test_stdin_and_bom_and_utf16(tmp_path: Path) -> None:
    code, out, _ = run("count", "-", "--format", "json", input="hello world\n")
    assert code == 0 and json.loads(out)["totals"][0]["tokens"] == 3
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbfhello world\n")
    utf16 = tmp_path / "u16.txt"
    utf16.write_bytes("hello world\n".encode("utf-16"))
    code, out, _ = run("count", str(bom), str(utf16), "--format", "json")
    files = json.loads(out)["files"]
    assert [f["counts"][0]["tokens"] for f in files] == [3, 3]
    assert files[1]["encoding"] == "utf-16-le"


def test_directory_skips_hidden_and_vcs_and_binary(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello world\n")
    (tmp_path / ".hidden.txt").write_text("secret\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text("print(1)\n")
    (tmp_path / "img.bin").write_bytes(b"\x89PNG\x00\x00\x01")
    code, out, err = run("count", str(tmp_path), "--format", "json")
    data = json.loads(out)
    assert sorted(Path(f["path"]).name for f in data["files"]) == ["a.txt", "b.py"]
    assert data["skipped"] == [{"path": str(tmp_path / "img.bin"), "reason": data["skipped"][0]["reason"]}]
    assert "binary" in data["skipped"][0]["reason"]
    assert code == 1 and "skipped" in err
    code, out, _ = run("count", str(tmp_path), "--include", "*.py", "--format", "json")
    assert [Path(f["path"]).name for f in json.loads(out)["files"]] == ["b.py"] and code == 0


def test_invalid_utf8_is_replaced_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"caf\xe9 ok\n")
    code, out, err = run("count", str(path), "--format", "json")
    assert code == 0
    assert json.loads(out)["files"][0]["invalid_bytes"] == 1
    assert "1 invalid utf-8 byte" in err


def test_special_token_literals_are_counted_as_text(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_text("<|endoftext|>")
    code, out, _ = run("count", str(path), "--format", "json")
    assert code == 0 and json.loads(out)["totals"][0]["tokens"] == 7


def test_by_file_csv_and_output_file_written_atomically(doc: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    code, out, _ = run("count", str(doc), "--by", "file", "-o", str(target))
    assert code == 0 and out == ""
    lines = target.read_text().splitlines()
    assert lines[0] == "path,model,provider,tokenizer,accuracy,tokens,chars,chars_per_token"
    assert lines[1].endswith(",o200k_base,exact,3,12,4.0")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_parquet_output(doc: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    target = tmp_path / "out.parquet"
    assert run("count", str(doc), "-o", str(target))[0] == 0
    assert pq.read_table(target).column("tokens").to_pylist() == [3]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["count", "/no/such/file"], 2, "no such file or directory: /no/such/file"),
        (["count", "DOC", "-m", "gpt-4oo"], 2, "unknown model 'gpt-4oo'; did you mean gpt-4o"),
        (["count", "DOC", "-t", "o200"], 2, "unknown tokenizer 'o200'"),
        (["count", "DOC", "-m", "gpt-4o", "--provider", "nope"], 2, "unknown provider 'nope'"),
        (["count"], 2, "nothing to count"),
        (["count", "--chat", "CHAT", "-m", "gpt-4o"], 2, "invalid JSON"),
        (["count", "EMPTYDIR"], 2, "directory holds no file"),
        (["count", "BINARY"], 2, "binary file"),
    ],
)
def test_bad_input_gives_one_line_and_no_traceback(
    tmp_path: Path, doc: Path, args: list[str], code: int, message: str
) -> None:
    chat = tmp_path / "chat.json"
    chat.write_text("{broken")
    empty = tmp_path / "empty"
    empty.mkdir()
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"\x00\x01\x02")
    subst = {"DOC": str(doc), "CHAT": str(chat), "EMPTYDIR": str(empty), "BINARY": str(binary)}
    got_code, out, err = run(*[subst.get(a, a) for a in args])
    assert got_code == code
    assert message in err
    assert "Traceback" not in err + out
    if "error:" in err:
        assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1


def test_tampered_tokenizer_file_is_an_error_not_a_count(
    tmp_path: Path, doc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tokctl.registry import tokenizers as registry
    from tokctl.tokenize import engines

    tok = registry.get_tokenizer("o200k_base")
    fake_pkg = tmp_path / "fake.tiktoken"
    fake_pkg.write_bytes(b"dGFtcGVyZWQ= 0\n")
    monkeypatch.setattr("tokctl.tokenize.tokenizer_files.package_path", lambda source: fake_pkg)
    engines.clear_engines()
    assert tok.files
    code, _, err = run("count", str(doc))
    engines.clear_engines()
    assert code == 2
    assert "expected 446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d" in err
    assert "Traceback" not in err


def test_tokenizers_list_and_verify() -> None:
    code, out, _ = run("tokenizers", "list", "--format", "json")
    assert code == 0
    rows = {r["id"]: r for r in json.loads(out)["tokenizers"]}
    for tid in EXACT_IDS:  # the ids issue #2 requires exact and offline after install
        assert rows[tid]["offline"] is True and rows[tid]["accuracy"] == "exact", tid
    code, out, _ = run("tokenizers", "verify", "o200k_base", "qwen", "--format", "json")
    assert code == 0
    assert [r["status"] for r in json.loads(out)["files"]] == ["ok", "ok"]


def test_count_on_a_small_file_imports_neither_pandas_nor_pyarrow(doc: Path) -> None:
    code = (
        "import sys\n"
        "from tokctl.cli import app\n"
        "try:\n"
        f"    app(['count', {str(doc)!r}, '-m', 'gpt-4o'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('pandas', 'pyarrow') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def test_help_imports_neither_pandas_nor_pyarrow() -> None:
    code = (
        "import sys\nfrom tokctl.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', [m for m in ('pandas', 'pyarrow') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out
