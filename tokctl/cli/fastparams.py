"""Plain parameter values without pydantic.

typer >= 0.29 coerces every command-line value through a pydantic TypeAdapter: importing pydantic and
building the adapters costs ~0.1-0.15 s of every ``tokctl`` run, more than counting a small file. The
values our commands take are plain (str, int, float, bool, Path, Enum, lists of them); this converts them
directly. Whatever it does not handle, and any value it cannot convert, goes to typer's own coercion,
which then gives its usual result or error message: the fast path changes only the time taken.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

_INT = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")


class _Refused(Exception):
    """The fast path does not take this value: typer's coercion decides."""


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise _Refused


def _int(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, str) and _INT.match(value):
        return int(value)
    raise _Refused


def _float(value: Any) -> float:
    if type(value) in (int, float):
        return float(value)
    if isinstance(value, str) and _FLOAT.match(value):
        return float(value)
    raise _Refused


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _Refused


def _path(value: Any) -> Path:
    if isinstance(value, Path):
        return value
    if isinstance(value, str):
        return Path(value)
    raise _Refused


def _enum(kind: type[enum.Enum]) -> Callable[[Any], Any]:
    members = {member.value: member for member in kind}

    def convert(value: Any) -> Any:
        if isinstance(value, kind):
            return value
        try:
            return members[value]
        except (KeyError, TypeError):
            raise _Refused from None

    return convert


_LEAVES: dict[Any, Callable[[Any], Any]] = {str: _str, int: _int, float: _float, bool: _bool, Path: _path}


def _leaf(annotation: Any) -> Callable[[Any], Any] | None:
    if annotation in _LEAVES:
        return _LEAVES[annotation]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _enum(annotation)
    return None


def _converter(descriptor: Any) -> Callable[[Any], Any] | None:
    info = descriptor.parameter_info
    if descriptor.file_annotation is not None or info.min is not None or info.max is not None:
        return None
    if not getattr(info, "case_sensitive", True):
        return None
    annotation = descriptor.annotation
    if get_origin(annotation) is list:
        (item,) = get_args(annotation) or (None,)
        leaf = _leaf(item)
        if leaf is None:
            return None

        def many(value: Any) -> list[Any]:
            return [leaf(v) for v in (value if isinstance(value, list | tuple) else [value])]

        return many
    return _leaf(annotation)


def install() -> None:
    """Route plain parameters of every typer command through the direct conversions above."""
    try:
        from typer import core
        from typer._coercion import RuntimeParam, build_runtime_param
    except ImportError:  # another typer: keep its own coercion
        return
    if getattr(core._TyperParameter, "_tokctl_fast", False):
        return

    @dataclass(frozen=True)
    class Direct(RuntimeParam):  # type: ignore[misc]
        convert: Callable[[Any], Any]
        descriptor: Any

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                return self.convert(value)
            except _Refused:
                return build_runtime_param(self.descriptor)._coerce_value(value, param=param, ctx=ctx)

    def get_runtime_param(self: Any) -> Any:
        if self._runtime_param is None:
            convert = _converter(self.type_descriptor)
            if convert is None:
                self._runtime_param = build_runtime_param(self.type_descriptor)
            else:
                info, annotation = self.type_descriptor.parameter_info, self.type_descriptor.annotation
                self._runtime_param = Direct(info, annotation, convert, self.type_descriptor)
        return self._runtime_param

    setattr(core._TyperParameter, "get_runtime_param", get_runtime_param)  # noqa: B010 - a method swap
    setattr(core._TyperParameter, "_tokctl_fast", True)  # noqa: B010
