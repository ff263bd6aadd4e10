"""``--max-size``: one setting, shared by every command that reads files.

Its own small module (click and ``re`` only), so that ``infoloss code compress`` and
``decompress`` take the option without importing the readers of :mod:`infoloss.cli.inputs`,
which re-exports these names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["ByteSize", "max_size", "max_size_option", "DEFAULT_MAX_SIZE"]

_Command = TypeVar("_Command", bound=Callable[..., Any])  # a click command, returned as it came

DEFAULT_MAX_SIZE = 4 << 30  # 4 GiB: larger inputs are refused before they are read

_MAX_SIZE_KEY = "infoloss.max_size"
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)


class ByteSize(click.ParamType):
    """A size in bytes: ``1000``, ``512K``, ``100M``, ``4G``, ``1T`` (powers of 1024; ``KiB``,
    ``MB`` and the like are read the same way)."""

    name = "SIZE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.fullmatch(str(value))
        if not match:
            self.fail(
                f"{value!r} is not a size; give bytes, or a number with K, M, G or T (e.g. 512M)", param, ctx
            )
        number, unit = match.groups()
        return int(float(number) * 1024 ** ("kmgt".find(unit.lower()) + 1 if unit else 0))


def _store_max_size(ctx: click.Context, param: click.Parameter, value: int) -> None:
    # A subcommand's default must not override a size given to its group (`code --max-size 1G compress`).
    if (
        ctx.get_parameter_source(param.name) is not click.core.ParameterSource.DEFAULT
        or _MAX_SIZE_KEY not in ctx.meta
    ):
        ctx.meta[_MAX_SIZE_KEY] = value


def max_size_option(command: _Command) -> _Command:
    """Add ``--max-size SIZE`` to a click command; :func:`max_size` reads it back anywhere."""
    return click.option(
        "--max-size",
        type=ByteSize(),
        default=DEFAULT_MAX_SIZE,
        expose_value=False,
        is_eager=True,
        callback=_store_max_size,
        metavar="SIZE",
        help="Refuse input files larger than SIZE (bytes, or with K, M, G, T) before reading them [default: 4G].",
    )(command)


def max_size() -> int:
    """The ``--max-size`` of the running command (the default outside one)."""
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(_MAX_SIZE_KEY, DEFAULT_MAX_SIZE) if ctx is not None else DEFAULT_MAX_SIZE
