"""Write the quality examples: LiteLLM SpendLogs (JSONL) and OpenTelemetry GenAI spans (OTLP JSON).

Deterministic (a fixed seed): running it again gives the same bytes. Timings are whole milliseconds, so the
percentiles a test computes from these files with numpy are exact. Six hours from 2026-01-14 08:00 UTC:

- litellm_spendlogs.jsonl: gpt-4o, gpt-4o-mini (OpenAI) and claude-sonnet-4-5 (Anthropic) through a LiteLLM
  proxy, streamed (completionStartTime = first token). Claude slows down between 11:00 and 12:00 UTC. About
  6% of requests fail (status failure, metadata.error_information): 429 rate limits, 500s, 529 overloads,
  timeouts (408) and client 400s.
- otel_spans.json: deepseek-chat spans from an OpenTelemetry-instrumented service, not streamed (no time to
  first token: counted, not measured), two with errors (error.type timeout and 500; the instrumentation
  still records the input tokens it sent).

    python examples/quality/generate.py
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
START = dt.datetime(2026, 1, 14, 8, 0, tzinfo=dt.UTC)
HOURS = 6

# model -> (provider, model_group, ttft median s, output tokens/s, requests per hour)
MODELS = {
    "gpt-4o-2024-08-06": ("openai", "gpt-4o", 0.45, 80.0, 16),
    "gpt-4o-mini-2024-07-18": ("openai", "gpt-4o-mini", 0.30, 120.0, 20),
    "claude-sonnet-4-5-20250929": ("anthropic", "claude-sonnet-4-5", 1.10, 55.0, 14),
}
# LiteLLM logs the sha256 of its virtual keys
KEYS = [
    "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
    "5f2b1c0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c",
]
# (error_code, error_class) with their weights among failures
FAILURES = [
    ("429", "RateLimitError"),
    ("500", "InternalServerError"),
    ("529", "InternalServerError"),
    ("408", "Timeout"),
    ("400", "BadRequestError"),
]


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def ms(seconds: float) -> dt.timedelta:
    return dt.timedelta(milliseconds=max(1, round(seconds * 1000)))


def spendlogs(rng: random.Random) -> list[dict]:
    records = []
    for hour in range(HOURS):
        for model, (provider, group, ttft_median, speed, per_hour) in MODELS.items():
            slow = 2.5 if provider == "anthropic" and hour == 3 else 1.0
            for _ in range(per_hour):
                start = START + dt.timedelta(hours=hour, milliseconds=rng.randrange(3_600_000))
                prompt = rng.randint(200, 6000)
                completion = rng.randint(20, 900)
                ttft = ms(rng.lognormvariate(0, 0.45) * ttft_median * slow)
                generating = ms(completion / (speed * rng.uniform(0.8, 1.2)) * slow)
                record = {
                    "request_id": f"chatcmpl-{rng.getrandbits(48):012x}",
                    "call_type": "acompletion",
                    "api_key": KEYS[rng.randrange(len(KEYS))],
                    "model": model,
                    "model_group": group,
                    "custom_llm_provider": provider,
                    "user": f"u_{rng.randint(1, 9)}",
                    "request_tags": ["support-bot"],
                    "cache_hit": "False",
                    "startTime": iso(start),
                }
                roll = rng.random()
                if roll < 0.06:
                    code, klass = rng.choices(FAILURES, weights=[5, 2, 2, 2, 1])[0]
                    waited = ms(rng.uniform(0.05, 0.4)) if code != "408" else dt.timedelta(seconds=60)
                    record.update(
                        status="failure",
                        spend=0.0,
                        prompt_tokens=0,
                        completion_tokens=0,
                        total_tokens=0,
                        endTime=iso(start + waited),
                        completionStartTime=None,
                        metadata={
                            "error_information": {"error_code": code, "error_class": klass, "llm_provider": provider}
                        },
                    )
                else:
                    record.update(
                        status="success",
                        spend=round((prompt * 2.5 + completion * 10) / 1e6, 6),
                        prompt_tokens=prompt,
                        completion_tokens=completion,
                        total_tokens=prompt + completion,
                        completionStartTime=iso(start + ttft),
                        endTime=iso(start + ttft + generating),
                        metadata={
                            "usage_object": {
                                "prompt_tokens": prompt,
                                "completion_tokens": completion,
                                "total_tokens": prompt + completion,
                            }
                        },
                    )
                records.append(record)
    records.sort(key=lambda r: r["startTime"])
    return records


def attribute(key: str, value: object) -> dict:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def otel_spans(rng: random.Random) -> dict:
    spans = []
    for index in range(60):
        start = START + dt.timedelta(milliseconds=rng.randrange(HOURS * 3_600_000))
        prompt, completion = rng.randint(300, 4000), rng.randint(50, 700)
        latency = ms(0.6 + completion / 45.0 * rng.uniform(0.85, 1.15))
        nanos = int(start.timestamp()) * 10**9 + start.microsecond * 1000
        attrs = [
            attribute("gen_ai.operation.name", "chat"),
            attribute("gen_ai.provider.name", "deepseek"),
            attribute("gen_ai.request.model", "deepseek-chat"),
            attribute("gen_ai.response.model", "deepseek-chat"),
            attribute("gen_ai.response.id", f"ds-{index:04d}"),
        ]
        status: dict = {}
        if index in (17, 41):
            latency = ms(30.0) if index == 17 else ms(0.2)
            attrs.append(attribute("error.type", "timeout" if index == 17 else "500"))
            attrs += [attribute("gen_ai.usage.input_tokens", prompt), attribute("gen_ai.usage.output_tokens", 0)]
            status = {"code": 2, "message": "request failed"}
        else:
            attrs += [
                attribute("gen_ai.usage.input_tokens", prompt),
                attribute("gen_ai.usage.output_tokens", completion),
            ]
        spans.append(
            {
                "traceId": f"{rng.getrandbits(128):032x}",
                "spanId": f"{rng.getrandbits(64):016x}",
                "parentSpanId": "",
                "name": "chat deepseek-chat",
                "kind": 3,
                "startTimeUnixNano": str(nanos),
                "endTimeUnixNano": str(nanos + int(latency.total_seconds() * 10**9)),
                "attributes": attrs,
                "status": status,
            }
        )
    spans.sort(key=lambda s: int(s["startTimeUnixNano"]))
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [attribute("service.name", "report-writer")]},
                "scopeSpans": [
                    {"scope": {"name": "opentelemetry.instrumentation.openai_v2", "version": "2.1b0"}, "spans": spans}
                ],
            }
        ]
    }


def main() -> None:
    rng = random.Random(20260114)
    lines = [json.dumps(r, separators=(",", ":")) for r in spendlogs(rng)]
    (HERE / "litellm_spendlogs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (HERE / "otel_spans.json").write_text(json.dumps(otel_spans(rng), separators=(",", ":")) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
