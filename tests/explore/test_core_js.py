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
    for key in fresh:
        # Exact: the file must be regenerated (see golden.py) whenever the library changes.
        assert committed[key] == json.loads(json.dumps(fresh[key])), f"golden.json[{key!r}] is stale"


def test_golden_file_covers_the_hard_cases():
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    cases = data["distributions"]
    assert any(0.0 in case["p"] for case in cases) and any(0.0 in case["q"] for case in cases)
    assert any(case["bits"]["klPQ"] == "Infinity" for case in cases)
    assert any(case["nats"]["klPQ"] == 0.0 for case in cases)
    assert {len(case["p"]) for case in cases} >= set(range(2, 17))
    assert any(None in case["words"] for case in data["huffman"])
    assert max(max(l for l in case["lengths"] if l) for case in data["huffman"]) == 15
    assert {case["temperature"] for case in data["softmax"]} >= {0.25, 1.0, 3.7}


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (CI installs it: .ci/run)")
def test_node_tests_of_the_js_module_pass():
    result = subprocess.run(["node", "--test", str(JS_TESTS)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout
