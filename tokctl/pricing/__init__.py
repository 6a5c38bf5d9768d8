"""Pricing: Decimal costs of usage from the price registry, in the platform's currency.

- :func:`price` prices one :class:`Usage` at one moment and explains the result (:class:`Cost`).
- :func:`price_table` prices a whole usage table (tokctl.schema) with the same rules, vectorized.

Both pick the price period covering the moment, then the time window (platform time zone, weekdays,
holiday calendar), the prompt-size tier, batch and service tier, and apply the user's overrides
(tokctl.registry.overrides). A usage that cannot be priced is ``unpriced`` with a reason, never 0.
pyarrow and numpy are imported only by price_table.
"""

from __future__ import annotations

from typing import Any

from tokctl.pricing.scalar import price
from tokctl.pricing.types import Component, Cost, PriceRow, Usage, parse_at

__all__ = ["Component", "Cost", "PriceRow", "Usage", "parse_at", "price", "price_table"]


def price_table(table: Any, *, at: Any = None) -> Any:
    """See :func:`tokctl.pricing.table.price_table` (imported lazily: it needs pyarrow and numpy)."""
    from tokctl.pricing.table import price_table as run

    return run(table, at=at)
