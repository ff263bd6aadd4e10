// infoloss explore: the page's interface (DOM only; every number comes from core.mjs).
//
// mount(root, options) draws the explorer into `root`. The standalone page calls it with
// useHash: true (the URL hash holds the whole state, so a link reproduces the view); the
// Jupyter widget calls it with onChange (the state goes to the Python side as a hash string).
// At build time (infoloss.explore._build) this file and core.mjs are inlined into one script.
import {
  MAX_OUTCOMES, MIN_OUTCOMES, DEFAULT_STATE, addOutcome, codeTree, encodeSample, formatHash,
  formatNumber, measuredDistributions, measures, parseHash, pythonCode, removeOutcome, sample,
  setProbability, surprisals,
} from "./core.mjs";

const SVG = "http://www.w3.org/2000/svg";
const MEASURES = [
  ["entropy-p", "entropyP", "H(p)", "entropy of p: the average surprise of the truth"],
  ["entropy-q", "entropyQ", "H(q)", "entropy of the model q"],
  ["cross-entropy", "crossEntropy", "H(p,q)", "cross-entropy: the loss, = H(p) + KL(p‖q)"],
  ["kl-pq", "klPQ", "KL(p‖q)", "the excess of H(p,q) over H(p)"],
  ["kl-qp", "klQP", "KL(q‖p)", "the other direction: KL is not symmetric"],
  ["js", "js", "JS(p,q)", "Jensen-Shannon: symmetric, at most 1 bit"],
];

/** Draw the explorer into `root`; returns {state(), setState(state), destroy()}. */
export function mount(root, options = {}) {
  const win = options.window || globalThis.window;
  const presets = options.presets || [];
  const useHash = Boolean(options.useHash);
  root.classList.add("il-app");
  root.innerHTML = skeleton(presets);
  let state = initialState();
  let builtFor = "";
  const $ = (id) => root.querySelector(`[data-part="${id}"]`);
  const byTest = (id) => root.querySelector(`[data-testid="${id}"]`);

  bindControls();
  render();
  if (useHash) win.addEventListener("hashchange", onHashChange);

  return {
    state: () => structuredClone(state),
    hash: () => formatHash(state),
    setHash(hash) { apply(parseHash(hash)); },
    destroy() { if (useHash) win.removeEventListener("hashchange", onHashChange); root.innerHTML = ""; },
  };

  // ----------------------------------------------------------------------------------------

  function initialState() {
    const hash = useHash ? win.location.hash : options.hash || "";
    const parsed = parseHash(hash || options.defaultHash || "", DEFAULT_STATE);
    problems(parsed.problems);
    return parsed.state;
  }

  function onHashChange() {
    if (win.location.hash !== formatHash(state)) apply(parseHash(win.location.hash));
  }

  function apply(parsed) {
    state = parsed.state;
    problems(parsed.problems);
    render();
  }

  function problems(list) {
    const box = root.querySelector('[data-testid="problems"]');
    if (box) box.textContent = list.length ? `Ignored in the link: ${list.join("; ")}.` : "";
  }

  /** Change the state, then redraw and publish it (hash or widget). */
  function change(mutate) {
    mutate(state);
    render();
  }

  function publish() {
    const hash = formatHash(state);
    if (useHash && win.location.hash !== hash) {
      try { win.history.replaceState(null, "", hash); } catch { win.location.hash = hash; }
    }
    if (options.onChange) options.onChange(hash);
  }

  function outcomes() {
    return state.mode === "logits" ? state.logits.length : state.p.length;
  }

  // ----------------------------------------------------------------------------------------
  // Controls that exist once
  // ----------------------------------------------------------------------------------------

  function bindControls() {
    byTest("preset").addEventListener("change", (event) => {
      const preset = presets.find((item) => item.id === event.target.value);
      if (preset) apply(parseHash(preset.hash));
    });
    for (const mode of ["distributions", "logits"]) {
      byTest(`mode-${mode}`).addEventListener("click", () => change((s) => switchMode(s, mode)));
    }
    for (const unit of ["bits", "nats"]) {
      byTest(`unit-${unit}`).addEventListener("click", () => change((s) => { s.unit = unit; }));
    }
    byTest("add-outcome").addEventListener("click", () => change(addAnOutcome));
    byTest("sample").addEventListener("click", () => change((s) => { s.seed += 1; }));
    byTest("seed").addEventListener("change", (event) => {
      const seed = Number(event.target.value);
      if (Number.isInteger(seed) && seed >= 0) change((s) => { s.seed = seed; }); else render();
    });
    byTest("sample-n").addEventListener("change", (event) => {
      const n = Number(event.target.value);
      if (Number.isInteger(n) && n >= 1 && n <= 100000) change((s) => { s.n = n; }); else render();
    });
    const temperature = byTest("temperature");
    temperature.addEventListener("input", () => change((s) => { s.temperature = temperatureOf(temperature.value); }));
    byTest("temperature-value").addEventListener("change", (event) => {
      const t = Number(event.target.value);
      if (Number.isFinite(t) && t > 0) change((s) => { s.temperature = t; }); else render();
    });
    const smoothing = byTest("smoothing");
    smoothing.addEventListener("input", () => change((s) => { s.smoothing = Number(smoothing.value); }));
    byTest("target").addEventListener("change", (event) => {
      const value = event.target.value;
      change((s) => { s.target = value === "p" ? "p" : Number(value); });
    });
    byTest("copy-python").addEventListener("click", () => copy(pythonCode(state), "copy-python-status"));
    byTest("copy-link").addEventListener("click", () => {
      const base = useHash ? win.location.href.split("#")[0] : "infoloss-explore.html";
      copy(base + formatHash(state), "copy-link-status");
    });
  }

  function switchMode(s, mode) {
    if (mode === s.mode) return;
    if (mode === "distributions") {
      // Carry the measured distributions over: what you saw is what you edit.
      const measured = measuredDistributions(s);
      s.p = measured.p.slice();
      s.q = measured.q.slice();
    } else {
      const k = s.p.length;
      if (s.logits.length !== k) s.logits = s.q.map((v) => (v > 0 ? round(Math.log(v), 4) : -10));
      const isOneHot = s.p.filter((v) => v === 1).length === 1;
      s.target = isOneHot ? s.p.indexOf(1) : "p";
    }
    s.locks = { p: [], q: [] };
    s.mode = mode;
  }

  function addAnOutcome(s) {
    if (outcomes() >= MAX_OUTCOMES) return;
    const k = outcomes();
    s.labels = [...s.labels, nextLabel(s.labels)];
    if (s.mode === "logits") {
      s.logits = [...s.logits, 0];
      if (s.target === "p") s.p = addOutcome(s.p);
    } else {
      s.p = addOutcome(s.p);
      s.q = addOutcome(s.q);
      for (const which of ["p", "q"]) s.locks[which] = Array.from({ length: k + 1 }, (_, i) => Boolean(s.locks[which][i]));
    }
  }

  function removeAnOutcome(s, index) {
    if (outcomes() <= MIN_OUTCOMES) return;
    s.labels = s.labels.filter((_, i) => i !== index);
    if (s.mode === "logits") {
      s.logits = s.logits.filter((_, i) => i !== index);
      if (s.target === "p") s.p = removeOutcome(s.p, index);
      else if (s.target === index) s.target = 0;
      else if (s.target > index) s.target -= 1;
    } else {
      s.p = removeOutcome(s.p, index);
      s.q = removeOutcome(s.q, index);
      for (const which of ["p", "q"]) s.locks[which] = (s.locks[which] || []).filter((_, i) => i !== index);
    }
  }

  async function copy(text, statusId) {
    const status = byTest(statusId);
    try {
      await win.navigator.clipboard.writeText(text);
      status.textContent = "Copied.";
    } catch {
      status.textContent = "Select the text and copy it (the browser refused the clipboard).";
    }
  }

  // ----------------------------------------------------------------------------------------
  // Rendering
  // ----------------------------------------------------------------------------------------

  function render() {
    const k = outcomes();
    const shape = `${state.mode}:${k}`;
    if (shape !== builtFor) {
      buildEditors(k);
      builtFor = shape;
    }
    const { p, q, view } = measuredDistributions(state);
    const m = measures(p, q, state.unit);
    root.dataset.mode = state.mode;
    updateToolbar();
    updateEditors(p, q);
    updateLogits(view);
    updateMeasures(m);
    drawStack(m);
    drawSurprisal(p, q, m);
    updateCoding(p, q, m);
    byTest("python-code").textContent = pythonCode(state);
    publish();
  }

  function updateToolbar() {
    for (const mode of ["distributions", "logits"]) byTest(`mode-${mode}`).setAttribute("aria-pressed", String(state.mode === mode));
    for (const unit of ["bits", "nats"]) byTest(`unit-${unit}`).setAttribute("aria-pressed", String(state.unit === unit));
    const preset = presets.find((item) => sameState(parseHash(item.hash).state, state));
    byTest("preset").value = preset ? preset.id : "";
    byTest("add-outcome").disabled = outcomes() >= MAX_OUTCOMES;
  }

  /** Bars, label inputs and logit inputs: rebuilt only when the number of outcomes or the mode changes. */
  function buildEditors(k) {
    const logits = state.mode === "logits";
    for (const which of ["p", "q", "logits"]) byTest(`bars-${which}`).classList.toggle("il-many", k > 8);
    for (const which of ["p", "q"]) {
      const chart = byTest(`bars-${which}`);
      chart.innerHTML = "";
      for (let i = 0; i < k; i++) chart.append(barColumn(which, i, !logits));
    }
    const chart = byTest("bars-logits");
    chart.innerHTML = "";
    if (logits) for (let i = 0; i < k; i++) chart.append(barColumn("logits", i, true));
    const list = byTest("outcomes");
    list.innerHTML = "";
    for (let i = 0; i < k; i++) {
      const item = el("li", { class: "il-outcome" });
      const input = el("input", { type: "text", "data-testid": `label-${i}`, "aria-label": `Label of outcome ${i + 1}`, maxlength: "12", spellcheck: "false" });
      input.addEventListener("input", () => change((s) => { s.labels[i] = input.value; }));
      const remove = el("button", { type: "button", class: "il-remove", "data-testid": `remove-${i}`, "aria-label": `Remove outcome ${i + 1}` }, "×");
      remove.disabled = k <= MIN_OUTCOMES;
      remove.addEventListener("click", () => change((s) => removeAnOutcome(s, i)));
      item.append(input, remove);
      list.append(item);
    }
    const target = byTest("target");
    target.innerHTML = "";
    for (let i = 0; i < k; i++) target.append(el("option", { value: String(i) }, `one-hot: ${label(i)}`));
    target.append(el("option", { value: "p" }, "soft: the distribution p"));
    const inputs = byTest("logit-inputs");
    inputs.innerHTML = "";
    if (logits) {
      for (let i = 0; i < k; i++) {
        const input = el("input", { type: "number", step: "0.1", "data-testid": `logit-${i}`, "aria-label": `Logit of outcome ${i + 1}` });
        input.addEventListener("change", () => {
          const v = Number(input.value);
          if (Number.isFinite(v)) change((s) => { s.logits[i] = v; }); else render();
        });
        inputs.append(el("label", { class: "il-logit" }, el("span", { "data-part": `logit-name-${i}` }), input));
      }
    }
  }

  function barColumn(which, i, editable) {
    const logits = which === "logits";
    const column = el("div", { class: `il-col il-${which}` });
    const track = el("div", {
      class: "il-track", role: "slider", "data-testid": `bar-${which}-${i}`,
      "aria-valuemin": logits ? "-10" : "0", "aria-valuemax": logits ? "10" : "1",
      "aria-orientation": "vertical",
    });
    if (editable) track.tabIndex = 0; else track.setAttribute("aria-readonly", "true");
    const fill = el("div", { class: "il-fill" });
    track.append(fill);
    const value = el("div", { class: "il-value", "aria-hidden": "true" });
    const name = el("div", { class: "il-name" });
    column.append(value, track, name);
    if (editable && !logits) {
      const lock = el("input", { type: "checkbox", "data-testid": `lock-${which}-${i}` });
      lock.addEventListener("change", () => change((s) => {
        s.locks[which] = Array.from({ length: s.p.length }, (_, j) => (j === i ? lock.checked : Boolean(s.locks[which][j])));
      }));
      column.append(el("label", { class: "il-lock" }, lock, el("span", { class: "il-lock-text" }, " lock")));
    }
    if (editable) bindBar(track, which, i);
    return column;
  }

  function bindBar(track, which, i) {
    const logits = which === "logits";
    const set = (v) => change((s) => {
      if (logits) s.logits[i] = round(v, 2);
      else s[which] = setProbability(s[which], i, v, s.locks[which] || []);
    });
    const fromPointer = (event) => {
      const box = track.getBoundingClientRect();
      const fraction = Math.min(1, Math.max(0, (box.bottom - event.clientY) / box.height));
      const range = logitRange();
      set(logits ? -range + 2 * range * fraction : round(fraction, 3));
    };
    track.addEventListener("pointerdown", (event) => {
      track.setPointerCapture?.(event.pointerId);
      track.focus();
      fromPointer(event);
      event.preventDefault();
    });
    track.addEventListener("pointermove", (event) => {
      if (track.hasPointerCapture?.(event.pointerId)) fromPointer(event);
    });
    track.addEventListener("keydown", (event) => {
      const step = logits ? 0.1 : 0.01;
      const current = logits ? state.logits[i] : state[which][i];
      const moves = {
        ArrowUp: current + step, ArrowRight: current + step, ArrowDown: current - step, ArrowLeft: current - step,
        PageUp: current + 10 * step, PageDown: current - 10 * step, Home: logits ? -logitRange() : 0, End: logits ? logitRange() : 1,
      };
      if (!(event.key in moves)) return;
      event.preventDefault();
      set(logits ? moves[event.key] : round(moves[event.key], 6));
    });
  }

  function updateEditors(p, q) {
    const k = outcomes();
    const logits = state.mode === "logits";
    for (const [which, values] of [["p", p], ["q", q]]) {
      values.forEach((v, i) => {
        const track = byTest(`bar-${which}-${i}`);
        const name = label(i);
        track.firstChild.style.height = `${100 * v}%`;
        track.setAttribute("aria-valuenow", String(v));
        track.setAttribute("aria-valuetext", `${which}(${name}) = ${v.toFixed(3)}`);
        track.setAttribute("aria-label", `${which}(${name})${logits ? (which === "q" ? ", softmax of the logits" : ", the target") : ""}`);
        track.dataset.value = String(v);
        track.parentNode.querySelector(".il-value").textContent = v.toFixed(3);
        track.parentNode.querySelector(".il-name").textContent = name;
        const lock = byTest(`lock-${which}-${i}`);
        if (lock) {
          lock.checked = Boolean((state.locks[which] || [])[i]);
          lock.setAttribute("aria-label", `Lock ${which}(${name})`);
          track.classList.toggle("il-locked", lock.checked);
        }
      });
    }
    for (let i = 0; i < k; i++) {
      const input = byTest(`label-${i}`);
      if (input !== root.ownerDocument.activeElement) input.value = state.labels[i];
      byTest(`remove-${i}`).setAttribute("aria-label", `Remove outcome ${label(i)}`);
    }
    byTest("editor-note").textContent = logits
      ? "Read-only here: p is the (smoothed) target and q = softmax(logits / T). Edit the logits below."
      : "Drag a bar, or focus it and use the arrow keys (Page Up/Down: 0.1 steps); the other bars rescale in proportion unless locked.";
  }

  function updateLogits(view) {
    const panel = $("logits");
    panel.hidden = state.mode !== "logits";
    if (!view) return;
    const k = state.logits.length;
    const range = logitRange();
    state.logits.forEach((z, i) => {
      const track = byTest(`bar-logits-${i}`);
      const fill = track.firstChild;
      const clipped = Math.max(-range, Math.min(range, z));
      fill.style.bottom = `${50 + (Math.min(0, clipped) * 50) / range}%`;
      fill.style.height = `${(Math.abs(clipped) * 50) / range}%`;
      track.setAttribute("aria-valuemin", String(-range));
      track.setAttribute("aria-valuemax", String(range));
      byTest("target").options[i].textContent = `one-hot: ${label(i)}`;
      fill.classList.toggle("il-negative", z < 0);
      track.setAttribute("aria-valuenow", String(z));
      track.setAttribute("aria-valuetext", `logit ${label(i)} = ${z}`);
      track.setAttribute("aria-label", `logit of ${label(i)}`);
      track.parentNode.querySelector(".il-value").textContent = String(round(z, 2));
      track.parentNode.querySelector(".il-name").textContent = label(i);
      const input = byTest(`logit-${i}`);
      if (input !== root.ownerDocument.activeElement) input.value = String(z);
      $(`logit-name-${i}`).textContent = label(i);
    });
    byTest("temperature").value = String(Math.log10(state.temperature));
    byTest("temperature").setAttribute("aria-valuetext", `temperature ${state.temperature}`);
    const tInput = byTest("temperature-value");
    if (tInput !== root.ownerDocument.activeElement) tInput.value = String(state.temperature);
    byTest("smoothing").value = String(state.smoothing);
    byTest("smoothing-value").textContent = state.smoothing.toFixed(2);
    byTest("target").value = String(state.target);
    const rows = [
      ["logit z", state.logits, "logits"],
      ["z / sum z (counting)", view.plain, "plain"],
      [`softmax(z / ${state.temperature})`, view.q, "softmax"],
      [`target t${state.smoothing ? `, smoothed ${state.smoothing.toFixed(2)}` : ""}`, view.target, "target"],
      ["gradient (q − t) / T", view.gradient, "gradient"],
    ];
    const table = byTest("logits-table");
    table.innerHTML = "";
    const head = el("tr", {}, el("th", { scope: "col" }, ""));
    for (let i = 0; i < k; i++) head.append(el("th", { scope: "col" }, label(i)));
    table.append(el("thead", {}, head));
    const body = el("tbody");
    for (const [title, values, id] of rows) {
      const row = el("tr", {}, el("th", { scope: "row" }, title));
      for (let i = 0; i < k; i++) {
        const v = values ? values[i] : null;
        row.append(el("td", { "data-testid": `${id}-${i}`, "data-value": v === null ? "" : String(v) }, v === null ? "—" : fixed(v)));
      }
      body.append(row);
    }
    table.append(body);
    setNumber(byTest("loss"), view.loss, "nats");
    byTest("plain-note").textContent = view.plain
      ? "Counting divides by the sum; softmax exponentiates first, so it favours the largest score and reacts strongly to small changes."
      : "Counting (z / sum z) needs scores ≥ 0 with a positive sum; softmax takes any real logits.";
  }

  function updateMeasures(m) {
    for (const [testid, key] of MEASURES) setNumber(byTest(testid), m[key], state.unit);
    const identity = byTest("identity");
    identity.textContent = Number.isFinite(m.crossEntropy)
      ? `H(p,q) = H(p) + KL(p‖q): ${formatNumber(m.crossEntropy)} = ${formatNumber(m.entropyP)} + ${formatNumber(m.klPQ)} ${state.unit}`
      : `H(p,q) = H(p) + KL(p‖q) = ∞: q gives probability 0 to an outcome that p can produce.`;
  }

  function drawStack(m) {
    const svg = byTest("stack");
    svg.innerHTML = "";
    const width = 600;
    const finite = Number.isFinite(m.crossEntropy);
    const top = Math.max(finite ? m.crossEntropy : m.entropyP * 1.5, m.entropyQ, 1e-9) * 1.1;
    const x = (v) => (width * Math.min(v, top)) / top;
    const h = x(m.entropyP);
    svg.append(rect(0, 4, h, 26, "il-entropy"), text(4, 22, `H(p) ${formatNumber(m.entropyP, 4)}`, "il-on-bar"));
    if (finite) svg.append(rect(h, 4, x(m.crossEntropy) - h, 26, "il-kl"));
    else svg.append(rect(h, 4, width - h, 26, "il-kl il-infinite"));
    svg.append(text(Math.min(h + 4, width - 130), 48, `+ KL(p‖q) ${formatNumber(m.klPQ, 4)}`, "il-label"));
    svg.append(text(0, 68, `= H(p,q) ${formatNumber(m.crossEntropy, 4)} ${state.unit}`, "il-label"));
    svg.setAttribute("aria-label", `Stacked bar: H(p) ${formatNumber(m.entropyP)} plus KL(p‖q) ${formatNumber(m.klPQ)} equals H(p,q) ${formatNumber(m.crossEntropy)} ${state.unit}`);
  }

  function drawSurprisal(p, q, m) {
    const svg = byTest("surprisal");
    svg.innerHTML = "";
    const width = 600;
    const height = 200;
    const own = surprisals(p, state.unit);
    const cross = surprisals(q, state.unit);
    const shown = [...own, ...cross].filter((v, j) => Number.isFinite(v) && p[j % p.length] > 0);
    const top = Math.max(1, ...shown) * 1.1;
    const y = (v) => height - (height * Math.min(v, top)) / top;
    let left = 0;
    p.forEach((pi, i) => {
      const w = width * pi;
      if (pi > 0) {
        const infinite = !Number.isFinite(cross[i]);
        svg.append(rect(left, y(cross[i]), w, height - y(cross[i]), `il-cross${infinite ? " il-infinite" : ""}`));
        svg.append(rect(left, y(own[i]), w, height - y(own[i]), "il-own"));
        if (w > 18) svg.append(text(left + w / 2, height + 14, label(i), "il-tick", "middle"));
        if (infinite && w > 10) svg.append(text(left + w / 2, 14, "∞", "il-label", "middle"));
      }
      left += w;
    });
    svg.append(line(0, height, width, height, "il-axis"), line(0, 0, 0, height, "il-axis"));
    for (const tick of niceTicks(top)) {
      svg.append(line(-4, y(tick), 0, y(tick), "il-axis"), text(4, y(tick) - 2, String(tick), "il-tick"));
    }
    svg.append(text(width, 10, `−log q, −log p (${state.unit}); width p`, "il-tick", "end"));
    byTest("surprisal-caption").textContent =
      `Each outcome is a column as wide as p_i; the blue column is as tall as −log q_i, so the blue area is ` +
      `Σ p_i (−log q_i) = H(p,q) = ${formatNumber(m.crossEntropy)} ${state.unit}. The orange outline is −log p_i: ` +
      `its area is H(p) = ${formatNumber(m.entropyP)}. Blue above orange minus orange above blue is KL(p‖q) = ${formatNumber(m.klPQ)}.`;
  }

  function updateCoding(p, q, m) {
    const k = p.length;
    const table = byTest("code-table");
    table.innerHTML = "";
    table.append(el("thead", {}, el("tr", {}, ...["outcome", "p", "q", "code for p", "bits", "code for q", "bits"].map((h) => el("th", { scope: "col" }, h)))));
    const body = el("tbody");
    for (let i = 0; i < k; i++) {
      const wp = m.codeP[i];
      const wq = m.codeQ[i];
      body.append(el("tr", {},
        el("th", { scope: "row" }, label(i)), el("td", {}, p[i].toFixed(3)), el("td", {}, q[i].toFixed(3)),
        el("td", { class: "il-word", "data-testid": `code-p-${i}` }, wp ?? "—"), el("td", {}, wp ? String(wp.length) : "—"),
        el("td", { class: "il-word", "data-testid": `code-q-${i}` }, wq ?? "— (q = 0)"), el("td", {}, wq ? String(wq.length) : "—")));
    }
    table.append(body);
    const bits = state.unit === "bits";
    setNumber(byTest("huffman-p-length"), m.huffmanPLength, state.unit, bits ? "" : ` (${formatNumber(m.huffmanPLength / Math.LN2)} bits)`);
    setNumber(byTest("huffman-q-length"), m.huffmanQLength, state.unit, bits ? "" : ` (${formatNumber(m.huffmanQLength / Math.LN2)} bits)`);
    const oneBit = bits ? 1 : Math.LN2;
    const within = m.entropyP <= m.huffmanPLength + 1e-12 && (m.huffmanPLength < m.entropyP + oneBit || k === 1);
    byTest("huffman-p-bound").textContent =
      `H(p) = ${formatNumber(m.entropyP)} ≤ L ${m.huffmanPLength < m.entropyP + oneBit ? "<" : "≥"} H(p) + 1 bit = ${formatNumber(m.entropyP + oneBit)} ${within ? "✓" : ""}`;
    byTest("huffman-q-compare").textContent =
      `against H(p,q) = ${formatNumber(m.crossEntropy)} ${state.unit}: equal when every q_i is a power of 1/2, within a bit otherwise.`;
    drawTree(byTest("tree-p"), m.codeP, "p");
    drawTree(byTest("tree-q"), m.codeQ, "q");
    // The sample: N symbols from p, written with q's code.
    const symbols = sample(p, state.n, state.seed);
    const coded = encodeSample(symbols, m.codeQ);
    const rate = bits ? coded.bitsPerSymbol : coded.bitsPerSymbol * Math.LN2;
    setNumber(byTest("sample-rate"), rate, state.unit,
      ` per symbol (${coded.bits === Infinity ? "∞" : coded.bits} bits for ${state.n} symbols); expected L_p(code_q) = ${formatNumber(m.huffmanQLength)}, H(p,q) = ${formatNumber(m.crossEntropy)}`);
    const counts = byTest("sample-counts");
    counts.dataset.value = JSON.stringify(coded.counts);
    counts.textContent = coded.counts.map((c, i) => `${label(i)}: ${c}`).join(", ");
    const head = symbols.slice(0, 16);
    byTest("sample-head").textContent =
      `${head.map((s) => label(s)).join(" ")} … → ${head.map((s) => m.codeQ[s] ?? "✗").join(" ")} …`;
    byTest("seed").value = String(state.seed);
    byTest("sample-n").value = String(state.n);
  }

  function drawTree(svg, code, which) {
    svg.innerHTML = "";
    const nodes = codeTree(code);
    const leaves = [];
    const order = (id) => {
      const node = nodes[id];
      if (node.left === null && node.right === null) { node.x = leaves.length; leaves.push(node); return; }
      for (const side of ["left", "right"]) if (node[side] !== null) order(node[side]);
      const kids = [node.left, node.right].filter((c) => c !== null).map((c) => nodes[c].x);
      node.x = kids.reduce((a, b) => a + b, 0) / kids.length;
    };
    order(0);
    const depth = Math.max(1, ...nodes.map((n) => n.depth));
    const width = Math.max(200, leaves.length * 40);
    const height = depth * 40 + 40;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const px = (n) => 20 + (leaves.length > 1 ? (n.x * (width - 40)) / (leaves.length - 1) : (width - 40) / 2);
    const py = (n) => 16 + n.depth * 40;
    for (const node of nodes) {
      for (const [side, bit] of [["left", "0"], ["right", "1"]]) {
        if (node[side] === null) continue;
        const child = nodes[node[side]];
        svg.append(line(px(node), py(node), px(child), py(child), "il-edge"));
        svg.append(text((px(node) + px(child)) / 2 + (bit === "0" ? -8 : 8), (py(node) + py(child)) / 2, bit, "il-bit", "middle"));
      }
    }
    for (const node of nodes) {
      const leaf = node.leaf !== null;
      svg.append(el("circle", { cx: px(node), cy: py(node), r: leaf ? 6 : 3, class: leaf ? `il-leaf il-${which}` : "il-inner" }));
      if (leaf) svg.append(text(px(node), py(node) + 20, label(node.leaf), "il-tick", "middle"));
    }
    const words = code.map((w, i) => (w === null ? null : `${label(i)} ${w}`)).filter(Boolean);
    svg.setAttribute("aria-label", `Huffman tree of the code for ${which}: ${words.join(", ")}`);
  }

  /** The logit bars span -R..R: 5, or more when a logit is larger (whole units). */
  function logitRange() {
    return Math.max(5, Math.ceil(Math.max(...state.logits.map((z) => Math.abs(z)))));
  }

  function label(i) {
    return state.labels[i] || String(i + 1);
  }
}

// --------------------------------------------------------------------------------------------
// Markup
// --------------------------------------------------------------------------------------------

function skeleton(presets) {
  const options = presets.map((p) => `<option value="${escapeHtml(p.id)}">${escapeHtml(p.title)}</option>`).join("");
  return `
<header class="il-header">
  <h1>infoloss explore <span>entropy, cross-entropy, KL and codes</span></h1>
  <div class="il-toolbar">
    <label class="il-field">Example <select data-testid="preset"><option value="">your own numbers</option>${options}</select></label>
    <div class="il-toggle" role="group" aria-label="What to edit">
      <button type="button" data-testid="mode-distributions">Distributions</button><button type="button" data-testid="mode-logits">Logits</button>
    </div>
    <div class="il-toggle" role="group" aria-label="Unit">
      <button type="button" data-testid="unit-bits">bits</button><button type="button" data-testid="unit-nats">nats</button>
    </div>
    <button type="button" data-testid="copy-link">Copy link</button><span class="il-status" data-testid="copy-link-status" role="status"></span>
  </div>
  <p class="il-problems" data-testid="problems" role="status"></p>
</header>
<section class="il-panel il-editor" aria-labelledby="il-editor-title">
  <h2 id="il-editor-title">p, the truth, and q, the model</h2>
  <p class="il-note" data-testid="editor-note"></p>
  <div class="il-charts">
    <figure class="il-chart"><figcaption><b class="il-key-p">p</b> (true distribution)</figcaption><div class="il-bars" role="group" aria-label="Bars of p" data-testid="bars-p"></div></figure>
    <figure class="il-chart"><figcaption><b class="il-key-q">q</b> (model)</figcaption><div class="il-bars" role="group" aria-label="Bars of q" data-testid="bars-q"></div></figure>
  </div>
  <div class="il-outcome-editor">
    <span id="il-outcomes-title">Outcomes</span>
    <ol class="il-outcomes" data-testid="outcomes" aria-labelledby="il-outcomes-title"></ol>
    <button type="button" data-testid="add-outcome">+ outcome</button>
  </div>
</section>
<section class="il-panel il-logits" data-part="logits" aria-labelledby="il-logits-title">
  <h2 id="il-logits-title">Logits to probabilities</h2>
  <div class="il-logit-grid">
    <figure class="il-chart"><figcaption>logits z (drag, arrow keys, or type)</figcaption><div class="il-bars il-bars-logits" role="group" aria-label="Bars of the logits" data-testid="bars-logits"></div></figure>
    <div class="il-logit-controls">
      <div class="il-logit-inputs" data-testid="logit-inputs"></div>
      <label class="il-field">Temperature T <input type="range" min="-1" max="1" step="0.01" data-testid="temperature"></label>
      <label class="il-field">T = <input type="number" min="0.01" step="0.1" data-testid="temperature-value"></label>
      <label class="il-field">Target <select data-testid="target"></select></label>
      <label class="il-field">Label smoothing ε <input type="range" min="0" max="1" step="0.01" data-testid="smoothing"> <output data-testid="smoothing-value"></output></label>
    </div>
  </div>
  <div class="il-scroll"><table class="il-table" data-testid="logits-table"></table></div>
  <p class="il-note" data-testid="plain-note"></p>
  <p>Loss H(t, softmax(z / T)) = <output data-testid="loss"></output> (torch.nn.functional.cross_entropy of z / T); its gradient with respect to z is (q − t) / T: softmax minus one-hot at T = 1.</p>
</section>
<section class="il-panel il-measures" aria-labelledby="il-measures-title">
  <h2 id="il-measures-title">The numbers</h2>
  <div class="il-cards">${MEASURES.map(([testid, , name, what]) => `
    <div class="il-card"><span class="il-card-name">${name}</span><output data-testid="${testid}"></output><span class="il-card-what">${what}</span></div>`).join("")}
  </div>
  <svg class="il-stack" data-testid="stack" viewBox="-2 0 604 74" role="img"></svg>
  <p class="il-identity" data-testid="identity"></p>
</section>
<section class="il-panel il-surprisal-panel" aria-labelledby="il-surprisal-title">
  <h2 id="il-surprisal-title">Surprisal −log q, weighted by p</h2>
  <svg class="il-surprisal" data-testid="surprisal" viewBox="-2 -4 604 222" role="img" aria-label="Surprisal columns"></svg>
  <p class="il-note" data-testid="surprisal-caption"></p>
</section>
<section class="il-panel il-coding" aria-labelledby="il-coding-title">
  <h2 id="il-coding-title">Codes: H(p) and H(p,q) as bits</h2>
  <div class="il-scroll"><table class="il-table" data-testid="code-table"></table></div>
  <p>Code for p under p: L<sub>p</sub>(code<sub>p</sub>) = <output data-testid="huffman-p-length"></output> <span data-testid="huffman-p-bound"></span></p>
  <p>Code for q under p: L<sub>p</sub>(code<sub>q</sub>) = <output data-testid="huffman-q-length"></output> <span data-testid="huffman-q-compare"></span></p>
  <div class="il-trees">
    <figure><figcaption>Huffman tree for <b class="il-key-p">p</b></figcaption><svg data-testid="tree-p" role="img"></svg></figure>
    <figure><figcaption>Huffman tree for <b class="il-key-q">q</b></figcaption><svg data-testid="tree-q" role="img"></svg></figure>
  </div>
  <div class="il-sampler">
    <label class="il-field">N <input type="number" min="1" max="100000" data-testid="sample-n"></label>
    <label class="il-field">seed <input type="number" min="0" data-testid="seed"></label>
    <button type="button" data-testid="sample">Sample again</button>
  </div>
  <p>N symbols drawn from p (seed in the link), written with q's code: <output data-testid="sample-rate"></output></p>
  <p class="il-note">Counts: <span data-testid="sample-counts"></span><br><span class="il-word" data-testid="sample-head"></span></p>
</section>
<section class="il-panel il-python" aria-labelledby="il-python-title">
  <h2 id="il-python-title">The same numbers in Python</h2>
  <pre data-testid="python-code" tabindex="0"></pre>
  <button type="button" data-testid="copy-python">Copy Python</button><span class="il-status" data-testid="copy-python-status" role="status"></span>
</section>`;
}

// --------------------------------------------------------------------------------------------
// Small DOM helpers
// --------------------------------------------------------------------------------------------

const SVG_TAGS = new Set(["svg", "rect", "line", "text", "circle"]);

/** An HTML or SVG element with attributes and children (null children are skipped). */
function el(tag, attributes = {}, ...children) {
  const node = SVG_TAGS.has(tag) ? document.createElementNS(SVG, tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function rect(x, y, width, height, cls) {
  return el("rect", { x, y, width: Math.max(0, width), height: Math.max(0, height), class: cls });
}

function line(x1, y1, x2, y2, cls) {
  return el("line", { x1, y1, x2, y2, class: cls });
}

function text(x, y, content, cls, anchor = "start") {
  return el("text", { x, y, class: cls, "text-anchor": anchor }, content);
}

function setNumber(node, value, unit, suffix = "") {
  node.dataset.value = String(value);
  node.textContent = `${formatNumber(value)} ${unit}${suffix}`;
}

/** Two to five round tick values from 0 to `top`. */
function niceTicks(top) {
  const step = [1, 2, 5, 10, 20, 50].find((s) => top / s <= 5) || Math.ceil(top / 5);
  const ticks = [];
  for (let t = step; t < top; t += step) ticks.push(t);
  return ticks;
}

function fixed(v) {
  return Number.isFinite(v) ? v.toFixed(4) : formatNumber(v);
}

function round(v, decimals) {
  const scale = 10 ** decimals;
  return Math.round(v * scale) / scale;
}

function temperatureOf(sliderValue) {
  return round(10 ** Number(sliderValue), 2);
}

function nextLabel(labels) {
  for (let c = 0; c < 26; c++) {
    const candidate = String.fromCharCode(97 + c);
    if (!labels.includes(candidate)) return candidate;
  }
  return String(labels.length + 1);
}

function sameState(a, b) {
  const keys = b.mode === "logits" ? ["mode", "logits", "temperature", "target", "smoothing"] : ["mode", "p", "q"];
  return keys.every((key) => JSON.stringify(a[key]) === JSON.stringify(b[key]));
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
