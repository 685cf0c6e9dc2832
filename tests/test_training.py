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


def _nan_after(calls: int, monkeypatch, what: str = "losses") -> None:
    """TorchEngine.train gives NaN losses (or leaves NaN in G's weights) on call ``calls``."""
    import torch

    from gankit.engines.torch.engine import TorchEngine

    real_train, seen = TorchEngine.train, {"n": 0}

    def train(self, n):
        out = real_train(self, n)
        seen["n"] += 1
        if seen["n"] == calls:
            if what == "losses":
                return {**out, "d_loss": float("nan")}
            with torch.no_grad():
                next(self.G.parameters()).fill_(float("inf"))
        return out

    monkeypatch.setattr(TorchEngine, "train", train)


@pytest.mark.parametrize(
    ("what", "calls", "bad", "good"), [("losses", 3, 15, 10), ("weights", 2, 10, 5)]
)
def test_a_nan_rolls_back_to_the_newest_good_state_and_trains_on(
    tmp_path, monkeypatch, capsys, what, calls, bad, good
):
    _nan_after(calls, monkeypatch, what)
    cfg = load_config("ring8", [*FAST, "train.steps=20"])
    run = training.start(cfg, tmp_path / "r", progress=False)
    warned = " ".join(capsys.readouterr().err.split())
    assert f"{what} became NaN/inf at step {bad}; went back to step {good} (rollback 1 of 3)" in (
        warned
    )
    events = run.events()
    (rollback,) = [e for e in events if e["event"] == "rollback"]
    assert (rollback["step"], rollback["to"], rollback["attempt"]) == (bad, good, 1)
    assert events[-1]["event"] == "end" and events[-1]["step"] == 20
    assert [r["step"] for r in run.metrics()] == [5, 10, 15, 20]  # one history, no NaN row
    step, state, _ = run.latest_checkpoint()
    assert step == 20 and all(np.isfinite(v).all() for v in state.values())


def test_divergence_stops_after_its_rollbacks_with_the_good_checkpoints_kept(tmp_path, capsys):
    cfg = load_config(
        "ring8",
        [*FAST, "train.steps=40", "optim.name=sgd", "optim.g_lr=1e30", "optim.d_lr=1e30",
         "loss.name=lsgan"],
    )  # fmt: skip
    with pytest.raises(training.Diverged) as err:
        training.start(cfg, tmp_path / "r", progress=False)
    assert capsys.readouterr().err.count("went back to step") == training.MAX_ROLLBACKS
    msg = str(err.value)
    assert msg.startswith("training diverged: losses or weights became NaN/inf at step")
    assert f"after {training.MAX_ROLLBACKS} rollbacks" in msg and "lower optim.g_lr" in msg
    run = RunDir.open(tmp_path / "r")
    kinds = [e["event"] for e in run.events()]
    assert kinds.count("rollback") == training.MAX_ROLLBACKS and kinds[-1] == "diverged"
    assert kinds.count("non_finite") == training.MAX_ROLLBACKS + 1
    assert run.metrics()[-1]["d_loss"] is None or run.metrics()[-1]["g_loss"] is None
    for step in run.checkpoint_steps():  # never a checkpoint of NaN weights
        state = load_file(str(run.checkpoints / f"step_{step:07d}.safetensors"))
        assert all(np.isfinite(v).all() for v in state.values() if v.dtype.kind == "f")


def _signals_in_train(monkeypatch, on_call: int, times: int) -> None:
    """``times`` Ctrl-Cs land inside call ``on_call`` of TorchEngine.train (0: a
    KeyboardInterrupt there, as a kill of start-up's handler would leave no checkpoint)."""
    from gankit.engines.torch.engine import TorchEngine

    real_train, seen = TorchEngine.train, {"n": 0}

    def train(self, n):
        seen["n"] += 1
        if seen["n"] == on_call:
            for _ in range(times):
                signal.raise_signal(signal.SIGINT)
        return real_train(self, n)

    monkeypatch.setattr(TorchEngine, "train", train)


def test_a_run_stopped_before_its_first_checkpoint_starts_again_in_place(tmp_path, monkeypatch):
    cfg = load_config("ring8", [*FAST, *STATEFUL, "train.steps=20"])
    whole = training.start(cfg, tmp_path / "whole", progress=False)
    with monkeypatch.context() as m:
        _signals_in_train(m, on_call=1, times=2)  # a double Ctrl-C in the very first chunk
        with pytest.raises(training.Interrupted) as err:
            training.start(cfg, tmp_path / "cut", progress=False)
    assert str(err.value) == (
        "stopped at once by a second Ctrl-C; start it again from step 0 with: "
        f"gankit train --resume {tmp_path / 'cut'}"
    )
    cut = RunDir.open(tmp_path / "cut")
    assert cut.checkpoint_steps() == []
    with pytest.raises(UserError, match="or start it again in place with gankit train --resume"):
        training.start(cfg, cut.path, progress=False)  # the advice is not circular
    training.resume(cut.path, progress=False)
    _assert_same_run(whole, cut)  # bit for bit the fresh run
    assert [e["event"] for e in cut.events()] == ["start", "interrupted", "restart", "end"]


def test_the_first_checkpoint_comes_after_the_first_chunk(tmp_path):
    cfg = load_config(
        "ring8",
        [*FAST, "train.steps=12", "train.checkpoint_every=1000", "train.keep_checkpoints=5"],
    )
    run = training.start(cfg, tmp_path / "r", progress=False)
    assert run.checkpoint_steps() == [5, 12]


def test_a_second_ctrl_c_mid_chunk_stops_at_once_from_the_newest_checkpoint(tmp_path, monkeypatch):
    cfg = load_config("ring8", [*FAST, "train.steps=20"])
    with monkeypatch.context() as m:
        _signals_in_train(m, on_call=3, times=2)  # in the chunk from step 10 to 15
        with pytest.raises(training.Interrupted) as err:
            training.start(cfg, tmp_path / "r", progress=False)
    assert err.value.step == 10 and "stopped at once by a second Ctrl-C; continue from step 10" in (
        str(err.value)
    )
    run = RunDir.open(tmp_path / "r")
    assert run.checkpoint_steps() == [5, 10]
    assert run.events()[-1] == {**run.events()[-1], "event": "interrupted", "step": 10}


def test_a_second_ctrl_c_during_the_checkpoint_write_waits_for_it(tmp_path, monkeypatch):
    cfg = load_config("ring8", [*FAST, "train.steps=20"])
    whole = training.start(cfg, tmp_path / "whole", progress=False)
    real_save = RunDir.save_checkpoint

    def save_under_a_second_ctrl_c(self, step, *args):
        if step == 15:
            signal.raise_signal(signal.SIGINT)
        return real_save(self, step, *args)

    with monkeypatch.context() as m:
        _signals_in_train(m, on_call=3, times=1)  # the first Ctrl-C: stop at step 15
        m.setattr(RunDir, "save_checkpoint", save_under_a_second_ctrl_c)
        with pytest.raises(training.Interrupted) as err:
            training.start(cfg, tmp_path / "cut", progress=False)
    assert str(err.value).startswith("interrupted at step 15; continue with: gankit train")
    cut = RunDir.open(tmp_path / "cut")
    assert cut.checkpoint_steps() == [10, 15]
    training.resume(cut.path, progress=False)
    _assert_same_run(whole, cut)
