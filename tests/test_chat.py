"""Chat overhead rules: the OpenAI cookbook's published values, templates, and bad transcripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reference_engines import reference
from tokctl.counting.chat import count_chat, count_chat_file, parse_chat
from tokctl.errors import InputFormatError

DATA = Path(__file__).parent / "data" / "chat"


@pytest.mark.parametrize(
    ("model", "expected"),
    [("gpt-3.5-turbo", 129), ("gpt-4", 129), ("gpt-4-0613", 129), ("gpt-4o", 124), ("gpt-4o-mini", 124)],
)
def test_cookbook_messages_example(model: str, expected: int) -> None:
    messages, tools = parse_chat((DATA / "cookbook_jargon.json").read_text(), "x")
    result = count_chat(messages, model=model, tools=tools)
    assert result.tokens == expected
    assert result.accuracy == "exact"


@pytest.mark.parametrize(
    ("model", "expected"), [("gpt-3.5-turbo", 105), ("gpt-4", 105), ("gpt-4o", 101), ("gpt-4o-mini", 101)]
)
def test_cookbook_tools_example(model: str, expected: int) -> None:
    messages, tools = parse_chat((DATA / "cookbook_weather_tools.json").read_text(), "x")
    assert count_chat(messages, model=model, tools=tools).tokens == expected


def test_chatml_template_for_qwen_counts_specials_once_each() -> None:
    messages = [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "你好"}]
    result = count_chat(messages, tokenizer="qwen")
    qwen = reference("qwen")
    # <|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n
    texts = ["system\nYou are helpful.", "\n", "user\n你好", "\n", "assistant\n"]
    assert result.tokens == sum(qwen(t) for t in texts) + 3 + 2  # three <|im_start|>, two <|im_end|>
    assert result.accuracy == "exact"


def test_estimate_model_is_labelled_estimate() -> None:
    result = count_chat([{"role": "user", "content": "Hello"}], model="claude-sonnet-4-5")
    assert result.accuracy == "estimate"


def test_jsonl_transcript(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join(json.dumps(m) for m in json.loads((DATA / "cookbook_jargon.json").read_text())))
    assert count_chat_file(path, ["gpt-4o"]).rows[0].tokens == 124


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty chat file"),
        ("{not json", "invalid JSON"),
        ('{"messages": 3}', "no list of message objects"),
        ('[{"content": "x"}]', "has no role"),
        ('[{"role": "user"}]\n{oops', "invalid JSON"),
    ],
)
def test_malformed_chat_gives_a_clear_error(content: str, message: str) -> None:
    with pytest.raises(InputFormatError, match=message) as info:
        parse_chat(content, "chat.json")
    assert "chat.json" in str(info.value)
