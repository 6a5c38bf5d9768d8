"""Realistic mixed-vendor usage logs for the ingest benchmark, in the shapes of examples/logs.

    python bench/gen_logs.py OUT_DIR --records 1000000

One JSON-lines file per source, records in the proportions below, unique ids, times spread over November
2026 (inside the registry's price periods), token counts drawn from a seeded generator: OpenAI chat
completions, Anthropic request logs (a gateway's wrapper around the Messages response, cache tokens
outside input_tokens), Gemini generateContent responses (thinking outside candidates), DeepSeek request
logs (peak and off-peak hours), and LiteLLM spend logs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

MONTH_START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
MONTH_SECONDS = 29 * 86400
SHARES = {
    "openai_chat.jsonl": 0.30,
    "anthropic_requests.jsonl": 0.25,
    "gemini_responses.jsonl": 0.15,
    "deepseek_requests.jsonl": 0.15,
    "litellm_spendlogs.jsonl": 0.15,
}
OPENAI_MODELS = ("gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14", "o4-mini-2025-04-16")
ANTHROPIC_MODELS = (
    ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
    ("claude-haiku-4-5", "claude-haiku-4-5-20251001"),
)
GEMINI_MODELS = ("gemini-2.5-flash", "gemini-2.5-pro")
PROJECTS = ("support", "search", "billing", "agents", "analytics")


def _moment(rng: random.Random) -> dt.datetime:
    return MONTH_START + dt.timedelta(seconds=rng.random() * MONTH_SECONDS)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _prompt(rng: random.Random) -> tuple[int, int]:
    """(prompt tokens, the cached part)."""
    prompt = int(rng.lognormvariate(7.5, 1.1)) + 1
    cached = (prompt * rng.randint(50, 95) // 100) // 128 * 128 if rng.random() < 0.4 else 0
    return prompt, cached


def openai_chat(rng: random.Random, i: int) -> dict[str, Any]:
    prompt, cached = _prompt(rng)
    completion = int(rng.lognormvariate(5.5, 1.0)) + 1
    model = rng.choice(OPENAI_MODELS)
    reasoning = completion * 3 // 4 if model.startswith("o4") else 0
    return {
        "id": f"chatcmpl-b{i:010d}",
        "object": "chat.completion",
        "created": int(_moment(rng).timestamp()),
        "model": model,
        "service_tier": "default",
        "system_fingerprint": "fp_a91c2d",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Done."}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0},
        },
    }


def anthropic_request(rng: random.Random, i: int) -> dict[str, Any]:
    prompt, cached = _prompt(rng)
    write = rng.choice((0, 0, 0, 1024, 2048))
    output = int(rng.lognormvariate(5.5, 1.0)) + 1
    alias, model = rng.choice(ANTHROPIC_MODELS)
    latency = rng.randint(400, 20000)
    return {
        "timestamp": _iso(_moment(rng)),
        "latency_ms": latency,
        "ttft_ms": latency // 8,
        "project": rng.choice(PROJECTS),
        "api_key_id": f"apikey_{i % 17:02d}",
        "user": f"u_{i % 997}",
        "tags": {"feature": "summarize", "env": "prod"},
        "provider": "anthropic",
        "request_id": f"req_b{i:010d}",
        "http_status": 200,
        "request": {"model": alias, "max_tokens": 1024, "stream": False},
        "response": {
            "id": f"msg_b{i:010d}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "Here is the summary."}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": max(1, prompt - cached),
                "cache_creation_input_tokens": write,
                "cache_read_input_tokens": cached,
                "cache_creation": {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": 0},
                "output_tokens": output,
                "service_tier": "standard",
            },
        },
    }


def gemini_response(rng: random.Random, i: int) -> dict[str, Any]:
    prompt, cached = _prompt(rng)
    candidates = int(rng.lognormvariate(5.5, 1.0)) + 1
    thoughts = rng.choice((0, 0, 256, 1300))
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts,
    }
    if cached:
        usage["cachedContentTokenCount"] = cached
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": "The contract renews in March."}]}, "finishReason": "STOP"}
        ],
        "usageMetadata": usage,
        "modelVersion": rng.choice(GEMINI_MODELS),
        "responseId": f"gem{i:012d}",
        "createTime": _iso(_moment(rng)),
    }


def deepseek_request(rng: random.Random, i: int) -> dict[str, Any]:
    prompt, cached = _prompt(rng)
    completion = int(rng.lognormvariate(5.5, 1.0)) + 1
    return {
        "timestamp": _iso(_moment(rng)).replace(".000Z", "Z"),
        "latency_ms": rng.randint(400, 9000),
        "project": "cn-assistant",
        "api_key_id": "ds-key-ops",
        "provider": "deepseek-cn",
        "base_url": "https://api.deepseek.com",
        "request": {"model": "deepseek-v4-pro"},
        "response": {
            "id": f"ds-b{i:012d}",
            "object": "chat.completion",
            "model": "deepseek-v4-pro",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "好的。"}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": cached},
                "prompt_cache_hit_tokens": cached,
                "prompt_cache_miss_tokens": prompt - cached,
            },
        },
    }


def litellm_spendlog(rng: random.Random, i: int) -> dict[str, Any]:
    prompt, cached = _prompt(rng)
    completion = int(rng.lognormvariate(5.5, 1.0)) + 1
    start = _moment(rng)
    end = start + dt.timedelta(milliseconds=rng.randint(300, 9000))
    spend = round(prompt * 2.5e-6 + completion * 1e-5, 6)
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }
    return {
        "request_id": f"chatcmpl-l{i:010d}",
        "call_type": "acompletion",
        "api_key": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
        "spend": spend,
        "total_tokens": prompt + completion,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "startTime": _iso(start),
        "endTime": _iso(end),
        "completionStartTime": _iso(start + dt.timedelta(milliseconds=200)),
        "model": "gpt-4o-2024-08-06",
        "model_group": "gpt-4o",
        "custom_llm_provider": "openai",
        "api_base": "https://api.openai.com/v1",
        "user": f"u_{i % 997}",
        "team_id": "team-fin",
        "request_tags": ["invoice", "env:prod"],
        "status": "success",
        "metadata": {"user_api_key_alias": "fin-backend", "usage_object": usage},
    }


MAKERS: dict[str, Callable[[random.Random, int], dict[str, Any]]] = {
    "openai_chat.jsonl": openai_chat,
    "anthropic_requests.jsonl": anthropic_request,
    "gemini_responses.jsonl": gemini_response,
    "deepseek_requests.jsonl": deepseek_request,
    "litellm_spendlogs.jsonl": litellm_spendlog,
}


def generate(out_dir: Path, records: int) -> Path:
    """Write the logs (once: a finished directory holds a DONE marker) and return the directory."""
    done = out_dir / "DONE"
    if done.exists():
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for k, (name, share) in enumerate(SHARES.items()):
        n = records - written if k == len(SHARES) - 1 else int(records * share)
        rng = random.Random(f"tokctl-logs-{name}-{records}")
        make = MAKERS[name]
        with open(out_dir / name, "wb") as out:
            for start in range(0, n, 10_000):
                out.write(
                    b"".join(orjson.dumps(make(rng, written + i)) + b"\n" for i in range(start, min(n, start + 10_000)))
                )
        written += n
    done.write_text(f"{records}\n")
    return out_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    print(generate(args.out_dir, args.records))


if __name__ == "__main__":
    main()
