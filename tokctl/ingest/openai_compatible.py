"""The Chat Completions usage object as OpenAI and the vendors that copy its shape fill it.

All of them count cached tokens *inside* ``prompt_tokens`` and reasoning inside ``completion_tokens``.
What differs is where the cache counts sit (formats.md 1.7-1.13 and 5.5):

* DeepSeek: ``prompt_cache_hit_tokens`` / ``prompt_cache_miss_tokens`` (miss = the uncached part);
* DashScope compatible mode: ``prompt_tokens_details.cache_creation_input_tokens`` and a 5-minute split;
* Moonshot: ``usage.cached_tokens`` at the top, and in streams the usage inside ``choices[0]``;
* Mistral: ``num_cached_tokens`` or the misspelt ``prompt_token_details``;
* OpenRouter: ``usage.cost`` in USD credits, and ``gen-`` response ids;
* Zhipu: a ``request_id`` beside the response ``id``; Volcengine Ark: ``service_tier`` scale or default;
* xAI: ``cost_in_usd_ticks`` (1 USD = 10^10 ticks, the billed amount) and ``num_sources_used``; reasoning
  tokens sit *outside* ``completion_tokens`` (``total_tokens`` = prompt + completion + reasoning), so the
  canonical output is completion + reasoning (docs.x.ai "Consumption and Rate Limits", "Cost Tracking");
* Groq: ``x_groq`` beside the body (streams put the usage in ``x_groq.usage``) and ``queue_time`` timings;
* DeepInfra: ``usage.estimated_cost`` in USD;
* Perplexity: ``citation_tokens`` / ``num_search_queries`` / ``search_context_size`` in the usage.

:func:`classify` names the vendor from those marks; without a mark the model decides (see resolve.py).
"""

from __future__ import annotations

from typing import Any

from tokctl.ingest.values import count, money, obj

# source format -> (vendor hint, is the hint binding)
FORMATS = {
    "openai.chat": (None, False),
    "deepseek.chat": ("deepseek", False),
    "dashscope.compat": ("alibaba", False),
    "zhipu.chat": ("zhipu", False),
    "moonshot.chat": ("moonshot", False),
    "ark.chat": ("volcengine", False),
    "mistral.chat": ("mistral", False),
    "openrouter.chat": ("openrouter", True),
    "xai.chat": ("xai", True),
    "groq.chat": ("groq", True),
    "deepinfra.chat": ("deepinfra", True),
    "perplexity.chat": ("perplexity", True),
}
_TICKS_PER_USD = 10_000_000_000


def chat_usage(usage: dict[str, Any], row: dict[str, Any]) -> None:
    """Fill the token columns of ``row`` from a Chat Completions ``usage`` object of any vendor."""
    row["input_tokens"] = count(usage.get("prompt_tokens"), "usage.prompt_tokens")
    row["output_tokens"] = count(usage.get("completion_tokens"), "usage.completion_tokens")
    row["total_tokens_reported"] = count(usage.get("total_tokens"), "usage.total_tokens")
    details = obj(usage.get("prompt_tokens_details")) or obj(usage.get("prompt_token_details"))
    read = count(details.get("cached_tokens"), "usage.prompt_tokens_details.cached_tokens")
    write = details.get("cache_write_tokens")
    if write is None:
        write = details.get("cache_creation_input_tokens")
    row["cache_write_tokens"] = count(write, "usage.prompt_tokens_details.cache_write_tokens")
    creation = details.get("cache_creation")
    if creation is not None:
        creation = obj(creation)
        row["cache_write_5m_tokens"] = count(creation.get("ephemeral_5m_input_tokens"), "cache_creation.5m")
        row["cache_write_1h_tokens"] = count(creation.get("ephemeral_1h_input_tokens"), "cache_creation.1h")
    hit = usage.get("prompt_cache_hit_tokens")
    if hit is not None:
        read = count(hit, "usage.prompt_cache_hit_tokens")
        row["input_uncached_tokens"] = count(usage.get("prompt_cache_miss_tokens"), "usage.prompt_cache_miss")
    if read is None:
        other = usage.get("cached_tokens")
        if other is None:
            other = usage.get("num_cached_tokens")
        read = count(other, "usage.cached_tokens")
    row["cache_read_tokens"] = read
    completion = usage.get("completion_tokens_details")
    if completion is not None:
        row["reasoning_tokens"] = count(obj(completion).get("reasoning_tokens"), "reasoning_tokens")
    cost = usage.get("cost")
    if cost is None:
        cost = usage.get("estimated_cost")
    if cost is not None:
        row["cost_reported"] = money(cost, "usage.cost")
        row["cost_reported_currency"] = "USD"
    ticks = usage.get("cost_in_usd_ticks")
    if ticks is not None:
        amount = money(ticks, "usage.cost_in_usd_ticks")
        row["cost_reported"] = None if amount is None else amount / _TICKS_PER_USD
        row["cost_reported_currency"] = "USD"


def reasoning_outside(row: dict[str, Any]) -> None:
    """xAI's rule: reasoning is not in completion_tokens; the total says so."""
    prompt, completion, reasoning = row["input_tokens"], row["output_tokens"], row.get("reasoning_tokens")
    total = row["total_tokens_reported"]
    if not reasoning or prompt is None or completion is None:
        return
    if total is None or total == prompt + completion + reasoning:
        row["output_tokens"] = completion + reasoning
        row.setdefault("flags", []).append("reasoning_outside_completion")


def gemini_compat(row: dict[str, Any], model: str | None) -> None:
    """Gemini's OpenAI-compatible endpoint leaves thinking out of completion_tokens but not out of the total."""
    total, prompt, completion = row["total_tokens_reported"], row["input_tokens"], row["output_tokens"]
    if model is None or "gemini" not in model.lower():
        return
    if None in (total, prompt, completion) or total <= prompt + completion:
        return
    row["output_tokens"] = total - prompt
    row["reasoning_tokens"] = total - prompt - completion
    row.setdefault("flags", []).append("gemini_compat_thoughts_derived")


def classify(response: dict[str, Any], usage: dict[str, Any], usage_in_choice: bool) -> str:
    """The source format of a Chat Completions response, from the vendor marks it carries."""
    if "prompt_cache_hit_tokens" in usage:
        return "deepseek.chat"
    if "cost_in_usd_ticks" in usage or "num_sources_used" in usage:
        return "xai.chat"
    if "x_groq" in response or "queue_time" in usage:
        return "groq.chat"
    if "estimated_cost" in usage:
        return "deepinfra.chat"
    if "citation_tokens" in usage or "num_search_queries" in usage or "search_context_size" in usage:
        return "perplexity.chat"
    details = usage.get("prompt_tokens_details")
    if type(details) is dict and ("cache_creation_input_tokens" in details or "cache_type" in details):
        return "dashscope.compat"
    if usage_in_choice or "cached_tokens" in usage:
        return "moonshot.chat"
    if "num_cached_tokens" in usage or "prompt_token_details" in usage or "prompt_audio_seconds" in usage:
        return "mistral.chat"
    response_id = response.get("id")
    if type(response_id) is str and response_id.startswith("gen-"):
        return "openrouter.chat"
    if "cost_details" in usage or "is_byok" in usage:  # OpenRouter's usage accounting, always on
        return "openrouter.chat"
    if "request_id" in response:
        return "zhipu.chat"
    return "openai.chat"


def usage_of(response: dict[str, Any]) -> tuple[Any, bool]:
    """(usage object or None, whether it sat inside choices[0] as Moonshot streams it)."""
    usage = response.get("usage")
    if usage is not None:
        return usage, False
    groq = response.get("x_groq")
    if type(groq) is dict and groq.get("usage") is not None:  # Groq streams: the last chunk
        return groq["usage"], False
    choices = response.get("choices")
    if type(choices) is list and choices and type(choices[0]) is dict:
        inner = choices[0].get("usage")
        if inner is not None:
            return inner, True
    return None, False
