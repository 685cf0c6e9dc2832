"""The model card (README.md) and sample picture (sample.png) of an export directory.

The card says what the generator learnt (preset, data, steps, engine, seed), how to sample it,
and how well it does: eval.json's scores, each beside its real-data floor (the same score of
real held-out samples, what a perfect generator reaches up to sampling noise) and with the
protocol it was measured under, since a score without its protocol compares with nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gankit.headline import headline_or_none
from gankit.report.text import fmt
from gankit.run import RunDir

if TYPE_CHECKING:
    from gankit.export import Generator

CARD_POINTS = 1000  # generated points in sample.png
CARD_IMAGES = 36  # generated images in sample.png (16 for images over 64x64)
# sample.png's points: the real data orange as in every gankit picture, the generated ones
# Okabe-Ito blue, which no common colour-vision deficiency confuses with orange
REAL_COLOUR, GENERATED_COLOUR = "#ff8c00", "#0072b2"


def _real_reference(run: RunDir) -> dict[str, np.ndarray]:
    try:
        with np.load(run.snapshots / "real.npz", allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError):
        return {}


def sample_picture(gen: Generator, run: RunDir, path: Path) -> None:
    """Images: a grid of the exported G's samples (seed 0). Points: those samples (blue) over
    the run's real reference points (orange); the first two coordinates, or for 1-D data the
    two histograms."""
    from gankit.viz.points import save_png

    if gen.images:
        from gankit.viz.images import image_grid

        h, w, _ = gen.shape
        n = CARD_IMAGES if h * w <= 64 * 64 else 16
        save_png(image_grid(gen.sample(n, seed=0)), path)
        return
    save_png(_points_picture(gen.sample(CARD_POINTS, seed=0), _real_reference(run)), path)


def _points_picture(fake: np.ndarray, ref: dict[str, np.ndarray]) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.6, 5.0), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    real = ref.get("real")
    extent = ref.get("extent")
    n = len(fake)
    if fake.shape[1] == 1:
        lo, hi = (float(extent[0]), float(extent[1])) if extent is not None else (None, None)
        span = (lo, hi) if lo is not None else (float(np.nanmin(fake)), float(np.nanmax(fake)))
        edges = np.linspace(*span, 49)
        if real is not None:
            ax.hist(real[:, 0], edges, density=True, color=REAL_COLOUR, alpha=0.45, label="real")
        ax.hist(
            fake[:, 0], edges, density=True, color=GENERATED_COLOUR, alpha=0.6, label="generated"
        )
        ax.set_xlabel("x")
        ax.set_ylabel("density")
    else:
        if real is not None:
            ax.scatter(real[:, 0], real[:, 1], s=7, c=REAL_COLOUR, alpha=0.25, lw=0, label="real")
        ax.scatter(
            fake[:, 0], fake[:, 1], s=9, c=GENERATED_COLOUR, alpha=0.8, lw=0, label="generated"
        )
        if extent is not None and len(extent) >= 4:
            ax.set_xlim(float(extent[0]), float(extent[1]))
            ax.set_ylim(float(extent[2]), float(extent[3]))
        ax.set_xlabel("x0")
        ax.set_ylabel("x1")
    ax.set_title(f"{n:,} samples of the exported generator (seed 0)", fontsize=10)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def _data_line(gen: Generator) -> str:
    d = gen.config.data
    parts = [f"`{d.name}`"]
    if d.path:
        parts.append(f"from `{d.path}`")
    if d.name == "atari":
        parts.append(f"frames of {d.game} (frameskip {d.frameskip})")
    if gen.images:
        h, w, c = gen.shape
        parts.append(f"{h}x{w} {'grayscale' if c == 1 else 'RGB'}")
    elif d.name in ("sine", "spiral", "moons"):
        parts.append(f"{d.noise} noise {d.noise_level}")
    parts.append(f"{d.n:,} samples drawn or collected, {d.holdout:,} held out")
    return ", ".join(parts)


def _about(gen: Generator, meta: dict[str, Any]) -> list[str]:
    cfg, info = gen.config, gen.info
    m, t = cfg.model, cfg.train
    weights = f"the EMA copy of G (decay {m.g_ema})" if info["weights"] == "G_ema" else "G itself"
    sample = info["sample"]
    if gen.images:
        out = f"uint8 images (n, {', '.join(map(str, gen.shape))}), values 0-255"
    else:
        out = f"float32 points (n, {gen.shape[0]}), in the data's own units"
    versions = ", ".join(f"{k} {meta[k]}" for k in ("gankit", "torch", "numpy") if k in meta)
    rows = [
        ("preset", f"`{cfg.preset}`"),
        ("data", _data_line(gen)),
        ("steps", f"{gen.step:,} of {t.steps:,} (the checkpoint exported)"),
        ("engine", f"{t.engine} ({meta.get('device', t.device)}, {t.dtype})"),
        ("seed", str(cfg.seed)),
        (
            "model",
            f"{m.arch}, latent {m.latent_dim} ({sample['latent']['dist']}), G "
            f"{m.g_hidden if m.arch == 'mlp' else m.g_channels}, loss {cfg.loss.name}, "
            f"batch {t.batch_size}",
        ),
        ("weights", weights),
        ("samples", out),
    ]
    if versions:
        rows.append(("trained with", versions))
    lines = ["| | |", "| --- | --- |"]
    return lines + [f"| {k} | {v} |" for k, v in rows]


def _protocol(protocol: dict[str, Any]) -> str:
    return json.dumps(protocol, separators=(", ", ": "), default=str)


def _score_details(scores: dict[str, Any], floor: dict[str, Any]) -> list[str]:
    """Every score of eval.json: its numbers beside the floor's, then its protocol."""
    out: list[str] = []
    for name, fields in scores.items():
        if not isinstance(fields, dict):
            continue
        floor_fields = floor.get(name) or {}
        out += [
            "",
            f"**{name}**",
            "",
            "| field | generator | real-data floor |",
            "| --- | --- | --- |",
        ]
        for key, value in fields.items():
            if key == "protocol" or isinstance(value, dict):
                continue
            out.append(f"| {key} | {fmt(value)} | {fmt(floor_fields.get(key))} |")
        if isinstance(fields.get("protocol"), dict):
            out += ["", f"protocol: `{_protocol(fields['protocol'])}`"]
    return out


def _scores(run: RunDir, gen: Generator) -> list[str]:
    path = run.path / "eval.json"
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return [
            "Not scored: the run had no readable eval.json when it was exported "
            f"(`gankit eval {run.path}`, then export again)."
        ]
    lines = [
        f"Scored at step {fmt(result.get('step'))} on {fmt(result.get('n_samples'))} samples "
        f"({result.get('time', '?')}), sampler: {(result.get('sampler') or {}).get('name', '?')}. "
        "The real-data floor is the same score of real samples the model never saw: what a "
        "perfect generator scores, up to sampling noise."
    ]
    if result.get("step") != gen.step:
        lines.append(
            f"These scores are of step {fmt(result.get('step'))}; the exported weights are of "
            f"step {gen.step:,} (`gankit eval` the run, then export again)."
        )
    if result.get("diverged"):
        return [*lines, "", "G produced NaN or inf at that step: no scores."]
    lines += ["", "| score | generator | real-data floor |", "| --- | --- | --- |"]
    rows = headline_or_none(result)
    if rows is None:
        return [
            *lines,
            "",
            "eval.json could not be read: `gankit eval` the run, then export again.",
        ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines += ["", "Every number, with its protocol:"]
    lines += _score_details(result.get("scores") or {}, result.get("real_floor") or {})
    every = result.get("scores_every_draw")
    if every:
        lines += ["", "The same scores of G's every draw, untruncated:"]
        lines += _score_details(every, result.get("real_floor") or {})
    return lines


def _sampling(gen: Generator, folder: str) -> list[str]:
    keep = gen.config.model.jacobian_keep
    lines = [
        "```python",
        "import gankit",
        "",
        f"g = gankit.load_generator({folder!r})",
        "x = g.sample(1000, seed=0)  # the same array as `gankit sample RUN -n 1000 --seed 0`",
        "```",
        "",
        f"or `gankit sample {folder} -n 1000 --seed 0 --out x.npy` "
        + ("(`.png` for a grid). " if gen.images else "(`.csv` for text). ")
        + f"Sampling needs only this folder; the run's {gen.config.train.engine} engine "
        "rebuilds G from config.json.",
    ]
    if keep < 1.0:
        lines += [
            "",
            f"The run samples with Jacobian truncation (model.jacobian_keep = {keep}), and so "
            f"does this export: `sample(n)` draws n / {keep} latents and keeps the n where G "
            "is flattest (smallest ||dG/dz||, measured on this G), dropping the samples G "
            "strings between modes, as the run's scores and `gankit sample` do. "
            "`g.sample(n, seed, truncate=False)` gives every draw.",
        ]
    return lines


def model_card(run: RunDir, gen: Generator, meta: dict[str, Any], folder: str) -> str:
    """README.md of an export directory named ``folder``, in Markdown."""
    cfg = gen.config
    kind = "images" if gen.images else "points"
    lines = [
        f"# {cfg.preset}: a GAN generator of {kind} (gankit)",
        "",
        f"Exported by `gankit export` from the run `{run.path.name}` at step {gen.step:,}.",
        "",
        *_about(gen, meta),
        "",
        "![samples of this generator, seed 0](sample.png)",
        "",
        "## Sampling",
        "",
        *_sampling(gen, folder),
        "",
        "## Scores",
        "",
        *_scores(run, gen),
        "",
        "## Files",
        "",
        "* `generator.safetensors`: G's weights (state names as every gankit engine uses them)",
        "* `config.json`: the run's resolved config and versions; `export` says the step, the "
        "weights, their SHA-256, the sample shape and how G's output maps to data values",
        "* `sample.png`: the picture above",
        "",
    ]
    return "\n".join(lines)
