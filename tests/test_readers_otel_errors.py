"""A failed OTel model span without usage is kept as an error row (null tokens), not skipped."""

from __future__ import annotations

import json
from pathlib import Path

import tokctl


def _span(span_id: str, attrs: dict[str, object], status_code: int) -> dict[str, object]:
    return {
        "traceId": "t1",
        "spanId": span_id,
        "name": "chat gpt-4o",
        "startTimeUnixNano": "1763280000000000000",
        "endTimeUnixNano": "1763280001500000000",
        "attributes": [
            {"key": k, "value": {"stringValue": v} if isinstance(v, str) else {"intValue": str(v)}}
            for k, v in attrs.items()
        ],
        "status": {"code": status_code},
    }


def test_failed_span_without_usage_becomes_an_error_row(tmp_path: Path) -> None:
    ok = _span(
        "s1",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.provider.name": "openai",
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 5,
        },
        1,
    )
    failed = _span(
        "s2",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.provider.name": "openai",
            "error.type": "500",
        },
        2,
    )
    unrelated = _span("s3", {"http.method": "GET"}, 0)
    doc = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [ok, failed, unrelated]}]}]}
    path = tmp_path / "spans.json"
    path.write_text(json.dumps(doc))
    result = tokctl.read_usage_with_accounting([str(path)])
    rows = result.table.sort_by("response_id").to_pylist() if result.table.num_rows else []
    statuses = sorted((r["status"] or "-") for r in rows)
    assert statuses == ["error", "success"]
    error = next(r for r in rows if r["status"] == "error")
    assert error["input_tokens"] is None and error["output_tokens"] is None
    accounting = result.accounting.to_dict()
    assert accounting["parsed"] == 2 and accounting["records"] == 3
