"""Learning is compression, on scikit-learn's bundled handwritten digits (1797 8x8 images).

:func:`digits` runs four experiments and returns their figures as a :class:`DigitsReport`:

1. :func:`same_training`: a 64-32-10 MLP trained twice from one initialisation on the same
   batches, with ``losses.cross_entropy(z, p)`` and with
   ``losses.kl_div(log_softmax(z), p, reduction='batchmean')``, for one-hot, label-smoothed and
   distilled targets. ``KL(p||q) = H(p, q) - H(p)`` and ``H(p)`` does not depend on the
   parameters, so the two runs take the same steps (float64; here the parameters end bit for bit
   equal) and their losses differ by the batch's mean target entropy at every step.
2. :func:`entropy_scaled_step`: a Q&A answer's suggestion, "if you want the negative-entropy
   term to count, multiply the gradient step by a learning rate proportional to it", tried on
   targets whose entropy varies (half one-hot, half annotator votes), against the constant
   step, over several seeds.
3. :func:`code_labels` and :func:`prequential_code`: the test labels arithmetic-coded under the
   classifier's predicted ``Q`` (``coding.arithmetic_encode``) against the ideal code lengths,
   fixed-length, order-0 Huffman and arithmetic codes and gzip/xz; and the prequential
   (online) code of all 1797 labels, the "model + data" length of MDL.
4. :func:`q_against_p`: for a few test digits, the predicted bars ``Q`` against the one-hot
   ``P``, where ``H(P) = 0`` and so ``H(P, Q) = KL(P||Q)``.

Everything is float64 on the CPU in one thread and deterministic for a seed. Needs the extra
``infoloss[demo]`` (scikit-learn for the data, torch for the model); without it
:func:`digits` raises :class:`MissingExtraError` saying how to install it.

References: scikit-learn's ``load_digits`` (the UCI optical recognition of handwritten digits
test set, E. Alpaydin and C. Kaynak, 1998); T. M. Cover and J. A. Thomas, *Elements of
Information Theory*, 2nd ed., ch. 5 and 13 (code lengths, arithmetic coding); P. Grunwald,
*The Minimum Description Length Principle* (MIT Press, 2007), ch. 6 and 9 (prequential codes);
G. Hinton, O. Vinyals and J. Dean, "Distilling the knowledge in a neural network" (2015).
"""

from __future__ import annotations

import contextlib
import gzip
import lzma
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .. import _validate, coding, losses
from .._typing import ArrayLike
from ..measures import cross_entropy, entropy, kl_divergence
from ..special import log_softmax, softmax

if TYPE_CHECKING:
    from rich.console import Group

try:  # the extra infoloss[demo]; digits() says how to install it when it is missing
    import torch
except ImportError:  # pragma: no cover - exercised in a subprocess without torch
    torch = None  # type: ignore[assignment]  # the module, or None without the extra

__all__ = [
    "digits",
    "DigitsReport",
    "MissingExtraError",
    "load",
    "same_training",
    "entropy_scaled_step",
    "code_labels",
    "prequential_code",
    "q_against_p",
    "logistic_regression_baseline",
    "entropy_scale",
    "voted_targets",
    "train",
    "coder_probabilities",
    "INSTALL_HINT",
]

# The probabilities the range coder really uses: the library's, re-exported under the demo's old name.
coder_probabilities = coding.coder_probabilities

INSTALL_HINT = "pip install 'infoloss[demo]'"
CLASSES = 10
HIDDEN = 32
BATCH_SIZE = 64
LEARNING_RATE = 0.2
TEST_SIZE = 0.25
LABEL_SMOOTHING = 0.1
DISTILLATION_TEMPERATURE = 2.0
VOTES_PER_EXAMPLE = 5  # simulated annotators per voted example
ANNOTATOR_ACCURACY = 0.7  # an annotator names the true digit with this probability ...
VOTED_FRACTION = 0.5  # ... and this share of the training examples has voted targets
PREQUENTIAL_BLOCKS = (16, 32, 64, 128, 256, 512, 1024)  # block starts after the first block


class MissingExtraError(ImportError):
    """The digits demo needs scikit-learn and torch, the extra ``infoloss[demo]``."""


@dataclass(frozen=True)
class Digits:
    """The data: standardised float64 features, labels, and the raw test images.

    ``x_train``/``x_test`` are ``(n, 64)`` pixels standardised with the training split's mean
    and standard deviation; ``images_test`` the test digits as ``(n, 8, 8)`` ints in 0..16;
    ``x_all``/``y_all`` all 1797 digits (standardised over all of them) in a seeded random
    order, for the prequential code.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    images_test: np.ndarray
    x_all: np.ndarray
    y_all: np.ndarray


@dataclass
class DigitsReport:
    """Every figure of :func:`digits`; :meth:`as_dict` is the ``--json`` document.

    Attributes (each a dict with self-explaining keys; see the guide page
    docs/guide/demo.md, "Learning is compression"): ``settings``, ``kl_vs_cross_entropy`` (section
    1), ``entropy_scaled_step`` (2), ``label_coding`` and ``prequential`` (3), ``q_against_p``
    (4), ``baseline`` (scikit-learn's logistic regression on the same split, for context).
    ``seconds`` (wall time), ``notes`` and ``plot_files`` are not part of the JSON document,
    which is the same for the same seed.
    """

    settings: dict
    kl_vs_cross_entropy: dict
    entropy_scaled_step: dict
    label_coding: dict
    prequential: dict
    q_against_p: dict
    baseline: dict
    seconds: float = 0.0
    notes: list = field(default_factory=list)
    plot_files: list = field(default_factory=list)

    def as_dict(self) -> dict:
        """The figures as plain JSON-ready Python objects (no wall time, notes or paths)."""
        document = asdict(self)
        for key in ("seconds", "notes", "plot_files"):
            document.pop(key)
        return document

    @property
    def test_accuracy(self) -> float:
        """Test accuracy of the classifier whose predictions code the labels (section 3)."""
        return self.label_coding["test_accuracy"]

    def __rich__(self) -> Group:
        from .report import render

        return render(self)


def digits(
    *, seed: int = 0, epochs: int = 20, repeats: int = 5, plot_dir: str | os.PathLike[str] | None = None
) -> DigitsReport:
    """Run the four experiments on the digits; return every figure (see the module docstring).

    Args:
      seed: seeds the train/test split (``random_state``; 0 is the split of the usual
        reference, accuracy 0.9667 with logistic regression), the initialisations, the batch
        order and the simulated votes.
      epochs: passes over the 1347 training digits, in batches of 64, for each training run.
      repeats: seeds (``seed, seed + 1, ...``) of the section-2 comparison.
      plot_dir: if given, write PNG figures there (needs matplotlib; without it, a one-line
        note in ``notes`` and no files).

    Returns:
      a :class:`DigitsReport`; ``rich.print(report)`` shows it as panels, ``report.as_dict()``
      is the JSON document.

    Takes about 20 s of CPU time with the defaults (one thread, float64).

    Example (not run as a doctest: it trains for seconds)::

        report = digits(epochs=2, repeats=2)
        assert report.kl_vs_cross_entropy["max_param_diff"] < 1e-9
        rich.print(report)
    """
    _validate.check_integer("seed", seed, low=0)
    _validate.check_integer("epochs", epochs, low=1)
    _validate.check_integer("repeats", repeats, low=2, meaning="a standard deviation needs two seeds")
    _require_extra()
    start = time.perf_counter()
    with _single_thread():
        data = load(seed)
        section1, classifier = same_training(data, seed=seed, epochs=epochs)
        section2 = entropy_scaled_step(data, classifier, seed=seed, epochs=epochs, repeats=repeats)
        section3 = code_labels(data, classifier)
        prequential = prequential_code(data)
        section4 = q_against_p(data, classifier)
        baseline = logistic_regression_baseline(data)
    settings = {
        "seed": seed,
        "epochs": epochs,
        "repeats": repeats,
        "model": f"MLP 64-{HIDDEN}-{CLASSES}, tanh",
        "optimizer": "plain SGD",
        "learning_rate": LEARNING_RATE,
        "batch_size": BATCH_SIZE,
        "dtype": "float64",
        "train_size": int(data.y_train.size),
        "test_size": int(data.y_test.size),
        "split": f"train_test_split(test_size={TEST_SIZE}, random_state={seed})",
    }
    report = DigitsReport(settings, section1, section2, section3, prequential, section4, baseline)
    if plot_dir is not None:
        from .plots import write_plots

        report.plot_files, note = write_plots(report, plot_dir)
        if note:
            report.notes.append(note)
    report.seconds = time.perf_counter() - start
    return report


# --------------------------------------------------------------------------------------------
# Data and model
# --------------------------------------------------------------------------------------------


def load(seed: int = 0) -> Digits:
    """scikit-learn's digits, split 75/25 with ``random_state=seed`` and standardised.

    >>> data = load(0)
    >>> data.x_train.shape, data.x_test.shape, data.y_all.shape
    ((1347, 64), (450, 64), (1797,))
    """
    _require_extra()
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    images, labels = load_digits(return_X_y=True)
    images_train, images_test, y_train, y_test = train_test_split(
        images, labels, test_size=TEST_SIZE, random_state=seed
    )
    scaler = StandardScaler().fit(images_train)  # constant pixels keep scale 1 (no 0/0)
    order = np.random.default_rng([seed, 3]).permutation(labels.size)
    return Digits(
        x_train=scaler.transform(images_train),
        y_train=y_train.astype(np.int64),
        x_test=scaler.transform(images_test),
        y_test=y_test.astype(np.int64),
        images_test=images_test.reshape(-1, 8, 8).astype(np.int64),
        x_all=StandardScaler().fit_transform(images)[order],
        y_all=labels[order].astype(np.int64),
    )


def init_params(seed: int) -> list[torch.Tensor]:
    """MLP parameters ``[W1 (64, 32), b1, W2 (32, 10), b2]``, float64, PyTorch's default init.

    ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for weights and biases, drawn from a generator
    seeded with ``seed`` (the global torch RNG is left alone).
    """
    generator = torch.Generator().manual_seed(seed)
    shapes = [(64, HIDDEN), (HIDDEN,), (HIDDEN, CLASSES), (CLASSES,)]
    fan_ins = [64, 64, HIDDEN, HIDDEN]
    params = []
    for shape, fan_in in zip(shapes, fan_ins):
        bound = 1.0 / math.sqrt(fan_in)
        values = (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1) * bound
        params.append(values.requires_grad_(True))
    return params


def forward(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Logits ``tanh(x W1 + b1) W2 + b2``, shape ``(n, 10)``."""
    w1, b1, w2, b2 = params
    return torch.tanh(x @ w1 + b1) @ w2 + b2


@dataclass
class _Run:
    """One training run: final parameters and, per step, loss, mean target entropy, step size."""

    params: list[torch.Tensor]
    losses: np.ndarray
    batch_entropy: np.ndarray
    step_sizes: np.ndarray


def train(
    x: np.ndarray,
    targets: np.ndarray,
    *,
    loss: str,
    seed: int,
    epochs: int,
    step_scale: Callable[[np.ndarray], float] | None = None,
) -> _Run:
    """Plain SGD on ``(x, targets)``, one step per batch: ``theta <- theta - lr_t grad L(batch_t)``.

    Args:
      x: ``(n, 64)`` float64 features; targets: ``(n, 10)`` target probabilities.
      loss: ``"cross_entropy"`` (``losses.cross_entropy(z, p)``), ``"kl"``
        (``losses.kl_div(log_softmax(z), p, reduction='batchmean')``) or ``"kl-mean"`` (the same
        with the default ``reduction='mean'``, which divides by ``N x C``).
      seed: seeds the initialisation and the batch order, so two
        runs with the same seed see the same batches in the same order.
      step_scale: optional function of the batch's per-example target entropies (nats) giving
        the factor of the learning rate for that step; None is the constant step.
    """
    params = init_params(seed)
    order_rng = np.random.default_rng([seed, 1])
    x_all = torch.from_numpy(x)
    p_all = torch.from_numpy(targets)
    target_entropy = entropy(targets)  # H(p_n) in nats, infoloss's measure
    n = targets.shape[0]
    values, entropies, steps = [], [], []
    for _ in range(epochs):
        permutation = order_rng.permutation(n)
        for begin in range(0, n, BATCH_SIZE):
            batch = permutation[begin : begin + BATCH_SIZE]
            z = forward(params, x_all[batch])
            p = p_all[batch]
            if loss == "cross_entropy":
                value = losses.cross_entropy(z, p)
            elif loss == "kl":
                value = losses.kl_div(log_softmax(z), p, reduction="batchmean")
            else:  # "kl-mean", the default reduction: the sum over N x C elements
                value = losses.kl_div(log_softmax(z), p)
            gradients = torch.autograd.grad(value, params)
            step = LEARNING_RATE * (1.0 if step_scale is None else float(step_scale(target_entropy[batch])))
            with torch.no_grad():
                for parameter, gradient in zip(params, gradients):
                    parameter -= step * gradient
            values.append(value.item())
            entropies.append(float(np.mean(target_entropy[batch])))
            steps.append(step)
    return _Run(params, np.array(values), np.array(entropies), np.array(steps))


def evaluate(params: list[torch.Tensor], x: np.ndarray, y: np.ndarray) -> dict:
    """Accuracy and mean cross-entropy (nats) of the model on ``(x, y)``."""
    with torch.no_grad():
        z = forward(params, torch.from_numpy(x))
        accuracy = float((z.argmax(dim=1).numpy() == y).mean())
        mean_ce = float(losses.cross_entropy(z, torch.from_numpy(y)))
    return {"accuracy": accuracy, "cross_entropy_nats": mean_ce}


def predict(params: list[torch.Tensor], x: np.ndarray) -> np.ndarray:
    """Predicted probabilities ``softmax(logits)``, ``(n, 10)`` float64 NumPy."""
    with torch.no_grad():
        return softmax(forward(params, torch.from_numpy(x)), axis=-1).numpy()


def one_hot(y: np.ndarray) -> np.ndarray:
    """``(n, 10)`` float64 one-hot rows of the labels ``y``."""
    return np.eye(CLASSES)[y]


# --------------------------------------------------------------------------------------------
# Section 1: KL and cross-entropy give the same training
# --------------------------------------------------------------------------------------------


def same_training(data: Digits, *, seed: int, epochs: int) -> tuple[dict, list[torch.Tensor]]:
    """Train with CE and with KL (batchmean) from one start on the same batches, per target kind.

    Target kinds: ``one-hot``; ``label smoothing 0.1`` (``0.9 onehot + 0.01``); ``distillation``
    (``softmax(teacher logits / 2)``, the teacher being the one-hot cross-entropy run).

    Returns ``(figures, classifier)``: the figures (a dict) and the parameters of the one-hot
    cross-entropy run: the classifier of sections 3 and 4, and the teacher of the distilled
    (here) and the voted targets (section 2).
    """
    kinds = []
    classifier: list[torch.Tensor] | None = None
    for kind in ("one-hot", f"label smoothing {LABEL_SMOOTHING:g}", "distillation"):
        if kind == "one-hot":
            targets = one_hot(data.y_train)
        elif kind.startswith("label smoothing"):
            targets = (1 - LABEL_SMOOTHING) * one_hot(data.y_train) + LABEL_SMOOTHING / CLASSES
        else:
            assert classifier is not None, "the one-hot run, first, is the teacher"
            with torch.no_grad():
                teacher_logits = forward(classifier, torch.from_numpy(data.x_train)).numpy()
            targets = softmax(teacher_logits, axis=-1, temperature=DISTILLATION_TEMPERATURE)
        ce_run = train(data.x_train, targets, loss="cross_entropy", seed=seed, epochs=epochs)
        kl_run = train(data.x_train, targets, loss="kl", seed=seed, epochs=epochs)
        if classifier is None:
            classifier = ce_run.params
            # The pitfall: kl_div's default 'mean' divides by N x C, so every step is 1/C as long.
            mean_run = train(data.x_train, targets, loss="kl-mean", seed=seed, epochs=epochs)
            pitfall = _largest_difference(ce_run.params, mean_run.params)
        kinds.append(_compare_runs(kind, targets, ce_run, kl_run, data, epochs))
    figures = {
        "claim": "KL(p||q) = H(p,q) - H(p) and H(p) has zero gradient: both losses take the same steps",
        "kl_call": "losses.kl_div(log_softmax(z), p, reduction='batchmean')",
        "cross_entropy_call": "losses.cross_entropy(z, p)",
        "max_param_diff": max(k["parameter_difference"] for k in kinds),
        "max_loss_gap_error": max(k["loss_gap_error"] for k in kinds),
        "param_diff_with_mean_reduction": pitfall,
        "target_kinds": kinds,
    }
    assert classifier is not None, "set by the first (one-hot) kind"
    return figures, classifier


def _compare_runs(
    kind: str, targets: np.ndarray, ce_run: _Run, kl_run: _Run, data: Digits, epochs: int
) -> dict:
    difference = _largest_difference(ce_run.params, kl_run.params)
    gap = ce_run.losses - kl_run.losses  # = mean H(p) of the batch, step by step
    steps_per_epoch = ce_run.losses.size // epochs

    def by_epoch(values: np.ndarray) -> list[float]:
        return values.reshape(epochs, steps_per_epoch).mean(axis=1).tolist()

    ce_test = evaluate(ce_run.params, data.x_test, data.y_test)
    kl_test = evaluate(kl_run.params, data.x_test, data.y_test)
    return {
        "target_kind": kind,
        "mean_target_entropy_nats": float(np.mean(entropy(targets))),
        "parameter_difference": difference,
        "loss_gap_error": float(np.max(np.abs(gap - ce_run.batch_entropy))),
        "steps": int(ce_run.losses.size),
        "epoch_mean_cross_entropy": by_epoch(ce_run.losses),
        "epoch_mean_kl": by_epoch(kl_run.losses),
        "epoch_mean_target_entropy": by_epoch(ce_run.batch_entropy),
        "step_cross_entropy": ce_run.losses.tolist(),
        "step_kl": kl_run.losses.tolist(),
        "step_batch_mean_target_entropy": ce_run.batch_entropy.tolist(),
        "accuracy_cross_entropy_run": ce_test["accuracy"],
        "accuracy_kl_run": kl_test["accuracy"],
        "test_cross_entropy_nats_cross_entropy_run": ce_test["cross_entropy_nats"],
        "test_cross_entropy_nats_kl_run": kl_test["cross_entropy_nats"],
    }


# --------------------------------------------------------------------------------------------
# Section 2: the entropy-scaled step
# --------------------------------------------------------------------------------------------


def entropy_scale(target_entropies: ArrayLike) -> float:
    """The step factor ``1 - mean_n H(p_n) / log C`` of a batch: negative entropy, made positive.

    The suggestion is a learning rate proportional to the negative entropy ``-H(p)``. That is
    ``<= 0`` (literally proportional, every step would climb the loss), so it is shifted by
    its smallest value ``-log C`` and divided by ``log C``: ``(log C - H) / log C =
    D(p || uniform) / log C``, 1 for one-hot targets (the "easy", certain data, full step) and
    0 for uniform ones (no information, no step); the affine map of ``-H`` that keeps the
    answer's direction (larger negative entropy, larger step) and the base step for hard labels.

    >>> entropy_scale([0.0, 0.0]), round(entropy_scale([math.log(10)] * 2), 12)
    (1.0, 0.0)
    """
    return 1.0 - float(np.mean(target_entropies)) / math.log(CLASSES)


def voted_targets(data: Digits, teacher: list[torch.Tensor], seed: int) -> np.ndarray:
    """Training targets whose entropy varies: half one-hot, half votes of 5 simulated annotators.

    An annotator names the true digit with probability 0.7 and otherwise a digit the teacher
    finds similar (the teacher's softmax over the other nine classes); a voted target is the
    share of the 5 votes per digit, so its entropy ranges from 0 (all agree) to ``log 5``.
    """
    rng = np.random.default_rng([seed, 2])
    targets = one_hot(data.y_train)
    q = predict(teacher, data.x_train)
    confusion = np.where(targets > 0, 0.0, q)
    confusion /= confusion.sum(axis=1, keepdims=True)
    annotator = ANNOTATOR_ACCURACY * targets + (1 - ANNOTATOR_ACCURACY) * confusion
    voted = rng.random(targets.shape[0]) < VOTED_FRACTION
    for n in np.flatnonzero(voted):
        targets[n] = rng.multinomial(VOTES_PER_EXAMPLE, annotator[n]) / VOTES_PER_EXAMPLE
    return targets


def entropy_scaled_step(
    data: Digits, teacher: list[torch.Tensor], *, seed: int, epochs: int, repeats: int
) -> dict:
    """Constant step against the entropy-scaled step, ``repeats`` seeds, on voted targets.

    Three rules, the same initialisation and batches for each seed:

    * ``constant``: ``lr_t = lr``;
    * ``entropy-scaled``: ``lr_t = lr * (1 - Hbar_t / log C)``, ``Hbar_t`` the batch's mean
      target entropy (:func:`entropy_scale`);
    * ``constant, same mean step``: ``lr_t`` = the entropy-scaled run's mean step, so that any
      difference between it and ``entropy-scaled`` is due to the step varying with the entropy
      and not to a smaller average learning rate.

    Each is evaluated on the test digits' true labels: accuracy and mean cross-entropy (nats),
    reported as mean and standard deviation (``ddof=1``) over the seeds, and the paired
    difference (same seed) of the entropy-scaled rule against each constant one.
    """
    targets = voted_targets(data, teacher, seed)
    per_example = entropy(targets)
    results: dict[str, list[dict]] = {
        rule: [] for rule in ("constant", "entropy-scaled", "constant, same mean step")
    }
    mean_steps = []
    for offset in range(repeats):
        run_seed = seed + offset
        constant = train(data.x_train, targets, loss="cross_entropy", seed=run_seed, epochs=epochs)
        scaled = train(
            data.x_train,
            targets,
            loss="cross_entropy",
            seed=run_seed,
            epochs=epochs,
            step_scale=entropy_scale,
        )
        factor = float(scaled.step_sizes.mean()) / LEARNING_RATE
        matched = train(
            data.x_train,
            targets,
            loss="cross_entropy",
            seed=run_seed,
            epochs=epochs,
            step_scale=_constant_scale(factor),
        )
        mean_steps.append(float(scaled.step_sizes.mean()))
        for rule, run in zip(results, (constant, scaled, matched)):
            results[rule].append(evaluate(run.params, data.x_test, data.y_test))
    rules = []
    for rule, evaluations in results.items():
        accuracy = np.array([e["accuracy"] for e in evaluations])
        test_ce = np.array([e["cross_entropy_nats"] for e in evaluations])
        rules.append(
            {
                "rule": rule,
                "accuracy_mean": float(accuracy.mean()),
                "accuracy_std": float(accuracy.std(ddof=1)),
                "test_cross_entropy_nats_mean": float(test_ce.mean()),
                "test_cross_entropy_nats_std": float(test_ce.std(ddof=1)),
                "accuracy_per_seed": accuracy.tolist(),
                "test_cross_entropy_nats_per_seed": test_ce.tolist(),
            }
        )
    by_rule = {r["rule"]: r for r in rules}
    comparisons = [
        _paired("entropy-scaled", other, by_rule) for other in ("constant", "constant, same mean step")
    ]
    return {
        "suggestion": "multiply the gradient step by a learning rate proportional to the targets' negative entropy",
        "scaling": "lr_t = lr * (1 - mean_batch H(p_n) / log 10) = lr * mean_batch KL(p_n || uniform) / log 10",
        "why": "-H(p) <= 0, so a rate literally proportional to it would ascend; shifting by its minimum -log C "
        "keeps the direction (more certain targets, larger step) and the full step for one-hot batches",
        "targets": f"{1 - VOTED_FRACTION:.0%} one-hot, {VOTED_FRACTION:.0%} shares of {VOTES_PER_EXAMPLE} "
        f"annotator votes (each right with probability {ANNOTATOR_ACCURACY})",
        "target_entropy_nats_mean": float(per_example.mean()),
        "target_entropy_nats_max": float(per_example.max()),
        "voted_share": float(np.mean(targets.max(axis=1) < 1)),
        "seeds": list(range(seed, seed + repeats)),
        "mean_scaled_step": float(np.mean(mean_steps)),
        "rules": rules,
        "comparisons": comparisons,
        "verdict": _verdict(comparisons, by_rule),
    }


def _paired(rule: str, other: str, by_rule: dict) -> dict:
    """Per-seed differences ``rule - other`` of test CE and accuracy, and whether they are clear.

    "Clear" means the mean difference is more than twice its standard error (a paired test at
    roughly the 5% level for a handful of seeds; with two seeds nothing is clear).
    """
    figures: dict[str, str | float] = {"rule": rule, "against": other}
    for metric in ("test_cross_entropy_nats", "accuracy"):
        difference = np.subtract(by_rule[rule][f"{metric}_per_seed"], by_rule[other][f"{metric}_per_seed"])
        error = float(difference.std(ddof=1) / math.sqrt(difference.size))
        figures[f"{metric}_difference_mean"] = float(difference.mean())
        figures[f"{metric}_difference_standard_error"] = error
        clear = abs(difference.mean()) > 2 * error and difference.size > 2
        better = difference.mean() < 0 if metric == "test_cross_entropy_nats" else difference.mean() > 0
        figures[f"{metric}_outcome"] = ("better" if better else "worse") if clear else "no clear difference"
    return figures


def _verdict(comparisons: list, by_rule: dict) -> str:
    """One sentence: did the entropy-scaled step help, by how much, against which rule.

    Only differences beyond two standard errors of the paired per-seed differences count;
    each is given with its size relative to the other rule's mean. "slightly" when every
    clear difference is below 2 % of that mean.
    """
    metrics = {"test_cross_entropy_nats": ("test cross-entropy", "nats"), "accuracy": ("accuracy", "")}
    clear, outcomes, relatives = [], set(), []
    for c in comparisons:
        for metric, (name, unit) in metrics.items():
            outcome = c[f"{metric}_outcome"]
            if outcome == "no clear difference":
                continue
            mean, error = c[f"{metric}_difference_mean"], c[f"{metric}_difference_standard_error"]
            relative = mean / by_rule[c["against"]][f"{metric}_mean"]
            relatives.append(abs(relative))
            outcomes.add(outcome)
            clear.append(
                f"{name} {outcome} than '{c['against']}' by {mean:+.4f} ± {error:.4f}"
                f"{' ' + unit if unit else ''} ({relative:+.1%})"
            )
    if not clear:
        return (
            "it did not help: every difference from the constant steps is within the seed-to-seed spread "
            "(paired over seeds, two standard errors)"
        )
    summary = "it helped" if outcomes == {"better"} else "it hurt" if outcomes == {"worse"} else "mixed"
    if max(relatives) < 0.02:
        summary += " slightly"
    return f"{summary}: " + "; ".join(clear) + "; every other difference is within the seed-to-seed spread"


# --------------------------------------------------------------------------------------------
# Section 3: labels coded at the model's cross-entropy
# --------------------------------------------------------------------------------------------


def code_labels(data: Digits, classifier: list[torch.Tensor]) -> dict:
    """The test labels coded under the classifier's ``Q``, against the other codes.

    * ``coded_bits``: the size of ``coding.arithmetic_encode(y, Q)``;
    * ``ideal_bits_quantized``: ``sum_n -log2 Qhat_n(y_n)``, ``Qhat`` the probabilities the
      range coder actually used (``coding.coder_probabilities``); the two agree within 64 bits;
    * ``ideal_bits``: ``sum_n -log2 Q_n(y_n)`` unquantised, and ``quantization_gap_bits`` the
      difference; ``test_cross_entropy_bits_times_n`` the same from ``losses.cross_entropy``;
    * the uniform code (``log2 10`` per label), fixed-length 4-bit codewords, the best order-0
      codes of the test labels' own frequencies (Huffman: ``coding.huffman_code``; arithmetic
      under the frequencies; both without the cost of sending the frequency table), and
      gzip/xz of the labels as one byte each (their headers included);
    * ``round_trip_ok``: ``coding.arithmetic_decode`` gives the labels back.
    """
    y = data.y_test
    n = y.size
    q = predict(classifier, data.x_test)
    message = coding.arithmetic_encode(y, q)
    decoded = coding.arithmetic_decode(message, q)
    quantized_bits = coding.ideal_code_length(y, coding.coder_probabilities(q))
    with torch.no_grad():
        z = forward(classifier, torch.from_numpy(data.x_test))
        ce_sum_bits = float(losses.cross_entropy(z, torch.from_numpy(y), reduction="sum")) / math.log(2)
    frequencies = np.bincount(y, minlength=CLASSES) / n
    huffman = coding.huffman_code(frequencies)
    order0 = coding.arithmetic_encode(y, frequencies)
    label_bytes = y.astype(np.uint8).tobytes()
    accuracy = float((q.argmax(axis=1) == y).mean())
    return {
        "labels": int(n),
        "test_accuracy": accuracy,
        "coded_bits": message.bits,
        "ideal_bits_quantized": quantized_bits,
        "ideal_bits": message.ideal_bits,
        "coded_minus_ideal_quantized_bits": message.bits - quantized_bits,
        "quantization_gap_bits": quantized_bits - message.ideal_bits,
        "test_cross_entropy_bits_per_label": ce_sum_bits / n,
        "test_cross_entropy_bits_times_n": ce_sum_bits,
        "uniform_code_bits": n * math.log2(CLASSES),
        "fixed_length_bits": n * math.ceil(math.log2(CLASSES)),
        "order0_entropy_bits": n * float(entropy(frequencies, base=2)),
        "order0_huffman_bits": int(sum(len(huffman[int(label)]) for label in y)),
        "order0_arithmetic_bits": order0.bits,
        "gzip_bits": 8 * len(gzip.compress(label_bytes, compresslevel=9, mtime=0)),
        "xz_bits": 8 * len(lzma.compress(label_bytes, preset=9)),
        "raw_bytes_bits": 8 * len(label_bytes),
        "round_trip_ok": bool(np.array_equal(decoded, y)),
    }


def prequential_code(data: Digits) -> dict:
    """The prequential code length of all 1797 labels: learn from what was sent, code the next block.

    The labels (in a seeded random order; the images are known to both sides) are sent in
    blocks starting at 0, 16, 32, 64, ..., 1024: the first block under the uniform code, each
    later one under an L2-regularised softmax regression (``infoloss.losses.cross_entropy``,
    L-BFGS, penalty ``(||W||^2 + ||b||^2) / (2 n)``, the strength of scikit-learn's ``C=1``)
    fitted to all labels sent before it. The whole sequence is one arithmetic-coded stream under the per-label
    predictions; its size is the "model + data" length that MDL asks for, with no separate
    charge for the model (the receiver refits it from the labels it has decoded).
    """
    x, y = data.x_all, data.y_all
    n = y.size
    starts = [0, *[s for s in PREQUENTIAL_BLOCKS if s < n]]
    ends = [*starts[1:], n]
    q = np.empty((n, CLASSES))
    blocks = []
    for begin, end in zip(starts, ends):
        if begin == 0:
            q[begin:end] = 1.0 / CLASSES
        else:
            q[begin:end] = _softmax_regression(x[:begin], y[:begin], x[begin:end])
        ideal = coding.ideal_code_length(y[begin:end], q[begin:end])
        blocks.append(
            {
                "first": begin,
                "last": end - 1,
                "labels": end - begin,
                "trained_on": begin,
                "block_ideal_bits": ideal,
                "bits_per_label": ideal / (end - begin),
            }
        )
    message = coding.arithmetic_encode(y, q)
    return {
        "labels": int(n),
        "prequential_coded_bits": message.bits,
        "prequential_ideal_bits": message.ideal_bits,
        "prequential_bits_per_label": message.bits / n,
        "uniform_code_bits": n * math.log2(CLASSES),
        "prequential_round_trip_ok": bool(np.array_equal(coding.arithmetic_decode(message, q), y)),
        "blocks": blocks,
    }


def _softmax_regression(x_train: np.ndarray, y_train: np.ndarray, x_new: np.ndarray) -> np.ndarray:
    """``softmax(x W + b)`` for ``x_new``, fitted by L-BFGS to mean CE + ``(||W||^2 + ||b||^2) / (2 n)``.

    The bias is penalised too: a digit not yet seen then keeps a moderate probability instead
    of one that costs 10 bits when it first appears (the early blocks code at 3 bits per label
    instead of 10).
    """
    weights = torch.zeros((x_train.shape[1], CLASSES), dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(CLASSES, dtype=torch.float64, requires_grad=True)
    x, y = torch.from_numpy(x_train), torch.from_numpy(y_train)
    optimizer = torch.optim.LBFGS(
        [weights, bias],
        max_iter=200,
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def objective() -> torch.Tensor:
        optimizer.zero_grad()
        penalty = ((weights**2).sum() + (bias**2).sum()) / (2 * y.numel())
        value = losses.cross_entropy(x @ weights + bias, y) + penalty
        value.backward()
        return value

    optimizer.step(objective)  # type: ignore[no-untyped-call]  # torch leaves LBFGS.step unannotated
    with torch.no_grad():
        return softmax(torch.from_numpy(x_new) @ weights + bias, axis=-1).numpy()


# --------------------------------------------------------------------------------------------
# Section 4: Q against P
# --------------------------------------------------------------------------------------------


def q_against_p(data: Digits, classifier: list[torch.Tensor], count: int = 4) -> dict:
    """For a few test digits: the image, the predicted ``Q``, the one-hot ``P`` and the measures.

    The digits shown: the most confident correct prediction, the median one by cross-entropy,
    and the two with the largest cross-entropy (the model's worst mistakes). For each, in bits:
    ``H(P) = 0``, ``H(P, Q)`` and ``KL(P||Q)``, equal because ``P`` is one-hot.
    """
    q = predict(classifier, data.x_test)
    p = one_hot(data.y_test)
    cost = -np.log2(q[np.arange(q.shape[0]), data.y_test])
    by_cost = np.argsort(cost, kind="stable")
    picks = [int(by_cost[0]), int(by_cost[by_cost.size // 2]), *[int(i) for i in by_cost[::-1][: count - 2]]]
    shown = [
        {
            "test_index": index,
            "true_label": int(data.y_test[index]),
            "predicted_label": int(q[index].argmax()),
            "image": data.images_test[index].tolist(),
            "q": q[index].tolist(),
            "p": p[index].tolist(),
            "entropy_p_bits": float(entropy(p[index], base=2)),
            "cross_entropy_p_q_bits": float(cross_entropy(p[index], q[index], base=2)),
            "kl_p_q_bits": float(kl_divergence(p[index], q[index], base=2)),
        }
        for index in picks
    ]
    return {"digits": shown}


# --------------------------------------------------------------------------------------------
# Context: scikit-learn's logistic regression on the same split
# --------------------------------------------------------------------------------------------


def logistic_regression_baseline(data: Digits) -> dict:
    """StandardScaler + ``LogisticRegression(max_iter=1000)`` on the same split, for context.

    With ``seed=0`` this is the usual reference point: accuracy 0.9667, test log-loss 0.1234
    nats, about 80 bits for the 450 test labels.
    """
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=1000).fit(data.x_train, data.y_train)
    q = model.predict_proba(data.x_test)
    log_loss = float(cross_entropy(one_hot(data.y_test), q).mean())
    return {
        "model": "StandardScaler + LogisticRegression(max_iter=1000)",
        "accuracy": float(model.score(data.x_test, data.y_test)),
        "test_log_loss_nats": log_loss,
        "test_label_bits": log_loss * data.y_test.size / math.log(2),
    }


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _constant_scale(factor: float) -> Callable[[np.ndarray], float]:
    """A ``step_scale`` for :func:`train` that gives every batch the same ``factor``."""
    return lambda _entropies: factor


def _largest_difference(params: list[torch.Tensor], others: list[torch.Tensor]) -> float:
    """``max |a - b|`` over all entries of two parameter lists."""
    return max(float((a.detach() - b.detach()).abs().max()) for a, b in zip(params, others))


def _require_extra() -> None:
    """Raise :class:`MissingExtraError` (one line, how to install) without scikit-learn or torch."""
    missing = [
        name for name, found in (("scikit-learn", _has_sklearn()), ("torch", torch is not None)) if not found
    ]
    if missing:
        raise MissingExtraError(
            f"the digits demo needs scikit-learn and torch ({' and '.join(missing)} not installed): {INSTALL_HINT}"
        )


def _has_sklearn() -> bool:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def _single_thread() -> Iterator[None]:
    """One thread for torch and for the BLAS/OpenMP pools (NumPy, scikit-learn) during the run.

    The same numbers on any machine, and no oversubscription: on a loaded 2-core machine the
    logistic-regression baseline took 7 s with the default thread pools and 0.2 s in one.
    (threadpoolctl comes with scikit-learn.)
    """
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(threads)
