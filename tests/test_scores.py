"""The registry of scores (gankit.scores): what eval computes, how the headline prints each
score, and which way the doctor reads it all come from a score's entry."""

import dataclasses
import json
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from gankit.catalog import score_rows
from gankit.config import load_config
from gankit.data import ImageData, load_data
from gankit.doctor import diagnose
from gankit.evaluate import score_samples
from gankit.headline import headline
from gankit.report.scores import scores_section
from gankit.scores import Row, Score, registry

SMALL = ["data.n=600", "data.holdout=300"]
POINT_PRESETS = ["ring8", "grid25", "sine", "gaussian1d", "spiral"]


class FakeFeatures:
    """A feature network in name only: the first 16 pixels, scaled to [0, 1]."""

    def __init__(self) -> None:
        self.protocol = {"name": "first-pixels", "dim": 16}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64).reshape(len(x), -1)[:, :16] / 255.0


def images(kind: str, channels: int, n: int = 300, seed: int = 0) -> ImageData:
    rng = np.random.default_rng(seed)
    train, holdout = (rng.integers(0, 256, (n, 8, 8, channels), dtype=np.uint8) for _ in "ab")
    return ImageData(train=train, holdout=holdout, kind=kind)


def scored(data: Any, cfg: Any) -> dict[str, Any]:
    """An eval result of a sample of the training data against the held-out data, floor and
    every draw included, as JSON gives it back."""
    x = data.train[:200]
    features = FakeFeatures() if isinstance(data, ImageData) else None
    real_f = features(data.holdout) if features else None
    scores = score_samples(x, data, cfg, features, real_f)
    floor = score_samples(data.holdout[:200], data, cfg, features, real_f)
    result = {"scores": scores, "real_floor": floor, "scores_every_draw": scores}
    return json.loads(json.dumps({**result, "sampler": {"jacobian_keep": 0.9}}))


@pytest.fixture(scope="module")
def every_data() -> list[tuple[Any, Any]]:
    """Data of every kind gankit scores differently: the point presets and the images."""
    out = []
    for preset in POINT_PRESETS:
        cfg = load_config(preset, SMALL)
        out.append((load_data(cfg.data, cfg.seed, False), cfg))
    cfg = load_config("digits", SMALL)
    out += [(images("digits", 1), cfg), (images("stacked-digits", 3), cfg)]
    return out


def test_each_score_applies_to_some_data_and_its_headline_renders(every_data):
    seen: set[str] = set()
    for data, cfg in every_data:
        result = scored(data, cfg)
        wanted = [s.key for s in registry.for_data(data)]
        assert list(result["scores"]) == wanted  # eval computes what the registry says
        rows = headline(result)
        for score in registry.for_data(data):
            own = score.headline(result["scores"][score.key], result["real_floor"][score.key])
            assert own and all(isinstance(c, str) and c for row in own for c in row[:2])
            assert set(own) <= set(rows)
            if score.every_draw:
                assert any(row[0].startswith("  every draw (above: 90 %)") for row in rows)
        seen.update(wanted)
    assert seen == {s.key for s in registry.scores()}


def test_the_headline_reads_the_registry_format():
    result = {
        "scores": {"fd": {"value": 12.345678, "protocol": {"features": {"name": "encoder"}}}},
        "real_floor": {"fd": {"value": 0.5, "protocol": {"features": {"name": "encoder"}}}},
    }
    assert headline(result) == [("Fréchet distance (encoder)", "12.35", "0.5")]


def lower_distance(key: str = "lpips", better: str = "lower") -> Score:
    """A score the registry does not have: it applies to the sine, and its value is the
    mean distance of the samples from the origin."""

    def compute(given: Any) -> dict[str, Any]:
        value = float(np.linalg.norm(given.x, axis=1).mean())
        return {"value": value, "protocol": {"name": key, "n_samples": len(given.x)}}

    return Score(
        key=key,
        applies=lambda data: getattr(data, "kind", "") == "sine",
        compute=compute,
        main="value",
        better=better,  # type: ignore[arg-type]
        followed=True,
        rows=(Row(f"{key} distance", lambda f: f"{f['value']:.3f}"),),
    )


def train_rows(n: int = 100) -> list[dict[str, Any]]:
    """A healthy run's logged rows: D unsure, G fooling it a fair share, steady norms."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        noise = 0.02 * rng.standard_normal(5)
        rows.append({
            "step": (i + 1) * 50, "d_loss": 1.3 + noise[0], "g_loss": 0.8 + noise[1],
            "d_real": 0.6 + noise[2], "d_fake": 0.4 + noise[3], "fooled": 0.3 + noise[4],
            "d_grad_norm": 1.0, "g_grad_norm": 0.5,
        })  # fmt: skip
    return rows


CONFIG = {"loss": {"name": "bce"}, "data": {"name": "sine"}}


def with_evals(key: str, field: str, values: tuple[float, ...]) -> list[dict[str, Any]]:
    rows = train_rows()
    for step, v in zip((1000, 2500, 5000), values, strict=True):
        rows.append({"step": step, "eval": {key: {field: v, "protocol": {}}}})
    return rows


@pytest.mark.parametrize("better", ["lower", "higher"])
def test_a_registered_score_reaches_the_doctor_with_its_direction(monkeypatch, better):
    monkeypatch.setattr(registry, "SCORES", (*registry.SCORES, lower_distance(better=better)))
    # best 0.1 at step 2500, then 0.4: far worse for a distance; for a higher-is-better
    # score the last value is its best, nothing to report
    found = diagnose(with_evals("lpips", "value", (0.3, 0.1, 0.4)), CONFIG)
    if better == "lower":
        assert [f.name for f in found] == ["non_convergence"]
        assert found[0].evidence["eval_lpips_best"] == pytest.approx(0.1)
        assert found[0].steps == (2500, 5000)
    else:
        assert found == []
    # the same numbers falling: a distance improving, a count lost
    found = diagnose(with_evals("lpips", "value", (0.4, 0.3, 0.1)), CONFIG)
    if better == "lower":
        assert found == []
    else:
        assert found[0].evidence == {"eval_lpips_best": 0.4, "eval_lpips_last": 0.1}


@pytest.mark.parametrize("score", registry.followed(), ids=lambda s: s.key)
def test_the_registry_direction_is_the_doctors(score):
    good, best, worse = (0.3, 0.1, 0.4) if score.better == "lower" else (5, 8, 4)
    found = diagnose(with_evals(score.key, score.main, (good, best, worse)), CONFIG)
    assert found[0].name == "non_convergence"
    assert found[0].evidence[f"eval_{score.key}_best"] == best
    improving = (good, worse, best) if score.better == "higher" else (worse, good, best)
    found = diagnose(with_evals(score.key, score.main, improving), CONFIG)
    assert "non_convergence" not in [f.name for f in found]  # 8 stacked modes: a collapse


def test_a_score_the_doctor_does_not_follow_is_not_judged(monkeypatch):
    quiet = dataclasses.replace(lower_distance(), followed=False)
    monkeypatch.setattr(registry, "SCORES", (*registry.SCORES, quiet))
    assert diagnose(with_evals("lpips", "value", (0.3, 0.1, 0.4)), CONFIG) == []


def test_an_entry_is_enough_for_eval_the_catalogue_and_the_report(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, "SCORES", (*registry.SCORES, lower_distance()))
    cfg = load_config("sine", SMALL)
    data = load_data(cfg.data, cfg.seed, False)
    result = scored(data, cfg)
    assert list(result["scores"]) == ["sine", "w1", "lpips"]
    assert result["scores"]["lpips"]["protocol"] == {"name": "lpips", "n_samples": 200}
    row = headline(result)[-1]
    assert row[0] == "lpips distance" and float(row[1]) > 0 and float(row[2]) > 0
    (tmp_path / "eval.json").write_text(json.dumps(result))
    assert score_rows(tmp_path)[0][-1] == row  # gankit runs and gankit compare
    run = SimpleNamespace(path=str(tmp_path), eval_result=result, eval_note="", steps_done=0)
    assert f'<td>lpips distance</td><td class="num">{row[1]}</td>' in scores_section(run)


def test_an_unknown_score_in_eval_json_is_left_out_of_the_headline():
    """An eval.json of a newer version, with a score this one does not know: the rows of
    the scores it knows, not a failure."""
    result = {"scores": {"w1": {"value": 0.5}, "new": {"value": 1}},
              "real_floor": {"w1": {"value": 0.1}, "new": {"value": 0}}}  # fmt: skip
    assert headline(result) == [("Wasserstein-1", "0.5000", "0.1000")]


def test_the_registry_imports_no_scoring_code():
    """``gankit runs`` prints headline rows through the registry: it must stay light."""
    code = (
        "import sys, gankit; before = set(sys.modules); "
        "import gankit.scores, gankit.headline; "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout.split()
    assert "gankit.scores.registry" in loaded
    heavy = [m for m in loaded if m.split(".")[0] in ("torch", "scipy", "ot", "keras")]
    assert heavy + [m for m in loaded if m.startswith("gankit.metrics")] == []
