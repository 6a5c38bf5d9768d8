"""Where tokctl keeps the user's cache and config. Tests point both at temporary directories."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``TOKCTL_CACHE_DIR``, else the platform's user cache directory."""
    env = os.environ.get("TOKCTL_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("tokctl", appauthor=False))


def config_path() -> Path:
    """``TOKCTL_CONFIG`` (a file), else ``config.toml`` in the platform's user config directory."""
    env = os.environ.get("TOKCTL_CONFIG")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("tokctl", appauthor=False)) / "config.toml"
