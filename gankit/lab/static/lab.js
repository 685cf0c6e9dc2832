// gankit lab: the page. Commands go to the server over one WebSocket; frames come back and
// are drawn on the next animation frame (only the newest: a stale one is never drawn).
"use strict";

const $ = (s) => document.querySelector(s);
const state = {
  ws: null, choices: null, frame: null, pending: null, nextId: 1, sent: {},
  drawing: false, drawn: [], panels: [], lastExtent: null,
};
// the page's own counters, read by the benchmark and the browser tests
window.labStats = {
  frames: 0, received: 0, fps: 0, renderMs: 0, latencies: [], lastStep: 0, errors: 0, messages: 0,
};

const COMPARE = {
  loss: [{ "loss.name": "minimax" }, { "loss.name": "bce" }],
  r1: [{ "loss.r1": 0 }, { "loss.r1": 0.1 }],
  latent: [{ "model.latent_dim": 1 }, { "model.latent_dim": 20 }, { "model.latent_dim": 100 }],
  pack: [{ "model.pack": 1 }, { "model.pack": 4 }],
};

function send(msg) {
  if (!state.ws || state.ws.readyState !== 1) { say("not connected to the lab server"); return 0; }
  const id = state.nextId++;
  state.sent[id] = performance.now();
  state.ws.send(JSON.stringify({ ...msg, id }));
  return id;
}

function say(text, info) {
  const m = $("#message");
  m.textContent = text; m.hidden = !text; m.className = info ? "info" : "";
  window.labStats.messages++;
  clearTimeout(say.timer);
  if (text) say.timer = setTimeout(() => { m.hidden = true; }, info ? 4000 : 9000);
}

function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  state.ws = ws;
  ws.onopen = () => { openFromUrl(); };
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === "frame") { state.pending = msg; window.labStats.received++; return; }
    if (msg.type === "error") { window.labStats.errors++; say(msg.message); return; }
    if (msg.type === "saved") { say(savedText(msg.paths), true); return; }
    if (msg.type === "scenario") { onScenario(msg.scenario); return; }
  };
  ws.onclose = () => { say("the lab server closed the connection; reload the page once it runs again"); };
}

function savedText(paths) {
  if (paths.length === 1) return `saved the run to ${paths[0]}: try gankit eval / doctor / report on it`;
  return `saved the runs, one per panel, to ${paths.join(", ")}: try gankit eval / doctor / report on each, or gankit compare on them`;
}

// --- drawing ---------------------------------------------------------------------------
let fpsCount = 0, fpsSince = performance.now();
function tick() {
  const msg = state.pending;
  if (msg) {
    state.pending = null;
    const t0 = performance.now();
    render(msg);
    window.labStats.renderMs = 0.9 * window.labStats.renderMs + 0.1 * (performance.now() - t0);
    window.labStats.frames++;
    fpsCount++;
    state.lastMsg = msg;
    const now = performance.now();
    for (const id of Object.keys(state.sent)) { // a command's effect is on screen now
      if (+id <= msg.ack) { window.labStats.latencies.push(now - state.sent[id]); delete state.sent[id]; }
    }
  }
  else if (render.redrawDrawn && state.lastMsg) { render(state.lastMsg); }
  render.redrawDrawn = false;
  const now = performance.now();
  if (now - fpsSince >= 1000) {
    window.labStats.fps = fpsCount * 1000 / (now - fpsSince);
    setText($("#fps"), window.labStats.fps.toFixed(0));
    fpsCount = 0; fpsSince = now;
  }
  requestAnimationFrame(tick);
}

function panelElements(n) {
  const box = $("#panels");
  while (state.panels.length < n) {
    const node = $("#panel-template").content.firstElementChild.cloneNode(true);
    box.appendChild(node);
    const p = {
      node, view: node.querySelector(".view"), chart: node.querySelector(".chart"),
      divergence: node.querySelector(".divergence"),
    };
    p.view.addEventListener("pointerdown", (e) => drawAt(e, p));
    p.view.addEventListener("pointermove", (e) => { if (e.buttons) drawAt(e, p); });
    state.panels.push(p);
  }
  while (state.panels.length > n) state.panels.pop().node.remove();
}

function viewOptions() {
  const v = (id) => $(id).checked;
  return {
    field: v("#v-field"), real: v("#v-real"), fake: v("#v-fake"), push: v("#v-push"),
    manifold: v("#v-manifold"), arrowScale: Math.pow(10, ($("#arrowscale").value - 50) / 50),
  };
}

function render(msg) {
  window.labFrame = msg; // the frame on screen, for tests and the curious (console)
  const panels = msg.panels;
  panelElements(panels.length);
  const lead = panels[0];
  state.frame = lead;
  const pal = state.choices.palettes[lead.controls["viz.palette"]];
  const opts = viewOptions();
  panels.forEach((f, i) => {
    const p = state.panels[i];
    setText(p.node.querySelector(".label"), f.label || `${f.data} · ${f.controls["loss.name"]}`);
    const push = Draw.arrowScale(p, f);
    p.map = Draw.view(p.view, f, pal, { ...opts, unit: push.unit }, i === 0 ? state.drawn : null);
    Draw.lossChart(p.chart, f);
    Draw.divergenceChart(p.divergence, f);
    setHTML(p.node.querySelector(".legend"),
      `<i style="background:${pal.real}"></i>real <i style="background:${pal.fooled}"></i>fake, fools D ` +
      `<i style="background:${pal.caught}"></i>fake, caught · D(x): ${fmt(f.stats.d_real)} real, ${fmt(f.stats.d_fake)} fake · G's push ${push.mean.toPrecision(2)}` +
      (f.finite ? "" : " · <b>G's samples are NaN</b>"));
    const body = p.node.querySelector(".scores tbody");
    setHTML(body, f.scores.map((r) => `<tr><td>${esc(r[0])}</td><td>${esc(r[1])}</td><td>${esc(r[2])}</td></tr>`).join(""));
    renderDoctor(p.node.querySelector(".doctor ul"), f.findings, i, f.controls);
  });
  state.lastExtent = lead.extent;
  window.labStats.lastStep = lead.step;
  window.labStats.panels = panels.map((f) => f.step);
  setText($("#stepcount"), `step ${lead.step.toLocaleString()}`);
  setText($("#rate"), lead.rate.toFixed(0));
  setText($("#play"), lead.playing ? "❚❚ Pause" : "▶ Play");
  if (lead.message && lead.message !== render.lastMessage) say(lead.message, lead.message.startsWith("applied"));
  render.lastMessage = lead.message;
  syncControls(lead);
}

function renderDoctor(ul, findings, panel, controls) {
  const key = JSON.stringify([findings.length, controls]);
  if (ul._key === key) return; // nothing new: keep the list (and its buttons) as it is
  ul._key = key;
  if (!findings.length) { ul.innerHTML = '<li class="none">no problem found so far</li>'; return; }
  ul.innerHTML = "";
  for (const f of findings.slice().reverse()) {
    const li = document.createElement("li");
    const ev = Object.entries(f.evidence || {}).slice(0, 4).map(([k, v]) => `${k} = ${(+v).toPrecision(3)}`).join(", ");
    li.innerHTML = `<span class="sev-${f.severity}">${esc(f.name.replace(/_/g, " "))}</span> (steps ${f.steps[0]}–${f.steps[1]}): ${esc(f.summary)}<div class="evidence">${esc(ev)}</div>`;
    for (const [changes, command] of (f.actions || []).slice(0, 4)) {
      const b = document.createElement("button");
      b.textContent = "apply " + Object.entries(changes).map(([k, v]) => `${k} = ${v}`).join(", ");
      b.title = command;
      b.onclick = () => send({ op: "remedy", command, panel });
      li.appendChild(b);
    }
    ul.appendChild(li);
  }
}

// DOM writes only where the text changed: a write forces the browser to lay the page out
// again, which costs more than the canvases at twenty frames a second
function setHTML(el, html) { if (el._html !== html) { el.innerHTML = html; el._html = html; } }
function setText(el, text) { if (el.textContent !== text) el.textContent = text; }

const fmt = (v) => (v === undefined || v === null ? "–" : (+v).toFixed(2));
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

// --- controls --------------------------------------------------------------------------
function syncControls(f) {
  for (const el of document.querySelectorAll("[data-key]")) {
    if (el === document.activeElement) continue; // the user is typing in it
    const v = f.controls[el.dataset.key];
    if (el.type === "checkbox") { if (el.checked !== !!v) el.checked = !!v; continue; }
    const text = String(Array.isArray(v) ? v.join(", ") : v);
    if (el.value !== text) el.value = text;
  }
  for (const b of document.querySelectorAll("#datasets button")) {
    if (b.classList.contains("on") !== (b.dataset.name === f.data)) b.classList.toggle("on");
  }
}

function controlValue(el) {
  if (el.type === "checkbox") return el.checked;
  if (el.type === "number") {
    if (el.value.trim() === "" || !isFinite(+el.value)) return el.value; // the server says why
    return +el.value;
  }
  return el.value;
}

function setupControls() {
  const c = state.choices;
  for (const el of document.querySelectorAll("select[data-key]")) {
    for (const o of c[el.dataset.key] || []) {
      const opt = document.createElement("option");
      opt.value = o; opt.textContent = o;
      el.appendChild(opt);
    }
  }
  for (const el of document.querySelectorAll("[data-key]")) {
    el.addEventListener("change", () => send({ op: "set", changes: { [el.dataset.key]: controlValue(el) } }));
  }
  for (const name of c.data) {
    const b = document.createElement("button");
    b.textContent = name; b.dataset.name = name;
    b.onclick = () => send({ op: "data", name });
    $("#datasets").appendChild(b);
  }
  for (const b of document.querySelectorAll("#problems button")) {
    b.onclick = () => { send({ op: "problem", name: b.dataset.problem }); say(`${b.textContent}: press Play and watch — ${b.title}`, true); };
  }
  $("#play").onclick = () => send({ op: state.frame && state.frame.playing ? "pause" : "play" });
  $("#speed").onchange = (e) => send({ op: "speed", per_s: e.target.value ? +e.target.value : null });
  $("#step").onclick = () => send({ op: "step" });
  $("#d_step").onclick = () => send({ op: "d_step" });
  $("#g_step").onclick = () => send({ op: "g_step" });
  $("#reset").onclick = () => send({ op: "reset" });
  $("#save").onclick = () => { say("saving the run (scores, GIF and report take a few seconds)…", true); send({ op: "save" }); };
  $("#scenario").onclick = () => { state.wantScenario = "download"; send({ op: "scenario" }); };
  $("#share").onclick = () => { state.wantScenario = "link"; send({ op: "scenario" }); };
  $("#open").onchange = (e) => readFile(e.target.files[0], (text) => {
    let obj;
    try { obj = JSON.parse(text); } catch (err) { say(`${e.target.files[0].name} is not JSON (${err.message})`); return; }
    send({ op: "open", scenario: obj });
  }, true);
  $("#upload").onchange = (e) => {
    const file = e.target.files[0];
    if (file) readFile(file, (b64) => send({ op: "upload", name: file.name, content: b64 }), false);
    e.target.value = "";
  };
  $("#drawmode").onclick = () => {
    state.drawing = !state.drawing;
    $("#drawmode").classList.toggle("on", state.drawing);
    for (const p of state.panels) p.view.classList.toggle("drawing", state.drawing);
  };
  $("#cleardrawn").onclick = () => { state.drawn = []; render.redrawDrawn = true; };
  $("#usedrawn").onclick = () => {
    send({ op: "draw", points: state.drawn.map((p) => (state.frame.dim === 1 ? [p[0]] : p)) });
    state.drawn = [];
  };
  $("#compare").onchange = (e) => send({ op: "compare", variants: COMPARE[e.target.value] || [] });
  for (const el of document.querySelectorAll("[id^=v-], #arrowscale")) el.addEventListener("input", () => { render.redrawDrawn = true; });
  const slice = () => send({ op: "slice", dims: [+$("#slice0").value, +$("#slice1").value] });
  $("#slice0").onchange = slice; $("#slice1").onchange = slice;
  document.addEventListener("keydown", (e) => {
    if (e.code === "Space" && !/INPUT|SELECT|TEXTAREA/.test(document.activeElement.tagName)) {
      e.preventDefault(); $("#play").click();
    }
  });
}

function drawAt(e, p) {
  if (!state.drawing || !p.map) return;
  const r = p.view.getBoundingClientRect();
  const px = (e.clientX - r.left) * p.view.width / r.width, py = (e.clientY - r.top) * p.view.height / r.height;
  const [x, y] = p.map.inv(px, py);
  const last = state.drawn[state.drawn.length - 1];
  if (!last || Math.hypot(last[0] - x, last[1] - y) > 0.01) state.drawn.push([+x.toFixed(4), +y.toFixed(4)]);
  if (state.frame) render.redrawDrawn = true;
}

function readFile(file, done, asText) {
  if (!file) return;
  const reader = new FileReader();
  reader.onerror = () => say(`could not read ${file.name}`);
  reader.onload = () => {
    if (asText) { done(reader.result); return; }
    const bytes = new Uint8Array(reader.result);
    let bin = "";
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    done(btoa(bin));
  };
  if (asText) reader.readAsText(file); else reader.readAsArrayBuffer(file);
}

// --- scenarios -------------------------------------------------------------------------
function b64url(text) { return btoa(unescape(encodeURIComponent(text))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""); }
function unb64url(s) { return decodeURIComponent(escape(atob(s.replace(/-/g, "+").replace(/_/g, "/")))); }

function onScenario(sc) {
  const text = JSON.stringify(sc, null, 1);
  if (state.wantScenario === "link") {
    const url = `${location.origin}/#scenario=${b64url(JSON.stringify(sc))}`;
    history.replaceState(null, "", url);
    (navigator.clipboard ? navigator.clipboard.writeText(url) : Promise.reject()).then(
      () => say("link copied: it opens this scenario in any gankit lab", true),
      () => say("the address bar now holds a link to this scenario", true));
    return;
  }
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  a.download = `gankit-lab-${sc.preset}-seed${sc.seed}.json`;
  a.click();
}

function openFromUrl() {
  const m = location.hash.match(/scenario=([A-Za-z0-9_-]+)/);
  if (!m) return;
  try { send({ op: "open", scenario: JSON.parse(unb64url(m[1])) }); } catch (err) { say(`the link holds no readable scenario (${err.message})`); }
}

fetch("/choices").then((r) => r.json()).then((c) => {
  state.choices = c;
  setupControls();
  connect();
  requestAnimationFrame(tick);
});
