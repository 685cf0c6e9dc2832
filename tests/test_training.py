import signal

import numpy as np
import pytest
from safetensors.numpy import load_file

from gankit import training
from gankit.config import load_config
from gankit.errors import UserError
from gankit.run import RunDir

FAST = [
    "model.g_hidden=[16,16]",
    "model.d_hidden=[16,16]",
    "train.batch_size=32",
    "data.n=400",
    "data.holdout=50",
    "train.log_every=5",
    "train.snapshot_every=10",
    "train.checkpoint_every=10",
    "viz.grid=8",
    "viz.points=20",
]
# every source of randomness and every stateful piece: dropout, batch-norm, EMA, schedule
STATEFUL = [
    "model.d_dropout=0.2",
    "model.g_batchnorm=true",
    "model.g_ema=0.9",
    "optim.lr_decay=linear",
]


def _final_state(run: RunDir) -> dict[str, np.ndarray]:
    ckpt = sorted(run.checkpoints.glob("*.safetensors"))[-1]
    return load_file(str(ckpt))


def _assert_same_run(a: RunDir, b: RunDir) -> None:
    sa, sb = _final_state(a), _final_state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "steps_per_s"} for r in rows]  # noqa: E731
    assert strip(a.metrics()) == strip(b.metrics())
    assert a.snapshot_steps() == b.snapshot_steps()


# A decaying learning rate follows train.steps, so extending a run changes its schedule;
# with a constant rate, N steps + resume + N steps must equal 2N steps exactly.
EXTENDABLE = [*(o for o in STATEFUL if not o.startswith("optim.lr_decay")), "optim.lr_decay=none"]


@pytest.mark.parametrize("preset", ["ring8", "gaussian1d"])
def test_resume_equals_an_uninterrupted_run(tmp_path, preset):
    whole = training.start(
        load_config(preset, [*FAST, *EXTENDABLE, "train.steps=40"]),
        tmp_path / "whole",
        progress=False,
    )
    half = training.start(
        load_config(preset, [*FAST, *EXTENDABLE, "train.steps=20"]),
        tmp_path / "half",
        progress=False,
    )
    training.resume(half.path, ["train.steps=40"], progress=False)
    _assert_same_run(whole, half)
    assert [e["event"] for e in half.events()] == ["start", "end", "resume", "end"]


def test_interrupt_saves_a_checkpoint_and_resume_finishes_the_same(tmp_path, monkeypatch):
    cfg = load_config("ring8", [*FAST, *STATEFUL, "train.steps=30"])
    whole = training.start(cfg, tmp_path / "whole", progress=False)

    from gankit.engines.torch.engine import TorchEngine

    real_train, calls = TorchEngine.train, {"n": 0}

    def train_then_signal(self, n):
        out = real_train(self, n)
        calls["n"] += 1
        if calls["n"] == 3:  # a Ctrl-C arrives in the middle of the run (after step 15)
            signal.raise_signal(signal.SIGINT)
        return out

    monkeypatch.setattr(TorchEngine, "train", train_then_signal)
    with pytest.raises(training.Interrupted) as err:
        training.start(cfg, tmp_path / "cut", progress=False)
    assert err.value.step == 15
    assert "gankit train --resume" in str(err.value)
    monkeypatch.setattr(TorchEngine, "train", real_train)
    cut = RunDir.open(tmp_path / "cut")
    assert cut.latest_checkpoint()[0] == 15
    training.resume(cut.path, progress=False)
    _assert_same_run(whole, cut)


def test_resume_refuses_what_would_change_the_run(tmp_path):
    run = training.start(
        load_config("ring8", [*FAST, "train.steps=10"]), tmp_path / "r", progress=False
    )
    with pytest.raises(UserError, match="already reached step 10"):
        training.resume(run.path, progress=False)
    with pytest.raises(UserError, match="only train"):
        training.resume(run.path, ["model.latent_dim=3"], progress=False)
    with pytest.raises(UserError, match="not a gankit run directory"):
        training.resume(tmp_path / "nothing", progress=False)
    with pytest.raises(UserError, match="already holds a run"):
        training.start(load_config("ring8", FAST), tmp_path / "r", progress=False)


def test_metrics_and_snapshots_follow_the_schedule(tmp_path):
    run = training.start(
        load_config("sine", [*FAST, "train.steps=25"]), tmp_path / "r", progress=False
    )
    rows = run.metrics()
    assert [r["step"] for r in rows] == [5, 10, 15, 20, 25]
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "fooled", "d_grad_norm", "g_grad_norm"):
        assert all(np.isfinite(r[key]) for r in rows), key
    assert run.snapshot_steps() == [0, 10, 20, 25]
    snap = np.load(run.snapshots / "step_0000010.npz")
    assert snap["fake"].shape == (20, 2) and snap["field"].shape == (8, 8)
    assert ((snap["fake_score"] >= 0) & (snap["fake_score"] <= 1)).all()
    # keep_checkpoints = 2: the newest two survive
    assert sorted(p.name for p in run.checkpoints.glob("*.safetensors")) == [
        "step_0000020.safetensors",
        "step_0000025.safetensors",
    ]
    cfg = run.raw_config()
    assert cfg["meta"]["engine"] == "torch" and "torch" in cfg["meta"]
    assert run.config().train.steps == 25


def test_divergence_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    cfg = load_config(
        "ring8",
        [
            *FAST,
            "train.steps=40",
            "optim.name=sgd",
            "optim.g_lr=1e30",
            "optim.d_lr=1e30",
            "loss.name=lsgan",
        ],
    )
    run = training.start(cfg, tmp_path / "r", progress=False)
    kinds = [e["event"] for e in run.events()]
    assert "non_finite" in kinds
    assert run.latest_checkpoint() is None or run.latest_checkpoint()[0] < 40
