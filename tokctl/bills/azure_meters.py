"""Azure OpenAI meter names (Cost Management exports, FOCUS ``SkuMeter`` / ``x_SkuMeterName``, Retail Prices API).

A meter names the model, its version as MMDD, an optional ``Batch``, an optional ``cached``, the direction
and the deployment type, in spellings that change from model to model::

    gpt-4o-0806-Inp-glbl            gpt 4o 0513 Input global Tokens     gpt 4o 0806 cached Inp Data Zone
    gpt-4o-mini-0718-Batch-Outp-glbl  gpt 4.5 0227 Outp regnl           R1 Inp glbl Tokens   GPT 5 Inpt Glbl

The spellings parsed here are the ones Azure publishes (tests/data/bills/real/SOURCES.md); a meter that does
not fit is left to the text rules of bill_rules/focus.toml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DEPLOYMENT = (
    (re.compile(r"^(?:d\s*zone|dzn|data\s*zone|datazone)$", re.I), "data_zone"),
    (re.compile(r"^(?:glbl|global|gl)$", re.I), "global"),
    (re.compile(r"^(?:regnl|regional|rgnl|regn)$", re.I), "regional"),
)
_METER = re.compile(
    r"^(?P<model>.+?)[\s-]*(?P<batch>batch)?[\s-]*(?:(?P<cached>cached|cchd)[\s-]+)?"
    r"(?P<direction>inpt|inp|input|outp|output|out|in)[\s-]+"
    r"(?P<where>d\s*zone|dzn|data\s*zone|datazone|glbl|global|gl|regnl|regional|rgnl|regn)"
    r"(?:\s+(?:1[mk]\s+)?tokens?)?$",
    re.I,
)
_AUDIO = re.compile(r"(?:^|[\s-])(?:aud|audio)(?:[\s-]|\d|$)", re.I)
_TEXT = re.compile(r"(?:^|[\s-])(?:txt|text)(?:[\s-]|$)", re.I)
_VERSION = re.compile(r"^(?P<family>.+?)[\s-]*(?P<mm>0[1-9]|1[0-2])(?P<dd>0[1-9]|[12]\d|3[01])$")
_CONTEXT = re.compile(r"[\s-]*\d+k$", re.I)  # gpt-35-turbo4K, gpt-4-8K: the context size, not the model
# Meters that name a model another way than its registry id.
_FAMILIES = {"r1": "deepseek-r1", "gpt-35-turbo": "gpt-3.5-turbo", "gpt-35-turbo-16k": "gpt-3.5-turbo"}
_YEARS = ("2024", "2025", "2026", "2023")  # a meter says 0806, not 2024-08-06: the first year the registry knows


@dataclass(frozen=True)
class Meter:
    model_reported: str  # the meter's words for the model, e.g. "gpt-4o-0806"
    token_class: str  # input, cache_read, output; audio_input / audio_output are not text tokens
    deployment_type: str  # global, data_zone, regional
    batch: bool


def parse(text: str | None) -> Meter | None:
    """The parts of an Azure OpenAI meter name, or None when the text is not one."""
    match = _METER.match((text or "").strip())
    if not match:
        return None
    direction = "output" if match["direction"].lower().startswith("o") else "input"
    model = match["model"].strip(" -")
    if match["cached"]:
        token_class = "cache_read"
    elif _AUDIO.search(model) and not _TEXT.search(model):  # gpt-4o-aud-1217-txt: the audio model's text tokens
        token_class = f"audio_{direction}"
    else:
        token_class = direction
    where = next(kind for pattern, kind in _DEPLOYMENT if pattern.match(match["where"]))
    return Meter(model, token_class, where, bool(match["batch"]))


def model_candidates(reported: str) -> list[str]:
    """Registry names to try for a meter's model, most specific first: ``gpt 4o 0513`` -> gpt-4o-2024-05-13."""
    slug = re.sub(r"[\s_]+", "-", reported.strip().lower())
    slug = re.sub(r"^gpt(?=\d)", "gpt-", slug)  # gpt4o mini -> gpt-4o-mini
    version = _VERSION.match(slug)
    family = _CONTEXT.sub("", version["family"] if version else slug).strip("-")
    family = _FAMILIES.get(family, family)
    if not version:
        return [family]
    return [f"{family}-{year}-{version['mm']}-{version['dd']}" for year in _YEARS] + [family]
