"""The doctor's rules on synthetic metric streams, its speed, and a tiny real run."""

from __future__ import annotations

import json
import shlex
from typing import Any

import numpy as np
import pytest

from gankit.config import load_config
from gankit.doctor import Finding, LiveDoctor, diagnose, diagnose_run, rules, to_json
from gankit.doctor.collapse import DIVERSITY_COLLAPSED
from gankit.doctor.series import SERIES

# rows this many steps apart: 30 rows reach half of ring8's 12,000 steps, where the doctor
# judges (gankit.doctor.budget)
LOG_EVERY = 200


def stream(n: int = 200, seed: int = 0, **series: np.ndarray | float) -> list[dict[str, Any]]:
    """A healthy run's rows (D unsure, G fooling it a fair share, steady norms), with any
    series replaced by ``series``."""
    rng = np.random.default_rng(seed)
    base: dict[str, Any] = {
        "d_loss": 1.3 + 0.02 * rng.standard_normal(n),
        "g_loss": 0.8 + 0.02 * rng.standard_normal(n),
        "d_real": 0.6 + 0.02 * rng.standard_normal(n),
        "d_fake": 0.4 + 0.02 * rng.standard_normal(n),
        "fooled": 0.3 + 0.02 * rng.standard_normal(n),
        "d_grad_norm": 1.0 + 0.05 * rng.standard_normal(n),
        "g_grad_norm": 0.5 + 0.05 * rng.standard_normal(n),
        "steps_per_s": np.full(n, 500.0),
    }
    for k, v in series.items():
        base[k] = np.broadcast_to(np.asarray(v, dtype=np.float64), (n,))
    steps = LOG_EVERY * np.arange(1, n + 1)
    return [{"step": int(steps[i]), **{k: float(v[i]) for k, v in base.items()}} for i in range(n)]


CONFIG = {
    "preset": "ring8",
    "data": {"name": "ring8"},
    "loss": {"name": "bce", "r1": 0.003},
    "optim": {"d_lr": 2e-3, "g_lr": 2e-3, "lr_decay": "none"},
    "model": {"g_ema": 0.0},
    "train": {"d_steps": 1, "batch_size": 256},
}


def config(loss: str = "bce", **train: Any) -> dict[str, Any]:
    return {
        **CONFIG,
        "loss": {**CONFIG["loss"], "name": loss},
        "train": {**CONFIG["train"], **train},
    }


def training(cfg: dict[str, Any]) -> dict[str, Any]:
    """``cfg`` for a run still training: it plans more steps than its rows reach."""
    return {**cfg, "train": {**cfg["train"], "steps": 10**6}}


def names(findings: list[Finding]) -> list[str]:
    return [f.name for f in findings]


def test_healthy_stream_has_no_finding() -> None:
    for seed in range(5):
        assert diagnose(stream(seed=seed), config()) == []
    assert diagnose([], config()) == []


def test_vanishing_gradients_with_minimax() -> None:
    n = 200
    g = np.full(n, 0.5)
    d_real, d_fake = np.full(n, 0.6), np.full(n, 0.4)
    g[60:], d_real[60:], d_fake[60:] = 1e-5, 0.99, 0.01  # from row 60 on D wins, G is silent
    found = diagnose(
        stream(n, g_grad_norm=g, d_real=d_real, d_fake=d_fake, fooled=np.where(g < 1, 0, 0.3)),
        config("minimax"),
    )
    assert names(found) == ["vanishing_gradients"]
    f = found[0]
    assert f.severity == "error"
    assert f.steps == (61 * LOG_EVERY, n * LOG_EVERY)
    assert f.evidence["g_grad_norm_reference"] == pytest.approx(0.5)
    assert f.evidence["g_grad_norm_end"] == pytest.approx(1e-5)
    assert f.evidence["d_real"] == pytest.approx(0.99)
    assert f.evidence["d_fake"] == pytest.approx(0.01)
    # first: the run with its changes to this problem's causes undone (the loss, its R1 and
    # the learning rates go back to the preset's; the EMA and decay changes stay)
    assert f.remedies[0] == "gankit train ring8 --set optim.lr_decay=none --set model.g_ema=0.0"
    # then single changes on top of the run's other overrides: none repeats a blamed one (the
    # learning rates), and the lowered D rate is a quarter of the preset's, not the run's
    assert f.remedies[1] == (
        "gankit train ring8 --set optim.lr_decay=none --set model.g_ema=0.0 --set loss.name=bce"
    )
    assert not any("optim.d_lr=0.002" in r or "optim.g_lr=0.002" in r for r in f.remedies)
    assert any("loss.name=wgan-gp" in r for r in f.remedies)
    assert any("loss.r1=0.03" in r for r in f.remedies)
    preset_d_lr = load_config("ring8").optim.d_lr
    assert any(f"optim.d_lr={preset_d_lr / 4:g}" in r for r in f.remedies)
    assert "minimax" in f.summary
    assert "optim.d_lr = 0.002, optim.g_lr = 0.002 from its preset, a usual cause" in f.summary


def test_minimax_saturated_from_the_start_is_vanishing() -> None:
    """A D that wins from the first logged row leaves G's gradient tiny throughout, so no
    earlier level to fall from; with minimax the saturated loss itself is the evidence."""
    n = 60
    rows = stream(n, g_grad_norm=0.003, d_real=0.999, d_fake=0.002, fooled=0.0)
    assert names(diagnose(rows, config("minimax"))) == ["vanishing_gradients"]
    # the same stream under bce (non-saturating): G still gets its gradient; D wins
    assert names(diagnose(rows, config("bce"))) == ["discriminator_wins"]


def test_separation_rules_skip_wasserstein_losses() -> None:
    """For wgan the realness is relative to the critic's own gap: no "perfect separation"."""
    rows = stream(d_real=0.99, d_fake=0.01, fooled=0.0)
    assert diagnose(rows, config("wgan-gp")) == []


def test_discriminator_wins_without_gradient_collapse() -> None:
    n = 300
    fooled, d_fake = np.full(n, 0.3), np.full(n, 0.4)
    fooled[150:], d_fake[150:] = 0.0, 0.02
    found = diagnose(stream(n, fooled=fooled, d_fake=d_fake), config(d_steps=5))
    assert names(found) == ["discriminator_wins"]
    f = found[0]
    assert f.severity == "warning"
    assert f.steps == ((n - n // 3 + 1) * LOG_EVERY, n * LOG_EVERY)
    assert f.evidence["fooled"] == 0.0
    assert f.evidence["d_fake"] == pytest.approx(0.02)
    assert f.evidence["g_grad_norm"] == pytest.approx(0.5, abs=0.05)
    # the run's 5 D steps are a usual cause: undone first, repeated by no remedy
    assert "train.d_steps" not in f.remedies[0]
    assert not any("train.d_steps=5" in r for r in f.remedies)


def test_non_convergence_from_oscillating_losses() -> None:
    n = 400
    t = np.arange(n)
    wave = np.sin(2 * np.pi * t / 16)
    found = diagnose(
        stream(n, g_loss=1.0 + 1.5 * wave, d_loss=1.0 - 0.9 * wave, d_real=0.6 + 0.35 * wave),
        config(),
    )
    assert names(found) == ["non_convergence"]
    f = found[0]
    assert f.steps == ((n // 2 + 1) * LOG_EVERY, n * LOG_EVERY)
    assert f.evidence["g_loss_relative_swing"] > rules.OSCILLATION_REL_STD
    assert f.evidence["gap_detrended_std"] > rules.OSCILLATION_GAP_STD
    assert f.evidence["gap_direction_changes"] > 20
    # the run turned the preset's learning-rate decay off: the first remedy turns it back on
    assert "lr_decay" not in f.remedies[0]
    assert not any("optim.lr_decay=none" in r for r in f.remedies)


def test_a_trend_is_not_oscillation() -> None:
    """A loss drifting steadily (D slowly improving) is detrended away: no finding."""
    n = 200
    assert diagnose(stream(n, g_loss=np.linspace(0.7, 3.0, n)), config()) == []


def test_non_convergence_from_worsening_eval() -> None:
    rows = stream(100)
    for step, w1 in ((1000, 0.3), (2500, 0.1), (5000, 0.4)):
        rows.append({"step": step, "eval": {"w1": {"value": w1}}})
    found = diagnose(rows, config())
    assert names(found) == ["non_convergence"]
    assert found[0].steps == (2500, 5000)
    assert found[0].evidence["eval_w1_best"] == pytest.approx(0.1)
    assert found[0].evidence["eval_w1_last"] == pytest.approx(0.4)


def test_mode_collapse_from_eval_scores() -> None:
    END = 200 * LOG_EVERY  # stream()'s last step
    scores = {"modes": {"modes": 5, "n_modes": 8, "high_quality": 0.9, "reverse_kl": 0.4}}
    found = diagnose(stream(), config(), {"step": END, "scores": scores})
    assert names(found) == ["mode_collapse"]
    f = found[0]
    assert f.steps == (END, END)
    assert "the evaluation found 5 of 8 modes" in f.summary
    assert f.evidence == {"eval_modes": 5.0, "n_modes": 8.0, "eval_reverse_kl": 0.4}
    assert any("model.pack=2" in r for r in f.remedies)
    assert not any("d_mbstd" in r for r in f.remedies)  # points, not images
    # all modes, even shares: healthy
    good = {"modes": {"modes": 8, "n_modes": 8, "high_quality": 0.9, "reverse_kl": 0.01}}
    assert diagnose(stream(), config(), {"step": END, "scores": good}) == []
    # a truncated sampler's scores: collapse is judged on G's every draw beside them
    truncated = {"step": END, "scores": good, "scores_every_draw": scores}
    assert names(diagnose(stream(), config(), truncated)) == ["mode_collapse"]
    truncated = {"step": END, "scores": scores, "scores_every_draw": good}
    assert diagnose(stream(), config(), truncated) == []


def test_sine_covering_part_of_x_is_a_collapse() -> None:
    sine = {"sine": {"curve_distance": 0.11, "x_coverage": 0.275}}
    found = diagnose(stream(), config(), {"step": 3000, "scores": sine})
    assert names(found) == ["mode_collapse"]
    assert found[0].evidence == {"eval_x_coverage": 0.275}
    assert "cover 28 % of the curve's x" in found[0].summary
    healthy = {"sine": {"curve_distance": 0.005, "x_coverage": 0.975}}
    assert diagnose(stream(), config(), {"step": 3000, "scores": healthy}) == []


def test_mode_collapse_classes_and_stacked_from_eval_rows() -> None:
    shares = [0.55] + [0.05] * 9
    rows = [*stream(50), {"step": 2500, "eval": {"classes": {"coverage": 10, "shares": shares}}}]
    found = diagnose(rows, {**config(), "data": {"name": "digits"}})
    assert names(found) == ["mode_collapse"]
    assert found[0].evidence == {"eval_max_class_share": 0.55}
    assert any("model.d_mbstd=true" in r for r in found[0].remedies)
    stacked = {"stacked_modes": {"modes": 700, "n_modes": 1000, "reverse_kl": 0.5}}
    found = diagnose(stream(50), config(), {"step": 1, "scores": stacked})
    assert found[0].evidence == {"eval_stacked_modes": 700.0, "eval_stacked_reverse_kl": 0.5}


def test_full_collapse_from_the_diversity_signal() -> None:
    n = 200
    diversity = np.concatenate([np.full(100, 0.95), np.full(100, 0.08)])
    found = diagnose(stream(n, diversity=diversity), config())
    assert names(found) == ["mode_collapse"]
    f = found[0]
    assert f.steps == (101 * LOG_EVERY, n * LOG_EVERY)  # where the low stretch starts
    assert f.evidence["diversity"] == pytest.approx(0.08)
    assert f.evidence["diversity_best"] == pytest.approx(0.95)
    assert f.series == ["diversity"]
    # healthy diversity, noisy around 1, and a dip early on that recovers: quiet
    rng = np.random.default_rng(1)
    noisy = 1.0 + 0.1 * rng.standard_normal(n)
    noisy[20:40] = 0.3
    assert diagnose(stream(n, diversity=noisy), config()) == []
    # just above the threshold: quiet; just below: found
    assert diagnose(stream(n, diversity=DIVERSITY_COLLAPSED + 0.01), config()) == []
    assert names(diagnose(stream(n, diversity=DIVERSITY_COLLAPSED - 0.01), config())) == [
        "mode_collapse"
    ]


def test_noise_narrowing_to_the_datas_spread_is_no_collapse() -> None:
    """G starts as noise more spread out than the data and narrows as it learns: a fall
    from 2.4 to 0.8 is measured from the data's own spread (1), live and at the end."""
    n = 60
    diversity = np.concatenate([np.full(20, 2.4), np.full(40, 0.8)])
    rows = stream(n, diversity=diversity)
    assert diagnose(rows, config()) == []
    assert diagnose(rows, training(config())) == []
    falling = np.concatenate([np.full(20, 2.4), np.full(40, 0.3)])  # below half the data's
    found = diagnose(stream(n, diversity=falling), training(config()))
    assert names(found) == ["mode_collapse"] and found[0].evidence["diversity_best"] == 1.0


def test_partial_collapse_from_the_mode_and_class_signals() -> None:
    n = 150
    modes = np.concatenate([np.full(50, 8.0), np.full(100, 6.0)])  # two of ring8's modes lost
    found = diagnose(stream(n, diversity=0.9, modes=modes, mode_kl=0.05), config())
    assert names(found) == ["mode_collapse"]
    assert found[0].evidence["modes"] == 6.0 and found[0].evidence["n_modes"] == 8.0
    assert found[0].steps == (51 * LOG_EVERY, n * LOG_EVERY)
    assert "reach 6 of 8 modes" in found[0].summary
    assert found[0].series == ["diversity", "modes"]
    # every mode reached, a lost one now and then: quiet
    flicker = np.full(n, 8.0)
    flicker[::7] = 7.0
    assert diagnose(stream(n, diversity=0.9, modes=flicker, mode_kl=0.05), config()) == []
    # digits: three classes gone
    digits = {**config(), "data": {"name": "digits"}}
    found = diagnose(stream(n, diversity=0.8, classes=7.0), digits)
    assert names(found) == ["mode_collapse"] and found[0].evidence["classes"] == 7.0
    assert diagnose(stream(n, diversity=0.8, classes=10.0), digits) == []


def test_non_convergence_from_samples_that_never_settle() -> None:
    n = 200
    rng = np.random.default_rng(3)
    restless = 0.9 + 0.05 * rng.standard_normal(n)  # each sample replaced, row after row
    found = diagnose(stream(n, drift=restless), config())
    assert names(found) == ["non_convergence"]
    f = found[0]
    assert f.evidence["drift_late"] == pytest.approx(0.9, abs=0.03)
    assert "drift" in f.series and "still change by 0.9" in f.summary
    # a converging run: drift falls as the learning rate decays
    settling = np.geomspace(1.0, 0.02, n)
    assert diagnose(stream(n, drift=settling), config()) == []
    # still high at the end but clearly falling (half of mid-run): no finding
    falling = np.concatenate([np.full(n // 2, 1.2), np.full(n // 2, 0.55)])
    assert diagnose(stream(n, drift=falling), config()) == []


def test_live_mode_loss_is_a_fall_to_half_the_best_not_a_dip() -> None:
    """While training, G trades modes as it finds them (grid25 wanders between 5 and 9 of 25
    before it reaches all): a dip is no collapse; losing most of the modes it held is."""
    grid = {**config(), "data": {"name": "grid25"}}
    n = 40
    finding = np.concatenate([np.linspace(1, 9, 20), np.full(20, 6.0)])  # best 9, now 6
    assert diagnose(stream(n, diversity=0.8, modes=finding), training(grid)) == []
    ring_lost = np.concatenate([np.full(20, 8.0), np.full(20, 2.0)])  # 8 held, 2 left
    found = diagnose(stream(n, diversity=0.8, modes=ring_lost), training(config()))
    assert names(found) == ["mode_collapse"] and found[0].evidence["modes_best"] == 8.0
    assert found[0].steps == (21 * LOG_EVERY, n * LOG_EVERY)
    # classes alike: 10 classes held, 4 left
    digits = {**config(), "data": {"name": "digits"}}
    lost = np.concatenate([np.full(20, 10.0), np.full(20, 4.0)])
    assert names(diagnose(stream(n, diversity=0.8, classes=lost), training(digits))) == [
        "mode_collapse"
    ]
    dip = np.concatenate([np.full(20, 10.0), np.full(20, 8.0)])
    assert diagnose(stream(n, diversity=0.8, classes=dip), training(digits)) == []


def test_live_doctor_reports_each_finding_once() -> None:
    rows = stream(200, g_grad_norm=np.geomspace(0.5, 1e-5, 200), d_real=0.99, d_fake=0.01)
    live = LiveDoctor(training(config()))
    first = live(rows[:150])
    assert names(first) == ["vanishing_gradients"]
    assert live(rows) == []  # said once


def test_a_run_younger_than_half_its_presets_steps_is_too_early() -> None:
    """Oscillating losses at 42 % of ring8's 12,000 steps: too early to judge, with what
    the rules saw so far; the live doctor says nothing then; from half the steps on,
    non_convergence, live and offline alike."""
    n = 60
    wave = np.sin(2 * np.pi * np.arange(n) / 16)
    rows = stream(n, g_loss=1.0 + 1.5 * wave, d_loss=1.0 - 0.9 * wave, d_real=0.6 + 0.35 * wave)
    cfg = training(config())
    (early,) = diagnose(rows[:25], cfg)
    assert early.name == "too_early" and early.severity == "info"
    assert "5,000 steps, 42 % of its preset's 12,000" in early.summary
    assert "so far: training does not converge" in early.summary
    assert early.evidence["preset_steps"] == 12000
    live = LiveDoctor(cfg)
    assert live(rows[:25]) == []
    assert names(live(rows[:40])) == names(diagnose(rows[:40], cfg)) == ["non_convergence"]


def test_a_short_run_is_too_early_and_its_remedies_train_the_presets_steps() -> None:
    """``gankit train grid25 --set loss.name=hinge --set train.steps=300``: neither the 300
    steps nor a failure; the remedies train the preset's steps and keep the hinge loss."""
    cfg = {**load_config("grid25", ["loss.name=hinge", "train.steps=300"]).model_dump()}
    rows = stream(6, diversity=0.14)  # G still near one point
    rows = [{**r, "step": 50 * (i + 1)} for i, r in enumerate(rows)]
    (f,) = diagnose(rows, cfg, run="runs/grid25-1")
    assert f.name == "too_early" and "sample diversity" in f.summary
    assert f.remedies == [
        "gankit train grid25 --set loss.name=hinge",
        "gankit train --resume runs/grid25-1 --set train.steps=8000",
    ]
    assert not any("train.steps=300" in r for r in f.remedies)


def test_a_shortened_run_still_finding_modes_is_too_early() -> None:
    """A finished run of 7,000 of ring8's 12,000 steps, 6 of 8 modes and still rising: too
    early; the same counts settled, or at the preset's full length, are a collapse."""
    n = 35  # 7,000 steps
    rising = np.concatenate([np.full(23, 4.0), np.full(6, 5.0), np.full(6, 6.0)])
    cfg = {**config(), "train": {**config()["train"], "steps": n * LOG_EVERY}}
    assert names(diagnose(stream(n, diversity=0.9, modes=rising), cfg)) == ["too_early"]
    assert names(diagnose(stream(n, diversity=0.9, modes=6.0), cfg)) == ["mode_collapse"]
    # samples still far from the data as well: one verdict, "too early", with both seen
    far = _eval(n * LOG_EVERY, "w1", 0.34, 0.0286)
    (f,) = diagnose(stream(n, diversity=0.9, modes=rising), cfg, far)
    assert f.name == "too_early" and "far from the data: w1 0.34" in f.summary
    assert names(diagnose(stream(n, diversity=0.9, modes=6.0), cfg, far)) == [
        "mode_collapse",
        "far_from_data",
    ]


def test_a_run_that_diverged_young_is_over_not_too_early() -> None:
    """A collapsed run that hit NaN at a tenth of its preset's steps: divergence alone."""
    rows = stream(24, diversity=0.1, modes=1.0)
    rows.append({"step": 25 * LOG_EVERY, **{k: None for k in SERIES}})
    assert names(diagnose(rows, config())) == ["divergence"]
    assert names(diagnose(rows[:-1], config())) == ["too_early"]


def test_divergence_on_nan_stop() -> None:
    rows = stream(100)
    rows.append({"step": 5050, **{k: None for k in SERIES}})  # how JSON stores NaN
    found = diagnose(rows, config())
    assert names(found) == ["divergence"]
    f = found[0]
    assert f.severity == "error"
    assert f.steps == (5050, 5050)
    assert f.evidence["d_loss_non_finite_rows"] == 1
    assert any("train.dtype=float64" in r for r in f.remedies)


def test_divergence_on_exploding_gradients() -> None:
    n = 100
    d = np.full(n, 1.0)
    d[80:] = np.geomspace(10, 1e5, n - 80)
    found = diagnose(stream(n, d_grad_norm=d), config())
    assert names(found)[0] == "divergence"
    f = found[0]
    first = 80 + int(np.argmax(d[80:] > 1e3))
    assert f.steps == ((first + 1) * LOG_EVERY, n * LOG_EVERY)
    assert f.evidence["d_grad_norm_max"] == pytest.approx(1e5)


def test_to_json_round_trips() -> None:
    rows = [*stream(100), {"step": 5050, **{k: None for k in SERIES}}]
    out = to_json(diagnose(rows, config()))
    again = json.loads(json.dumps(out, allow_nan=False))
    assert again[0]["name"] == "divergence" and again[0]["steps"] == [5050, 5050]


def test_a_run_of_100000_rows_is_read_whole() -> None:
    """A long run's oscillation is still found (its speed is measured in benchmarks.doctor)."""
    n = 100_000
    rows = stream(n, g_loss=1.0 + 1.5 * np.sin(np.arange(n) / 3.0))
    assert names(diagnose(rows, config())) == ["non_convergence"]


def test_diagnose_run_on_a_tiny_real_run(tmp_path: Any) -> None:
    from gankit import training as train
    from gankit.config import load_config

    cfg = load_config(
        "sine",
        [
            "train.steps=40",
            "train.log_every=5",
            "train.snapshot_every=20",
            "model.g_hidden=[16]",
            "model.d_hidden=[16]",
            "eval.n_samples=200",
            "eval.w1_points=200",
            "viz.grid=8",
            "viz.points=50",
        ],
    )
    run = train.start(cfg, tmp_path / "r", progress=False)
    found = diagnose_run(run.path)
    assert isinstance(found, list)
    assert all(isinstance(f, Finding) for f in found)
    json.loads(json.dumps(to_json(found), allow_nan=False))


def test_real_minimax_run_with_a_strong_d_has_vanishing_gradients(tmp_path: Any) -> None:
    """The textbook failure, for real: the saturating loss, D 10,000x faster than G and 5 D
    steps per G step; within a few dozen steps D is sure and G's gradient is gone."""
    from gankit import training as train
    from gankit.config import load_config

    cfg = load_config(
        "ring8",
        [
            "data.n=2000",
            "loss.name=minimax",
            "loss.r1=0",
            "optim.d_lr=1e-2",
            "optim.g_lr=1e-6",
            "optim.lr_decay=none",
            "train.d_steps=5",
            "train.steps=120",
            "train.log_every=10",
            "train.snapshot_every=120",
            "eval.n_samples=200",
            "viz.grid=8",
            "viz.points=50",
        ],
    )
    run = train.start(cfg, tmp_path / "r", progress=False)
    found = diagnose_run(run.path)
    assert "vanishing_gradients" in names(found)
    f = found[names(found).index("vanishing_gradients")]
    assert f.steps[1] == 120
    assert f.evidence["g_grad_norm_end"] < 1e-2 * f.evidence["g_grad_norm_reference"]
    to_bce = [r for r in f.remedies if r.endswith("--set loss.name=bce")]
    assert len(to_bce) == 1 and "loss.name=minimax" not in to_bce[0]
    # the 5 D steps and the learning rates are what it blames: gone; the rest stays
    assert "train.d_steps" not in to_bce[0] and "--set data.n=2000" in to_bce[0]
    # the remedy is a command that runs: its --set values parse back to the run's config
    from gankit.config import load_config as load

    words = shlex.split(to_bce[0])
    sets = [words[i + 1] for i, w in enumerate(words) if w == "--set"]
    redone = load("ring8", sets)
    assert redone.loss.name == "bce" and redone.data.n == 2000
    assert redone.optim.g_lr == load("ring8").optim.g_lr  # the preset's, not the run's 1e-6


def test_critic_losses_may_swing() -> None:
    """A critic's loss has no fixed scale and swings in healthy wgan-gp runs: not judged."""
    n = 200
    wave = np.sin(np.arange(n) / 2.0)
    assert diagnose(stream(n, g_loss=3 * wave, d_loss=-2 * wave), config("wgan-gp")) == []


def test_remedies_undo_only_the_problems_causes_and_skip_machine_keys() -> None:
    from gankit.config import load_config
    from gankit.doctor.finding import Remedies

    cfg = load_config(
        "ring8",
        ["train.threads=1", "train.steps=300", "optim.d_lr=0.01", "model.latent_dim=3"],
    ).model_dump()
    cmd = Remedies(cfg)
    # the thread count says nothing about what is learnt: never repeated
    assert cmd("loss.r1=0.1") == (
        "gankit train ring8 --set model.latent_dim=3 --set optim.d_lr=0.01"
        " --set train.steps=300 --set loss.r1=0.1"
    )
    wins = cmd.blaming("discriminator_wins")
    assert wins.undo() == ["gankit train ring8 --set model.latent_dim=3 --set train.steps=300"]
    assert wins.lower_d_lr() == wins(f"optim.d_lr={load_config('ring8').optim.d_lr / 4:g}")
    shipped = Remedies(load_config("ring8", ["train.steps=300"]).model_dump())
    assert shipped.blaming("discriminator_wins").undo() == []  # none of its causes to undo
    assert shipped.blaming("too_early").undo() == ["gankit train ring8"]


def test_discriminator_wins_needs_few_fooled_and_a_wide_gap() -> None:
    """A slow G fooling D 3 % of the time with confident verdicts: D wins. The same share
    with verdicts close together is a D that merely leans, and no finding."""
    n = 150
    wide = stream(n, fooled=0.03, d_real=0.82, d_fake=0.18)
    assert names(diagnose(wide, config())) == ["discriminator_wins"]
    narrow = stream(n, fooled=0.03, d_real=0.6, d_fake=0.4)
    assert "discriminator_wins" not in names(diagnose(narrow, config()))
    assert diagnose(stream(n, fooled=0.08, d_real=0.82, d_fake=0.18), config()) == []


def _eval(step: int, key: str, value: float, floor: float, main: str = "value") -> dict:
    return {"step": step, "scores": {key: {main: value}}, "real_floor": {key: {main: floor}}}


def test_images_far_from_their_floor_are_a_finding() -> None:
    """A Fréchet distance 30 times its real-data floor: far from the data, with both numbers;
    digits' healthy 4.9 against 1.19 is not, nor stacked digits' 18.8 against 2.08."""
    folder = {**config(), "data": {"name": "folder"}}
    end = 200 * LOG_EVERY
    (f,) = diagnose(stream(), folder, _eval(end, "fd", 2637.0, 87.9))
    assert f.name == "far_from_data" and f.steps == (end, end)
    assert f.evidence == {"eval_fd": 2637.0, "eval_fd_floor": 87.9}
    assert "fd 2637 against 87.9 for real samples" in f.summary
    assert "model.g_ema" not in f.remedies[0]  # the run turned the EMA off: undone first
    assert any("train.steps=" in r for r in f.remedies)
    assert diagnose(stream(), folder, _eval(end, "fd", 4.9, 1.19)) == []
    assert diagnose(stream(), folder, _eval(end, "fd", 18.8, 2.08)) == []
    # coverage, higher is better: a twentieth of the floor's is far; healthy breakout-fast
    # runs' 0.12 against 0.75 is not
    cov = _eval(end, "density_coverage", 0.05, 0.99, main="coverage")
    assert names(diagnose(stream(), folder, cov)) == ["far_from_data"]
    assert diagnose(stream(), folder, _eval(end, "density_coverage", 0.12, 0.75, "coverage")) == []
    # twenty steps into the run: too early, with what it saw so far
    rows = [{**r, "step": 5 * (i + 1)} for i, r in enumerate(stream(4))]
    (early,) = diagnose(rows, training(folder), cov)
    assert early.name == "too_early" and "far from the data: density_coverage 0.05" in early.summary


def test_far_from_data_says_when_it_judged_gs_every_draw_not_the_truncated_samples() -> None:
    """ring8's sampler keeps the draws of the steepest Jacobians: its headline W1 (3.1995)
    is not the one the doctor judges (3.228, every draw), so the sentence names which."""
    end = 200 * LOG_EVERY
    drawn = {**_eval(end, "w1", 3.1995, 0.19), "scores_every_draw": {"w1": {"value": 3.228}}}
    (f,) = diagnose(stream(), config(), drawn)
    assert "w1 3.228 against 0.19 for real samples (G's every draw, before truncation)." in (
        f.summary
    )
    (plain,) = diagnose(stream(), config(), _eval(end, "w1", 3.228, 0.19))
    assert "every draw" not in plain.summary


def test_exploding_but_finite_losses_and_distances_are_divergence() -> None:
    """Points at 1e30 train to a D loss of 7e27, finite: divergence. Adam at lr 1e3 leaves
    the losses readable but W1 at 11,922 against a floor of 0.04: divergence too."""
    n = 200
    d = np.full(n, 1.3)
    d[100:] = 7e27
    (f,) = [x for x in diagnose(stream(n, d_loss=d), config()) if x.name == "divergence"]
    assert f.evidence["d_loss_max_abs"] == 7e27 and f.steps[0] == 101 * LOG_EVERY
    assert "blew up by orders of magnitude" in f.summary
    found = diagnose(stream(n), config(), _eval(n * LOG_EVERY, "w1", 11922.0, 0.04))
    assert names(found) == ["divergence"]  # far from the data is no news beside it
    assert found[0].evidence["eval_w1"] == 11922.0 and "distance to the data" in found[0].summary
    # a critic's loss has no fixed scale: large values are judged against its early level
    critic = np.linspace(-1.0, -50.0, n)
    assert diagnose(stream(n, d_loss=critic, g_loss=-critic), config("wgan-gp")) == []


def test_the_live_verdict_is_the_offline_verdict_on_the_run_cut_there(tmp_path: Any) -> None:
    """What the live doctor said at step N is what ``gankit doctor`` says of a copy of the run
    whose rows stop at N: the same rules on the same rows."""
    import shutil

    from gankit import training as train
    from gankit.run import RunDir

    cfg = load_config(
        "ring8",
        ["data.n=2000", "loss.name=minimax", "loss.r1=0", "optim.d_lr=1e-2", "optim.g_lr=1e-6",
         "optim.lr_decay=none", "train.d_steps=5", "train.steps=120", "train.log_every=10",
         "train.snapshot_every=40", "eval.n_samples=200", "viz.grid=8", "viz.points=50"],
    )  # fmt: skip
    run = train.start(cfg, tmp_path / "r", progress=False)
    live = [e for e in run.events() if e.get("event") == "doctor"]
    assert live, "the strong D's vanishing gradients are reported while it trains"
    rows = run.metrics()
    for step in (40, 80):
        cut = tmp_path / f"cut-{step}"
        shutil.copytree(run.path, cut)
        (cut / "eval.json").unlink(missing_ok=True)
        kept = [json.dumps(r) for r in rows if r.get("step", 0) <= step and "eval" not in r]
        (cut / "metrics.jsonl").write_text("\n".join(kept) + "\n")
        offline = {f.name for f in diagnose_run(cut)} - {"too_early"}
        said = {e["name"] for e in live if e["step"] <= step}
        assert offline == said, step
        assert RunDir.open(cut).metrics()[-1]["step"] == step


def test_a_score_without_a_positive_floor_is_no_measure() -> None:
    """KID's unbiased estimate is negative on real samples (-0.34 on digits): a run's 1.0
    beside it is no explosion and no distance from the data."""
    end = 200 * LOG_EVERY
    digits = {**config(), "data": {"name": "digits"}}
    assert diagnose(stream(), digits, _eval(end, "kid", 1.0, -0.339)) == []
    assert diagnose(stream(), digits, _eval(end, "fd", 4.9, 0.0)) == []
