"""What pricing takes and gives: :class:`Usage` in, :class:`Cost` out, plus the moment parser for ``--at``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from tokctl.errors import UsageError

# Component kinds in the order they are billed and shown.
KINDS = ("input", "cache_read", "cache_write", "cache_write_1h", "output", "reasoning")


@dataclass(frozen=True)
class Usage:
    """Token counts of one request (or one usage bucket), as in the canonical usage record.

    ``input_tokens`` is ALL input, cache reads and writes included; ``cache_write_tokens`` is the
    default-TTL write (Anthropic 5 min, OpenAI 30 min, Qwen explicit create) and ``cache_write_1h_tokens``
    the 1-hour write, both parts of ``input_tokens``. ``output_tokens`` is all output, reasoning included.
    """

    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def uncached_input_tokens(self) -> int:
        return self.input_tokens - self.cache_read_tokens - self.cache_write_tokens - self.cache_write_1h_tokens

    @property
    def text_output_tokens(self) -> int:
        """Output that is not reasoning."""
        return self.output_tokens - self.reasoning_tokens

    def by_kind(self) -> dict[str, int]:
        return {
            "input": self.uncached_input_tokens,
            "cache_read": self.cache_read_tokens,
            "cache_write": self.cache_write_tokens,
            "cache_write_1h": self.cache_write_1h_tokens,
            "output": self.text_output_tokens,
            "reasoning": self.reasoning_tokens,
        }

    def problem(self) -> str | None:
        """The reason code when the counts contradict each other (same codes as price_table's flags)."""
        counts = (
            self.input_tokens,
            self.cache_read_tokens,
            self.cache_write_tokens,
            self.cache_write_1h_tokens,
            self.output_tokens,
            self.reasoning_tokens,
        )
        if any(c < 0 for c in counts):
            return "negative_tokens"
        if self.uncached_input_tokens < 0:
            return "cache_exceeds_input"
        if self.text_output_tokens < 0:
            return "reasoning_exceeds_output"
        return None

    def check(self) -> None:
        problem = self.problem()
        if problem == "negative_tokens":
            raise UsageError("token counts must not be negative", fix="give counts >= 0")
        if problem == "cache_exceeds_input":
            raise UsageError(
                f"cache reads and writes ({self.input_tokens - self.uncached_input_tokens}) exceed the input "
                f"({self.input_tokens})",
                fix="--input counts ALL input tokens, cache reads and writes included",
            )
        if problem == "reasoning_exceeds_output":
            raise UsageError(
                f"reasoning ({self.reasoning_tokens}) exceeds the output ({self.output_tokens})",
                fix="--output counts ALL output tokens, reasoning included",
            )


@dataclass(frozen=True)
class Component:
    """One billed part: ``cost = tokens * unit_price / 1_000_000`` exactly (unit_price per 1M tokens)."""

    kind: str
    tokens: int
    unit_price: Decimal
    cost: Decimal
    note: str = ""  # e.g. "no cache_write price: billed at the input price"


@dataclass(frozen=True)
class PriceRow:
    """The registry (or override) row a cost came from."""

    provider: str
    model: str
    effective_from: dt.datetime
    effective_to: dt.datetime | None
    source: str
    confidence: str
    tier: str | None = None  # e.g. ">32768"
    window: str | None = None  # e.g. "peak", or the period's default_window
    service_tier: str | None = None  # "batch", "flex", "priority", ...

    @property
    def ref(self) -> str:
        """``platform/model@effective_from[#window][#tier][+service tier]`` (the usage record's price_ref)."""
        text = f"{self.provider}/{self.model}@{self.effective_from.isoformat()}"
        if self.window:
            text += f"#{self.window}"
        if self.tier:
            text += f"#{self.tier}"
        if self.service_tier:
            text += f"+{self.service_tier}"
        return text


@dataclass(frozen=True)
class Cost:
    """The price of a usage at a moment. ``total`` is None when ``unpriced`` holds a reason: never 0."""

    provider: str
    model: str
    currency: str
    at: dt.datetime
    total: Decimal | None
    components: tuple[Component, ...] = ()
    price: PriceRow | None = None
    unpriced: str | None = None  # reason code, as in price_table's ``unpriced:<reason>`` flag
    reason: str = ""  # the reason in words
    alternatives: tuple[str, ...] = ()  # other platforms offering the model when none was named

    @property
    def priced(self) -> bool:
        return self.unpriced is None


def parse_at(text: str, tz: dt.tzinfo) -> dt.datetime:
    """``--at``: ISO 8601 with an offset; a bare date means 00:00 in ``tz`` (the platform's zone)."""
    value = text.strip()
    try:
        if len(value) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(0), tzinfo=tz)
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--at {text!r} is not an ISO 8601 date or datetime",
            fix="write e.g. 2026-11-15 or 2026-11-15T10:30:00+08:00",
        ) from None
    if moment.tzinfo is None:
        raise UsageError(
            f"--at {text!r} has no time zone offset",
            fix=f"add one, e.g. {value}+08:00 or {value}Z, or give a bare date",
        )
    return moment
