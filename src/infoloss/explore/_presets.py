"""The page's presets: the tour's worked examples, as URL hashes of the explorer.

Each preset is ``{"id", "title", "hash"}``; the hash is built by :func:`infoloss.explore.state_hash`,
so a preset is checked like any other input. The numbers are those of the tour's examples
(:mod:`infoloss.examples`), described in plain words.
"""

from __future__ import annotations

from ..special import softmax

__all__ = ["presets"]

# (id, title, keyword arguments of state_hash)
_WEATHER = {"rain": 0.14, "snow": 0.37, "sleet": 0.03, "hail": 0.46}
_DIGIT_LOGITS = [0.1, -1.2, 0.3, 0.8, -0.5, 0.0, -2.0, 3.1, 0.4, -0.3]
_EXAMPLES = (
    ("huffman", "Huffman code of 1.75 bits: p = (1/2, 1/4, 1/8, 1/8), q's code built for (1/8, 1/8, 1/4, 1/2)",
     {"p": [1 / 2, 1 / 4, 1 / 8, 1 / 8], "q": [1 / 8, 1 / 8, 1 / 4, 1 / 2]}),
    ("huffman-uniform", "The same p coded with a fixed-length code (q uniform): 2 bits",
     {"p": [1 / 2, 1 / 4, 1 / 8, 1 / 8], "q": [1 / 4] * 4}),
    ("weather-good", "Weather: a good forecaster (H(p,q) close to H(p))",
     {"p": _WEATHER, "q": {"rain": 0.15, "snow": 0.35, "sleet": 0.04, "hail": 0.46}}),
    ("weather-uniform", "Weather: a forecaster who knows nothing (q uniform)",
     {"p": _WEATHER, "q": dict.fromkeys(_WEATHER, 0.25)}),
    ("weather-month", "A month of weather counts (3, 11, 1, 15) against the forecast: the likelihood view",
     {"p": {"rain": 3, "snow": 11, "sleet": 1, "hail": 15}, "q": _WEATHER}),
    ("balls", "Bag of balls: true (.8, .1, .1), predicted (.2, .2, .6)",
     {"p": {"red": 0.8, "green": 0.1, "yellow": 0.1}, "q": {"red": 0.2, "green": 0.2, "yellow": 0.6}}),
    ("coin", "A fair coin: 1 bit", {"p": {"heads": 0.5, "tails": 0.5}, "q": {"heads": 0.5, "tails": 0.5}}),
    ("coin-heads", "A coin that always lands heads: entropy 0", {"p": {"heads": 1.0, "tails": 0.0}, "q": {"heads": 0.5, "tails": 0.5}}),
    ("die", "A fair die: log 6", {"p": [1 / 6] * 6, "q": [1 / 6] * 6, "labels": list("123456"), "unit": "nats"}),
    ("kl-uniform", "P = (.36, .48, .16) against a uniform Q", {"p": [0.36, 0.48, 0.16], "q": [1 / 3] * 3}),
    ("softmax", "Scores (1, 1, 3): softmax (0.1065, 0.1065, 0.7870) against counting (.2, .2, .6)",
     {"logits": [1.0, 1.0, 3.0], "target": 2, "unit": "nats"}),
    ("digit", "A digit classifier: one-hot truth \"7\" against its softmax prediction",
     {"logits": _DIGIT_LOGITS, "target": 7, "labels": [str(d) for d in range(10)]}),
    ("votes", "Soft targets: three annotators' votes (.7, .2, .1) against softmax(2, .5, -1)",
     {"p": [0.7, 0.2, 0.1], "logits": [2.0, 0.5, -1.0], "unit": "nats"}),
)


def presets() -> list[dict]:
    """Every worked example of the tour as ``{"id", "title", "hash"}``, in the tour's order."""
    from . import state_hash

    return [{"id": key, "title": title, "hash": state_hash(**options)} for key, title, options in _EXAMPLES]


def _check_softmax_example() -> tuple:
    """The softmax preset's q, rounded as the texts print it (used by the tests)."""
    return tuple(round(float(v), 4) for v in softmax([1.0, 1.0, 3.0]))
