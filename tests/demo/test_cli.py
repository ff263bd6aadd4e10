"""`infoloss demo digits` end to end: same seed same JSON, the keys, plots, missing extras."""

from __future__ import annotations

import builtins
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from infoloss.cli.main import main
from infoloss.demo import digits
from infoloss.demo.plots import NO_MATPLOTLIB

QUICK = ["--epochs", "1", "--repeats", "2"]
REQUIRED_KEYS = (
    "test_accuracy",
    "max_param_diff",
    "coded_bits",
    "ideal_bits_quantized",
    "ideal_bits",
    "round_trip_ok",
)


def run(*args):
    return CliRunner(env={"COLUMNS": "120"}).invoke(main, ["demo", "digits", *args])


@pytest.mark.slow
def test_same_seed_gives_the_same_json_and_each_required_key_once():
    result = run("--json", *QUICK)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    again = digits(seed=0, epochs=1, repeats=2).as_dict()  # through the Python API this time
    assert document == again
    text = json.dumps(document)
    for key in REQUIRED_KEYS:
        assert text.count(f'"{key}":') == 1, key
    coding = document["label_coding"]
    assert coding["round_trip_ok"] is True
    assert 0 <= coding["coded_bits"] - coding["ideal_bits_quantized"] <= 64
    assert document["kl_vs_cross_entropy"]["max_param_diff"] < 1e-9
    other = run("--json", "--seed", "1", *QUICK)
    assert json.loads(other.output)["settings"]["seed"] == 1
    assert json.loads(other.output)["label_coding"] != coding  # another split


@pytest.mark.slow
def test_plots_are_written_and_skipped_with_one_note_without_matplotlib(tmp_path, monkeypatch):
    result = run("--plot", str(tmp_path / "with"), *QUICK)
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "with").iterdir())
    assert written == ["entropy_scaled_step.png", "kl_vs_ce_losses.png", "q_against_p.png"]
    for name in written:
        assert (tmp_path / "with" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for heading in (
        "1. KL and cross-entropy",
        "2. The entropy-scaled step",
        "3. Labels coded",
        "4. Q against P",
    ):
        assert heading in result.output
    assert "<- P = 1" in result.output  # the text bars

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    for module in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, module)
    result = run("--plot", str(tmp_path / "without"), *QUICK)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "without").exists()
    assert result.output.count(NO_MATPLOTLIB) == 1
    assert "\n" not in NO_MATPLOTLIB


def test_without_scikit_learn_the_command_says_how_to_install_the_extra():
    # sys.modules[name] = None makes `import name` raise ImportError, as if it were not installed.
    script = (
        "import sys; sys.modules['sklearn'] = None\n"
        "from infoloss.cli.main import main\n"
        "main(['demo', 'digits'])\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2, completed.stderr
    assert completed.stdout == ""
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith(
        "Error: the digits demo needs scikit-learn and torch (scikit-learn not installed)"
    )
    assert "pip install 'infoloss[demo]'" in lines[0]


def test_bad_options_are_one_line_errors():
    result = run("--epochs", "0")
    assert result.exit_code == 2
    assert "--epochs" in result.output
