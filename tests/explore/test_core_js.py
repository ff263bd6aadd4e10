"""The page's math (core.mjs) gives the library's numbers: golden JSON from infoloss, checked by node.

The golden file is committed (CI's ``node --test tests/explore/js`` reads it); this test
recomputes it from the library, fails if the committed copy is stale, then runs the node tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.explore.golden import golden

JS_TESTS = Path(__file__).resolve().parent / "js"
GOLDEN = JS_TESTS / "golden.json"


def test_golden_file_is_what_the_library_computes_now():
    fresh = golden()
    if os.environ.get("INFOLOSS_WRITE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(fresh, indent=1) + "\n", encoding="utf-8")
    committed = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert committed.keys() == fresh.keys()
    # The library may move by an ulp (a new fast path); more than 1e-13 means regenerate
    # (see golden.py). The node run below checks the JS against the fresh values exactly.
    _assert_close(committed, json.loads(json.dumps(fresh)), "golden.json")


def test_golden_file_covers_the_hard_cases():
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    cases = data["distributions"]
    assert any(0.0 in case["p"] for case in cases) and any(0.0 in case["q"] for case in cases)
    assert any(case["bits"]["klPQ"] == "Infinity" for case in cases)
    assert any(case["nats"]["klPQ"] == 0.0 for case in cases)
    assert {len(case["p"]) for case in cases} >= set(range(2, 17))
    assert any(None in case["words"] for case in data["huffman"])
    assert max(max(length for length in case["lengths"] if length) for case in data["huffman"]) == 15
    assert {case["temperature"] for case in data["softmax"]} >= {0.25, 1.0, 3.7}


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (CI installs it: .ci/run)")
def test_node_tests_of_the_js_module_pass(tmp_path):
    fresh = tmp_path / "golden.json"
    fresh.write_text(json.dumps(golden()), encoding="utf-8")
    result = subprocess.run(
        ["node", "--test", str(JS_TESTS)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "INFOLOSS_GOLDEN": str(fresh)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout


def _assert_close(committed, fresh, where):
    if isinstance(fresh, dict):
        assert isinstance(committed, dict) and committed.keys() == fresh.keys(), f"{where} is stale"
        for key in fresh:
            _assert_close(committed[key], fresh[key], f"{where}[{key!r}]")
    elif isinstance(fresh, list):
        assert isinstance(committed, list) and len(committed) == len(fresh), f"{where} is stale"
        for i, (a, b) in enumerate(zip(committed, fresh)):
            _assert_close(a, b, f"{where}[{i}]")
    elif isinstance(fresh, float) and isinstance(committed, (int, float)):
        assert abs(committed - fresh) <= 1e-13 * max(1.0, abs(fresh)), (
            f"{where} is stale: {committed!r} vs {fresh!r}"
        )
    else:
        assert committed == fresh, f"{where} is stale: {committed!r} vs {fresh!r}"
