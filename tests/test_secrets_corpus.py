"""One redactor for every text that leaves tokctl (issue 19, hostile-input class 2: secrets written out).

The corpus holds a key of every shape of every vendor the README names (and the gateways and clouds tokctl
reads), in the shapes the vendors document and the public secret scanners (gitleaks, trufflehog) match;
the values are made up. Each key goes into every text field of a log record (the key field, project, user,
tags, the model and the provider, ids, an error message, a URL with ``?key=``) and must not come out of any
output: Parquet, FOCUS, a partitioned dataset's paths, JSON and CSV reports, the quality report, stderr.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tokctl.cli.app import app
from tokctl.ingest.secrets import redact, redact_label, redact_table

A32 = "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF"  # 32 letters and digits, mixed case
HEX32 = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
CORPUS = {
    "openai-legacy": "sk-" + "Ab1" * 7 + "T3BlbkFJ" + "Cd2" * 7,
    "openai-project": "sk-proj-" + "Xy9_Zw8-" * 12,
    "openai-service-account": "sk-svcacct-" + "Qr5Tu6" * 10,
    "openai-admin": "sk-admin-" + "Mn3Op4" * 10,
    "anthropic": "sk-ant-api03-" + "Zy8Xw7Vu6" * 10 + "-AA",
    "anthropic-admin": "sk-ant-admin01-" + "Ts5Rq4Po3" * 10 + "AA",
    "google": "AIzaSyD" + "3fG5hJ7kL9" * 3 + "mN1qR",
    "mistral-raw": A32,
    "xai": "xai-" + "Kp2Lq3Mr4N" * 8,
    "deepseek": "sk-" + HEX32,
    "alibaba-dashscope": "sk-" + "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
    "alibaba-accesskey-id": "LTAI5tQm8Rn2Sp4Tq6Ur8Vs0",
    "zhipu": HEX32 + ".Ab12Cd34Ef56Gh78",
    "moonshot": "sk-" + "Ab3De5Gh7Jk9" * 4,
    "minimax-jwt": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJHcm91cE5hbWUiOiJ0ZXN0In0.Zm9vYmFyYmF6cXV4cXV1eA",
    "baidu-qianfan": "bce-v3/ALTAK-Ab12Cd34Ef56Gh78Ij90/0123456789abcdef0123456789abcdef01234567",
    "volcengine-accesskey": "AKLTZjM4NWE1ZTk0YTYzNDI3Njk2ZTc0NjQ0NmVjNjE",
    "tencent-secretid": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
    "aws-access-key-id": "AKIAIOSFODNN7EXAMPLE",
    "aws-session-key-id": "ASIAY34FZKBOKMUTVV7A",
    "groq": "gsk_" + "Wq8Er7Ty6Ui5Op4As3Df2" * 2 + "Gh1J",
    "openrouter": "sk-or-v1-" + HEX32 * 2,
    "huggingface": "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ012345",
    "github": "ghp_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
    "perplexity": "pplx-" + "Ab3De5Gh7Jk9" * 4,
    "fireworks": "fw_" + "3ZkT9pQm7Rx2Ws5Vy8Ub1Nc4",
}
# Credentials that have no shape of their own: recognised by what stands before them.
IN_CONTEXT = {
    "lowercase-bearer": ("bearer ", "0a1B2c3D4e5F6g7H8i9J"),
    "token-scheme": ("Token ", "r8_" + "Ab3De5Gh7Jk9" * 3),
    "volcengine-ark-bearer": ("Bearer ", "3b2c7f8e-9a1d-4e5f-8a7b-6c5d4e3f2a1b"),
    "stepfun-bearer": ("Authorization: Bearer ", "5xK9" * 16),
    "url-key": ("https://generativelanguage.googleapis.com/v1beta/models/x:generateContent?key=", "Zx9Yw8Vu7Ts6"),
    "x-api-key-header": ("x-api-key: ", "3ZkT9pQm7Rx2Ws5V"),
    "api-key-assignment": ('"api_key": "', "a1b2c3d4e5f6a7b8"),
    "azure-sas-signature": ("https://acct.blob.core.windows.net/c/f?sv=2024&sig=", "pQ8rS7tU6vW5xY4z%3D"),
}
# Texts that are not secrets and must come out as they went in.
NOT_SECRETS = [
    "gpt-4o-2024-08-06",
    "claude-sonnet-4-5",
    "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "msg_01XFDUDYJgAACzvnptvVoYEL",
    "cmpl-e5cc70bb28c444948073e77776eb30ef",
    "e5cc70bb28c444948073e77776eb30ef",
    "3b2c7f8e-9a1d-4e5f-8a7b-6c5d4e3f2a1b",
    "team-platform",
    "the max token limit was exceeded",
    "invalid_api_key",
    "redacted:0123456789ab",
    "0" * 32,
    "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF",
]


def _context(name: str) -> str:
    before, secret = IN_CONTEXT[name]
    return before + secret


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_key_shape_is_redacted_in_a_label(name: str) -> None:
    key = CORPUS[name]
    for text in (key, f"team {key}", f"Authorization: Bearer {key}", f"{key},next"):
        assert key not in (redact_label(text) or ""), text


@pytest.mark.parametrize("name", sorted(set(CORPUS) - {"mistral-raw"}))
def test_every_prefixed_key_shape_is_redacted_in_an_id_too(name: str) -> None:
    assert CORPUS[name] not in (redact(f"id {CORPUS[name]}") or "")


@pytest.mark.parametrize("name", sorted(IN_CONTEXT))
def test_credentials_are_redacted_by_their_context(name: str) -> None:
    before, secret = IN_CONTEXT[name]
    clean = redact(before + secret) or ""
    assert secret not in clean and clean.startswith(before.rstrip("\"' "))


@pytest.mark.parametrize("text", NOT_SECRETS)
def test_names_and_ids_are_not_mistaken_for_secrets(text: str) -> None:
    assert redact_label(text) == text


def test_redact_table_reaches_dictionaries_lists_and_maps() -> None:
    key = CORPUS["xai"]
    table = pa.table(
        {
            "record_id": [CORPUS["deepseek"]],  # tokctl's own hash column: left alone
            "model_reported": pa.array([key]).dictionary_encode(),
            "request_id": [CORPUS["aws-access-key-id"]],
            "flags": [[f"unpriced:{key}"]],
            "tags": pa.array(
                [[("authorization", "raw-Zx9Yw8"), (CORPUS["groq"], "v")]], pa.map_(pa.string(), pa.string())
            ),
        }
    )
    clean = json.dumps(redact_table(table).to_pylist())
    for secret in (key, CORPUS["aws-access-key-id"], CORPUS["groq"], "raw-Zx9Yw8"):
        assert secret not in clean
    assert CORPUS["deepseek"] in clean


def _record(index: int, secret: str) -> str:
    record = {
        "timestamp": "2026-11-16T09:14:02Z",
        "provider": "anthropic",
        "request_id": f"req_{index} {secret}",
        "project": secret,
        "api_key_id": secret,
        "user": f"user {secret}",
        "tags": {"authorization": secret, "note": f"called {secret}", secret: "k"},
        "request": {"model": "claude-sonnet-4-5"},
        "response": {
            "id": f"msg_{index}",
            "type": "message",
            "model": "claude-sonnet-4-5",
            "usage": {"input_tokens": 10 + index, "output_tokens": 5},
        },
    }
    return json.dumps(record) + "\n"


def _odd_fields(index: int, secret: str) -> str:
    """The key where a model or provider name belongs, in an error message and in a URL."""
    record = {
        "id": f"chatcmpl-{index}",
        "object": "chat.completion",
        "created": 1794819720 + index,
        "model": secret,
        "provider": secret,
        "error": {"type": f"auth https://x.example/v1?key={secret}", "message": secret},
        "usage": {"prompt_tokens": 10, "completion_tokens": 2},
    }
    return json.dumps(record) + "\n"


def _secrets() -> dict[str, str]:
    return {**CORPUS, **{name: _context(name) for name in IN_CONTEXT}}


def _bare(secret: str) -> str:
    for before, bare in IN_CONTEXT.values():
        if secret == before + bare:
            return bare
    return secret


def test_no_key_of_the_corpus_leaves_tokctl(tmp_path: Path) -> None:
    secrets = _secrets()
    log = tmp_path / "logs.jsonl"
    log.write_text("".join(_record(i, s) + _odd_fields(i, s) for i, s in enumerate(secrets.values())), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    runs = [
        ["usage", "export", str(log), "-o", str(out / "usage.parquet")],
        ["usage", "export", str(log), "--focus", "-o", str(out / "focus.parquet")],
        ["usage", "export", str(log), "--partition-by", "project,model,provider", "-o", str(out / "dataset")],
        ["usage", "report", str(log), "--by", "api_key,user,model,tag:authorization", "-o", str(out / "r.json")],
        ["usage", "report", str(log), "--by", "project,model,provider", "-o", str(out / "r.csv")],
        ["quality", str(log), "--by", "api_key_id,user,project", "-f", "csv", "-o", str(out / "q.csv")],
    ]
    streams = ""
    for args in runs:
        result = CliRunner().invoke(app, args)
        assert result.exit_code in (0, 1), result.output
        streams += result.output
    texts = {"stdout and stderr": streams}
    for path in sorted(out.rglob("*")):
        texts[f"the name {path.relative_to(out)}"] = str(path.relative_to(out))
        if path.suffix == ".parquet":
            texts[path.name] = json.dumps(pq.read_table(path).to_pylist(), default=str)
        elif path.is_file():
            texts[path.name] = path.read_text(encoding="utf-8")
    for name, secret in secrets.items():
        bare = _bare(secret)
        for where, text in texts.items():
            assert bare not in text, f"the {name} key reached {where}"
