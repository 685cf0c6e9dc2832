"""Image GANs on 2 CPU cores: breakout-fast, digits and stacked digits, with their scores.

    .venv/bin/python -m benchmarks.images [--presets breakout-fast digits stacked-digits]

Writes benchmarks/results/images.json and docs/benchmarks/images.md. Each run is the full
`gankit train` path plus `gankit eval`; the game frames are collected (and the feature
network trained) before the clock starts, and their times are reported apart. A feature check
(the Fréchet-LeNet study's test) shows that the offline feature spaces see damage: the
Fréchet distance of corrupted held-out images must rise with every level of noise, blur and
occlusion.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from benchmarks.toy import machine
from gankit.config import load_config
from gankit.data import ImageData, load_data
from gankit.evaluate import feature_space, floor_sample
from gankit.metrics.images import frechet_distance
from gankit.outputs import finish
from gankit.training import start

ROOT = Path(__file__).resolve().parents[1]
# PacGAN (Lin et al. 2018), Table 3, Stacked MNIST: modes of 1,000 and KL, 26,000 samples
PACGAN_STACKED = {
    "DCGAN (PacGAN's run)": ("78.9 ± 6.46", "4.50 ± 0.127"),
    "PacDCGAN2": ("1000.0 ± 0.00", "0.06 ± 0.003"),
    "PacDCGAN3": ("1000.0 ± 0.00", "0.06 ± 0.003"),
    "PacDCGAN4": ("1000.0 ± 0.00", "0.07 ± 0.005"),
}
LEVELS = 5
# why a row of the feature check may fail to rise, where that was looked into
NOT_MONOTONE = {
    ("breakout-fast", "occlusion", 1): (
        ": the smallest square (13x10 pixels) falls on the empty middle of the screen and hides"
        " at most the ball, which moves the distance less than the sampling noise between games"
    ),
}


def corrupt(x: np.ndarray, kind: str, level: int, seed: int = 0) -> np.ndarray:
    """Held-out images with damage of growing ``level`` (0 = none, 1..LEVELS)."""
    if level == 0:
        return x
    f = x.astype(np.float64)
    h, w = x.shape[1:3]
    if kind == "noise":  # Gaussian pixel noise, sd 10 to 50 grey levels
        f = f + np.random.default_rng(seed).normal(0, 10 * level, f.shape)
    elif kind == "blur":  # Gaussian blur, sd 0.4 to 2 pixels on 8x8 digits, more on frames
        s = level * max(0.4, max(h, w) / 80)
        f = gaussian_filter(f, sigma=(0, s, s, 0))
    else:  # occlusion: a black square in the middle, side level/8 of the image
        sh, sw = round(h * level / 8), round(w * level / 8)
        f[:, (h - sh) // 2 : (h - sh) // 2 + sh, (w - sw) // 2 : (w - sw) // 2 + sw] = 0
    return np.clip(np.round(f), 0, 255).astype(np.uint8)


def feature_check(preset: str) -> dict:
    """FD (the preset's feature space) between the held-out images and training images
    damaged at growing levels; level 0 is the real-vs-real floor of the scores."""
    cfg = load_config(preset)
    data = load_data(cfg.data, cfg.seed, progress=False)
    assert isinstance(data, ImageData)
    features = feature_space(cfg, data)
    ref = features(data.holdout)
    # other real images, as many as held out: a random sample of the training images, as the
    # eval's floor takes (game frames are stored in the order played)
    other = floor_sample(data, len(data.holdout), cfg.seed)
    out: dict = {"space": features.protocol["name"], "n": len(data.holdout)}
    out["real_vs_real"] = frechet_distance(ref, features(other))["value"]
    for kind in ("noise", "blur", "occlusion"):
        out[kind] = [
            frechet_distance(ref, features(corrupt(other, kind, lv)))["value"]
            for lv in range(1, LEVELS + 1)
        ]
    out["monotone"] = all(
        bool(np.all(np.diff([out["real_vs_real"], *out[k]]) > 0))
        for k in ("noise", "blur", "occlusion")
    )
    return out


# Breakout's screen in horizontal bands, as fractions of its height (210 rows: the score in
# rows 0-23, the bricks in 54-91, the paddle in 176-199)
BREAKOUT_BANDS = {"score": (0, 24), "bricks": (54, 92), "paddle": (176, 200)}


def band_attribution(run_path: Path) -> dict:
    """Where a Breakout model's Fréchet distance comes from: the eval's generated frames, one
    band at a time pasted into real training frames (the floor's), scored as the eval scores.
    A band the model draws as the game does leaves the floor; one it gets wrong raises it."""
    from gankit.evaluate import eval_samples, load_trained
    from gankit.run import RunDir

    engine, data, _ = load_trained(RunDir(run_path))
    cfg = engine.cfg
    fake, _ = eval_samples(engine)
    real = floor_sample(data, len(fake), cfg.seed)  # the floor's frames
    features = feature_space(cfg, data)
    ref = features(data.holdout)
    h = real.shape[1]
    out = {}
    for band, (top, bottom) in BREAKOUT_BANDS.items():
        rows = slice(round(top * h / 210), round(bottom * h / 210))
        mixed = real.copy()
        mixed[:, rows] = fake[:, rows]
        out[band] = frechet_distance(ref, features(mixed))["value"]
    return out


def one_run(preset: str, seed: int, workdir: Path, overrides: list[str]) -> dict:
    cfg = load_config(preset, overrides, seed=seed)
    t = time.perf_counter()
    data = load_data(cfg.data, cfg.seed)  # collects game frames on first use
    prep = {"data_s": time.perf_counter() - t}
    if cfg.data.name == "atari":  # how long the first collections took (cached since)
        from gankit.data import ATARI_HOLDOUT_SEED
        from gankit.data.atari import frames_path

        d = cfg.data
        paths = [frames_path(d.game, n, d.frameskip, d.dedupe, seed)
                 for n, seed in ((d.n, 0), (d.holdout, ATARI_HOLDOUT_SEED))]  # fmt: skip
        prep["collect_s"] = sum(
            json.loads(p.with_suffix(".json").read_text())["seconds"] for p in paths
        )
    if isinstance(data, ImageData):
        t = time.perf_counter()
        space = feature_space(cfg, data)  # trains and caches the feature network on first use
        prep["features_s"] = time.perf_counter() - t
        prep["features_train_s"] = space.protocol.get("train_seconds", 0.0)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run = start(cfg, workdir / f"{preset}-{seed}", progress=False)
    train_cpu, train_wall = time.process_time() - cpu0, time.perf_counter() - wall0
    finish(run)  # scores, GIF, curves: what `gankit train` ends with
    total_wall = time.perf_counter() - wall0  # the band attribution below is this benchmark's
    result = json.loads((run.path / "eval.json").read_text())
    rates = [r["steps_per_s"] for r in run.metrics() if "steps_per_s" in r]
    if cfg.data.name == "atari" and cfg.data.game == "breakout":
        prep["bands"] = band_attribution(run.path)
    return {
        "preset": preset, "seed": seed, "steps": cfg.train.steps,
        "batch_size": cfg.train.batch_size, "train_cpu_s": train_cpu,
        "train_wall_s": train_wall, "total_wall_s": total_wall,
        "images_per_s": cfg.train.batch_size * cfg.train.steps / train_wall,
        "steps_per_s": float(np.median(rates)), **prep,
        "scores": result["scores"], "real_floor": result["real_floor"],
        "pictures": str(run.path),
    }  # fmt: skip


def targets(runs: list[dict]) -> list[tuple[str, str, str]]:
    yes = lambda ok: "yes" if ok else "**no**"  # noqa: E731
    rows = []
    for r in runs:
        s, f = r["scores"], r["real_floor"]
        if r["preset"] == "stacked-digits":
            m = s["stacked_modes"]
            rows.append(("stacked digits: ≥ 990 of 1,000 modes, KL ≤ 0.1",
                         f"{m['modes']} modes, KL {m['reverse_kl']:.3f}",
                         yes(m["modes"] >= 990 and m["reverse_kl"] <= 0.1)))  # fmt: skip
        if r["preset"] == "digits":
            c = s["classes"]
            lo, hi = min(c["shares"]), max(c["shares"])
            rows.append(("digits: 10 of 10 classes, each 5-15 % of samples",
                         f"{c['coverage']} classes, {100 * lo:.1f}-{100 * hi:.1f} %",
                         yes(c["coverage"] == 10 and lo >= 0.05 and hi <= 0.15)))  # fmt: skip
        if r["preset"] == "breakout-fast":
            ratio = s["fd"]["value"] / f["fd"]["value"]
            first = r.get("collect_s", 0) + r.get("features_train_s", 0)
            minutes = (r["total_wall_s"] + r["data_s"] + first) / 60
            rows += [
                ("breakout-fast: ≤ 10 minutes on 2 CPU cores",
                 f"{r['train_wall_s'] / 60:.1f} min training; {minutes:.1f} min with scores, "
                 "pictures, and the first collection and feature network",
                 yes(minutes <= 10)),
                ("breakout-fast: Fréchet distance ≤ 2x its real-vs-real floor",
                 f"{s['fd']['value']:.3g} vs {f['fd']['value']:.3g} ({ratio:.2f}x)",
                 yes(ratio <= 2)),
            ]  # fmt: skip
    return rows


def _score_rows(r: dict) -> list[str]:
    s, f = r["scores"], r["real_floor"]
    pr, fpr = s["precision_recall"], f["precision_recall"]
    dc, fdc = s["density_coverage"], f["density_coverage"]
    rows = [
        f"| Fréchet distance | {s['fd']['value']:.4g} | {f['fd']['value']:.4g} |",
        f"| KID | {s['kid']['value']:.4g} ± {s['kid']['std']:.2g} | {f['kid']['value']:.4g} |",
        f"| precision / recall (k = 3) | {pr['precision']:.3f} / {pr['recall']:.3f} | "
        f"{fpr['precision']:.3f} / {fpr['recall']:.3f} |",
        f"| density / coverage (k = 5) | {dc['density']:.3f} / {dc['coverage']:.3f} | "
        f"{fdc['density']:.3f} / {fdc['coverage']:.3f} |",
    ]
    if "classes" in s:
        c, fc = s["classes"], f["classes"]
        shares = ", ".join(f"{100 * v:.1f}" for v in c["shares"])
        fshares = ", ".join(f"{100 * v:.1f}" for v in fc["shares"])
        rows.append(f"| class shares, digits 0-9 (%) | {shares} | {fshares} |")
    if "stacked_modes" in s:
        m, fm = s["stacked_modes"], f["stacked_modes"]
        rows.append(f"| modes of 1,000 / reverse KL | {m['modes']} / {m['reverse_kl']:.3f} | "
                    f"{fm['modes']} / {fm['reverse_kl']:.3f} |")  # fmt: skip
    return rows


def write_markdown(results: dict) -> str:
    lines = [
        "# Image benchmark: breakout-fast, digits, stacked digits", "",
        f"Command: `{results['command']}`  ",
        f"Date: {results['date']}  ",
        f"Machine: {results['machine']}", "",
        "Scores compare generated images with held-out real ones, in the feature space named "
        "for each preset; the real-data column is the same protocol applied to training "
        "images against the held-out ones (what a perfect generator scores up to sampling "
        "noise); Breakout's held-out frames come from games of their own, not from the "
        "training games (docs/images.md says why). Times: training wall-clock on all cores; "
        "game frames and the feature "
        "network are made once per machine and cached, and their times are given apart.", "",
    ]  # fmt: skip
    for r in results["runs"]:
        space = r["scores"]["fd"]["protocol"]["features"]["name"]
        n = r["scores"]["fd"]["protocol"]["n_fake"]
        lines += [
            f"## {r['preset']}", "",
            f"{r['steps']:,} iterations at batch {r['batch_size']}: "
            f"{r['train_wall_s'] / 60:.1f} min wall, {r['train_cpu_s'] / 60:.1f} CPU min, "
            f"{r['images_per_s']:.0f} img/s (real images through D per second). "
            f"Data loaded in {r['data_s']:.0f} s"
            + (f" (collected once in {r['collect_s']:.0f} s)" if "collect_s" in r else "")
            + (f"; feature network trained once in {r['features_train_s']:.0f} s"
               if r.get("features_train_s") else "")
            + f". Scores on {n:,} samples, features: {space}."
            + (f" {r['note']}" if "note" in r else "")
            + (f" Measured {r['date']} by `{r['command']}`."
               if r.get("command", results["command"]) != results["command"] else ""), "",
            "| score | gankit | real data |", "| --- | --- | --- |", *_score_rows(r), "",
        ]  # fmt: skip
        if "bands" in r:
            lines += [
                "Where the distance comes from: real frames with one band of the screen taken "
                "from the generated frames, scored the same way (real frames alone: the floor, "
                f"{r['real_floor']['fd']['value']:.4f}).", "",
                "| band | rows (of 210) | Fréchet distance | x floor |",
                "| --- | --- | --- | --- |",
                *[f"| {b} | {BREAKOUT_BANDS[b][0]}-{BREAKOUT_BANDS[b][1] - 1} | {v:.4f} | "
                  f"{v / r['real_floor']['fd']['value']:.1f} |" for b, v in r["bands"].items()],
                "",
            ]  # fmt: skip
        if r["preset"] == "stacked-digits":
            m = r["scores"]["stacked_modes"]
            lines += [
                "Beside PacGAN's Table 3 (Stacked MNIST, 28x28 digits, 26,000 samples; ours are "
                "scikit-learn's 8x8 digits, counted by gankit's shipped classifier):", "",
                "| method | modes (of 1,000) | reverse KL |", "| --- | --- | --- |",
                f"| **gankit `stacked-digits`** | {m['modes']} | {m['reverse_kl']:.3f} |",
                *[f"| {k} (published) | {a} | {b} |" for k, (a, b) in PACGAN_STACKED.items()],
                "",
            ]  # fmt: skip
    lines += ["## Against the targets", "", "| target | measured | met |", "| --- | --- | --- |"]
    lines += ["| " + " | ".join(row) + " |" for row in targets(results["runs"])]
    lines += [
        "", "## Do the feature spaces see damage?", "",
        "Fréchet distance between the held-out real images and as many training images, "
        "clean (real vs real, level 0) and damaged at five growing levels (noise: Gaussian, "
        "sd 10-50 grey levels; blur: Gaussian, sd 0.4-2 pixels on digits and growing with "
        "the image size; occlusion: a black centre square of 1/8 to 5/8 of the side). Every "
        "row must rise from level 0 at every level.", "",
        f"Command: `{results.get('feature_check_command', results['command'])}`", "",
        "| data (feature space) | real vs real | damage | level 1 | 2 | 3 | 4 | 5 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for preset, fc in results["feature_check"].items():
        for kind in ("noise", "blur", "occlusion"):
            vals = " | ".join(f"{v:.3g}" for v in fc[kind])
            lines.append(
                f"| {preset} ({fc['space']}) | {fc['real_vs_real']:.3g} | {kind} | {vals} |"
            )
    ok = all(fc["monotone"] for fc in results["feature_check"].values())
    lines += ["", f"Monotone in every row: {'yes' if ok else '**no**'}."]
    for preset, fc in results["feature_check"].items():
        for kind in ("noise", "blur", "occlusion"):
            levels = [fc["real_vs_real"], *fc[kind]]
            for lv in range(1, len(levels)):
                if levels[lv] <= levels[lv - 1]:
                    lines.append(
                        f"{preset}, {kind} level {lv}: {levels[lv]:.3g}, not above "
                        f"{levels[lv - 1]:.3g}{NOT_MONOTONE.get((preset, kind, lv), '')}."
                    )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["breakout-fast", "digits", "stacked-digits"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], help="config override (smoke tests)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "images.md"))
    ap.add_argument("--render", action="store_true", help="rewrite the markdown from the JSON")
    ap.add_argument(
        "--features-only", action="store_true", help="redo only the feature check, keep the runs"
    )
    ap.add_argument(
        "--update",
        action="store_true",
        help="rerun only --presets; keep the others' runs, with their own date, from the JSON",
    )
    args = ap.parse_args()
    res_file = ROOT / "benchmarks" / "results" / "images.json"
    if args.render or args.features_only:
        saved = json.loads(res_file.read_text())
        if args.features_only:
            saved["feature_check"] = {p: feature_check(p) for p in saved["feature_check"]}
            saved["feature_check_command"] = "python -m benchmarks.images --features-only"
            res_file.write_text(json.dumps(saved, indent=2, default=float) + "\n")
        Path(args.out).write_text(write_markdown(saved))
        return
    sets = "".join(f" --set {o}" for o in args.set)
    results: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "command": f"python -m benchmarks.images --presets {' '.join(args.presets)}"
        f" --seed {args.seed}{sets}{' --update' if args.update else ''}",
        "runs": [], "feature_check": {},
    }  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="gankit-images-"))
    try:
        for preset in args.presets:
            r = one_run(preset, args.seed, work, args.set)
            r.update(date=results["date"], command=results["command"])
            print(
                preset,
                json.dumps({k: v for k, v in r.items() if k not in ("scores", "real_floor")}),
                flush=True,
            )
            results["runs"].append(r)
            results["feature_check"][preset] = feature_check(preset)
            print(preset, results["feature_check"][preset], flush=True)
            keep = ROOT / "docs" / "benchmarks" / "images" / preset
            _keep_pictures(Path(r["pictures"]), keep)
            r["pictures"] = str(keep.relative_to(ROOT))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.update:
        results = _merge(json.loads(res_file.read_text()), results)
    res_file.parent.mkdir(exist_ok=True)
    res_file.write_text(json.dumps(results, indent=2, default=float) + "\n")
    Path(args.out).write_text(write_markdown(results))
    print(f"wrote {args.out}")


def _merge(saved: dict, new: dict) -> dict:
    """The saved results with the presets just rerun replaced, in the saved order; the runs
    kept carry the date and command they were measured with."""
    for r in saved["runs"]:
        r.setdefault("date", saved["date"])
        r.setdefault("command", saved["command"])
    fresh = {r["preset"]: r for r in new["runs"]}
    runs = [fresh.pop(r["preset"], r) for r in saved["runs"]] + list(fresh.values())
    checks = {**saved["feature_check"], **new["feature_check"]}
    return {**new, "runs": runs, "feature_check": checks}


def _keep_pictures(run: Path, dest: Path) -> None:
    """The last real-vs-generated picture and sample grid, for the docs."""
    dest.mkdir(parents=True, exist_ok=True)
    snaps = run / "snapshots"
    last = sorted(snaps.glob("step_*.png"))[-1]
    shutil.copy(last, dest / "real-vs-generated.png")
    shutil.copy(snaps / "last.png", dest / "samples.png")


if __name__ == "__main__":
    main()
