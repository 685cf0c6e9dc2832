// gankit lab: drawing one panel's frame on its canvases. No library: the 2-D canvas API only.
"use strict";

const Draw = (() => {
  const PAD = 8;

  function hexRgb(hex) {
    const v = parseInt(hex.slice(1), 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  }

  // data coordinates -> canvas pixels for a 2-D extent [x0, x1, y0, y1] (y up)
  function mapper(extent, w, h) {
    const [x0, x1, y0, y1] = extent.length === 4 ? extent : [extent[0], extent[1], 0, 1];
    const sx = (w - 2 * PAD) / (x1 - x0), sy = (h - 2 * PAD) / (y1 - y0);
    return {
      x: (v) => PAD + (v - x0) * sx,
      y: (v) => h - PAD - (v - y0) * sy,
      inv: (px, py) => [x0 + (px - PAD) / sx, y0 + (h - PAD - py) / sy],
      sx, sy,
    };
  }

  // D's realness as a picture: caught-tinted where D says fake, fooled-tinted where real
  const fieldCanvas = document.createElement("canvas");
  function drawField(ctx, f, pal, w, h) {
    const n = f.grid;
    fieldCanvas.width = n; fieldCanvas.height = n;
    const fc = fieldCanvas.getContext("2d");
    const img = fc.createImageData(n, n);
    const lo = hexRgb(pal.caught), hi = hexRgb(pal.fooled);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const t = f.field[r * n + c] / 255;
        const o = ((n - 1 - r) * n + c) * 4; // row 0 of the grid is the bottom of the plot
        const a = Math.abs(t - 0.5) * 2 * 0.55 + 0.06;
        const col = t >= 0.5 ? hi : lo;
        for (let k = 0; k < 3; k++) img.data[o + k] = Math.round(255 * (1 - a) + col[k] * a);
        img.data[o + 3] = 255;
      }
    }
    fc.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(fieldCanvas, PAD, PAD, w - 2 * PAD, h - 2 * PAD);
  }

  function drawManifold(ctx, m, map) {
    const pts = m.points;
    ctx.save();
    if (m.side === 0) { // a 1-D latent: G's curve
      ctx.strokeStyle = "rgba(40,40,40,0.55)"; ctx.lineWidth = 1.5;
      ctx.beginPath();
      pts.forEach((p, i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, map.x(p[0]), map.y(p[1])));
      ctx.stroke();
    } else { // a 2-D latent grid: cells shaded by density (small cell = many samples)
      const s = m.side, at = (i, j) => pts[i * s + j];
      const cellArea = [];
      let total = 0;
      for (let i = 0; i + 1 < s; i++) for (let j = 0; j + 1 < s; j++) {
        const a = at(i, j), b = at(i, j + 1), c = at(i + 1, j + 1), d = at(i + 1, j);
        const px = [a, b, c, d].map((p) => [map.x(p[0]), map.y(p[1])]);
        let area = 0;
        for (let k = 0; k < 4; k++) {
          const [x1, y1] = px[k], [x2, y2] = px[(k + 1) % 4];
          area += x1 * y2 - x2 * y1;
        }
        area = Math.abs(area) / 2 + 1e-3;
        cellArea.push([px, area]);
        total += area;
      }
      const mean = total / cellArea.length;
      for (const [px, area] of cellArea) {
        const alpha = Math.min(0.5, 0.12 * mean / area);
        ctx.fillStyle = `rgba(60,60,60,${alpha.toFixed(3)})`;
        ctx.beginPath(); px.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
        ctx.closePath(); ctx.fill();
      }
      ctx.strokeStyle = "rgba(40,40,40,0.18)"; ctx.lineWidth = 0.7;
      for (let i = 0; i < s; i++) {
        ctx.beginPath();
        for (let j = 0; j < s; j++) { const p = at(i, j); (j ? ctx.lineTo : ctx.moveTo).call(ctx, map.x(p[0]), map.y(p[1])); }
        ctx.stroke();
        ctx.beginPath();
        for (let j = 0; j < s; j++) { const p = at(j, i); (j ? ctx.lineTo : ctx.moveTo).call(ctx, map.x(p[0]), map.y(p[1])); }
        ctx.stroke();
      }
    }
    ctx.restore();
  }

  function dots(ctx, pts, colourOf, r, map, oneD, h) {
    for (let i = 0; i < pts.length; i++) {
      const p = pts[i];
      ctx.fillStyle = colourOf(i);
      ctx.beginPath();
      const y = oneD ? h - PAD - 14 - ((i * 7919) % 23) : map.y(p[1]);
      ctx.arc(map.x(p[0]), y, r, 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  // The arrows' scale follows the largest mean push seen lately, decaying slowly (by half
  // in about half a minute): arrows stay visible as training settles, yet a push that
  // vanishes (minimax against a confident D) is seen to shrink, not rescaled away.
  function arrowScale(panel, f) {
    let mean = 0;
    for (const g of f.push) mean += Math.hypot(g[0], g[1] || 0);
    mean /= Math.max(1, f.push.length);
    if (!panel.ref || f.step < (panel.refStep || 0)) panel.ref = mean; // reset: a fresh G
    panel.ref = Math.max(panel.ref * 0.999, mean, 1e-12);
    panel.refStep = f.step;
    return { mean, unit: 1 / panel.ref };
  }

  function arrows(ctx, f, map, opts, oneD, h) {
    ctx.save();
    ctx.strokeStyle = "rgba(30,30,30,0.6)"; ctx.lineWidth = 1;
    const px = 14 * opts.arrowScale * opts.unit; // a mean-sized push at its peak: 14 px
    for (let i = 0; i < f.fake.length; i++) {
      const p = f.fake[i], g = f.push[i];
      const x = map.x(p[0]), y = oneD ? h - PAD - 14 - ((i * 7919) % 23) : map.y(p[1]);
      let dx = g[0] * px, dy = oneD ? 0 : -(g[1] || 0) * px;
      const len = Math.hypot(dx, dy), cap = 60;
      if (len > cap) { dx *= cap / len; dy *= cap / len; }
      if (len < 0.5) continue;
      ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + dx, y + dy);
      const a = Math.atan2(dy, dx), hl = Math.min(5, 0.4 * Math.hypot(dx, dy));
      ctx.lineTo(x + dx - hl * Math.cos(a - 0.5), y + dy - hl * Math.sin(a - 0.5));
      ctx.moveTo(x + dx, y + dy);
      ctx.lineTo(x + dx - hl * Math.cos(a + 0.5), y + dy - hl * Math.sin(a + 0.5));
      ctx.stroke();
    }
    ctx.restore();
  }

  function histogram(ctx, xs, map, extent, colour, fill, w, h) {
    const bins = 40, counts = new Array(bins).fill(0), [x0, x1] = extent;
    for (const x of xs) {
      const b = Math.floor((x - x0) / (x1 - x0) * bins);
      if (b >= 0 && b < bins) counts[b]++;
    }
    const top = Math.max(...counts, 1), bw = (w - 2 * PAD) / bins;
    ctx.save();
    for (let b = 0; b < bins; b++) {
      const bh = counts[b] / top * (h * 0.55);
      if (fill) { ctx.fillStyle = colour; ctx.fillRect(PAD + b * bw, h - PAD - 40 - bh, bw - 1, bh); }
      else { ctx.strokeStyle = colour; ctx.lineWidth = 2; ctx.strokeRect(PAD + b * bw, h - PAD - 40 - bh, bw - 1, bh); }
    }
    ctx.restore();
  }

  function view(canvas, f, pal, opts, drawn) {
    const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
    const oneD = f.dim === 1;
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, h);
    const map = mapper(f.extent, w, h);
    if (oneD) {
      if (opts.real) histogram(ctx, f.real.map((p) => p[0]), map, f.extent, pal.real + "88", true, w, h);
      if (opts.fake) histogram(ctx, f.fake.map((p) => p[0]), map, f.extent, pal.fooled, false, w, h);
      if (opts.field) { // D's realness along x, 0 at the bottom, 1 at the top
        ctx.save(); ctx.strokeStyle = "#444"; ctx.lineWidth = 2; ctx.beginPath();
        f.field.forEach((v, i) => {
          const x = PAD + i / (f.grid - 1) * (w - 2 * PAD), y = h - PAD - 40 - v / 255 * (h * 0.7);
          (i ? ctx.lineTo : ctx.moveTo).call(ctx, x, y);
        });
        ctx.stroke(); ctx.setLineDash([4, 4]); ctx.strokeStyle = "#999";
        const half = h - PAD - 40 - 0.5 * h * 0.7;
        ctx.beginPath(); ctx.moveTo(PAD, half); ctx.lineTo(w - PAD, half); ctx.stroke(); ctx.restore();
      }
    } else {
      if (opts.field) drawField(ctx, f, pal, w, h);
      if (opts.manifold && f.manifold) drawManifold(ctx, f.manifold, map);
      if (opts.real) dots(ctx, f.real, () => pal.real + "b0", 3.2, map, false, h);
    }
    if (opts.fake) dots(ctx, f.fake, (i) => (f.fooled[i] ? pal.fooled : pal.caught), 2.6, map, oneD, h);
    if (opts.push) arrows(ctx, f, map, opts, oneD, h);
    if (drawn && drawn.length) {
      ctx.fillStyle = "#111";
      for (const p of drawn) { ctx.beginPath(); ctx.arc(map.x(p[0]), oneD ? h / 2 : map.y(p[1]), 3.5, 0, 2 * Math.PI); ctx.fill(); }
    }
    return map;
  }

  // Columns of the frame's curve (rows of [step, d_loss, g_loss, fooled, kl, js]) over the
  // steps. lines: [{col, colour, label, floor, range}]: a line with a fixed range ([lo, hi]:
  // JS lies in [0, ln 2]) has its own axis, on the right; the others share the left one,
  // which starts at 0 where opts.zero (divergences are never below). A floor is a dashed
  // level the line is read against. opts.empty: what it says before two rows exist.
  function chart(canvas, curve, lines, opts) {
    const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
    ctx.clearRect(0, 0, w, h); ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, h);
    ctx.font = "11px system-ui"; ctx.fillStyle = "#666";
    if (curve.length < 2) { ctx.fillText(opts.empty, 10, h / 2); return; }
    const ok = (v) => v !== null && v !== undefined && isFinite(v);
    const shared = lines.filter((l) => !l.range);
    const vals = curve.flatMap((r) => shared.map((l) => r[l.col])).concat(shared.map((l) => l.floor)).filter(ok);
    let lo = opts.zero ? 0 : Math.min(...vals, Infinity), hi = Math.max(...vals, -Infinity);
    if (!vals.length) { lo = 0; hi = 1; }
    if (hi - lo < 1e-6) { hi += 0.5; lo -= opts.zero ? 0 : 0.5; }
    const right = lines.some((l) => l.range) ? 34 : 10;
    const s0 = curve[0][0], s1 = curve[curve.length - 1][0];
    const X = (s) => 36 + (s - s0) / Math.max(1, s1 - s0) * (w - 36 - right);
    const Yof = ([a, b]) => (v) => h - 18 - (v - a) / (b - a) * (h - 30);
    for (const l of lines) {
      const Y = Yof(l.range || [lo, hi]);
      if (ok(l.floor)) {
        ctx.save(); ctx.setLineDash([4, 3]); ctx.lineWidth = 1; ctx.strokeStyle = l.colour; ctx.globalAlpha = 0.6;
        ctx.beginPath(); ctx.moveTo(36, Y(l.floor)); ctx.lineTo(w - right, Y(l.floor)); ctx.stroke(); ctx.restore();
      }
      ctx.strokeStyle = l.colour; ctx.lineWidth = 1.5; ctx.beginPath();
      let started = false;
      for (const r of curve) {
        if (!ok(r[l.col])) { started = false; continue; }
        (started ? ctx.lineTo : ctx.moveTo).call(ctx, X(r[0]), Y(r[l.col])); started = true;
      }
      ctx.stroke();
    }
    ctx.fillStyle = "#666";
    ctx.fillText(hi.toPrecision(3), 2, 12); ctx.fillText(lo.toPrecision(3), 2, h - 18);
    ctx.fillText(`step ${s0}`, 36, h - 4);
    ctx.textAlign = "right"; ctx.fillText(`${s1}`, w - right, h - 4);
    for (const l of lines.filter((l) => l.range)) { // its axis' ends, in its colour
      ctx.fillStyle = l.colour;
      ctx.fillText(l.rangeLabels[1], w - 2, 12); ctx.fillText(l.rangeLabels[0], w - 2, h - 18);
    }
    let at = w - right - 8; // the legend, from the right edge leftwards
    for (const l of lines.slice().reverse()) {
      ctx.fillStyle = l.colour; ctx.fillText(l.label, at, 12);
      at -= ctx.measureText(l.label).width + 10;
    }
    ctx.textAlign = "left";
  }

  const LOSS_LINES = [{ col: 1, colour: "#1f5fa8", label: "D loss" }, { col: 2, colour: "#d97700", label: "G loss" }];

  function lossChart(canvas, f) {
    chart(canvas, f.curve, LOSS_LINES, { empty: "losses appear after the first logged rows" });
  }

  // KL(real || fake) on the left axis, JS on its own, 0 to ln 2, on the right (on KL's
  // scale it would lie flat along the bottom); each with its real-data floor, dashed
  function divergenceChart(canvas, f) {
    const floor = f.divergence_floor || {};
    chart(canvas, f.curve, [
      { col: 4, colour: "#7b3fa0", label: "KL(real‖fake)", floor: floor.kl },
      { col: 5, colour: "#2a8a6a", label: "JS", floor: floor.js, range: [0, Math.LN2], rangeLabels: ["0", "ln 2"] },
    ], { zero: true, empty: "KL and JS appear after the first logged rows" });
  }

  return { view, lossChart, divergenceChart, arrowScale };
})();
