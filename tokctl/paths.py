"""Where tokctl keeps the user's cache and config. Tests point both at temporary directories."""

from __future__ import annotations

from pathlib import Path

from tokctl.settings import current


def cache_dir() -> Path:
    """``TOKCTL_CACHE_DIR``, else the platform's user cache directory."""
    chosen = current().cache_dir
    if chosen is not None:
        return chosen
    import platformdirs

    return Path(platformdirs.user_cache_dir("tokctl", appauthor=False))


def config_path() -> Path:
    """``TOKCTL_CONFIG`` (a file), else ``config.toml`` in the platform's user config directory."""
    chosen = current().config
    if chosen is not None:
        return chosen
    import platformdirs

    return Path(platformdirs.user_config_dir("tokctl", appauthor=False)) / "config.toml"
