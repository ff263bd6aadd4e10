// core.mjs against golden values computed by the infoloss library (tests/explore/golden.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import * as core from "../../../src/infoloss/explore/core.mjs";

// INFOLOSS_GOLDEN: a freshly computed file (tests/explore/test_core_js.py); else the committed one.
const golden = JSON.parse(readFileSync(process.env.INFOLOSS_GOLDEN || new URL("./golden.json", import.meta.url), "utf8"));
const TOLERANCE = 1e-12;

function number(value) {
  return value === "Infinity" ? Infinity : value === "-Infinity" ? -Infinity : value;
}

function close(actual, expected, what) {
  expected = number(expected);
  if (!Number.isFinite(expected)) return assert.equal(actual, expected, what);
  const gap = Math.abs(actual - expected);
  assert.ok(gap <= TOLERANCE * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected} (gap ${gap})`);
}

test("measures equal the library's in bits and nats, zeros and infinities included", () => {
  assert.ok(golden.distributions.length >= 30);
  for (const [k, c] of golden.distributions.entries()) {
    for (const unit of ["bits", "nats"]) {
      const m = core.measures(c.p, c.q, unit);
      for (const key of ["entropyP", "entropyQ", "crossEntropy", "klPQ", "klQP", "js"]) {
        close(m[key], c[unit][key], `case ${k} ${unit} ${key}`);
      }
    }
  }
});

test("the Huffman codes of p and q and their expected lengths under p are the library's", () => {
  for (const [k, c] of golden.distributions.entries()) {
    const m = core.measures(c.p, c.q, "bits");
    assert.deepEqual(m.codeP, c.codeP, `case ${k} code for p`);
    assert.deepEqual(m.codeQ, c.codeQ, `case ${k} code for q`);
    close(m.huffmanPLength, c.huffmanPLengthBits, `case ${k} L_p(code_p)`);
    close(m.huffmanQLength, c.huffmanQLengthBits, `case ${k} L_p(code_q)`);
    const nats = core.measures(c.p, c.q, "nats");
    close(nats.huffmanPLength, number(c.huffmanPLengthBits) * Math.LN2, `case ${k} L in nats`);
  }
});

test("Huffman words follow the library's tie-breaking (uniform, equal counts, deepest tree)", () => {
  for (const [k, c] of golden.huffman.entries()) {
    assert.deepEqual(core.huffmanCode(c.p), c.words, `case ${k}: p = ${c.p}`);
    close(core.expectedLength(core.huffmanCode(c.p), c.p), c.expectedLengthBits, `case ${k} L`);
  }
});

test("the code tree has one leaf per codeword, at the codeword's depth", () => {
  const code = core.huffmanCode([0.4, 0.2, 0.2, 0.1, 0.1, 0]);
  const nodes = core.codeTree(code);
  const leaves = nodes.filter((n) => n.leaf !== null);
  assert.equal(leaves.length, 5);
  for (const leaf of leaves) assert.equal(leaf.word, code[leaf.leaf]);
  assert.equal(nodes.length, 2 * 5 - 1); // a complete code: every inner node has two children
});

test("softmax and log-softmax with temperature equal the library's", () => {
  for (const [k, c] of golden.softmax.entries()) {
    core.softmax(c.z, c.temperature).forEach((v, i) => close(v, c.softmax[i], `case ${k} softmax[${i}]`));
    core.logSoftmax(c.z, c.temperature).forEach((v, i) => close(v, c.logSoftmax[i], `case ${k} log_softmax[${i}]`));
  }
  const [a, , c] = core.softmax([1, 1, 3]);
  assert.equal(a.toFixed(4), "0.1065");
  assert.equal(c.toFixed(4), "0.7870");
  assert.deepEqual(core.plainNormalise([1, 1, 3]), [0.2, 0.2, 0.6]);
  assert.equal(core.plainNormalise([1, -1, 3]), null);
});

test("the loss and its gradient (q - t) / T equal infoloss.losses and torch autograd", () => {
  for (const [k, c] of golden.logits.entries()) {
    const view = core.logitsView(c.z, c.temperature, c.target, c.smoothing);
    close(view.loss, c.loss, `case ${k} loss`);
    view.q.forEach((v, i) => close(v, c.q[i], `case ${k} q[${i}]`));
    view.gradient.forEach((v, i) => close(v, c.gradient[i], `case ${k} gradient[${i}]`));
  }
});

test("SplitMix64 gives the reference outputs (Vigna's splitmix64.c, and the Python port)", () => {
  const zero = core.splitmix64(0);
  assert.equal(zero.next(), 0xe220a8397b1dcdafn); // published first outputs for seed 0
  assert.equal(zero.next(), 0x6e789e6aa1b965f4n);
  assert.equal(zero.next(), 0x06c45d188009454fn);
  for (const c of golden.splitmix64) {
    const rng = core.splitmix64(BigInt(c.seed));
    for (const expected of c.outputs) assert.equal(rng.next(), BigInt(expected));
  }
});

test("sample() draws the same symbols as the Python reference, never a zero-probability one", () => {
  for (const c of golden.samples) {
    const symbols = core.sample(c.p, c.n, c.seed);
    assert.deepEqual(symbols, c.symbols);
    for (const s of symbols) assert.ok(c.p[s] > 0);
  }
});

test("encodeSample counts bits with the code's lengths; a missing codeword costs infinity", () => {
  const code = core.huffmanCode([0.5, 0.25, 0.25]);
  const coded = core.encodeSample([0, 1, 2, 0], code);
  assert.equal(coded.bits, 1 + 2 + 2 + 1);
  assert.equal(coded.bitsPerSymbol, 1.5);
  assert.deepEqual(coded.counts, [2, 1, 1]);
  assert.equal(core.encodeSample([1], core.huffmanCode([1, 0])).bits, Infinity);
});

test("setProbability keeps p a distribution, rescales the others in proportion, respects locks", () => {
  const p = [0.5, 0.25, 0.125, 0.125];
  const moved = core.setProbability(p, 0, 0.2);
  assert.equal(moved[0], 0.2);
  assert.ok(Math.abs(core.sum(moved) - 1) <= 2 ** -52);
  close(moved[1] / moved[2], 2, "proportion kept");
  const locked = core.setProbability(p, 0, 0.9, [false, true, false, false]);
  assert.equal(locked[1], 0.25);
  assert.equal(locked[0], 0.75); // clamped: the lock leaves 0.75
  assert.deepEqual(locked.slice(2), [0, 0]);
  assert.equal(core.setProbability(p, 1, 0.3, [false, true]), p); // a locked bar does not move
  const fromZero = core.setProbability([1, 0, 0], 0, 0.4);
  [0.4, 0.3, 0.3].forEach((v, i) => close(fromZero[i], v, `equal shares [${i}]`)); // all others 0
  for (let trial = 0; trial < 200; trial++) {
    const rng = core.splitmix64(trial);
    const k = 2 + (trial % 15);
    const start = core.normalise(Array.from({ length: k }, () => rng.uniform()));
    const next = core.setProbability(start, trial % k, rng.uniform());
    assert.ok(next.every((v) => v >= 0));
    assert.ok(Math.abs(core.sum(next) - 1) <= 4 * 2 ** -52, `trial ${trial}: sum ${core.sum(next)}`);
    assert.ok(core.klDivergence(next, start) >= 0);
  }
});

test("outcomes can be added and removed within 2..16, staying distributions", () => {
  let p = [0.5, 0.5];
  for (let k = 3; k <= 16; k++) {
    p = core.addOutcome(p);
    assert.equal(p.length, k);
    assert.ok(Math.abs(core.sum(p) - 1) < 1e-15);
  }
  assert.equal(core.addOutcome(p), p);
  assert.deepEqual(core.removeOutcome([0.5, 0.25, 0.25], 0), [0.5, 0.5]);
  assert.deepEqual(core.removeOutcome([0.5, 0.5], 0), [0.5, 0.5]);
});

test("the URL hash round-trips the whole state and reports what it ignored", () => {
  const { state, problems } = core.parseHash("#p=1/2,1/4,1/8,1/8&q=0.25,0.25,0.25,0.25&unit=nats&seed=7&labels=x,y,z,w");
  assert.deepEqual(problems, []);
  assert.deepEqual(state.p, [0.5, 0.25, 0.125, 0.125]);
  assert.equal(state.unit, "nats");
  assert.equal(state.seed, 7);
  assert.deepEqual(core.parseHash(core.formatHash(state)).state, state);
  const locked = core.parseHash("#p=0.5,0.5,0&q=0.2,0.3,0.5&locks=p1,q0,q2").state;
  assert.deepEqual(locked.locks, { p: [false, true, false], q: [true, false, true] });
  assert.deepEqual(core.parseHash(core.formatHash(locked)).state, locked);
  const counts = core.parseHash("#p=3,11,1,15&q=1,1,1,1").state;
  assert.deepEqual(counts.p, [0.1, 11 / 30, 1 / 30, 0.5]);
  const logits = core.parseHash("#mode=logits&logits=1,1,3&temperature=2&target=0&smoothing=0.1").state;
  assert.deepEqual(core.parseHash(core.formatHash(logits)).state, logits);
  const measured = core.measuredDistributions(logits);
  assert.deepEqual(measured.q, core.softmax([1, 1, 3], 2));
  close(measured.p[0], 0.9 + 0.1 / 3, "smoothed target");
  const commas = core.parseHash("#p=0.5,0.5&q=0.5,0.5&labels=a%2Cb,%E2%9C%93");
  assert.deepEqual(commas.state.labels, ["a,b", "✓"]);
  assert.deepEqual(core.parseHash(core.formatHash(commas.state)).state.labels, ["a,b", "✓"]);
  assert.equal(core.parseHash("#p=0.5,0.5&labels=50%,x").state.labels[0], "50%");
  const bad = core.parseHash("#p=1,x&unit=furlongs&seed=-1");
  assert.equal(bad.problems.length, 3);
  assert.deepEqual(bad.state.p, core.DEFAULT_STATE.p);
});

test("the Python for the current numbers names infoloss's calls and the unit", () => {
  const text = core.pythonCode({ ...core.DEFAULT_STATE });
  assert.match(text, /infoloss\.decompose\(p, q, base=2\)/);
  assert.match(text, /p = \{"a": 0\.5, "b": 0\.25/);
  const nats = core.pythonCode({ ...core.DEFAULT_STATE, unit: "nats", labels: ["a", "a", "b", "c"] });
  assert.match(nats, /p = \[0\.5, 0\.25, 0\.125, 0\.125\]/);
  assert.doesNotMatch(nats, /base=2\)/);
});

test("numbers are shown with 5 significant digits and infinity as ∞", () => {
  assert.equal(core.formatNumber(1.75), "1.7500");
  assert.equal(core.formatNumber(0.012345678), "0.012346");
  assert.equal(core.formatNumber(Infinity), "∞");
  assert.equal(core.formatNumber(0), "0");
  assert.equal(core.formatNumber(1e-9), "1.0000e-9");
});
