"""Faults: writes killed midway, outputs that name the wrong thing, caches filled at once or tampered with.

An output is replaced in one rename, so a writer killed by SIGKILL leaves the previous file intact; the hidden
temporary it was writing is removed by the next write to the same target. A directory is replaced only when
it is a dataset tokctl wrote.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tokctl import atomic as export
from tokctl.cli.app import app
from tokctl.errors import OutputError

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "examples" / "logs"


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def _age(path: Path, seconds: float = 3600) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def _spawn(script: str, tmp_path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "READY":
        proc.kill()
        raise AssertionError(f"writer did not get ready: {line!r} {proc.stderr.read() if proc.stderr else ''}")


# ---- -o writes killed midway ----------------------------------------------------------------------------------


def test_csv_write_killed_midway_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    target.write_text("model,tokens\ngpt-4o,12\n")
    proc = _spawn(
        f"""
        import sys, time
        from tokctl.atomic import write_atomic

        def writer(fh):
            fh.write("model,tokens\\n" + "x,1\\n" * 2_000_000)  # 8 MB already on disk
            fh.flush()
            print("READY", flush=True)
            time.sleep(60)

        write_atomic({str(target)!r}, writer)
        """,
        tmp_path,
    )
    _wait_ready(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert target.read_text() == "model,tokens\ngpt-4o,12\n"
    (partial,) = _leftovers(tmp_path)  # the killed writer's hidden, locked temporary
    assert partial.startswith(".report.csv.") and partial.endswith(".tmp")
    _age(tmp_path / partial)
    result = CliRunner().invoke(app, ["count", str(LOGS / "openai_chat.jsonl"), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert _leftovers(tmp_path) == []
    assert target.read_text().startswith("model,")


def test_parquet_export_killed_midway_keeps_the_previous_export(tmp_path: Path) -> None:
    target = tmp_path / "usage.parquet"
    first = CliRunner().invoke(app, ["usage", "export", str(LOGS / "openai_chat.jsonl"), "-o", str(target)])
    assert first.exit_code == 0, first.output
    before = pq.read_table(target)
    proc = _spawn(
        f"""
        import time
        from tokctl.usage.export import export_usage

        def progress(done, total):
            if done >= total:  # both files read, the staging Parquet open and half written
                print("READY", flush=True)
                time.sleep(60)

        export_usage([{str(LOGS / "anthropic_requests.jsonl")!r}, {str(LOGS / "gemini_responses.jsonl")!r}],
                     {str(target)!r}, progress=progress)
        """,
        tmp_path,
    )
    _wait_ready(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert pq.read_table(target).equals(before)
    (staging,) = _leftovers(tmp_path)
    assert (tmp_path / staging / "stage.parquet").exists()
    _age(tmp_path / staging)
    again = CliRunner().invoke(app, ["usage", "export", str(LOGS / "gemini_responses.jsonl"), "-o", str(target)])
    assert again.exit_code == 0, again.output
    assert _leftovers(tmp_path) == []
    assert pq.read_table(target).num_rows > 0


def test_a_live_writers_temporary_is_never_swept(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    with export.atomic_path(target) as tmp:
        _age(tmp)
        assert export.sweep_leftovers(target) == []  # old, but locked by this (live) writer
        tmp.write_text("{}")
    assert target.read_text() == "{}"


def test_a_swap_cut_between_its_two_renames_is_undone_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "usage"
    aside = tmp_path / ".usage.abcd1234.old"  # what _swap leaves when killed after moving the target aside
    (aside / "old" / "provider=openai").mkdir(parents=True)
    (aside / "old" / "provider=openai" / "part-0.parquet").write_bytes(b"PAR1")
    _age(aside)
    export.sweep_leftovers(target)
    assert (target / "provider=openai" / "part-0.parquet").read_bytes() == b"PAR1"
    assert not aside.exists()


# ---- outputs that name something else ------------------------------------------------------------------------


def test_export_refuses_to_replace_a_directory_of_other_files(tmp_path: Path) -> None:
    victim = tmp_path / "work"
    victim.mkdir()
    (victim / "notes.txt").write_text("precious")
    for args in (
        ["usage", "export", str(LOGS / "openai_chat.jsonl"), "-o", str(victim)],
        ["usage", "export", str(LOGS / "openai_chat.jsonl"), "-o", str(victim), "--partition-by", "provider"],
        ["usage", "report", str(LOGS / "openai_chat.jsonl"), "-o", str(victim)],
        ["count", str(LOGS / "openai_chat.jsonl"), "-o", str(victim)],
    ):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "not a tokctl dataset" in result.stderr
        assert "Traceback" not in result.output
        assert (victim / "notes.txt").read_text() == "precious"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_export_replaces_its_own_earlier_dataset(tmp_path: Path) -> None:
    target = tmp_path / "usage"
    runner = CliRunner()
    first = runner.invoke(app, ["usage", "export", str(LOGS), "-o", str(target), "--partition-by", "provider,model"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["usage", "export", str(LOGS / "openai_chat.jsonl"), "-o", str(target)])
    assert second.exit_code == 0, second.output
    assert target.is_file() and pq.read_table(target).num_rows == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["usage"]


@pytest.mark.parametrize("output", ["/dev/null/x.json", "/dev/null/a/b.csv", "/proc/tokctl-test.json"])
def test_unwritable_output_is_one_line_and_exit_2(output: str) -> None:
    result = CliRunner().invoke(app, ["count", str(LOGS / "openai_chat.jsonl"), "-o", output])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: cannot write {output}")
    assert len(result.stderr.strip().splitlines()) == 1


def test_write_atomic_turns_a_full_disk_into_an_output_error(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")

    def writer(fh: object) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="No space left on device"):
        export.write_atomic(target, writer)
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_write_parquet_writes_through_a_symlink_to_a_regular_file(tmp_path: Path) -> None:
    outside = tmp_path / "outside.parquet"
    outside.write_text("old")
    link = tmp_path / "out" / "link.parquet"
    link.parent.mkdir()
    link.symlink_to(outside)
    export.write_parquet(pa.table({"a": [1]}), link)
    assert link.is_symlink() and pq.read_table(outside).num_rows == 1
    assert sorted(p.name for p in link.parent.iterdir()) == ["link.parquet"]


# ---- the tokenizer cache ---------------------------------------------------------------------------------------


def _race(script: str, tmp_path: Path, cache: Path, processes: int = 3) -> list[str]:
    """Start ``processes`` copies of ``script`` that wait on one start file, so they hit the cache together."""
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOKCTL_CACHE_DIR": str(cache)}
    code = textwrap.dedent(
        f"""
        import os, time
        while not os.path.exists({str(go)!r}):
            time.sleep(0.001)
        """
    ) + textwrap.dedent(script)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(processes)
    ]
    time.sleep(0.5)  # every process imported tokctl and is waiting
    go.touch()
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append(out.strip())
    return outputs


def test_processes_filling_the_ranks_cache_at_once_all_succeed_and_the_cache_stays_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tokctl.registry.tokenizers import get_tokenizer
    from tokctl.tokenize import engines
    from tokctl.tokenize import tokenizer_files as files

    cache = tmp_path / "cache"
    outputs = _race(
        """
        from tokctl.counting.api import count_text
        from tokctl.registry.tokenizers import get_tokenizer
        from tokctl.tokenize import engines

        spec = get_tokenizer("cl100k_base").files[0]
        ranks = engines.load_ranks(get_tokenizer("cl100k_base"))  # cold: parses and writes the cache
        for _ in range(20):  # then everyone rewrites it while the others read it: never a partial file
            engines._write_ranks_cache(spec, ranks)
            assert engines._read_ranks_cache(spec) == ranks
        print(count_text("hello world, twice over", tokenizer="cl100k_base").tokens)
        """,
        tmp_path,
        cache,
    )
    assert len(set(outputs)) == 1 and outputs[0].isdigit()
    (entry,) = (cache / "parsed").iterdir()  # one cache file, no temporaries left behind
    assert entry.name.endswith(".marshal")
    monkeypatch.setenv("TOKCTL_CACHE_DIR", str(cache))
    tok = get_tokenizer("cl100k_base")
    source = files.load_file(tok, tok.files[0]).data
    assert engines._read_ranks_cache(tok.files[0]) == engines._parse_tiktoken(source)


def test_processes_pulling_the_same_tokenizer_file_at_once_all_succeed(tmp_path: Path) -> None:
    """``tokenizers pull`` writes the verified download into the cache atomically; a local file:// source
    stands in for the network."""
    source = next((ROOT / ".venv").rglob("cl100k_base.tiktoken*"), None)
    if source is None:
        pytest.skip("no cl100k_base file in the venv")
    import gzip as gz
    import hashlib

    data = gz.decompress(source.read_bytes()) if source.suffix == ".gz" else source.read_bytes()
    plain = tmp_path / "cl100k.tiktoken"
    plain.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    cache = tmp_path / "cache"
    outputs = _race(
        f"""
        import dataclasses
        from tokctl.registry.tokenizers import TokenizerFile, get_tokenizer
        from tokctl.tokenize import tokenizer_files as files

        spec = TokenizerFile("cl100k.tiktoken", "tiktoken", {sha!r}, ("url:file://{plain}",))
        tok = dataclasses.replace(get_tokenizer("cl100k_base"), files=(spec,))
        files.pull(tok)
        print(files.load_file(tok, spec).origin.split(":")[0])
        """,
        tmp_path,
        cache,
    )
    assert outputs == ["cache"] * 3
    (cached,) = (cache / "tokenizers").iterdir()
    assert cached.name == sha and hashlib.sha256(cached.read_bytes()).hexdigest() == sha


def test_a_damaged_ranks_cache_is_rebuilt_and_written_back() -> None:
    from tokctl.registry.tokenizers import get_tokenizer
    from tokctl.tokenize import engines

    tok = get_tokenizer("cl100k_base")
    spec = tok.files[0]
    good = engines.load_ranks(tok)
    path = engines._ranks_cache_path(spec)
    blob = path.read_bytes()
    path.write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))  # one bit
    assert engines._read_ranks_cache(spec) is None
    assert engines.load_ranks(tok) == good
    assert path.read_bytes() == blob  # replaced from the verified source, byte for byte


def test_another_tokenizers_ranks_under_this_name_are_not_used() -> None:
    """The digest binds the payload to the source file's sha256: copying a valid cache file over another
    tokenizer's name (or a stale one after a registry change) is detected."""
    from tokctl.registry.tokenizers import get_tokenizer
    from tokctl.tokenize import engines

    cl100k, o200k = get_tokenizer("cl100k_base"), get_tokenizer("o200k_base")
    engines.load_ranks(cl100k)
    engines.load_ranks(o200k)
    victim = engines._ranks_cache_path(o200k.files[0])
    victim.write_bytes(engines._ranks_cache_path(cl100k.files[0]).read_bytes())
    assert engines._read_ranks_cache(o200k.files[0]) is None
    assert len(engines.load_ranks(o200k)) > 199_000


def test_an_unwritable_cache_warns_and_counting_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache directory that cannot be created or written (read-only mount, a file in the way: chmod is no
    obstacle when the tests run as root) costs a warning, never the count."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("TOKCTL_CACHE_DIR", str(blocker / "cache"))
    from tokctl.tokenize import engines

    engines.clear_engines()
    try:
        result = CliRunner().invoke(app, ["count", str(LOGS / "openai_chat.jsonl"), "-t", "cl100k_base", "-f", "json"])
    finally:
        engines.clear_engines()
    assert result.exit_code == 0, result.output
    assert "warning: cannot write the tokenizer cache" in result.stderr
    assert "counting goes on without it" in result.stderr
    assert '"tokens"' in result.stdout
