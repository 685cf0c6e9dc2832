"""The page's inline CSS and JS: small, no web fonts, no libraries, nothing fetched.

The CSS lays the page out for a laptop and, below 700 px, for a phone: nothing is wider than
the screen (pictures scale down, the grid of curves becomes one column, the protocol table's
rows become cards, any other table scrolls inside its own box).

The JS does three things: it plays the training animation from the slider's frames (the
frames are embedded once), it drives the snapshot slider (and its play button), and once the
page has loaded it sets ``body[data-ready]`` to "yes" only when every picture decoded, so a
headless browser (the tests) can tell a page whose pictures all show from a broken one.
"""

CSS = """
:root { --ink:#1d2228; --muted:#5f6b76; --line:#e2e6ea; --bg:#f6f7f9; --card:#fff;
  --error:#c62828; --warning:#e08a00; --info:#1565c0; --ok:#2e7d32; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif; }
main { max-width:1160px; margin:0 auto; padding:0 20px 40px; }
header.top { background:#1f2933; color:#fff; padding:22px 0 18px; margin-bottom:18px; }
header.top .inner { max-width:1160px; margin:0 auto; padding:0 20px; }
.kicker { text-transform:uppercase; letter-spacing:.08em; font-size:12px; color:#aeb8c2; }
h1 { margin:2px 0 12px; font-size:26px; font-weight:650; word-break:break-all; }
dl.facts { display:flex; flex-wrap:wrap; gap:6px 26px; margin:0 0 14px; }
dl.facts div { min-width:90px; } dl.facts dt { font-size:12px; color:#aeb8c2; }
dl.facts dd { margin:0; font-weight:600; }
.verdict { display:inline-block; margin:0; padding:6px 14px; border-radius:6px;
  font-weight:650; color:#fff; }
.verdict.ok { background:var(--ok); } .verdict.warning { background:var(--warning); }
.verdict.error { background:var(--error); }
.events { margin:10px 0 0; color:#d6dde3; font-size:13px; }
nav { display:flex; flex-wrap:wrap; gap:4px 18px; font-size:14px; margin:0 0 6px; }
nav a { color:var(--info); text-decoration:none; } nav a:hover { text-decoration:underline; }
section { background:var(--card); border:1px solid var(--line); border-radius:10px;
  padding:16px 22px 20px; margin:16px 0; }
h2 { font-size:20px; margin:0 0 12px; } h3 { font-size:17px; margin:0; }
.note { color:var(--muted); font-style:italic; }
.good { color:var(--ok); font-weight:600; }
code { font:13px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace; }
.finding { border:1px solid var(--line); border-left:6px solid var(--muted);
  border-radius:8px; padding:12px 16px; margin:12px 0; }
.finding.error { border-left-color:var(--error); }
.finding.warning { border-left-color:var(--warning); }
.finding.info { border-left-color:var(--info); }
.finding-head { display:flex; align-items:center; gap:12px; flex-wrap:wrap; margin-bottom:6px; }
.badge { color:#fff; border-radius:4px; padding:1px 8px; font-size:12px; font-weight:700;
  text-transform:uppercase; letter-spacing:.04em; background:var(--muted); }
.badge.error { background:var(--error); } .badge.warning { background:var(--warning); }
.badge.info { background:var(--info); }
.steps { color:var(--muted); font-size:14px; }
.finding-body { display:flex; gap:22px; flex-wrap:wrap; align-items:flex-start; }
.finding-text { flex:1 1 380px; min-width:min(300px,100%); }
.finding-body figure { flex:0 1 560px; min-width:0; }
.label { margin:10px 0 4px; font-weight:600; font-size:14px; }
ul.remedies { list-style:none; padding:0; margin:0; }
ul.remedies code { display:block; background:#f1f3f5; border:1px solid var(--line);
  border-radius:5px; padding:5px 9px; margin:3px 0; user-select:all; white-space:pre-wrap;
  overflow-wrap:anywhere; }
.table-box { max-width:100%; overflow-x:auto; }
table { border-collapse:collapse; font-size:14px; }
th, td { text-align:left; padding:4px 12px 4px 0; border-bottom:1px solid var(--line);
  vertical-align:top; overflow-wrap:break-word; }
table.evidence td { overflow-wrap:anywhere; }
p code, .note code, footer { overflow-wrap:anywhere; }
thead th { font-size:12px; text-transform:uppercase; letter-spacing:.05em; color:var(--muted); }
table.evidence td:last-child { font-variant-numeric:tabular-nums; }
table.scores { width:100%; } table.scores td.num { font-variant-numeric:tabular-nums; }
.chips { display:flex; flex-wrap:wrap; gap:3px 5px; }
.chip { background:#eef1f4; border-radius:4px; padding:0 6px; font-size:12px; }
.chip b { font-weight:600; }
details.sub summary { font-size:12px; color:var(--muted); cursor:pointer; }
figure { margin:0; } figcaption { font-size:13px; color:var(--muted); margin:2px 0 4px; }
img { max-width:100%; height:auto; display:block; }
.grid { display:grid; grid-template-columns:repeat(auto-fill,minmax(min(520px,100%),1fr));
  gap:14px 22px; }
.grid > figure { min-width:0; } .grid .wide { grid-column:1 / -1; }
.pictures figure, .frames { display:flex; flex-direction:column; align-items:center; }
.pictures figure { margin:0 0 18px; max-width:100%; }
.pictures .pair-row { display:flex; flex-wrap:wrap; justify-content:center; gap:8px 24px;
  align-self:stretch; }
.pictures .pair-row figure { margin:0; min-width:0; }
img.anim { cursor:pointer; }
/* an image run's frames are drawn large for the slider; the animation only shows motion */
img.anim.pix { max-height:460px; width:auto; image-rendering:auto; }
.list { font-size:12px; color:var(--muted); line-height:1.35; margin-top:2px; }
.pix { image-rendering:pixelated; }
.slider .controls { display:flex; flex-wrap:wrap; align-items:center; gap:8px 14px;
  margin:0 0 10px; }
.slider input[type=range] { flex:1; min-width:120px; }
.slider .step { min-width:210px; font-variant-numeric:tabular-nums; font-weight:600; }
.slider button { font:inherit; padding:3px 12px; border-radius:5px; border:1px solid #b8c0c8;
  background:#fff; cursor:pointer; }
.frames img[hidden] { display:none; }
details.config summary { cursor:pointer; font-weight:600; }
details.config pre { background:#f6f8fa; border:1px solid var(--line); border-radius:6px;
  padding:10px 14px; overflow:auto; max-height:640px; }
footer { color:var(--muted); font-size:12px; text-align:center; margin-top:20px; }
@media (max-width:700px) {
  main { padding:0 10px 28px; } header.top .inner { padding:0 14px; }
  header.top { padding:16px 0 14px; margin-bottom:12px; }
  h1 { font-size:22px; } dl.facts { gap:4px 18px; }
  section { padding:12px 14px 16px; margin:12px 0; border-radius:8px; }
  .finding { padding:10px 12px; }
  .slider .step { min-width:0; flex-basis:100%; }
  table.scores.protocols thead { display:none; }
  table.scores.protocols, table.scores.protocols tbody { display:block; }
  table.scores.protocols tr { display:grid; grid-template-columns:1fr 1fr; gap:4px 14px;
    padding:8px 0; border-bottom:1px solid var(--line); }
  table.scores.protocols td { border:0; padding:0; min-width:0; }
  table.scores.protocols td.name, table.scores.protocols td.protocol { grid-column:1 / -1; }
  table.scores.protocols td[data-label]::before { content:attr(data-label); display:block;
    font-size:11px; text-transform:uppercase; letter-spacing:.05em; color:var(--muted); }
}
"""

JS = """
"use strict";
document.querySelectorAll("img.anim").forEach(function (img) {
  var frames = document.querySelectorAll(img.dataset.frames);
  var ms = Number(img.dataset.ms) || 100;
  var i = 0, timer = null;
  if (!frames.length) { return; }
  function show(k) { i = k; img.src = frames[k].src; img.dataset.step = frames[k].dataset.step; }
  function tick() {  // like the GIF, loop forever; hold the last frame a little longer
    var next = (i + 1) % frames.length;
    show(next);
    timer = setTimeout(tick, next === frames.length - 1 ? Math.max(ms, 1500) : ms);
  }
  function playing() { return timer !== null; }
  function pause() { clearTimeout(timer); timer = null; }
  img.addEventListener("click", function () { if (playing()) { pause(); } else { tick(); } });
  var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  if (still) { show(frames.length - 1); } else { show(0); timer = setTimeout(tick, ms); }
});
document.querySelectorAll(".slider").forEach(function (box) {
  var frames = box.querySelectorAll(".frames img");
  var range = box.querySelector("input[type=range]");
  var label = box.querySelector(".step");
  var play = box.querySelector("button.play");
  var timer = null;
  function show(i) {
    frames.forEach(function (img, j) { img.hidden = j !== i; });
    label.textContent = "step " + frames[i].dataset.step + "  (" + (i + 1) + " of " +
      frames.length + ")";
    range.value = String(i);
  }
  function stop() { clearInterval(timer); timer = null; play.textContent = "\\u25B6 play"; }
  range.addEventListener("input", function () { stop(); show(Number(range.value)); });
  play.addEventListener("click", function () {
    if (timer) { stop(); return; }
    if (Number(range.value) >= frames.length - 1) { show(0); }
    play.textContent = "\\u275A\\u275A pause";
    timer = setInterval(function () {
      var i = Number(range.value) + 1;
      if (i >= frames.length) { stop(); return; }
      show(i);
    }, 300);
  });
  show(Number(range.value));
});
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (img) { return !(img.complete && img.naturalWidth > 0); });
  document.body.dataset.images = String(images.length);
  document.body.dataset.ready = broken.length ? "broken" : "yes";
});
"""
