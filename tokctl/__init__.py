"""tokctl: token accounting across LLM vendors.

The public Python API. Names are imported lazily so that ``import tokctl`` stays cheap (no pandas, no
pyarrow until a function that needs them is called).

>>> import tokctl
>>> tokctl.count_text("hello world", model="gpt-4o").tokens
2
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> "module:attribute"; add a line here when a library function becomes public.
_API = {
    "read_usage": "tokctl.usage.read:read_usage",
    "read_usage_with_accounting": "tokctl.usage.read:read_usage_with_accounting",
    "summarize": "tokctl.usage.report:summarize",
    "export_usage": "tokctl.usage.export:export_usage",
    "count_text": "tokctl.counting.api:count_text",
    "count_paths": "tokctl.counting.api:count_paths",
    "count_chat": "tokctl.counting.chat:count_chat",
    "compare": "tokctl.counting.compare:compare",
    "resolve_model": "tokctl.registry.catalog:resolve_model",
    "price": "tokctl.pricing:price",
    "price_table": "tokctl.pricing:price_table",
    "Usage": "tokctl.pricing:Usage",
    "convert": "tokctl.registry.fx:convert",
    "usage_schema": "tokctl.schema:usage_schema",
    "charge_schema": "tokctl.schema:charge_schema",
    "TokctlError": "tokctl.errors:TokctlError",
    "read_bill": "tokctl.bills:read_bill",
    "reconcile": "tokctl.reconciliation.engine:reconcile",
    "quality": "tokctl.service_quality.metrics:quality",
    "measure_quality": "tokctl.service_quality.metrics:measure_quality",
    "audit": "tokctl.count_audit.audit:audit",
    "audit_table": "tokctl.count_audit.audit:audit_table",
    "calibrate": "tokctl.count_audit.audit:calibrate",
    "load_calibrations": "tokctl.registry.calibration:load_calibrations",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    try:
        module, attr = _API[name].split(":")
    except KeyError:
        raise AttributeError(f"module 'tokctl' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
