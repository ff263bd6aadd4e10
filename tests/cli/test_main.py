"""The ``infoloss`` group: one-line usage errors, escaped output, version and help."""

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

import infoloss
from infoloss.cli.main import CommandError, main, printable


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    "arguments, fragment, command",
    [
        (["measure", "--pp", "3"], "No such option '--pp'", "measure"),
        (["measure", "--digits", "40"], "Invalid value for '--digits': 40 is not in the range", "measure"),
        (["measure", "--digits"], "Option '--digits' requires an argument", "measure"),
        (["measure", "--max-size", "lots"], "'lots' is not a size", "measure"),
        (["nope"], "No such command 'nope'", ""),
        (["--bogus"], "No such option '--bogus'", ""),
        (["code", "compress"], "Missing argument 'SOURCE'", "code compress"),
        (["measure", "extra"], "Got unexpected extra argument (extra)", "measure"),
        (["tour", "--topic"], "Option '--topic' requires an argument", "tour"),
    ],
)
def test_usage_errors_are_one_line_with_a_pointer_to_help(arguments, fragment, command):
    result = run(*arguments)
    assert result.exit_code == 2 and result.stdout == ""
    line = result.stderr.rstrip("\n")
    assert "\n" not in line and line.startswith("Error: ") and fragment in line
    assert line.endswith(f"(see '{' '.join(['main', command]).strip()} --help')")


def test_printable_escapes_control_characters_newlines_and_surrogates():
    assert printable("plain é ✓ text") == "plain é ✓ text"
    assert printable("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert printable("two\nlines\ttab\x7f") == "two\\nlines\\ttab\\x7f"
    assert printable("\ud800") == "\\ud800"
    assert printable("\u202e") == "\\u202e"  # right-to-left override: reorders what the terminal shows


def test_a_command_error_is_printed_escaped_on_one_line(capsys):
    CommandError("label '\x1b[2J' is bad\nsecond line").show()
    err = capsys.readouterr().err
    assert err == "Error: label '\\x1b[2J' is bad\\nsecond line\n"


def test_help_and_version():
    assert "measure" in run("--help").stdout and "tour" in run("--help").stdout
    assert infoloss.__version__ in run("--version").stdout


def test_python_dash_m_infoloss_is_the_same_command():
    done = subprocess.run(
        [sys.executable, "-m", "infoloss", "measure", "--p", "0.5,0.5", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and '"entropy_p": 0.6931471805599453' in done.stdout


def _commands(group, path=()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))


def test_every_command_that_reads_files_takes_the_shared_max_size():
    readers = []
    for path, command in _commands(main):
        reads = any(
            p.name.endswith("file") or (isinstance(p, click.Argument) and p.name in ("file", "source"))
            for p in command.params
        )
        if reads:
            readers.append(" ".join(path))
            assert "--max-size" in [opt for p in command.params for opt in p.opts], path
    assert {"measure", "code", "code compress", "code decompress"} <= set(readers)


def test_commands_load_lazily_and_their_summaries_are_their_own():
    # `infoloss --help` lists every command from the summaries registered in main.py, without
    # importing one; each summary must be the command's own first sentence, as click makes it.
    group = main
    listed = run("--help").stdout
    for name, (target, summary) in group.lazy.items():
        module, attribute = target.split(":")
        command = getattr(__import__(module, fromlist=[attribute]), attribute)
        assert command.get_short_help_str(limit=1000) == summary, name
        assert name in listed
    context = click.Context(group)
    assert group.list_commands(context) == sorted(group.lazy)
    assert all(group.get_command(context, name) is not None for name in group.lazy)
    assert group.get_command(context, "nothing") is None
    assert "No such command 'nothing'" in run("nothing").stderr
