"""Model lookup across platforms: ids and aliases, case-insensitive, with a preferred platform.

When a model is offered on several platforms and no provider is given, the platform of the model's maker
wins, its international platform first; the result records which was chosen and why.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from tokctl.errors import UnknownModelError, UnknownProviderError
from tokctl.registry.providers import Model, Platform, all_platforms


@dataclass(frozen=True)
class ResolvedModel:
    model: Model
    platform: Platform
    requested: str
    alternatives: tuple[str, ...] = ()  # other platforms that offer the same name

    @property
    def label(self) -> str:
        return self.requested


@functools.cache
def _index() -> dict[str, list[tuple[Platform, Model]]]:
    index: dict[str, list[tuple[Platform, Model]]] = {}
    for platform in all_platforms().values():
        for model in platform.models:
            for name in model.names():
                index.setdefault(name.lower(), []).append((platform, model))
    return index


def known_model_names() -> list[str]:
    return sorted(_index())


def get_platform(provider: str) -> Platform:
    platforms = all_platforms()
    try:
        return platforms[provider]
    except KeyError:
        raise UnknownProviderError(
            provider, platforms, fix="run 'tokctl models' to list providers and their models"
        ) from None


def _preference(platform: Platform, model: Model) -> tuple[int, int, str]:
    return (0 if platform.vendor == model.maker else 1, 0 if platform.region == "intl" else 1, platform.id)


def resolve_model(name: str, provider: str | None = None) -> ResolvedModel:
    """Find a model by id or alias; ``provider/model`` names the platform too."""
    if "/" in name:
        head, tail = name.split("/", 1)
        if head in all_platforms() and provider in (None, head):
            provider, name = head, tail
    candidates = _index().get(name.lower(), [])
    if provider is not None:
        platform = get_platform(provider)
        candidates = [(p, m) for p, m in candidates if p.id == platform.id]
        if not candidates:
            names = [n for n, entries in _index().items() if any(p.id == platform.id for p, _ in entries)]
            raise UnknownModelError(name, names, fix=f"run 'tokctl models --provider {provider}' to list its models")
    if not candidates:
        raise UnknownModelError(name, _index(), fix="run 'tokctl models --search TEXT' to find a model")
    ranked = sorted(candidates, key=lambda pm: _preference(*pm))
    platform, model = ranked[0]
    return ResolvedModel(model, platform, name, tuple(p.id for p, _ in ranked[1:]))


def clear_caches() -> None:
    """Forget the name index (the platforms were replaced)."""
    _index.cache_clear()
