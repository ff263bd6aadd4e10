"""The page in a real browser: Debian's Chromium driven by Playwright, from file://, offline.

Every request that is not file: is aborted and recorded, and each test asserts none was
attempted. The state is set through the URL hash and every number on the page is compared
with the library's; bars are dragged with the mouse and moved with the keyboard; screenshots
at 1280x800 and 375x800 are kept under build/ (CI artifacts). One browser per module.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

import infoloss
from infoloss import coding, explore
from tests.explore.golden import sample as reference_sample

CHROMIUM = Path("/usr/bin/chromium")
BUILD = Path(__file__).resolve().parents[2] / "build"
NUMBERS = {  # data-testid -> the library's value for (p, q) in bits (base=2)
    "entropy-p": lambda p, q, b: infoloss.entropy(p, base=b),
    "entropy-q": lambda p, q, b: infoloss.entropy(q, base=b),
    "cross-entropy": lambda p, q, b: infoloss.cross_entropy(p, q, base=b),
    "kl-pq": lambda p, q, b: infoloss.kl_divergence(p, q, base=b),
    "kl-qp": lambda p, q, b: infoloss.kl_divergence(q, p, base=b),
    "js": lambda p, q, b: infoloss.js_divergence(p, q, base=b),
    "huffman-p-length": lambda p, q, b: _in_unit_bits(coding.expected_length(coding.huffman_code(p), p), b),
    "huffman-q-length": lambda p, q, b: _in_unit_bits(coding.expected_length(coding.huffman_code(q), p), b),
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (CI installs Debian's chromium: .ci/run)"
    ),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(browser, tmp_path_factory):
    """(page, url, attempted non-file requests, console errors); the page has the tour's presets."""
    path = explore.page(path=tmp_path_factory.mktemp("explore") / "page.html")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    attempted: list[str] = []

    def guard(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    yield page, path.resolve().as_uri(), attempted, errors, context
    context.close()


@pytest.fixture
def view(site):
    page, url, attempted, errors, _ = site
    yield _View(page, url)
    assert attempted == [], f"the page tried to reach the network: {attempted}"
    assert errors == [], f"JavaScript errors: {errors}"


class _View:
    def __init__(self, page, url):
        self.page, self.url = page, url

    def load(self, hash_=""):
        self.page.goto("about:blank")
        self.page.goto(self.url + hash_)
        self.page.wait_for_selector('[data-testid="entropy-p"][data-value]')
        return self

    def testid(self, name):
        return self.page.locator(f'[data-testid="{name}"]')

    def value(self, name) -> float:
        return float(self.testid(name).get_attribute("data-value"))

    def bars(self, which) -> list[float]:
        return [
            float(v)
            for v in self.page.eval_on_selector_all(
                f'[data-testid^="bar-{which}-"]', "nodes => nodes.map(n => n.dataset.value)"
            )
        ]

    def snapshot(self) -> dict:
        """Every data-testid element's text and data-value, in one round trip."""
        return self.page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('[data-testid]')]"
            ".map(n => [n.dataset.testid, {text: n.textContent, value: n.dataset.value}]))"
        )

    def hash(self) -> str:
        return self.page.evaluate("location.hash")


def _in_unit_bits(bits, base):
    return bits if base == 2 else bits * math.log(2)


def _close(actual, expected, what):
    if math.isinf(expected):
        assert actual == expected, what
    else:
        assert abs(actual - expected) <= 1e-12 * max(1.0, abs(expected)), (
            f"{what}: {actual!r} vs {expected!r}"
        )


def _check_numbers(view, unit):
    """Every data-testid against the library, for the p and q the page shows."""
    shown = view.snapshot()
    k = sum(1 for name in shown if name.startswith("bar-p-"))
    p = [float(shown[f"bar-p-{i}"]["value"]) for i in range(k)]
    q = [float(shown[f"bar-q-{i}"]["value"]) for i in range(k)]
    assert abs(math.fsum(p) - 1) < 1e-12 and abs(math.fsum(q) - 1) < 1e-12
    base = 2 if unit == "bits" else None
    for testid, compute in NUMBERS.items():
        expected = float(compute(p, q, base))
        actual = float(shown[testid]["value"])
        _close(actual, expected, testid)
        text = shown[testid]["text"]
        assert text.split()[1] == unit, text
        if math.isfinite(expected):
            printed = float(text.split()[0])
            assert abs(printed - expected) <= 5e-5 * max(abs(expected), 1e-300) + 1e-300, (
                f"{testid} shows {text!r}"
            )
        else:
            assert text.startswith("∞"), text
    for which, values in (("p", p), ("q", q)):
        code = coding.huffman_code(values)
        for i in range(len(values)):
            word = shown[f"code-{which}-{i}"]["text"]
            assert word == code[i] if i in code else word.startswith("—"), (which, i, word)
    return p, q


@pytest.mark.slow
def test_numbers_equal_the_library_for_states_set_through_the_hash(view):
    rng = np.random.default_rng(5)
    hashes = []
    for k, unit in ((2, "bits"), (5, "nats"), (9, "bits"), (16, "nats")):
        p, q = rng.random(k), rng.random(k)
        p[rng.random(k) < 0.3] = 0
        q[rng.random(k) < 0.2] = 0
        p[0] += 0.1
        q[-1] += 0.1
        hashes.append((explore.state_hash(p / p.sum(), q / q.sum(), unit=unit), unit))
    hashes.append(
        ("#p=1/2,1/4,1/8,1/8&q=1/4,1/4,1/4,1/4&unit=bits", "bits")
    )  # fractions, as a teacher types them
    hashes.append(("#p=1,0&q=0,1&unit=bits", "bits"))  # disjoint: infinite CE and KL, JS = 1 bit
    for hash_, unit in hashes:
        view.load(hash_)
        p, q = _check_numbers(view, unit)
    assert view.value("js") == 1.0 and view.value("kl-pq") == math.inf
    view.load("#p=1/2,1/4,1/8,1/8&q=1/4,1/4,1/4,1/4&unit=bits")
    assert view.testid("entropy-p").inner_text().startswith("1.7500 bits")
    assert view.value("huffman-p-length") == 1.75 and view.value("huffman-q-length") == 2.0


def test_every_tour_preset_shows_the_library_numbers(view):
    view.load()
    for preset in explore.tour_presets():
        view.page.select_option('[data-testid="preset"]', preset["id"])
        state_unit = "nats" if "unit=nats" in preset["hash"] else "bits"
        _check_numbers(view, state_unit)
    view.load(next(p["hash"] for p in explore.tour_presets() if p["id"] == "huffman"))
    assert view.testid("huffman-p-length").inner_text().startswith("1.7500")


def test_dragging_a_bar_with_the_mouse_keeps_p_a_distribution(view):
    view.load("#p=0.5,0.25,0.125,0.125&q=0.25,0.25,0.25,0.25&unit=bits")
    track = view.testid("bar-p-1")
    box = track.bounding_box()
    view.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.9)
    view.page.mouse.down()
    view.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.4, steps=5)
    view.page.mouse.up()
    p = view.bars("p")
    assert p[1] == pytest.approx(0.6, abs=0.01)  # 40% from the top: 0.6
    assert p[0] / p[2] == pytest.approx(4.0, rel=1e-12)  # the others kept their proportions
    assert math.fsum(p) == pytest.approx(1.0, abs=1e-15)
    _check_numbers(view, "bits")
    h, ce, kl = view.value("entropy-p"), view.value("cross-entropy"), view.value("kl-pq")
    assert kl >= 0 and ce == pytest.approx(h + kl, rel=1e-12)
    assert f"p={','.join(repr(v) if not float(v).is_integer() else str(int(v)) for v in p)}" in view.hash()


def test_arrow_keys_move_a_bar_and_locks_hold_theirs(view):
    view.load("#p=0.4,0.3,0.2,0.1&q=0.25,0.25,0.25,0.25&unit=bits")
    view.testid("lock-p-0").check()
    assert "locks=p0" in view.hash()
    track = view.testid("bar-p-3")
    track.focus()
    for _ in range(5):
        track.press("ArrowUp")
    p = view.bars("p")
    assert p[0] == 0.4  # locked
    assert p[3] == pytest.approx(0.15, abs=1e-12)
    assert p[1] / p[2] == pytest.approx(1.5, rel=1e-12)
    assert track.get_attribute("aria-valuenow") == str(p[3])
    track.press("PageDown")
    assert view.bars("p")[3] == pytest.approx(0.05, abs=1e-12)
    track.press("End")  # as far as the lock allows: 1 - 0.4
    assert view.bars("p")[3] == pytest.approx(0.6, abs=1e-12) and view.bars("p")[1] == 0
    _check_numbers(view, "bits")
    assert view.value("kl-pq") >= 0
    assert view.value("cross-entropy") == pytest.approx(
        view.value("entropy-p") + view.value("kl-pq"), rel=1e-12
    )


def test_the_unit_toggle_converts_every_number(view):
    view.load("#p=0.14,0.37,0.03,0.46&q=0.25,0.25,0.25,0.25&unit=bits")
    bits = {name: view.value(name) for name in NUMBERS}
    view.testid("unit-nats").click()
    assert "unit=nats" in view.hash() and view.testid("unit-nats").get_attribute("aria-pressed") == "true"
    for name in NUMBERS:
        assert view.value(name) == pytest.approx(bits[name] * math.log(2), rel=1e-12), name
    _check_numbers(view, "nats")
    view.testid("unit-bits").click()
    _check_numbers(view, "bits")


def test_the_sample_button_is_reproducible_from_the_seed_in_the_link(view):
    p, q = [0.14, 0.37, 0.03, 0.46], [0.5, 0.25, 0.125, 0.125]
    view.load(f"#p={','.join(map(str, p))}&q={','.join(map(str, q))}&seed=41&n=500&unit=bits")
    view.testid("sample").click()
    assert "seed=42" in view.hash()
    counts = json.loads(view.testid("sample-counts").get_attribute("data-value"))
    page_p = view.bars("p")
    expected = np.bincount(reference_sample(page_p, 500, 42), minlength=4).tolist()
    assert counts == expected
    lengths = coding.code_lengths(coding.huffman_code(q))
    assert view.value("sample-rate") == pytest.approx(
        sum(c * lengths[i] for i, c in enumerate(counts)) / 500, rel=1e-15
    )
    # The link reproduces the draw; a larger sample lands near L_p(code_q) = H(p,q) here (dyadic q).
    view.load(view.hash())
    assert json.loads(view.testid("sample-counts").get_attribute("data-value")) == counts
    view.load("#p=0.14,0.37,0.03,0.46&q=0.5,0.25,0.125,0.125&seed=3&n=100000&unit=bits")
    standard_error = 1.0 / math.sqrt(100000)  # the code lengths spread over 1..3 bits
    assert abs(view.value("sample-rate") - view.value("huffman-q-length")) < 4 * standard_error


def test_the_logits_mode_shows_softmax_counting_the_loss_and_its_gradient(view):
    view.load("#mode=logits&logits=1,1,3&temperature=1&target=2&smoothing=0&unit=nats")
    softmax = [view.value(f"softmax-{i}") for i in range(3)]
    for got, want in zip(softmax, infoloss.softmax([1.0, 1.0, 3.0])):
        _close(got, float(want), "softmax")
    assert [round(v, 4) for v in softmax] == [0.1065, 0.1065, 0.787]
    assert [view.value(f"plain-{i}") for i in range(3)] == [0.2, 0.2, 0.6]
    _check_numbers(view, "nats")
    view.load("#mode=logits&logits=2,0.5,-1,0.3&temperature=2.5&target=1&smoothing=0.1&unit=bits")
    z, t, eps = np.array([2.0, 0.5, -1.0, 0.3]), 2.5, 0.1

    def loss(logits):
        return float(infoloss.losses.cross_entropy(logits / t, np.array(1), label_smoothing=eps))

    _close(view.value("loss"), loss(z), "loss")
    step = 1e-6
    for i in range(4):
        shift = np.eye(4)[i] * step
        numeric = (loss(z + shift) - loss(z - shift)) / (2 * step)
        assert view.value(f"gradient-{i}") == pytest.approx(numeric, abs=1e-8)
    assert math.fsum(view.value(f"gradient-{i}") for i in range(4)) == pytest.approx(0, abs=1e-15)
    _check_numbers(view, "bits")
    temperature = view.testid("temperature-value")
    temperature.fill("0.5")
    temperature.press("Enter")
    assert "temperature=0.5" in view.hash()
    for got, want in zip(
        [view.value(f"softmax-{i}") for i in range(4)], infoloss.softmax(z, temperature=0.5)
    ):
        _close(got, float(want), "softmax at T = 0.5")
    track = view.testid("bar-logits-0")
    track.focus()
    track.press("ArrowUp")
    assert "logits=2.1,0.5,-1,0.3" in view.hash()


def test_copy_python_gives_code_that_computes_the_same_numbers(view):
    for hash_ in (
        "#p=0.14,0.37,0.03,0.46&q=0.15,0.35,0.04,0.46&labels=rain,snow,sleet,hail&unit=bits",
        "#mode=logits&logits=2,0.5,-1&temperature=2&target=p&smoothing=0.1&p=0.7,0.2,0.1&unit=nats",
    ):
        view.load(hash_)
        code = view.testid("python-code").inner_text()
        namespace: dict = {}
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, namespace)  # noqa: S102 - the page's own suggestion, run as a user would
        p, q = namespace["p"], namespace["q"]
        base = 2 if "unit=bits" in hash_ else None
        _close(view.value("cross-entropy"), infoloss.cross_entropy(p, q, base=base), "python CE")
        _close(view.value("kl-qp"), infoloss.kl_divergence(q, p, base=base), "python KL(q||p)")


def test_outcomes_can_be_added_removed_and_relabelled(view):
    view.load("#p=0.5,0.5&q=0.9,0.1&unit=bits")
    view.testid("add-outcome").click()
    assert len(view.bars("p")) == 3 and view.bars("p")[2] == pytest.approx(1 / 3)
    view.testid("label-2").fill("rain")
    assert "labels=a,b,rain" in view.hash()
    assert view.testid("bar-p-2").get_attribute("aria-label").startswith("p(rain)")
    _check_numbers(view, "bits")
    view.testid("remove-0").click()
    assert len(view.bars("q")) == 2 and "labels=b,rain" in view.hash()
    assert view.testid("remove-0").is_disabled()  # two outcomes is the least
    _check_numbers(view, "bits")


def test_a_bad_link_is_reported_and_the_rest_applied(view):
    view.load("#p=0.2,0.8&q=oops&unit=furlongs")
    problems = view.testid("problems").inner_text()
    assert "q:" in problems and "unit:" in problems
    assert view.bars("p") == [0.2, 0.8]


def test_the_request_guard_sees_a_request_to_another_host(site):
    """The 'no request attempted' checks can fail: a fetch from a blank page is caught."""
    _, _, attempted, _, context = site
    probe = context.new_page()
    probe.goto("about:blank")
    probe.evaluate("fetch('http://example.invalid/x').catch(() => null)")
    probe.wait_for_timeout(200)
    probe.close()
    assert attempted == ["http://example.invalid/x"]
    attempted.clear()


def test_screenshots_and_a_narrow_screen(view):
    BUILD.mkdir(exist_ok=True)
    view.load(next(p["hash"] for p in explore.tour_presets() if p["id"] == "weather-good"))
    view.page.set_viewport_size({"width": 1280, "height": 800})
    view.page.screenshot(path=str(BUILD / "explore-1280x800.png"))
    view.page.set_viewport_size({"width": 375, "height": 800})
    try:
        assert view.page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing sticks out
        view.page.screenshot(path=str(BUILD / "explore-375x800.png"))
        for name in ("entropy-p", "cross-entropy", "kl-pq", "bar-p-0"):
            box = view.testid(name).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 375, name
    finally:
        view.page.set_viewport_size({"width": 1280, "height": 800})
    assert (BUILD / "explore-1280x800.png").stat().st_size > 10_000


def test_the_widget_module_renders_and_syncs_its_hash(site):
    """The anywidget module (same JS as the page) against a stand-in for anywidget's model."""
    pytest.importorskip("anywidget")
    page, _, attempted, errors, _ = site
    widget = explore.widget([0.8, 0.1, 0.1], [0.2, 0.2, 0.6], unit="nats")
    page.goto("about:blank")
    page.add_style_tag(content=widget._css)
    result = page.evaluate(
        """async ([source, hash, presets]) => {
          const values = {hash, presets}, listeners = {}, saved = [];
          const model = {
            get: (key) => values[key],
            set: (key, value) => { values[key] = value; },
            save_changes: () => saved.push(values.hash),
            on: (event, f) => { listeners[event] = f; },
            off: () => {},
          };
          const url = URL.createObjectURL(new Blob([source], {type: "text/javascript"}));
          const widget = (await import(url)).default;
          const el = document.createElement("div");
          document.body.append(el);
          widget.render({model, el});
          const first = el.querySelector('[data-testid="cross-entropy"]').dataset.value;
          el.querySelector('[data-testid="unit-bits"]').click();
          const bits = el.querySelector('[data-testid="cross-entropy"]').dataset.value;
          values.hash = "#p=0.5,0.5&q=0.5,0.5&unit=bits";
          listeners["change:hash"]();
          const after = el.querySelector('[data-testid="kl-pq"]').dataset.value;
          return {first, bits, after, saved};
        }""",
        [widget._esm, widget.hash, widget.presets],
    )
    assert float(result["first"]) == pytest.approx(
        infoloss.cross_entropy([0.8, 0.1, 0.1], [0.2, 0.2, 0.6]), rel=1e-12
    )
    assert float(result["bits"]) == pytest.approx(
        infoloss.cross_entropy([0.8, 0.1, 0.1], [0.2, 0.2, 0.6], base=2), rel=1e-12
    )
    assert any("unit=bits" in h for h in result["saved"])  # the click reached the Python side
    assert float(result["after"]) == 0.0  # a hash from Python redrew the view
    assert attempted == [] and errors == []
