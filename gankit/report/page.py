"""The HTML of report.html, section by section, in the order a person judges a run: the
verdict, what went wrong, the scores, the curves, the pictures, the config.

Every string that comes from the run (names, summaries, commands, config values) goes
through html.escape; pictures are data URIs, so the page names no URL at all.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from gankit import __version__
from gankit.doctor import Finding
from gankit.report import pictures, plots
from gankit.report.assets import CSS, JS
from gankit.report.encode import data_uri, mime_of
from gankit.report.pictures import Frames
from gankit.report.runinfo import RunInfo, load_run
from gankit.report.scores import scores_section
from gankit.report.text import esc, fmt
from gankit.run import atomic_write

SEVERITY_ORDER = ("error", "warning", "info")
SECTIONS = [
    ("findings", "Findings"),
    ("scores", "Scores"),
    ("curves", "Curves"),
    ("pictures", "Pictures"),
    ("snapshots", "Snapshots"),
    ("config", "Config"),
]


def _img(data: bytes, alt: str, cls: str = "", extra: str = "", mime: str = "image/png") -> str:
    cls_attr = f' class="{cls}"' if cls else ""
    return f'<img{cls_attr} src="{data_uri(data, mime)}" alt="{esc(alt)}"{extra}>'


def _figure(png: bytes, caption: str, cls: str = "", img_cls: str = "") -> str:
    cls_attr = f' class="{cls}"' if cls else ""
    return (
        f"<figure{cls_attr}><figcaption>{esc(caption)}</figcaption>"
        f"{_img(png, caption, img_cls)}</figure>"
    )


def _steps_text(steps: tuple[int, int] | list[int]) -> str:
    first, last = int(steps[0]), int(steps[-1])
    return f"step {first:,}" if first == last else f"steps {first:,}–{last:,}"


# --- header --------------------------------------------------------------------------------


def _verdict(run: RunInfo) -> tuple[str, str]:
    """(css class, one line): healthy, or the findings counted by severity."""
    if run.doctor_note:
        return "warning", "the doctor could not judge this run"
    if not run.findings:
        return "ok", "healthy: the doctor found nothing"
    counts = Counter(f.severity for f in run.findings)
    order = [s for s in SEVERITY_ORDER if s in counts] + sorted(set(counts) - set(SEVERITY_ORDER))
    parts = [f"{counts[s]} {s}{'s' if counts[s] > 1 else ''}" for s in order]
    n = len(run.findings)
    worst = "error" if "error" in counts else "warning"
    return worst, f"the doctor found {n} problem{'s' if n > 1 else ''}: {', '.join(parts)}"


def _events_line(run: RunInfo) -> str:
    """The events worth knowing when judging a run: resumes, interruptions, NaN/inf and the
    rollbacks after it, a stop on divergence."""
    names = {
        "resume": "resumed at", "restart": "started again at", "interrupted": "interrupted at",
        "non_finite": "NaN/inf at", "rollback": "rolled back from", "diverged": "diverged at",
    }  # fmt: skip
    seen = [
        f"{names[e['event']]} step {fmt(e.get('step'))}"
        for e in run.events
        if e.get("event") in names
    ]
    return f'<p class="events">events: {esc(" · ".join(seen))}</p>' if seen else ""


def _header(run: RunInfo) -> str:
    cfg, meta = run.config, run.meta
    total = run.steps_total
    steps = f"{run.steps_done:,} / {total:,}" if total else f"{run.steps_done:,}"
    if total and run.steps_done < total:
        steps += " (unfinished)"
    facts = [
        ("preset", cfg.get("preset", "?")),
        ("engine", meta.get("engine") or cfg.get("train", {}).get("engine", "?")),
        ("steps", steps),
        ("seed", cfg.get("seed", "?")),
        ("data", cfg.get("data", {}).get("name", "?")),
        ("loss", cfg.get("loss", {}).get("name", "?")),
        ("started", str(meta.get("started", "?")).replace("T", " ")),
        # with the maths it ran in there (train.precision = auto differs by machine)
        ("device", " · ".join(str(meta[k]) for k in ("device", "precision") if k in meta) or "?"),
    ]
    dl = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in facts)
    cls, line = _verdict(run)
    return (
        '<header class="top"><div class="inner"><div class="kicker">gankit run report</div>'
        f'<h1>{esc(run.path.name)}</h1><dl class="facts">{dl}</dl>'
        f'<p class="verdict {cls}" id="verdict">{esc(line)}</p>{_events_line(run)}'
        "</div></header>"
    )


# --- findings ------------------------------------------------------------------------------


def _finding(run: RunInfo, f: Finding) -> str:
    sev = esc(f.severity)
    evidence = "".join(
        f"<tr><td>{esc(k)}</td><td>{esc(fmt(v))}</td></tr>" for k, v in f.evidence.items()
    )
    table = (
        f'<div class="table-box"><table class="evidence">{evidence}</table></div>'
        if evidence
        else ""
    )
    remedies = "".join(f"<li><code>{esc(c)}</code></li>" for c in f.remedies)
    if remedies:
        remedies = f'<p class="label">What to try</p><ul class="remedies">{remedies}</ul>'
    keys = [k for k in f.series if plots._has_values(run.series, k, k in plots.LOG_KEYS)]
    missing = [k for k in f.series if k not in keys]
    if keys:
        png = plots.finding_plot(run.series, keys, tuple(f.steps), f.severity)
        caption = f"{', '.join(keys)} over training; shaded: {_steps_text(f.steps)}"
        picture = _figure(png, caption)
    else:
        picture = ""
    if missing:
        names = ", ".join(missing)
        picture += f'<p class="note">No logged values of {esc(names)} in metrics.jsonl to plot.</p>'
    return (
        f'<article class="finding {sev}"><div class="finding-head">'
        f'<span class="badge {sev}">{sev}</span><h3>{esc(f.name.replace("_", " "))}</h3>'
        f'<span class="steps">{esc(_steps_text(f.steps))}</span></div>'
        f'<div class="finding-body"><div class="finding-text"><p>{esc(f.summary)}</p>'
        f'<p class="label">Evidence</p>{table}{remedies}</div>{picture}</div></article>'
    )


def _findings(run: RunInfo) -> str:
    if run.doctor_note:
        body = f'<p class="note">{esc(run.doctor_note)}</p>'
    elif not run.findings:
        body = (
            '<p class="good">Nothing found: no divergence, vanishing gradients, winning D, '
            "oscillation or mode collapse in the logged metrics and scores.</p>"
        )
    else:
        ranked = sorted(
            run.findings,
            key=lambda f: SEVERITY_ORDER.index(f.severity) if f.severity in SEVERITY_ORDER else 9,
        )
        body = "".join(_finding(run, f) for f in ranked)
    return body


# --- curves, pictures, snapshots, config ---------------------------------------------------


def _curves(run: RunInfo) -> str:
    panels = plots.curve_panels(run.series, run.palette)
    figs = [_figure(png, caption) for _, caption, png in panels]
    layers = plots.layer_grads_plot(run.layer_grads)
    if layers:
        cap = "Gradient norm of each layer (log scale; G solid, D dashed)"
        figs.append(_figure(layers, cap, "wide"))
    scores = plots.eval_plot(run.eval_series)
    if scores:
        figs.append(_figure(scores, "Scores at each evaluation during training", "wide"))
    if not figs:
        return '<p class="note">No training metrics logged yet (metrics.jsonl is empty).</p>'
    return f'<div class="grid">{"".join(figs)}</div>'


def _shown(frames: Frames, n_snaps: int) -> str:
    if len(frames) == n_snaps:
        return f"all {n_snaps} snapshots" if n_snaps > 1 else "the one snapshot"
    return f"{len(frames)} of the run's {n_snaps} snapshots, evenly spread"


def _pictures(run: RunInfo, frames: Frames, n_snaps: int) -> str:
    """The training animation and real beside generated. The animation plays the slider's
    frames (the page's script points it at them), so no picture is embedded twice."""
    out = ['<div class="pictures">']
    what = (
        "G's images for a fixed batch of noise"
        if run.is_image
        else f"{run.palette.describe()}, over D's realness field in grey"
    )
    if frames:
        fps = run.config.get("viz", {}).get("fps", 10.0)
        fps = float(fps) if isinstance(fps, int | float) and fps > 0 else 10.0
        cap = (
            f"Training, one frame per snapshot ({_shown(frames, n_snaps)}; click to pause): {what}"
        )
        cls = "anim pix" if run.is_image else "anim"
        out.append(
            f'<figure><figcaption>{esc(cap)}</figcaption><img class="{cls}" alt="training, '
            f'animated" data-frames="#snapshots .frames img" data-ms="{round(1000 / fps)}">'
            '<noscript><p class="note">The animation needs JavaScript; the frames are under '
            "Snapshots.</p></noscript></figure>"
        )
    else:
        out.append('<p class="note">No snapshots to animate yet.</p>')
    panels, step = pictures.real_beside_generated(run)
    if panels and step is not None:
        cap = f"Real beside generated at the last snapshot (step {step:,})"
        img_cls = "pix" if run.is_image else ""
        pair = "".join(  # the plots of points carry their titles, grids of images need one
            f"<figure>{f'<figcaption>{esc(c)}</figcaption>' if run.is_image else ''}"
            f"{_img(png, c, img_cls)}</figure>"
            for c, png in panels
        )
        out.append(f'<figure class="pair"><figcaption>{esc(cap)}</figcaption>'
                   f'<div class="pair-row">{pair}</div></figure>')  # fmt: skip
    else:
        out.append('<p class="note">No snapshot yet to compare with the real data.</p>')
    out.append("</div>")
    return "".join(out)


def _slider(run: RunInfo, frames: Frames, n_snaps: int) -> str:
    if not frames:
        return '<p class="note">No snapshots to show yet.</p>'
    last = len(frames) - 1
    imgs = "".join(
        _img(data, f"snapshot at step {step:,}", "pix" if run.is_image else "",
             f' data-step="{step:,}"' + ("" if i == last else " hidden"), mime_of(data))
        for i, (step, data) in enumerate(frames)
    )  # fmt: skip
    return (
        "<p>Drag the slider (or use the arrow keys on it) to move through "
        f"{esc(_shown(frames, n_snaps))}.</p>"
        '<div class="slider"><div class="controls">'
        '<button type="button" class="play">&#9654; play</button>'
        f'<input type="range" min="0" max="{last}" value="{last}" step="1" '
        'aria-label="snapshot">'
        f'<span class="step">step {frames[-1][0]:,}</span></div>'
        f'<div class="frames">{imgs}</div></div>'
    )


def _config(run: RunInfo) -> str:
    text = json.dumps({**run.config, "meta": run.meta}, indent=2)
    return (
        '<details class="config"><summary>config.json: the full resolved config, '
        f"versions and machine</summary><pre><code>{esc(text)}</code></pre></details>"
    )


def render(run: RunInfo) -> str:
    """The whole page as one string."""
    frames, n_snaps = pictures.slider_frames(run)
    bodies = {
        "findings": ("What the doctor found", _findings(run)),
        "scores": ("Scores and their protocols", scores_section(run)),
        "curves": ("Training curves", _curves(run)),
        "pictures": ("What G makes", _pictures(run, frames, n_snaps)),
        "snapshots": ("Snapshots over training", _slider(run, frames, n_snaps)),
        "config": ("Config", _config(run)),
    }
    nav = "".join(f'<a href="#{sid}">{esc(label)}</a>' for sid, label in SECTIONS)
    sections = "".join(
        f'<section id="{sid}"><h2>{esc(bodies[sid][0])}</h2>{bodies[sid][1]}</section>'
        for sid, _ in SECTIONS
    )
    written = time.strftime("%Y-%m-%d %H:%M")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{esc(run.path.name)} · gankit report</title><style>{CSS}</style></head>"
        f"<body>{_header(run)}<main><nav>{nav}</nav>{sections}"
        f"<footer>written by gankit {esc(__version__)} on {esc(written)} from "
        f"{esc(run.path)}</footer></main><script>{JS}</script></body></html>\n"
    )


def write_report(run_dir: str | Path) -> Path:
    """Write ``RUN/report.html``, one self-contained page of the run, and return its path.
    Works for unfinished and unevaluated runs; raises UserError when ``run_dir`` is not a
    run directory."""
    run = load_run(run_dir)
    out = run.path / "report.html"
    atomic_write(out, render(run).encode("utf-8"))
    return out
