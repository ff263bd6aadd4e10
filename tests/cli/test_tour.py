"""``infoloss tour``: every claim printed beside what the text says, the topics, the exit status."""

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from infoloss import examples
from infoloss.cli.main import main

SCRIPT = Path(sys.executable).parent / "infoloss"  # the installed console script


def run(*args, env=None):
    return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)


def test_tour_prints_every_claim_and_exits_0():
    result = run("tour", env={"COLUMNS": "2000"})  # wide enough that no cell wraps
    assert result.exit_code == 0, result.output
    checks = [check for _, checks in examples.check_all() for check in checks]
    for example in examples.EXAMPLES:
        assert f"{example.topic}: {example.title}" in result.stdout
        assert f"From {example.source}." in result.stdout
    for check in checks:
        assert check.claim.statement in result.stdout
        assert check.claim.says in result.stdout
        assert check.computed in result.stdout
    assert result.stdout.count("✓") == len(checks) == 40
    assert result.stdout.rstrip().splitlines()[-1] == "40/40 claims reproduced"


def test_tour_output_never_mentions_project_internals():
    text = run("tour", env={"COLUMNS": "2000"}).stdout + run("tour", "--help").stdout
    for word in ("seed", "DIGEST"):
        assert word.lower() not in text.lower()


def test_topic_option_shows_only_those_examples():
    result = run("tour", "--topic", "weather", "--topic", "loss-functions", env={"COLUMNS": "2000"})
    assert result.exit_code == 0
    assert "weather: " in result.stdout and "loss-functions: " in result.stdout
    assert "kl-loss: " not in result.stdout and "likelihood: " not in result.stdout
    expected = sum(len(e.claims) for e in examples.EXAMPLES if e.topic in ("weather", "loss-functions"))
    assert expected == 19
    assert f"{expected}/{expected} claims reproduced" in result.stdout


def test_an_unknown_topic_is_one_line_naming_the_choices():
    result = run("tour", "--topic", "seeds")
    assert result.exit_code == 2 and result.stdout == ""
    line = result.stderr.rstrip("\n")
    assert "\n" not in line and "'seeds' is not one of" in line and "'weather'" in line


def test_tour_shows_a_mismatch_and_exits_1_when_the_library_is_wrong(monkeypatch):
    true_entropy = examples.entropy
    monkeypatch.setattr(examples, "entropy", lambda *a, **k: true_entropy(*a, **k) * 1.001)
    result = run("tour", env={"COLUMNS": "2000"})
    assert result.exit_code == 1
    assert "✗" in result.stdout and "MISMATCH" in result.stdout
    reproduced, total = map(int, result.stdout.rstrip().splitlines()[-1].split()[0].split("/"))
    assert reproduced < total == 40


def test_tour_through_the_installed_script():
    done = subprocess.run([SCRIPT, "tour"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().splitlines()[-1] == "40/40 claims reproduced"
