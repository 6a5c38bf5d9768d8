"""The price registry as one picklable value, so that a job's workers use exactly the driver's.

A distributed run (tokctl.engines.spark) captures the registry once on the driver: the platforms and their
prices, the holiday calendars and the user's overrides and custom models (a file that exists only on the
driver). The workers install that copy instead of reading tokenizers_registry/ and the config file, so every
task prices with the same data, whatever is installed on the machine that runs it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class RegistrySnapshot:
    platforms: dict[str, Any]
    calendars: dict[str, Any]
    user: Any  # tokctl.registry.overrides.UserPricing
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


def capture() -> RegistrySnapshot:
    """The registry as this process sees it now (loading it if needed)."""
    from tokctl.registry.calendars import all_calendars
    from tokctl.registry.overrides import user_pricing
    from tokctl.registry.providers import all_platforms

    return RegistrySnapshot(dict(all_platforms()), dict(all_calendars()), user_pricing())


_installed: list[str] = []  # the token of the snapshot in use, at most one


def install(snapshot: RegistrySnapshot) -> bool:
    """Make ``snapshot`` the registry of this process; False (nothing done) when it already is. The caller
    forgets what it derived from the registry before (name resolution, price segments) when True."""
    if _installed == [snapshot.token]:
        return False
    from tokctl.registry import calendars, catalog, overrides, providers

    # The loaders are functools caches: seed them through their own loader, so every module that imported
    # all_platforms or all_calendars by name sees the snapshot.
    _seed(providers.all_platforms, providers, "load_platforms", snapshot.platforms)
    calendars.clear_caches()
    _seed(calendars.all_calendars, calendars, "load_calendars", snapshot.calendars)
    overrides.pin_user_pricing(snapshot.user)
    catalog.clear_caches()
    _installed[:] = [snapshot.token]
    return True


def _seed(cached: Any, module: ModuleType, loader: str, value: dict[str, Any]) -> None:
    original: Callable[..., Any] = getattr(module, loader)
    cached.cache_clear()
    setattr(module, loader, lambda *_: value)
    try:
        cached()
    finally:
        setattr(module, loader, original)
