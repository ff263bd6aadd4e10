"""The ``infoloss`` command: the click group, its version, the shared console and error format.

    infoloss measure --p rain=.14,snow=.37,sleet=.03,hail=.46 --q rain=.25,snow=.25,sleet=.25,hail=.25
    infoloss tour --topic weather
    infoloss code --p 1/2,1/4,1/8,1/8

Each command lives in its own module (:mod:`.measure`, :mod:`.tour`, :mod:`.code`, ...) and
is registered at the bottom of this one. Every problem, bad input or a misspelt option alike,
is ONE line ``Error: ...`` on stderr with exit status 2 (never a traceback, never click's
three-line usage message), and every text that came from the user is shown with its control
characters escaped (:func:`printable`), so a label cannot drive the terminal.
"""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # rich is imported by console(): `infoloss --help` never needs it
    from rich.console import Console

__all__ = ["main", "console", "printable", "CommandError"]


class CommandError(click.ClickException):
    """A problem the user can fix: printed as one line ``Error: ...`` on stderr, exit status 2.

    The message is shown through :func:`printable`: newlines and control characters in it
    (from labels, file names, values) are escaped, so the line stays one line.
    """

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Error: {printable(self.format_message())}", file=file or sys.stderr)


class _Group(click.Group):
    """A click group whose usage errors (unknown option, bad value, missing argument) are one line.

    Click prints a usage line, a hint and the error on three lines; here the error and a pointer
    to ``--help`` share one. Nested groups (``infoloss code compress ...``) go through this
    group's ``invoke``, so they are covered too.
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as error:
            raise _one_line(error) from None

    # Commands are registered lazily (`lazy_command`): a command's module is imported only when
    # the command runs (or its own --help is asked for), so `infoloss code compress` does not pay
    # for the tour's or the explorer's imports, and `infoloss --help` imports no command at all.
    def __init__(self, *args: Any, **keywords: Any) -> None:
        super().__init__(*args, **keywords)
        self.lazy: dict[str, tuple[str, str]] = {}  # name -> ("module:attribute", summary)

    def lazy_command(self, name: str, target: str, summary: str) -> None:
        """Register ``target`` (``"package.module:attribute"``) as the command ``name``.

        ``summary`` is the one-line help shown by ``infoloss --help`` without importing the
        module; tests/cli/test_main.py checks that it is the command's own first sentence.
        """
        self.lazy[name] = (target, summary)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in self.lazy:
            import importlib

            module, attribute = self.lazy[name][0].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's command list, with the stored summaries of commands not imported yet."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            loaded = self.commands.get(name)
            if loaded is not None:
                if loaded.hidden:
                    continue
                rows.append((name, loaded.get_short_help_str(limit)))
            else:
                rows.append((name, click.Command(name, help=self.lazy[name][1]).get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        ctx.meta[_COMMAND_KEY] = f"{ctx.command_path} {name}"  # for errors that come without a context
        return name, command, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CommandError:
            raise
        except click.UsageError as error:
            raise _one_line(error, ctx.meta.get(_COMMAND_KEY, ctx.command_path)) from None


_COMMAND_KEY = "infoloss.command_path"


def _one_line(error: click.UsageError, command_path: str | None = None) -> CommandError:
    # Some parser errors ("requires an argument") carry no context: name the command resolved last.
    command = error.ctx.command_path if error.ctx is not None else command_path or "infoloss"
    message = " ".join(error.format_message().split())
    return CommandError(f"{message} (see '{command} --help')")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _, value: _version(ctx, value),
    help="Show the version and exit.",
)
def main() -> None:
    """infoloss: entropy, cross-entropy and KL divergence, as measures, losses and code lengths."""


def _version(ctx: click.Context, value: bool) -> None:
    """``--version``: the package's version, looked up (package metadata) only when asked for."""
    if value and not ctx.resilient_parsing:
        from .. import __version__

        click.echo(f"infoloss, version {__version__}")
        ctx.exit()


def console() -> Console:
    """The console every command prints to: stdout, no automatic highlighting, 120 columns
    when piped (rich would use 80) unless ``COLUMNS`` says otherwise."""
    from rich.console import Console

    piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(highlight=False, width=120 if piped else None)


def printable(text: str) -> str:
    """``text`` with every non-printable character escaped as Python writes it (``\\x1b``).

    Escapes ESC and the other control characters (terminal injection), newlines (one-line
    messages) and lone surrogates (which no terminal encoding can write). Rich markup is not
    interpreted where this is used: pass the result as a ``rich.text.Text``, never as markup.

    >>> printable("red\\x1b[31m=0.5")
    'red\\\\x1b[31m=0.5'
    >>> printable("caf\\u00e9 \\ud800")
    'café \\\\ud800'
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


# Each command: its name, where it lives, and its help's first sentence (shown by `infoloss --help`).
main.lazy_command(
    "measure",
    "infoloss.cli.measure:measure",
    "H(p), H(q), H(p,q), KL(p||q), KL(q||p) and JS(p,q), one result row per distribution row.",
)
main.lazy_command(
    "tour",
    "infoloss.cli.tour:tour",
    "Recompute the worked examples of five texts on entropy, cross-entropy and KL divergence.",
)
main.lazy_command(
    "code",
    "infoloss.cli.code:code",
    "Code lengths in bits: the Huffman code of a distribution, or compress/decompress a file.",
)
main.lazy_command(
    "estimate",
    "infoloss.cli.estimate:estimate",
    "Estimate entropy (one column) or MI, conditional entropy and KL (two columns) of FILE.",
)
main.lazy_command(
    "explore",
    "infoloss.cli.explore:explore",
    "Write the interactive page of H(p), H(p,q), KL, JS and Huffman codes, and print its address.",
)
main.lazy_command(
    "demo",
    "infoloss.cli.demo:demo",
    "Demonstrations on real data (needs the extra: pip install 'infoloss[demo]').",
)
