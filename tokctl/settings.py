"""Every ``TOKCTL_*`` environment switch, read in this one place with one convention.

Switches (on/off) are on with ``1``, ``true``, ``yes`` or ``on`` and off with ``0``, ``false``, ``no`` or
``off`` (any case); unset or empty means the default. Numbers are whole and positive. Anything else is a
:class:`~tokctl.errors.UsageError` that names the variable, so a typo never silently means the default.

======================  ========================================================================  =========
variable                meaning                                                                   default
======================  ========================================================================  =========
TOKCTL_CACHE_DIR        tokenizer file cache (a directory)                                        platform's user cache
TOKCTL_CONFIG           user overrides and calibrations (a TOML file)                             platform's user config
TOKCTL_WORKERS          parsing processes of a usage read when the caller leaves it to tokctl     by input size
                        (``--workers`` not given, ``workers=None``): exactly that many
TOKCTL_ROW_READER       read every usage record one by one (the columnar fast path off)           off
TOKCTL_BPE_OPENAI       count o200k/cl100k with bpe-openai next to tiktoken                       on
TOKCTL_FORK             count large inputs in a forked child (tokctl.tokenize.forked)             on
TOKCTL_DEBUG            an internal error shows its traceback instead of one line                 off
======================  ========================================================================  =========

The environment is read when a value is needed (:func:`current`), not at import, so a test or a script that
sets a variable sees it take effect; callers that read once pass the :class:`Settings` down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tokctl.errors import UsageError

CACHE_DIR = "TOKCTL_CACHE_DIR"
CONFIG = "TOKCTL_CONFIG"
WORKERS = "TOKCTL_WORKERS"
ROW_READER = "TOKCTL_ROW_READER"
BPE_OPENAI = "TOKCTL_BPE_OPENAI"
FORK = "TOKCTL_FORK"
DEBUG = "TOKCTL_DEBUG"

_ON = ("1", "true", "yes", "on")
_OFF = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    cache_dir: Path | None = None  # None: the platform's user cache directory
    config: Path | None = None  # None: config.toml in the platform's user config directory
    workers: int | None = None  # None: chosen by input size
    row_reader: bool = False
    bpe_openai: bool = True
    fork: bool = True
    debug: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            cache_dir=_path(env, CACHE_DIR),
            config=_path(env, CONFIG),
            workers=_count(env, WORKERS),
            row_reader=_switch(env, ROW_READER, False),
            bpe_openai=_switch(env, BPE_OPENAI, True),
            fork=_switch(env, FORK, True),
            debug=_switch(env, DEBUG, False),
        )


def current() -> Settings:
    """The settings of the environment as it is now."""
    return Settings.from_environ()


def _raw(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _path(env: Mapping[str, str], name: str) -> Path | None:
    value = _raw(env, name)
    return Path(value) if value is not None else None


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = _raw(env, name)
    if value is None:
        return default
    if value.lower() in _ON:
        return True
    if value.lower() in _OFF:
        return False
    raise UsageError(f"{name}={value!r} is neither on nor off", fix=f"set {name} to 1 (on) or 0 (off), or unset it")


def _count(env: Mapping[str, str], name: str) -> int | None:
    value = _raw(env, name)
    if value is None:
        return None
    if value.isascii() and value.isdigit() and int(value) > 0:
        return int(value)
    raise UsageError(f"{name}={value!r} is not a positive whole number", fix=f"set {name} to 1, 2, ... or unset it")


# Spark's own variables (not tokctl switches): tokctl.engines.spark reads and sets them only here.
def under_spark_submit() -> bool:
    """Whether spark-submit started this process (it then gives the master itself)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def prepare_local_spark(python: str, package_root: Path) -> None:
    """The environment a local Spark master's Python workers start with: ``python``, bound to 127.0.0.1,
    importing tokctl from ``package_root`` first (what the user already set is kept)."""
    os.environ.setdefault("PYSPARK_PYTHON", python)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(package_root) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(package_root), *paths])
