// infoloss explore: ALL the page's math, in one module (no DOM, no network).
//
// The page (app.mjs) and the Jupyter widget import these functions; tests/explore/js runs them
// under `node --test` against golden values that a Python test computes with the infoloss
// library itself, so the numbers on the page are the library's (to 1e-12).
//
// Conventions are the library's: natural logs inside, bits = nats / ln 2; 0 log 0 = 0; p > 0
// where q = 0 makes cross-entropy and KL +Infinity; KL is clamped at 0 (rounding can give
// -1e-17); JS uses 2p and p + q, never (p + q) / 2, as infoloss.js_divergence does.
// References: T. M. Cover and J. A. Thomas, Elements of Information Theory, 2nd ed., ch. 2 and 5;
// J. Lin, IEEE Trans. Inf. Theory 37 (1991); D. A. Huffman, Proc. IRE 40 (1952);
// S. Vigna, "splitmix64.c" (public-domain reference of the SplitMix64 generator).

export const MIN_OUTCOMES = 2;
export const MAX_OUTCOMES = 16;
export const UNITS = ["bits", "nats"];

// ------------------------------------------------------------------------------------------
// Measures
// ------------------------------------------------------------------------------------------

/** Nats to the display unit: "bits" divides by ln 2 (as infoloss's base=2), "nats" keeps. */
export function inUnit(nats, unit) {
  if (unit === "bits") return nats / Math.LN2;
  if (unit === "nats") return nats;
  throw new Error(`unit must be "bits" or "nats", got ${JSON.stringify(unit)}`);
}

/** Entropy H(p) = -sum p_i ln p_i (0 ln 0 = 0), in `unit`. */
export function entropy(p, unit = "nats") {
  return inUnit(0 - sum(p.map((pi) => xlogy(pi, pi))), unit);
}

/** Cross-entropy H(p, q) = -sum p_i ln q_i; +Infinity where p_i > 0 = q_i. */
export function crossEntropy(p, q, unit = "nats") {
  sameLength(p, q);
  return inUnit(0 - sum(p.map((pi, i) => xlogy(pi, q[i]))), unit);
}

/** KL divergence D(p || q) = sum p_i (ln p_i - ln q_i), clamped at 0 like the library's. */
export function klDivergence(p, q, unit = "nats") {
  sameLength(p, q);
  return inUnit(Math.max(0, sum(p.map((pi, i) => logRatioTerm(pi, q[i])))), unit);
}

/** Jensen-Shannon divergence: sum of 2p ln(2p / (p + q)) + 2q ln(2q / (p + q)), over 4. */
export function jsDivergence(p, q, unit = "nats") {
  sameLength(p, q);
  const terms = p.map((pi, i) => logRatioTerm(2 * pi, pi + q[i]) + logRatioTerm(2 * q[i], pi + q[i]));
  return inUnit(Math.max(0, sum(terms) / 4), unit);
}

/** Every number the page shows for (p, q), in `unit`. */
export function measures(p, q, unit = "bits") {
  const codeP = huffmanCode(p);
  const codeQ = huffmanCode(q);
  return {
    entropyP: entropy(p, unit),
    entropyQ: entropy(q, unit),
    crossEntropy: crossEntropy(p, q, unit),
    klPQ: klDivergence(p, q, unit),
    klQP: klDivergence(q, p, unit),
    js: jsDivergence(p, q, unit),
    codeP,
    codeQ,
    // Code lengths are bits by nature; shown in nats they are multiplied by ln 2 like H.
    huffmanPLength: bitsInUnit(expectedLength(codeP, p), unit),
    huffmanQLength: bitsInUnit(expectedLength(codeQ, p), unit),
  };
}

/** The surprisal -log q_i of each outcome, in `unit` (+Infinity where q_i = 0). */
export function surprisals(q, unit = "nats") {
  return q.map((qi) => inUnit(-Math.log(qi), unit));
}

// ------------------------------------------------------------------------------------------
// Huffman codes: the same deterministic code as infoloss.coding.huffman_code
// ------------------------------------------------------------------------------------------

/**
 * Huffman codewords for p, index-aligned: a string of 0/1, or null where p_i = 0.
 * Ties as in the library: at equal weight leaves merge before subtrees, later leaves before
 * earlier ones, older subtrees before newer; codewords canonical (DEFLATE-style); a single
 * possible symbol gets "0".
 */
export function huffmanCode(p) {
  const positive = [];
  p.forEach((pi, i) => { if (pi > 0) positive.push(i); });
  const lengths = huffmanLengths(positive.map((i) => p[i]));
  const words = canonicalCodewords(lengths);
  const code = p.map(() => null);
  positive.forEach((i, k) => { code[i] = words[k]; });
  return code;
}

/** Codeword lengths of a Huffman code for positive weights (one weight: length 1). */
export function huffmanLengths(weights) {
  const count = weights.length;
  if (count <= 1) return weights.map(() => 1);
  // Entries [weight, kind, tie, node]: kind 0 = leaf (tie = -index), 1 = subtree (tie = node).
  const pool = weights.map((w, i) => [w, 0, -i, i]);
  const parent = new Array(2 * count - 1).fill(0);
  let nextNode = count;
  const popMin = () => {
    let best = 0;
    for (let k = 1; k < pool.length; k++) if (entryLess(pool[k], pool[best])) best = k;
    return pool.splice(best, 1)[0];
  };
  while (pool.length > 1) {
    const a = popMin();
    const b = popMin();
    parent[a[3]] = parent[b[3]] = nextNode;
    pool.push([a[0] + b[0], 1, nextNode, nextNode]);
    nextNode += 1;
  }
  const root = nextNode - 1;
  const depth = new Array(2 * count - 1).fill(0);
  for (let node = root - 1; node >= 0; node--) depth[node] = depth[parent[node]] + 1;
  return depth.slice(0, count);
}

/** Canonical codewords: in (length, position) order, consecutive binary numbers. */
export function canonicalCodewords(lengths) {
  const order = lengths.map((_, i) => i).sort((i, j) => lengths[i] - lengths[j] || i - j);
  const words = lengths.map(() => "");
  let value = 0n;
  let previous = 0;
  for (const i of order) {
    value <<= BigInt(lengths[i] - previous);
    previous = lengths[i];
    words[i] = value.toString(2).padStart(previous, "0");
    value += 1n;
  }
  return words;
}

/** Expected length sum p_i len(word_i) in bits; +Infinity if some p_i > 0 has no word. */
export function expectedLength(code, p) {
  const terms = [];
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) continue;
    if (code[i] === null || code[i] === undefined) return Infinity;
    terms.push(p[i] * code[i].length);
  }
  return sum(terms);
}

/**
 * The binary tree of a prefix code, for drawing: nodes {id, word, depth, leaf, left, right}
 * where `leaf` is the symbol index at a leaf (null inside). Built from the codewords, so the
 * drawing is exactly the code shown.
 */
export function codeTree(code) {
  const nodes = [{ id: 0, word: "", depth: 0, leaf: null, left: null, right: null }];
  code.forEach((word, symbol) => {
    if (word === null) return;
    let node = nodes[0];
    for (const bit of word) {
      const side = bit === "0" ? "left" : "right";
      if (node[side] === null) {
        const child = { id: nodes.length, word: node.word + bit, depth: node.depth + 1, leaf: null, left: null, right: null };
        nodes.push(child);
        node[side] = child.id;
      }
      node = nodes[node[side]];
    }
    node.leaf = symbol;
  });
  return nodes;
}

// ------------------------------------------------------------------------------------------
// Logits: softmax with temperature, label smoothing, the loss and its gradient
// ------------------------------------------------------------------------------------------

/** softmax(z / T) = exp(z/T - max) / sum, like infoloss.softmax(z, temperature=T). */
export function softmax(z, temperature = 1) {
  checkTemperature(temperature);
  const scaled = temperature === 1 ? z.slice() : z.map((v) => v / temperature);
  const finite = scaled.filter((v) => Number.isFinite(v));
  const top = finite.length ? Math.max(...finite) : 0;
  const shifted = scaled.map((v) => Math.exp(v - top));
  const total = shifted.reduce((a, b) => a + b, 0);
  return shifted.map((v) => v / total);
}

/** log softmax(z / T), never log of the softmax (no underflow to -Infinity). */
export function logSoftmax(z, temperature = 1) {
  checkTemperature(temperature);
  const scaled = temperature === 1 ? z.slice() : z.map((v) => v / temperature);
  const top = Math.max(...scaled);
  const lse = top + Math.log(scaled.reduce((a, v) => a + Math.exp(v - top), 0));
  return scaled.map((v) => v - lse);
}

/** Plain normalisation z / sum z ("counting"); null unless every score is >= 0 and the sum > 0. */
export function plainNormalise(z) {
  if (z.some((v) => !(v >= 0) || !Number.isFinite(v))) return null;
  const total = z.reduce((a, b) => a + b, 0);
  return total > 0 ? z.map((v) => v / total) : null;
}

/** One-hot vector of length k with a 1 at `index`. */
export function oneHot(k, index) {
  return Array.from({ length: k }, (_, i) => (i === index ? 1 : 0));
}

/** Label smoothing (PyTorch's): (1 - eps) t + eps / K. */
export function smoothTarget(target, eps) {
  if (!(eps >= 0 && eps <= 1)) throw new Error(`label smoothing must be in [0, 1], got ${eps}`);
  if (eps === 0) return target.slice();
  return target.map((t) => (1 - eps) * t + eps / target.length);
}

/**
 * The classifier's view of logits z: q = softmax(z / T), the smoothed target t, the loss
 * H(t, q) = -sum t_i log q_i in nats (torch.nn.functional.cross_entropy of z / T) and its
 * gradient with respect to z, (q - t) / T: "softmax minus one-hot" at T = 1, eps = 0.
 */
export function logitsView(z, temperature, target, eps) {
  const q = softmax(z, temperature);
  const logQ = logSoftmax(z, temperature);
  const t = smoothTarget(target, eps);
  const loss = 0 - sum(t.map((ti, i) => (ti === 0 ? 0 : ti * logQ[i])));
  const gradient = q.map((qi, i) => (qi - t[i]) / temperature);
  return { q, target: t, loss, gradient, plain: plainNormalise(z) };
}

// ------------------------------------------------------------------------------------------
// Sampling: SplitMix64 (seeded, exact in BigInt), inverse-CDF draws, coding a sample
// ------------------------------------------------------------------------------------------

const MASK64 = (1n << 64n) - 1n;

/** A SplitMix64 generator: next() gives the next 64-bit output as a BigInt. */
export function splitmix64(seed) {
  let state = BigInt.asUintN(64, BigInt(seed));
  return {
    next() {
      state = (state + 0x9e3779b97f4a7c15n) & MASK64;
      let z = state;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
      return z ^ (z >> 31n);
    },
    /** A double in [0, 1): the top 53 bits over 2^53. */
    uniform() {
      return Number(this.next() >> 11n) / 2 ** 53;
    },
  };
}

/** n symbols drawn from p with SplitMix64(seed): the first i with u < p_0 + ... + p_i. */
export function sample(p, n, seed) {
  const rng = splitmix64(seed);
  const cumulative = [];
  let running = 0;
  let last = 0;
  p.forEach((pi, i) => { running += pi; cumulative.push(running); if (pi > 0) last = i; });
  const symbols = new Array(n);
  for (let k = 0; k < n; k++) {
    const u = rng.uniform() * running; // * running: a sum of 1 - 1e-16 still covers [0, 1)
    let i = 0;
    while (i < last && !(u < cumulative[i])) i++;
    symbols[k] = i;
  }
  return symbols;
}

/**
 * Code a sample with a prefix code: total bits, bits per symbol, counts per symbol, and the
 * first symbols' codewords. A symbol without a codeword (q_i = 0) makes the size infinite.
 */
export function encodeSample(symbols, code) {
  const counts = code.map(() => 0);
  let bits = 0;
  for (const s of symbols) {
    counts[s] += 1;
    bits += code[s] === null ? Infinity : code[s].length;
  }
  return { bits, bitsPerSymbol: symbols.length ? bits / symbols.length : 0, counts };
}

// ------------------------------------------------------------------------------------------
// Editing distributions
// ------------------------------------------------------------------------------------------

/**
 * Set p_i to `value` and keep p a distribution: the other unlocked outcomes share the rest in
 * proportion to their current values (equally when they are all 0); locked ones stay fixed.
 * The value is clamped to what the locks leave. Returns a new array (p itself if nothing can
 * move: p_i is locked, or every other outcome is).
 */
export function setProbability(p, index, value, locked = []) {
  if (locked[index]) return p;
  const free = [];
  let lockedMass = 0;
  p.forEach((pj, j) => {
    if (j === index) return;
    if (locked[j]) lockedMass += pj; else free.push(j);
  });
  if (!free.length) return p;
  const room = Math.max(0, 1 - lockedMass);
  const v = Math.min(Math.max(Number(value) || 0, 0), room);
  const rest = room - v;
  const freeMass = sum(free.map((j) => p[j]));
  const out = p.slice();
  out[index] = v;
  for (const j of free) out[j] = freeMass > 0 ? (p[j] * rest) / freeMass : rest / free.length;
  // Rounding leaves the sum 1 +- a few ulps; the largest free outcome absorbs it.
  const largest = free.reduce((a, j) => (out[j] > out[a] ? j : a), free[0]);
  if (rest > 0) out[largest] = Math.max(0, 1 - sum(out.filter((_, j) => j !== largest)));
  return out;
}

/** p with one more outcome of probability 1 / (K + 1), the others scaled by K / (K + 1). */
export function addOutcome(p) {
  if (p.length >= MAX_OUTCOMES) return p;
  const share = 1 / (p.length + 1);
  return [...p.map((pi) => pi * (1 - share)), share];
}

/** p without outcome `index`, divided by what is left (uniform if nothing is). */
export function removeOutcome(p, index) {
  if (p.length <= MIN_OUTCOMES) return p;
  return normalise(p.filter((_, i) => i !== index));
}

/** Divide by the sum; uniform when the sum is 0 or not finite. */
export function normalise(values) {
  const total = sum(values);
  if (!(total > 0) || !Number.isFinite(total)) return values.map(() => 1 / values.length);
  return values.map((v) => v / total);
}

// ------------------------------------------------------------------------------------------
// State <-> URL hash, and the Python call for the current numbers
// ------------------------------------------------------------------------------------------

export const DEFAULT_STATE = Object.freeze({
  mode: "distributions", // or "logits"
  p: [0.5, 0.25, 0.125, 0.125],
  q: [0.25, 0.25, 0.25, 0.25],
  labels: ["a", "b", "c", "d"],
  unit: "bits",
  seed: 1,
  n: 1000,
  logits: [1, 1, 3],
  temperature: 1,
  target: 2, // a class index, or "p": the soft target p
  smoothing: 0,
  locks: { p: [], q: [] }, // per outcome: held fixed while another bar of p (or q) moves
});

/**
 * The state from a URL hash such as "#p=0.5,0.25,0.125,0.125&q=0.25,0.25,0.25,0.25&unit=bits".
 * Missing keys take their defaults; numbers may be fractions ("1/2") or counts (each of p, q is
 * divided by its sum). Returns {state, problems}: a list of what was ignored and why.
 */
export function parseHash(hash, defaults = DEFAULT_STATE) {
  const problems = [];
  const fields = new Map();
  const rawFields = new Map();
  for (const part of String(hash || "").replace(/^#/, "").split("&")) {
    if (!part) continue;
    const at = part.indexOf("=");
    const key = safeDecode(at < 0 ? part : part.slice(0, at));
    const raw = at < 0 ? "" : part.slice(at + 1);
    fields.set(key, safeDecode(raw));
    rawFields.set(key, raw); // labels are split before decoding, so a label may hold "%2C" (a comma)
  }
  const state = { ...defaults, p: defaults.p.slice(), q: defaults.q.slice(), labels: defaults.labels.slice(), logits: defaults.logits.slice(), locks: { p: [], q: [] } };
  const numbers = (key, min, max) => {
    if (!fields.has(key)) return null;
    const values = fields.get(key).split(",").map(parseNumber);
    if (values.length < min || values.length > max || values.some((v) => !Number.isFinite(v))) {
      problems.push(`${key}: expected ${min} to ${max} finite numbers, got "${fields.get(key)}"`);
      return null;
    }
    return values;
  };
  if (fields.has("mode")) {
    const mode = fields.get("mode");
    if (mode === "logits" || mode === "distributions") state.mode = mode;
    else problems.push(`mode: "distributions" or "logits", got "${mode}"`);
  }
  const p = numbers("p", MIN_OUTCOMES, MAX_OUTCOMES);
  const q = numbers("q", MIN_OUTCOMES, MAX_OUTCOMES);
  for (const [key, values] of [["p", p], ["q", q]]) {
    if (values && values.some((v) => v < 0)) { problems.push(`${key}: probabilities cannot be negative`); continue; }
    if (values) state[key] = normalise(values);
  }
  if (p && !q && state.q.length !== state.p.length) state.q = state.p.map(() => 1 / state.p.length);
  if (q && !p && state.p.length !== state.q.length) state.p = state.q.map(() => 1 / state.q.length);
  if (state.p.length !== state.q.length) {
    problems.push(`p has ${state.p.length} outcomes but q has ${state.q.length}: q set to uniform`);
    state.q = state.p.map(() => 1 / state.p.length);
  }
  const logits = numbers("logits", MIN_OUTCOMES, MAX_OUTCOMES);
  if (logits) state.logits = logits;
  if (fields.has("unit")) {
    if (UNITS.includes(fields.get("unit"))) state.unit = fields.get("unit");
    else problems.push(`unit: "bits" or "nats", got "${fields.get("unit")}"`);
  }
  const integer = (key, min, max) => {
    if (!fields.has(key)) return;
    const v = Number(fields.get(key));
    if (Number.isInteger(v) && v >= min && v <= max) state[key] = v;
    else problems.push(`${key}: an integer from ${min} to ${max}, got "${fields.get(key)}"`);
  };
  integer("seed", 0, Number.MAX_SAFE_INTEGER);
  integer("n", 1, 100000);
  const real = (key, ok, what) => {
    if (!fields.has(key)) return;
    const v = parseNumber(fields.get(key));
    if (ok(v)) state[key] = v; else problems.push(`${key}: ${what}, got "${fields.get(key)}"`);
  };
  real("temperature", (v) => Number.isFinite(v) && v > 0, "a number > 0");
  real("smoothing", (v) => v >= 0 && v <= 1, "a number in [0, 1]");
  if (fields.has("target")) {
    const t = fields.get("target");
    if (t === "p") state.target = "p";
    else if (/^\d+$/.test(t)) state.target = Number(t);
    else problems.push(`target: a class index or "p", got "${t}"`);
  }
  const k = state.mode === "logits" ? state.logits.length : state.p.length;
  if (state.mode === "logits") {
    if (state.target === "p" && state.p.length !== k) { problems.push(`target p has ${state.p.length} outcomes, logits ${k}: target set to class ${k - 1}`); state.target = k - 1; }
    if (state.target !== "p" && state.target >= k) { problems.push(`target: class ${state.target} is not one of 0..${k - 1}`); state.target = k - 1; }
  }
  if (fields.has("labels")) {
    const labels = rawFields.get("labels").split(",").map(safeDecode);
    if (labels.length === k) state.labels = labels;
    else problems.push(`labels: ${k} needed, got ${labels.length}`);
  }
  state.labels = fitLabels(state.labels, k);
  if (fields.has("locks") && state.mode !== "logits") {
    // "locks=p0,q2": outcome 0 of p and outcome 2 of q are locked.
    for (const item of fields.get("locks").split(",").filter(Boolean)) {
      const match = /^([pq])(\d+)$/.exec(item);
      if (match && Number(match[2]) < k) state.locks[match[1]][Number(match[2])] = true;
      else problems.push(`locks: items like p0 or q2 (outcome 0..${k - 1}), got "${item}"`);
    }
    for (const which of ["p", "q"]) state.locks[which] = Array.from({ length: k }, (_, i) => Boolean(state.locks[which][i]));
  }
  return { state, problems };
}

/** The hash for a state (parseHash's inverse; numbers in JavaScript's shortest exact form). */
export function formatHash(state) {
  const parts = [`mode=${state.mode}`];
  if (state.mode === "logits") {
    parts.push(`logits=${state.logits.join(",")}`, `temperature=${state.temperature}`, `target=${state.target}`, `smoothing=${state.smoothing}`);
    if (state.target === "p") parts.push(`p=${state.p.join(",")}`);
  } else {
    parts.push(`p=${state.p.join(",")}`, `q=${state.q.join(",")}`);
  }
  parts.push(`labels=${state.labels.map((l) => encodeURIComponent(l)).join(",")}`, `unit=${state.unit}`, `seed=${state.seed}`, `n=${state.n}`);
  const locked = ["p", "q"].flatMap((which) => ((state.locks || {})[which] || []).map((v, i) => (v ? which + i : "")).filter(Boolean));
  if (locked.length && state.mode !== "logits") parts.push(`locks=${locked.join(",")}`);
  return "#" + parts.join("&");
}

/** The distributions the page measures: the editor's p and q, or the logits mode's t and softmax. */
export function measuredDistributions(state) {
  if (state.mode !== "logits") return { p: state.p, q: state.q };
  const k = state.logits.length;
  const target = state.target === "p" ? state.p : oneHot(k, state.target);
  const view = logitsView(state.logits, state.temperature, target, state.smoothing);
  return { p: view.target, q: view.q, view };
}

/** Python that computes the page's numbers with infoloss (for the "copy Python" button). */
export function pythonCode(state) {
  const base = state.unit === "bits" ? ", base=2" : "";
  const labelled = uniqueLabels(state.labels);
  const lines = ["import infoloss", ""];
  const vector = (values) => (labelled ? pyDict(state.labels, values) : pyList(values));
  if (state.mode === "logits") {
    const t = state.temperature === 1 ? "" : `, temperature=${pyNumber(state.temperature)}`;
    lines.push(`logits = ${pyList(state.logits)}`);
    lines.push(`q = infoloss.softmax(logits${t}).tolist()`);
    const k = state.logits.length;
    const target = state.target === "p" ? state.p : oneHot(k, state.target);
    lines.push(`target = ${pyList(target)}`);
    const eps = state.smoothing;
    lines.push(eps === 0 ? "p = target" : `p = [(1 - ${pyNumber(eps)}) * t + ${pyNumber(eps)} / ${k} for t in target]  # label smoothing`);
    if (labelled) {
      lines.push(`labels = ${pyList(state.labels.map((l) => JSON.stringify(l)), true)}`);
      lines.push("p, q = dict(zip(labels, p)), dict(zip(labels, q))");
    }
  } else {
    lines.push(`p = ${vector(state.p)}`);
    lines.push(`q = ${vector(state.q)}`);
  }
  lines.push(
    `print(infoloss.decompose(p, q${base}))  # H(p,q) = H(p) + KL(p||q)`,
    `print(infoloss.entropy(q${base}), infoloss.kl_divergence(q, p${base}), infoloss.js_divergence(p, q${base}))`,
    "code_p, code_q = infoloss.coding.huffman_code(p), infoloss.coding.huffman_code(q)",
    "print(infoloss.coding.expected_length(code_p, p), infoloss.coding.expected_length(code_q, p))  # bits",
  );
  return lines.join("\n") + "\n";
}

/** A number for display: 5 significant digits (trailing zeros kept), "∞" for Infinity. */
export function formatNumber(value, digits = 5) {
  if (value === Infinity) return "∞";
  if (value === -Infinity) return "-∞";
  if (Number.isNaN(value)) return "NaN";
  if (value === 0) return "0";
  const text = value.toPrecision(digits);
  return text.includes("e") ? value.toExponential(digits - 1) : text;
}

// ------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------

/** Neumaier's compensated sum: a few terms give the correctly rounded total, like math.fsum. */
export function sum(values) {
  let total = 0;
  let compensation = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) return values.reduce((a, b) => a + b, 0); // inf/NaN: plain sum
    const t = total + v;
    compensation += Math.abs(total) >= Math.abs(v) ? (total - t) + v : (v - t) + total;
    total = t;
  }
  return total + compensation;
}

/** x ln y with 0 where x = 0 (even when y = 0). */
function xlogy(x, y) {
  return x === 0 ? 0 : x * Math.log(y);
}

/** p ln(p / q) as p (ln p - ln q): 0 where p = 0, +Infinity where p > 0 = q. */
function logRatioTerm(p, q) {
  return p === 0 ? 0 : p * (Math.log(p) - Math.log(q));
}

function bitsInUnit(bits, unit) {
  return unit === "bits" ? bits : bits * Math.LN2;
}

function entryLess(a, b) {
  for (let k = 0; k < 3; k++) if (a[k] !== b[k]) return a[k] < b[k];
  return false;
}

function sameLength(p, q) {
  if (p.length !== q.length) throw new Error(`p has ${p.length} outcomes but q has ${q.length}`);
}

function checkTemperature(temperature) {
  if (!(Number.isFinite(temperature) && temperature > 0)) throw new Error(`temperature must be a finite number > 0, got ${temperature}`);
}

function parseNumber(text) {
  const t = String(text).trim();
  const fraction = /^([^/]+)\/([^/]+)$/.exec(t);
  if (fraction) return Number(fraction[1]) / Number(fraction[2]);
  return t === "" ? NaN : Number(t);
}

function safeDecode(text) {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text; // a stray "%": keep the text as typed
  }
}

function fitLabels(labels, k) {
  const out = labels.slice(0, k);
  for (let i = out.length; i < k; i++) out.push(String.fromCharCode(97 + (i % 26)) + (i >= 26 ? String(i) : ""));
  return out;
}

function uniqueLabels(labels) {
  return labels.every((l) => l.length > 0) && new Set(labels).size === labels.length;
}

function pyNumber(v) {
  if (Number.isInteger(v)) return `${v}.0`;
  return String(v);
}

function pyList(values, raw = false) {
  return `[${values.map((v) => (raw ? v : pyNumber(v))).join(", ")}]`;
}

function pyDict(labels, values) {
  return `{${labels.map((l, i) => `${JSON.stringify(l)}: ${pyNumber(values[i])}`).join(", ")}}`;
}
