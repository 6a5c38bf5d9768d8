"""Generate the reconcile example: a month of request logs and the two vendors' bills, with planted errors.

    python examples/reconcile/generate.py          # rewrites logs/, bills/ and planted.json here

Deterministic (seed below). October 2026, two vendors:

* Anthropic (USD, days in UTC): the Admin API cost report (cents) and usage report, two pages each.
* DeepSeek China (CNY, days in Beijing time): the console bill as CSV, amounts rounded to the fen.

The bills are what the vendor computes from the same requests with the registry's prices (tokctl.price),
except where a discrepancy is planted on purpose; planted.json lists every cell that must come out
mismatched (or matched with an explanation) and the rule that must explain it. tests/test_reconcile_example.py
checks that tokctl reconcile finds exactly these.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tokctl.registry.fx import convert  # noqa: E402
from tokctl.pricing import Usage, price  # noqa: E402

SEED = 20261031
UTC = dt.UTC
BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")
DAYS = [dt.date(2026, 10, d) for d in range(1, 32)]
CLASSES = ("input", "cache_read", "cache_write", "cache_write_1h", "output")
TOLERANCE = Decimal("0.005")
FEN = Decimal("0.01")
SONNET, OPUS, HAIKU = "claude-sonnet-5-5", "claude-opus-5-5", "claude-haiku-5-5"
PRO, FLASH = "deepseek-v4-pro", "deepseek-flash"
APP, RESEARCH, LEGACY = "wrkspc_app", "wrkspc_research", "wrkspc_legacy"
TOKEN_TYPES = {"input": "uncached_input_tokens", "cache_read": "cache_read_input_tokens",
               "cache_write": "cache_creation.ephemeral_5m_input_tokens",
               "cache_write_1h": "cache_creation.ephemeral_1h_input_tokens", "output": "output_tokens"}  # fmt: skip
DEEPSEEK_ITEMS = {"input": "输入(缓存未命中)", "cache_read": "输入(缓存命中)", "output": "输出"}
DISPLAY = {SONNET: "Claude Sonnet 5.5", OPUS: "Claude Opus 5.5", HAIKU: "Claude Haiku 5.5"}
DESCRIPTIONS = {"input": "Input Tokens", "cache_read": "Cache Read", "cache_write": "Cache Write (5m)",
                "cache_write_1h": "Cache Write (1h)", "output": "Output Tokens"}  # fmt: skip


@dataclass(frozen=True)
class Request:
    id: str
    provider: str
    model: str
    ts: dt.datetime  # UTC
    project: str | None
    batch: bool
    uncached: int
    cache_read: int
    write_5m: int
    write_1h: int
    output: int
    reasoning: int = 0

    def usage(self) -> Usage:
        return Usage(self.uncached + self.cache_read + self.write_5m + self.write_1h, self.cache_read, self.write_5m,
                     self.write_1h, self.output, self.reasoning)  # fmt: skip


# -- requests --------------------------------------------------------------------------------------------


def _moment(rng: random.Random, day: dt.date, tz: dt.tzinfo, hours: tuple[int, int] = (0, 24)) -> dt.datetime:
    hour = rng.choices(range(hours[0], hours[1]), weights=[3 if 9 <= h < 18 else 1 for h in range(*hours)])[0]
    local = dt.datetime.combine(day, dt.time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=tz)
    return local.astimezone(UTC)


def anthropic_requests(rng: random.Random) -> list[Request]:
    found = []
    for day in DAYS:
        for n in range(rng.randint(30, 40)):
            model = rng.choices([SONNET, OPUS, HAIKU], [5, 3, 2 if day.day >= 7 else 0])[0]
            project = rng.choice([APP, APP, RESEARCH])
            batch = model == OPUS and project == RESEARCH and day.day in (3, 15, 27) and rng.random() < 0.7
            long_prompt = model == HAIKU and ((day.day == 22 and n < 6) or rng.random() < 0.05)
            uncached = rng.randint(105_000, 160_000) if long_prompt else rng.randint(500, 20_000)
            cache_read = rng.choice([0, rng.randint(2_000, 80_000)]) if not long_prompt else rng.randint(0, 20_000)
            write_5m = rng.choice([0, 0, rng.randint(1_000, 10_000)])
            write_1h = rng.randint(1_000, 20_000) if model == OPUS and rng.random() < 0.2 else 0
            found.append(Request(f"msg_{day.day:02d}{n:03d}", "anthropic", model, _moment(rng, day, UTC), project,
                                 batch, uncached, cache_read, write_5m, write_1h, rng.randint(100, 4_000)))  # fmt: skip
    return found


def deepseek_requests(rng: random.Random) -> list[Request]:
    found = []
    for day in DAYS:
        for n in range(rng.randint(34, 44)):
            model = rng.choice([PRO, PRO, FLASH])
            prompt = rng.randint(10_000, 120_000)
            hit = int(prompt * rng.choice([0, 0.5, 0.8, 0.9]))
            output = rng.randint(500, 6_000)
            found.append(Request(f"ds-{day.day:02d}{n:03d}", "deepseek-cn", model, _moment(rng, day, BEIJING), None,
                                 False, prompt - hit, hit, 0, 0, output, rng.randint(0, output // 2)))  # fmt: skip
        if day == dt.date(2026, 10, 15):  # requests just after midnight in Beijing (16:xx UTC the day before)
            for n in range(8):
                ts = _moment(rng, day, BEIJING, (0, 1))
                found.append(Request(f"ds-15n{n}", "deepseek-cn", FLASH, ts, None, False, rng.randint(5_000, 20_000),
                                     rng.randint(0, 10_000), 0, 0, rng.randint(500, 2_000)))  # fmt: skip
    return found


# -- what the vendor bills -------------------------------------------------------------------------------


def class_costs(req: Request, **how: object) -> dict[str, tuple[int, Decimal]]:
    """Tokens and cost per token class as tokctl.price computes them (``at``, ``batch``, usage overrides)."""
    usage = how.pop("usage", None) or req.usage()
    at = how.pop("at", None) or req.ts
    batch = how.pop("batch", req.batch)
    cost = price(usage, req.model, req.provider, at=at, batch=bool(batch))
    assert cost.total is not None, (req, cost.reason)
    out: dict[str, tuple[int, Decimal]] = {}
    for part in cost.components:
        name = "output" if part.kind == "reasoning" else part.kind
        tokens, money = out.get(name, (0, Decimal(0)))
        out[name] = (tokens + part.tokens, money + part.cost)
    return out


def base_unit_prices(req: Request) -> dict[str, Decimal]:
    """The model's base (no long-context tier) prices per token class at the request's moment."""
    small = price(Usage(1_000, 100, 100, 100, 1_000), req.model, req.provider, at=req.ts)
    return {p.kind: p.unit_price for p in small.components}


@dataclass
class Plant:
    rule: str
    note: str


def vendor_view(req: Request) -> tuple[dt.date, dict[str, tuple[int, Decimal]], Plant | None]:
    """The bill's day and per-class tokens and cost for one request, with the planted error if any."""
    tz = UTC if req.provider == "anthropic" else BEIJING
    day = req.ts.astimezone(tz).date()
    local = req.ts.astimezone(tz)
    if req.model == SONNET and day == dt.date(2026, 10, 7):
        return (
            day,
            class_costs(req, at=dt.datetime(2026, 10, 6, 23, 59, tzinfo=UTC)),
            Plant("price_change", "the cache-read cut of 2026-10-07 applied a day late"),
        )
    if req.model == OPUS and day == dt.date(2026, 10, 12) and req.project == APP and req.cache_read:
        moved = replace(req, uncached=req.uncached + req.cache_read, cache_read=0)
        return day, class_costs(moved), Plant("class_swap", "cache reads billed as uncached input")
    if req.model == OPUS and day == dt.date(2026, 10, 15) and req.batch:
        return day, class_costs(req, batch=False), Plant("batch_missing", "batch requests billed at standard prices")
    if req.model == SONNET and day == dt.date(2026, 10, 20) and req.project == RESEARCH:
        return day, class_costs(req, batch=True), Plant("batch_unexpected", "standard requests billed at batch prices")
    if req.model == HAIKU and day == dt.date(2026, 10, 22) and req.uncached + req.cache_read + req.write_5m > 100_000:
        units = base_unit_prices(req)
        exact = class_costs(req)
        base = {k: (t, (t * units["output" if k == "output" else k]).scaleb(-6)) for k, (t, _) in exact.items()}
        return day, base, Plant("long_context", "prompts over 100K billed without the long-context tier")
    if req.model == PRO and day == dt.date(2026, 10, 10):
        monday = local.replace(day=12).astimezone(UTC)  # the same hour on Monday 2026-10-12: peak hours priced peak
        return day, class_costs(req, at=monday), Plant("time_window", "make-up working day billed with peak hours")
    if req.model == FLASH and day == dt.date(2026, 10, 15) and local.hour == 0:
        return day - dt.timedelta(days=1), class_costs(req), Plant("day_boundary", "billed on the UTC date")
    return day, class_costs(req), None


Key = tuple[str, str, str, str, str | None]  # date, provider, model, token_class, project


@dataclass
class CellTruth:
    exact_cost: Decimal = Decimal(0)  # from the logs: what reconcile expects
    exact_tokens: int = 0
    billed_cost: Decimal = Decimal(0)  # what the vendor bills
    billed_tokens: int = 0
    plant: str | None = None
    currency: str = ""
    lines: int = 0


def build_truth(requests: list[Request]) -> dict[Key, CellTruth]:
    cells: dict[Key, CellTruth] = defaultdict(CellTruth)
    for req in requests:
        tz = UTC if req.provider == "anthropic" else BEIJING
        logged_day = req.ts.astimezone(tz).date()
        exact = class_costs(req)
        for token_class, (tokens, cost) in exact.items():
            if tokens:
                cell = cells[(logged_day.isoformat(), req.provider, req.model, token_class, req.project)]
                cell.exact_cost += cost
                cell.exact_tokens += tokens
        day, billed, plant = vendor_view(req)
        for token_class, (tokens, cost) in billed.items():
            if tokens or cost:
                cell = cells[(day.isoformat(), req.provider, req.model, token_class, req.project)]
                cell.billed_cost += cost
                cell.billed_tokens += tokens
        if plant is None:
            continue
        for token_class in set(exact) | set(billed):  # every cell the planted error changes
            before, after = exact.get(token_class, (0, Decimal(0))), billed.get(token_class, (0, Decimal(0)))
            if before != after or day != logged_day:
                for when in {day, logged_day}:
                    if before[0] or after[0]:
                        cells[(when.isoformat(), req.provider, req.model, token_class, req.project)].plant = plant.rule
    return cells


# -- bills -----------------------------------------------------------------------------------------------


def cents(amount: Decimal) -> str:
    return format((amount * 100).normalize(), "f")


def anthropic_bills(cells: dict[Key, CellTruth]) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Cost report and usage report pages (days 1-15 and 16-31), one result per cell."""
    cost_pages, usage_pages = [], []
    for days in (DAYS[:15], DAYS[15:]):
        cost_buckets, usage_buckets = [], []
        for day in days:
            start, end = f"{day.isoformat()}T00:00:00Z", f"{(day + dt.timedelta(days=1)).isoformat()}T00:00:00Z"
            mine = sorted((k, c) for k, c in cells.items() if k[1] == "anthropic" and k[0] == day.isoformat()
                          and c.billed_tokens)  # fmt: skip
            cost_buckets.append({"starting_at": start, "ending_at": end, "results": [
                {"amount": cents(c.billed_cost), "currency": "USD", "cost_type": "tokens",
                 "description": f"{DISPLAY[k[2]]} Usage - {DESCRIPTIONS[k[3]]}", "model": k[2],
                 "service_tier": "standard", "token_type": TOKEN_TYPES[k[3]], "context_window": "0-200k",
                 "workspace_id": k[4]} for k, c in mine]})  # fmt: skip
            usage: dict[tuple[str, str | None], dict[str, int]] = defaultdict(lambda: dict.fromkeys(CLASSES, 0))
            for k, c in mine:
                usage[(k[2], k[4])][k[3]] += c.billed_tokens
            usage_buckets.append({"starting_at": start, "ending_at": end, "results": [
                {"workspace_id": ws, "api_key_id": None, "model": model, "service_tier": "standard",
                 "context_window": "0-200k", "uncached_input_tokens": t["input"],
                 "cache_read_input_tokens": t["cache_read"],
                 "cache_creation": {"ephemeral_5m_input_tokens": t["cache_write"],
                                    "ephemeral_1h_input_tokens": t["cache_write_1h"]},
                 "output_tokens": t["output"], "server_tool_use": {"web_search_requests": 0}}
                for (model, ws), t in sorted(usage.items(), key=lambda i: (i[0][0], i[0][1] or ""))]})  # fmt: skip
        last = days is not DAYS[:15]
        cost_pages.append({"data": cost_buckets, "has_more": not last, "next_page": None if last else "page_2"})
        usage_pages.append({"data": usage_buckets, "has_more": not last, "next_page": None if last else "page_2"})
    return cost_pages, usage_pages


def deepseek_bill(cells: dict[Key, CellTruth]) -> list[list[str]]:
    rows = [["日期", "模型", "计费项", "用量", "单位", "金额", "币种"]]
    for key, cell in sorted(cells.items()):
        date, provider, model, token_class, _ = key
        if provider != "deepseek-cn" or not cell.billed_tokens:
            continue
        if (date, model, token_class) == ("2026-10-26", PRO, "output"):
            cell.plant = "missing_line"
            continue  # the vendor's export lost this line
        currency, amount = "CNY", cell.billed_cost
        if model == PRO and date in ("2026-10-20", "2026-10-21"):  # billed in US dollars that day
            currency = "USD"
            amount = convert(amount, "CNY", "USD", dt.date.fromisoformat(date)).amount
            if date == "2026-10-21":
                amount *= Decimal("1.03")
                cell.plant = "currency"
        cell.currency = currency
        cell.billed_cost = amount.quantize(FEN, ROUND_HALF_UP)
        cell.lines = 1
        rows.append([date, model, DEEPSEEK_ITEMS[token_class], str(cell.billed_tokens), "tokens",
                     format(cell.billed_cost, "f"), currency])  # fmt: skip
    return rows


def extra_anthropic_line(cost_pages: list[dict[str, object]], usage_pages: list[dict[str, object]]) -> None:
    """A workspace the logs never saw: the bill has it, the logs do not."""
    bucket = cost_pages[1]["data"][9]  # type: ignore[index]
    bucket["results"].append({"amount": "184.5", "currency": "USD", "cost_type": "tokens",
                              "description": "Claude Opus 5.5 Usage - Output Tokens", "model": OPUS,
                              "service_tier": "standard", "token_type": "output_tokens",
                              "context_window": "0-200k", "workspace_id": LEGACY})  # fmt: skip
    usage_pages[1]["data"][9]["results"].append({  # type: ignore[index]
        "workspace_id": LEGACY, "api_key_id": None, "model": OPUS, "service_tier": "standard",
        "context_window": "0-200k", "uncached_input_tokens": 0, "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 92_250, "server_tool_use": {"web_search_requests": 0}})  # fmt: skip


def overcharge(cells: dict[Key, CellTruth]) -> None:
    """A 3% overcharge that no rule explains."""
    cell = cells[("2026-10-28", "anthropic", SONNET, "output", APP)]
    assert cell.exact_tokens, "no Sonnet output on 2026-10-28 in the app workspace: change the seed"
    cell.billed_cost = (cell.billed_cost * Decimal("1.03")).quantize(Decimal("0.000001"))
    cell.plant = "none"


# -- logs and the manifest -------------------------------------------------------------------------------


def log_line(req: Request) -> dict[str, object]:
    ts = req.ts.isoformat().replace("+00:00", "Z")
    if req.provider == "anthropic":
        usage: dict[str, object] = {
            "input_tokens": req.uncached, "cache_read_input_tokens": req.cache_read,
            "cache_creation_input_tokens": req.write_5m + req.write_1h,
            "cache_creation": {"ephemeral_5m_input_tokens": req.write_5m, "ephemeral_1h_input_tokens": req.write_1h},
            "output_tokens": req.output, "service_tier": "batch" if req.batch else "standard"}  # fmt: skip
        return {"timestamp": ts, "project": req.project, "provider": "anthropic", "request": {"model": req.model},
                "response": {"id": req.id, "type": "message", "model": req.model, "usage": usage}}  # fmt: skip
    prompt = req.uncached + req.cache_read
    usage = {"prompt_tokens": prompt, "completion_tokens": req.output, "total_tokens": prompt + req.output,
             "prompt_cache_hit_tokens": req.cache_read, "prompt_cache_miss_tokens": req.uncached,
             "completion_tokens_details": {"reasoning_tokens": req.reasoning}}  # fmt: skip
    return {"timestamp": ts, "provider": "deepseek-cn", "request": {"model": req.model},
            "response": {"id": req.id, "object": "chat.completion", "created": int(req.ts.timestamp()),
                         "model": req.model, "usage": usage}}  # fmt: skip


def expected_outcome(key: Key, cell: CellTruth) -> dict[str, object] | None:
    """What reconcile must say about this cell (None: a plain match). Mirrors the documented classification."""
    base = {"date": key[0], "provider": key[1], "model": key[2], "token_class": key[3], "project": key[4]}
    if cell.plant == "missing_line":
        return {**base, "status": "missing_from_bill", "rule": "none"}
    if not cell.billed_tokens and not cell.billed_cost:
        return {**base, "status": "missing_from_bill", "rule": cell.plant or "none"}
    if not cell.exact_tokens:
        return {**base, "status": "missing_from_logs", "rule": cell.plant or "none"}
    expected = cell.exact_cost
    if cell.currency == "USD":
        expected = convert(expected, "CNY", "USD", dt.date.fromisoformat(key[0])).amount
    difference = cell.billed_cost - expected
    rounding = FEN / 2 * cell.lines if key[1] == "deepseek-cn" else Decimal(0)
    quantity_ok = abs(cell.billed_tokens - cell.exact_tokens) <= cell.exact_tokens * TOLERANCE
    money_ok = abs(difference) <= expected * TOLERANCE
    if quantity_ok and (money_ok or abs(difference) <= rounding):
        if cell.currency == "USD":
            return {**base, "status": "match", "rule": "currency"}
        return None if money_ok else {**base, "status": "match", "rule": "rounding"}
    if cell.plant is None:
        raise AssertionError(f"an unplanted mismatch: {key} {cell}")
    if not money_ok and abs(difference) > rounding:
        status = "over_billed" if difference > 0 else "under_billed"
    else:
        status = "over_billed" if cell.billed_tokens > cell.exact_tokens else "under_billed"
    return {**base, "status": status, "rule": cell.plant}


def main() -> None:
    rng = random.Random(SEED)
    requests = anthropic_requests(rng) + deepseek_requests(rng)
    requests.sort(key=lambda r: (r.provider, r.ts, r.id))
    cells = build_truth(requests)
    overcharge(cells)
    cost_pages, usage_pages = anthropic_bills(cells)
    extra_anthropic_line(cost_pages, usage_pages)
    cells[("2026-10-25", "anthropic", OPUS, "output", LEGACY)] = CellTruth(billed_cost=Decimal("1.845"),
                                                                           billed_tokens=92_250)  # fmt: skip
    csv_rows = deepseek_bill(cells)
    (HERE / "logs").mkdir(exist_ok=True)
    (HERE / "bills").mkdir(exist_ok=True)
    for provider, name in (("anthropic", "anthropic-2026-10.jsonl"), ("deepseek-cn", "deepseek-2026-10.jsonl")):
        with open(HERE / "logs" / name, "w", encoding="utf-8", newline="\n") as fh:
            for req in requests:
                if req.provider == provider:
                    fh.write(json.dumps(log_line(req), ensure_ascii=False, separators=(",", ":")) + "\n")
    for stem, pages in (("anthropic-cost-report", cost_pages), ("anthropic-usage-report", usage_pages)):
        for number, page in enumerate(pages, start=1):
            (HERE / "bills" / f"{stem}-2026-10-p{number}.json").write_text(json.dumps(page, indent=1) + "\n")
    with open(HERE / "bills" / "deepseek-cn-2026-10.csv", "w", encoding="utf-8", newline="") as fh:
        for row in csv_rows:
            fh.write(",".join(row) + "\n")
    outcomes = [o for key, cell in sorted(cells.items(), key=lambda kc: tuple(v or "" for v in kc[0]))
                if (o := expected_outcome(key, cell)) is not None]  # fmt: skip
    (HERE / "planted.json").write_text(json.dumps({"seed": SEED, "tolerance": "0.5%", "cells": outcomes},
                                                  indent=1, ensure_ascii=False) + "\n")  # fmt: skip
    print(f"{len(requests)} requests, {len(outcomes)} cells to find", file=sys.stderr)


if __name__ == "__main__":
    main()
