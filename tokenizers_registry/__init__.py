"""The data behind tokctl: tokenizer manifests, provider price files, exchange rates, calendars, presets.

This package holds no logic; it only tells where its files are.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOKENIZERS = ROOT / "tokenizers"
PROVIDERS = ROOT / "providers"
FX = ROOT / "fx"
CALENDARS = ROOT / "calendars"
PRESETS = ROOT / "presets.toml"
