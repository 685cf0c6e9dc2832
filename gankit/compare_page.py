"""The HTML of compare.html: what differs between the runs, their scores side by side with
the real-data floors, their last pictures side by side, and their curves overlaid.

It is styled and encoded as report.html is (gankit.report's CSS, palette PNGs as data
URIs, html-escaped text), so the page names no URL outside itself. Layouts are grids that
fall to one column on a phone; the tables are one column per run, so they fit 390 pixels
for a handful of runs and scroll inside their own box beyond that.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from gankit import __version__
from gankit.compare import MISSING, ComparedRun
from gankit.config import IMAGE_DATA
from gankit.report.assets import CSS, JS
from gankit.report.encode import data_uri, figure_png, png_bytes
from gankit.report.plots import _style
from gankit.report.text import esc
from gankit.viz.curves import plot_series, read_metrics

# Okabe and Ito's colour-blind-safe colours, yellow last (faint on white)
RUN_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000"]
RUN_COLORS += ["#F0E442"]

# (metrics key, caption, log axis, 0..1 axis): one figure each, one line per run
QUANTITIES: list[tuple[str, str, bool, bool]] = [
    ("d_loss", "D loss", False, False),
    ("g_loss", "G loss", False, False),
    ("d_real", "D(real): mean realness D gives real batches", False, True),
    ("d_fake", "D(fake): mean realness D gives generated batches", False, True),
    ("fooled", "Share of generated samples that fool D", False, True),
    ("diversity", "Diversity of G's samples (1: as varied as the data)", False, False),
    ("drift", "Drift of G's samples since the last logged row", False, False),
    ("modes", "Modes G's samples reach", False, False),
    ("mode_kl", "How unevenly G spreads over the modes (reverse KL, 0: evenly)", False, False),
    ("high_quality", "Share of high-quality samples (close to a mode)", False, True),
    ("classes", "Digit classes G's samples reach", False, False),
    ("class_kl", "How unevenly G spreads over the classes (reverse KL)", False, False),
    ("d_grad_norm", "D's gradient norm (log scale)", True, False),
    ("g_grad_norm", "G's gradient norm (log scale)", True, False),
]
FIG_WIDTH, FIG_HEIGHT = 5.0, 2.6  # inches at 100 dpi: two to a row at 1,280 pixels

EXTRA_CSS = """
header.top h1 { word-break:normal; overflow-wrap:anywhere; }
.runs { display:grid; grid-template-columns:repeat(auto-fill,minmax(min(100%,250px),1fr));
  gap:10px; margin:4px 0 0; }
.run { background:#2b3640; border-radius:8px; padding:8px 12px; border-left:6px solid; }
.run .name { font-weight:650; overflow-wrap:anywhere; } .run a { color:#9fd0ff; }
.run .meta { color:#c7d0d8; font-size:13px; overflow-wrap:anywhere; }
.cgrid { display:grid; grid-template-columns:repeat(auto-fill,minmax(min(100%,460px),1fr));
  gap:14px 22px; }
.frames-row { display:grid; gap:14px 18px;
  grid-template-columns:repeat(auto-fit,minmax(min(100%,300px),1fr)); }
.frames-row figure { display:flex; flex-direction:column; align-items:center; }
.frames-row img { width:100%; max-width:640px; }
.swatch { display:inline-block; width:.8em; height:.8em; border-radius:2px;
  margin-right:5px; vertical-align:-1px; }
.scroll { overflow-x:auto; max-width:100%; }
table.cmp { width:auto; min-width:min(100%,520px); }
table.cmp th, table.cmp td { padding-right:22px; }
table.cmp tbody th { min-width:6.5em; position:sticky; left:0; background:var(--card); }
table.cmp td { min-width:5em; overflow-wrap:break-word; }
table.cmp td.num { font-variant-numeric:tabular-nums; text-align:right; }
table.cmp thead th.run-col { text-align:right; text-transform:none; letter-spacing:0; }
table.cmp .floor { display:block; color:var(--muted); font-size:12px; }
table.cmp tr.sub th, table.cmp tr.sub td { font-size:12px; color:var(--muted);
  font-weight:normal; }
table.cmp tr.sub td b { font-weight:normal; }
@media (max-width:600px) { main { padding:0 10px 30px; } section { padding:12px 12px 16px; }
  header.top .inner { padding:0 12px; }
  table.cmp th, table.cmp td { padding:4px 8px 4px 0; } }
"""


def _color(i: int) -> str:
    return RUN_COLORS[i % len(RUN_COLORS)]


def _swatch(i: int) -> str:
    return f'<span class="swatch" style="background:{_color(i)}"></span>'


def breakable(text: str) -> str:
    """Escaped, with line-break chances after the separators of run names and dotted keys
    (``latent_dim=1_name=bce``, ``model.latent_dim``), so a narrow column breaks there."""
    return re.sub(r"([._=/-])", r"\1<wbr>", esc(text))


def _head_cells(runs: Sequence[ComparedRun]) -> str:
    return "".join(
        f'<th class="run-col">{_swatch(i)}{breakable(r.label)}</th>' for i, r in enumerate(runs)
    )


# --- header --------------------------------------------------------------------------------


def _header(runs: Sequence[ComparedRun], out: Path) -> str:
    cards = []
    for i, r in enumerate(runs):
        s = r.summary
        report = r.path / "report.html"
        link = ""
        if report.is_file():  # a relative link: the page still names no outside resource
            href = os.path.relpath(report, out.parent).replace(os.sep, "/")
            link = f' · <a href="{esc(href)}">report</a>'
        cards.append(
            f'<div class="run" style="border-left-color:{_color(i)}">'
            f'<div class="name">{esc(r.label)}</div>'
            f'<div class="meta">{esc(s.preset)} · {esc(s.engine)} · step {s.step:,} of '
            f"{s.steps:,} · doctor: {esc(s.verdict)}{link}</div>"
            f'<div class="meta">{esc(r.path)}</div></div>'
        )
    return (
        '<header class="top"><div class="inner"><div class="kicker">gankit comparison</div>'
        f"<h1>{len(runs)} runs side by side</h1>"
        f'<div class="runs">{"".join(cards)}</div></div></header>'
    )


# --- sections ------------------------------------------------------------------------------


def _differences(runs: Sequence[ComparedRun], diffs: list[tuple[str, list[str]]]) -> str:
    if not diffs:
        return '<p class="note">The runs have the same config (only their meta differs).</p>'
    body = "".join(
        f"<tr><th><code>{breakable(key)}</code></th>"
        + "".join(f'<td class="num">{esc(v) if v != MISSING else MISSING}</td>' for v in values)
        + "</tr>"
        for key, values in diffs
    )
    return (
        f"<p>{len(diffs)} config {'keys differ' if len(diffs) > 1 else 'key differs'}; "
        "every other key is the same in all runs.</p>"
        f'<div class="scroll"><table class="cmp"><thead><tr><th>key</th>{_head_cells(runs)}'
        f"</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _scores(
    runs: Sequence[ComparedRun], grid: list[tuple[str, list[tuple[str, str] | None]]]
) -> str:
    notes = [r.scores_note for r in runs]
    if not grid:
        return '<p class="note">None of these runs has been scored (no eval.json).</p>'
    rows = []
    for name, cells in grid:
        tds = []
        for cell in cells:
            if cell is None:
                tds.append(f'<td class="num">{MISSING}</td>')
                continue
            value, floor = cell
            floor_html = f'<span class="floor">real data {esc(floor)}</span>' if floor else ""
            tds.append(f'<td class="num"><b>{esc(value)}</b>{floor_html}</td>')
        sub = (
            ' class="sub"' if name != name.lstrip() else ""
        )  # an indented row qualifies the one above
        rows.append(f"<tr{sub}><th>{esc(name.strip())}</th>{''.join(tds)}</tr>")
    if any(notes):
        rows.append(
            "<tr><th></th>" + "".join(f'<td class="num note">{esc(n)}</td>' for n in notes)
            + "</tr>"
        )  # fmt: skip
    return (
        "<p>Each run's headline scores from its eval.json; beneath each value, the same score "
        "of real held-out data (the floor a perfect generator reaches up to sampling noise). "
        "Protocols are in each run's report.</p>"
        f'<div class="scroll"><table class="cmp"><thead><tr><th>score</th>{_head_cells(runs)}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def last_picture(run: Path) -> Path | None:
    """The picture of a run's end: for images the latest fixed-noise grid (or real beside
    generated), for points the last 2-D frame (snapshots/last.png)."""
    snaps = run / "snapshots"
    candidates = []
    if _is_image(run):
        candidates += sorted(snaps.glob("grid_*.png"))[-1:] + sorted(snaps.glob("step_*.png"))[-1:]
    candidates.append(snaps / "last.png")
    return next((p for p in candidates if p.is_file()), None)


def _is_image(run: Path) -> bool:
    import json

    try:
        name = json.loads((run / "config.json").read_text()).get("data", {}).get("name")
    except (OSError, ValueError, AttributeError):
        return False
    return name in IMAGE_DATA


def _frames(runs: Sequence[ComparedRun]) -> str:
    figs = []
    for i, r in enumerate(runs):
        path = last_picture(r.path)
        caption = f"{_swatch(i)}{esc(r.label)} · step {r.summary.step:,}"
        if path is None:
            figs.append(f'<figure><figcaption>{caption}</figcaption><p class="note">no '
                        "snapshot picture yet</p></figure>")  # fmt: skip
            continue
        try:
            with Image.open(path) as img:
                png = png_bytes(img)
        except OSError:
            figs.append(f'<figure><figcaption>{caption}</figcaption><p class="note">'
                        f"{esc(path.name)} is unreadable</p></figure>")  # fmt: skip
            continue
        pix = ' class="pix"' if _is_image(r.path) else ""
        figs.append(
            f'<figure><figcaption>{caption}</figcaption><img{pix} src="{data_uri(png)}" '
            f'alt="last picture of {esc(r.label)}"></figure>'
        )
    return f'<div class="frames-row">{"".join(figs)}</div>'


def _quantity_png(series: list[dict], key: str, log: bool, unit: bool, labels: list[str]) -> bytes:
    # two runs' legend fits inside the axes; more go in rows of two under them
    inside = len(labels) <= 2
    legend_rows = 0 if inside else (len(labels) + 1) // 2
    fig = Figure(figsize=(FIG_WIDTH, FIG_HEIGHT + 0.2 * legend_rows), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, (s, label) in enumerate(zip(series, labels, strict=True)):
        if key not in s:
            continue
        x, y = s[key]
        if log:
            with np.errstate(invalid="ignore"):
                y = np.where(y > 0, y, np.nan)
        plot_series(ax, x, y, label, _color(i))
    if unit:
        ax.set_ylim(-0.03, 1.03)
        if key in ("d_real", "d_fake", "fooled"):  # 0.5: D cannot tell real from generated
            ax.axhline(0.5, color="#777777", lw=0.8, ls="--")
    if log:
        ax.set_yscale("log")
    _style(ax, key)
    if inside:
        ax.legend(fontsize=8, frameon=False, loc="best")
    else:
        fig.legend(fontsize=8, frameon=False, loc="outside lower center", ncol=2)
    return figure_png(fig)


def _curves(runs: Sequence[ComparedRun]) -> str:
    series = [
        read_metrics(r.path / "metrics.jsonl") if (r.path / "metrics.jsonl").is_file() else {}
        for r in runs
    ]
    labels = [r.label for r in runs]
    figs = []
    for key, caption, log, unit in QUANTITIES:
        has = [key in s and np.isfinite(s[key][1]).any() for s in series]
        if not any(has):
            continue
        png = _quantity_png(series, key, log, unit, labels)
        absent = [r.label for r, h in zip(runs, has, strict=True) if not h]
        note = f" (not logged by {', '.join(absent)})" if absent else ""
        figs.append(
            f"<figure><figcaption>{esc(caption + note)}</figcaption>"
            f'<img src="{data_uri(png)}" alt="{esc(caption)}"></figure>'
        )
    if not figs:
        return '<p class="note">None of these runs has logged metrics yet.</p>'
    return f'<div class="cgrid">{"".join(figs)}</div>'


def render(
    runs: Sequence[ComparedRun],
    diffs: list[tuple[str, list[str]]],
    grid: list[tuple[str, list[tuple[str, str] | None]]],
    out: Path,
) -> str:
    """The whole page as one string."""
    sections = [
        ("differences", "What differs", _differences(runs, diffs)),
        ("scores", "Scores side by side", _scores(runs, grid)),
        ("pictures", "What G makes at the end", _frames(runs)),
        ("curves", "Curves overlaid", _curves(runs)),
    ]
    nav = "".join(f'<a href="#{sid}">{esc(title)}</a>' for sid, title, _ in sections)
    body = "".join(
        f'<section id="{sid}"><h2>{esc(title)}</h2>{html}</section>'
        for sid, title, html in sections
    )
    written = time.strftime("%Y-%m-%d %H:%M")
    title = " vs ".join(r.label for r in runs[:3]) + (" ..." if len(runs) > 3 else "")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{esc(title)} · gankit comparison</title>"
        f"<style>{CSS}{EXTRA_CSS}</style></head>"
        f"<body>{_header(runs, out)}<main><nav>{nav}</nav>{body}"
        f"<footer>written by gankit {esc(__version__)} on {esc(written)}</footer></main>"
        f"<script>{JS}</script></body></html>\n"
    )
