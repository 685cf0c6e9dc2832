"""The catalogue of runs: which folders are runs, and what a line says of each, including
runs that are damaged, half-written or still training. Runs here are written by hand (the
files a run directory holds), so every case is exact and nothing trains."""

import json
import shutil
from pathlib import Path

import pytest

from gankit.catalog import (
    HEALTHY,
    NOT_DIAGNOSED,
    UNREADABLE,
    RunSummary,
    catalog_lines,
    find_runs,
    summarize,
)
from gankit.config import load_config


def fake_run(
    path: Path,
    preset: str = "sine",
    engine: str = "torch",
    steps: int = 20,
    checkpoints: tuple[int, ...] = (10, 20),
    w1: tuple[float, float] | None = (0.5, 0.07),
    findings: list[str] | None = None,
    overrides: list[str] | None = None,
) -> Path:
    """A run directory as training leaves it, with only the small files filled in: the
    weights are garbage bytes, so a catalogue that loaded them would fail."""
    cfg = load_config(
        preset, [f"train.steps={steps}", f"train.engine={engine}", *(overrides or [])]
    )
    path.mkdir(parents=True)
    meta = {"engine": engine, "started": "2026-11-30T09:15:00", "device": "cpu"}
    (path / "config.json").write_text(json.dumps({**cfg.model_dump(), "meta": meta}))
    (path / "checkpoints").mkdir()
    (path / "snapshots").mkdir()
    for step in checkpoints:
        (path / "checkpoints" / f"step_{step:07d}.safetensors").write_bytes(b"not weights")
        (path / "checkpoints" / f"step_{step:07d}.json").write_text(json.dumps({"step": step}))
    if w1 is not None:
        value, floor = w1
        result = {"step": max(checkpoints, default=0), "scores": {"w1": {"value": value}},
                  "real_floor": {"w1": {"value": floor}}}  # fmt: skip
        (path / "eval.json").write_text(json.dumps(result))
    if findings is not None:
        (path / "doctor.json").write_text(json.dumps([{"name": n} for n in findings]))
    return path


def test_a_finished_run_in_one_line(tmp_path):
    run = fake_run(tmp_path / "00003-ring8-numpy", "ring8", "numpy", 500, (250, 500),
                   (0.1234, 0.0456), [])  # fmt: skip
    s = summarize(run)
    assert s == RunSummary(
        name="00003-ring8-numpy", path=run, preset="ring8", engine="numpy", step=500,
        steps=500, headline=("Wasserstein-1", "0.1234", "0.0456"), verdict=HEALTHY,
        started="2026-11-30",
    )  # fmt: skip
    with pytest.raises(AttributeError):
        s.step = 3  # type: ignore[misc]  # frozen: a summary is a reading, not a handle


def test_findings_joined_once_each_in_their_order(tmp_path):
    run = fake_run(tmp_path / "r", findings=["mode_collapse", "non_convergence", "mode_collapse"])
    assert summarize(run).verdict == "mode_collapse, non_convergence"


def test_scores_with_nulls_still_give_a_headline(tmp_path):
    """The run directory writes inf and NaN as null (a reverse KL with no mode reached)."""
    run = fake_run(tmp_path / "r", "ring8", w1=None)
    result = {
        "step": 20,
        "scores": {"modes": {"modes": 0, "n_modes": 8, "high_quality": 0.0, "reverse_kl": None}},
        "real_floor": {"modes": {"modes": 8, "n_modes": 8, "high_quality": 0.98,
                                 "reverse_kl": 0.006}},
    }  # fmt: skip
    (run / "eval.json").write_text(json.dumps(result))
    assert summarize(run).headline == ("modes captured", "0 / 8", "8")


@pytest.mark.parametrize(
    ("damage", "field", "expected"),
    [
        (
            lambda r: (r / "eval.json").write_text("{not json"),
            "headline",
            ("eval.json", UNREADABLE, ""),
        ),
        (
            lambda r: (r / "eval.json").write_text('{"scores": 3}'),
            "headline",
            ("eval.json", UNREADABLE, ""),
        ),
        (lambda r: (r / "eval.json").unlink(), "headline", None),
        (lambda r: (r / "doctor.json").write_text('[{"name": "mode_'), "verdict", UNREADABLE),
        (lambda r: (r / "doctor.json").write_text('{"name": 1}'), "verdict", UNREADABLE),
        (lambda r: (r / "doctor.json").unlink(), "verdict", NOT_DIAGNOSED),
        # a crash between the weights and their JSON: that checkpoint is not complete
        (lambda r: (r / "checkpoints" / "step_0000020.json").unlink(), "step", 10),
        (lambda r: (r / "checkpoints" / "step_0000020.safetensors").unlink(), "step", 10),
        (lambda r: [p.unlink() for p in (r / "checkpoints").iterdir()], "step", 0),
        (lambda r: shutil.rmtree(r / "checkpoints"), "step", 0),
    ],
)
def test_a_damaged_run_shows_what_can_be_read(tmp_path, damage, field, expected):
    run = fake_run(tmp_path / "r", findings=[])
    damage(run)
    assert getattr(summarize(run), field) == expected


def test_a_torn_config_leaves_the_rest_readable(tmp_path):
    run = fake_run(tmp_path / "r", findings=[])
    (run / "config.json").write_text('{"preset": "sine", "tra')
    s = summarize(run)
    assert (s.preset, s.engine, s.steps, s.started, s.verdict) == ("?", "?", 0, "", UNREADABLE)
    assert (s.step, s.headline) == (20, ("Wasserstein-1", "0.5000", "0.0700"))


def test_find_runs_walks_sweeps_and_skips_what_is_not_a_run(tmp_path):
    fake_run(tmp_path / "00001-ring8-torch")
    fake_run(tmp_path / "00000-sine-keras")
    sweep = tmp_path / "00002-sweep-sine"
    fake_run(sweep / "latent_dim=20")
    fake_run(sweep / "latent_dim=1")
    (sweep / "sweep.json").write_text("{}")
    (tmp_path / "notes").mkdir()
    (tmp_path / ".trash" / "old").mkdir(parents=True)
    (tmp_path / ".trash" / "old" / "config.json").write_text("{}")
    # a run's own folders are not searched: a config.json in snapshots/ is not a run
    (tmp_path / "00001-ring8-torch" / "snapshots" / "config.json").write_text("{}")
    found = find_runs(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "00000-sine-keras",
        "00001-ring8-torch",
        "00002-sweep-sine/latent_dim=1",
        "00002-sweep-sine/latent_dim=20",
    ]
    assert summarize(found[2]).name == "00002-sweep-sine/latent_dim=1"
    assert find_runs(tmp_path / "00000-sine-keras") == [tmp_path / "00000-sine-keras"]
    assert find_runs(tmp_path / "notes") == []


def test_catalog_lines_align_every_column(tmp_path):
    a = summarize(fake_run(tmp_path / "00000-sine-torch", findings=[]))
    b = summarize(fake_run(tmp_path / "00001-ring8-numpy", "ring8", "numpy", 1500, (500,),
                           None, ["mode_collapse"]))  # fmt: skip
    header, line_a, line_b = catalog_lines([a, b])
    assert header.split()[:4] == ["run", "preset", "engine", "steps"]
    assert line_a.split() == ["00000-sine-torch", "sine", "torch", "20", "/", "20",
                              "Wasserstein-1", "0.5000", "(floor", "0.0700)", "healthy",
                              "2026-11-30"]  # fmt: skip
    assert "500 / 1,500" in line_b and "not evaluated" in line_b and "mode_collapse" in line_b
    for column in ("preset", "engine", "doctor", "date"):
        where = header.index(column)
        assert line_a[where - 1] == " " and line_a[where] != " "  # each starts a column
