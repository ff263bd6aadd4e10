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

import click
from rich.console import Console

from .. import __version__

__all__ = ["main", "console", "printable", "CommandError"]


class CommandError(click.ClickException):
    """A problem the user can fix: printed as one line ``Error: ...`` on stderr, exit status 2.

    The message is shown through :func:`printable`: newlines and control characters in it
    (from labels, file names, values) are escaped, so the line stays one line.
    """

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"Error: {printable(self.format_message())}", file=file or sys.stderr)


class _Group(click.Group):
    """A click group whose usage errors (unknown option, bad value, missing argument) are one line.

    Click prints a usage line, a hint and the error on three lines; here the error and a pointer
    to ``--help`` share one. Nested groups (``infoloss code compress ...``) go through this
    group's ``invoke``, so they are covered too.
    """

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as error:
            raise _one_line(error) from None

    def resolve_command(self, ctx, args):
        name, command, rest = super().resolve_command(ctx, args)
        ctx.meta[_COMMAND_KEY] = f"{ctx.command_path} {name}"  # for errors that come without a context
        return name, command, rest

    def invoke(self, ctx):
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
@click.version_option(__version__, prog_name="infoloss")
def main():
    """infoloss: entropy, cross-entropy and KL divergence, as measures, losses and code lengths."""


def console() -> Console:
    """The console every command prints to: stdout, no automatic highlighting, 120 columns
    when piped (rich would use 80) unless ``COLUMNS`` says otherwise."""
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


from .measure import measure  # noqa: E402 - each command registers after main exists
from .tour import tour  # noqa: E402
from .code import code  # noqa: E402

main.add_command(measure)
main.add_command(tour)
main.add_command(code)
from .estimate import estimate; main.add_command(estimate)  # noqa: E402, E702
from .explore import explore; main.add_command(explore)  # noqa: E402, E702
from .demo import demo  # noqa: E402
main.add_command(demo)
