"""Fixtures shared by the pricing tests: a small invented registry under tests/data (providers, calendars)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import tokenizers_registry
from tokctl.pricing import book
from tokctl.registry import calendars, catalog, fx, overrides, providers

DATA = Path(__file__).resolve().parent / "data"


def clear_registry_caches() -> None:
    providers.all_platforms.cache_clear()
    catalog._index.cache_clear()
    calendars.clear_caches()
    book.clear_caches()
    overrides._cache.clear()
    fx.clear_caches()


@pytest.fixture
def fixture_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the registry at tests/data (providers, calendars, fx) for one test."""
    monkeypatch.setattr(tokenizers_registry, "PROVIDERS", DATA / "providers")
    monkeypatch.setattr(tokenizers_registry, "CALENDARS", DATA / "calendars")
    monkeypatch.setattr(tokenizers_registry, "FX", DATA / "fx")
    clear_registry_caches()
    yield DATA
    clear_registry_caches()
