"""The lab's session without a server: one-network steps, live controls, the user's points,
bad input refused with the state kept, the views, and "save as run" read back by gankit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gankit.errors import UserError
from gankit.lab.controls import changed as controls_changed
from gankit.lab.controls import get as get_control
from gankit.lab.keep import open_scenario, save_run, scenario
from gankit.lab.session import Session

# small nets and data: every test here trains in well under a second
SMALL = ["data.n=600", "data.holdout=300", "model.g_hidden=[16,16]", "model.d_hidden=[16,16]",
         "train.batch_size=64"]  # fmt: skip


@pytest.fixture
def session(tmp_path: Path) -> Session:
    s = Session("ring8", overrides=SMALL, folder=tmp_path)
    yield s
    s.close()


def _fake(s: Session) -> np.ndarray:
    return np.array(s.views.frame()["fake"])


def _field(s: Session) -> np.ndarray:
    return np.array(s.views.frame()["field"])


def test_d_only_moves_the_field_not_the_samples(session: Session) -> None:
    session.iterate(20)
    fake, field = _fake(session), _field(session)
    for _ in range(5):
        session.d_only()
    assert np.array_equal(_fake(session), fake)
    assert not np.array_equal(_field(session), field)
    assert session.step == 20


def test_g_only_moves_the_samples_not_d(session: Session) -> None:
    session.iterate(20)
    probe = session.data.holdout[:100]
    fake, critic = _fake(session), session.engine.critic(probe)
    for _ in range(5):
        session.g_only()
    assert not np.allclose(_fake(session), fake)
    assert np.array_equal(session.engine.critic(probe), critic)


def test_rates_change_live_and_keep_the_weights(session: Session) -> None:
    session.iterate(100)
    fake = _fake(session)
    session.set({"optim.d_lr": 5e-4, "optim.g_lr": "5e-4", "loss.name": "lsgan"})
    assert session.cfg.optim.d_lr == 5e-4 and session.cfg.loss.name == "lsgan"
    assert session.step == 100 and len(session.rows) == 2
    assert np.allclose(_fake(session), fake, atol=1e-6)  # same networks, carried over
    session.iterate(5)
    assert session.step == 105


def test_a_change_of_shape_starts_fresh_networks(session: Session) -> None:
    session.iterate(20)
    session.set({"model.latent_dim": 20, "model.g_hidden": "32, 32"})
    assert session.step == 0 and session.rows == []
    assert session.cfg.model.g_hidden == [32, 32]
    frame = session.frame()
    assert len(frame["manifold"]["points"]) == 20 * 20  # a 2-D slice of the 20-D latent
    session.set_slice([3, 7])
    assert session.views.frame()["slice"] == [3, 7]


def test_networks_of_no_hidden_layer_train_live(session: Session) -> None:
    """An empty widths box is 0 hidden layers (GAN Lab's lowest): G one linear map, whose
    manifold of a 2-D latent is a flat grid; one width typed alone is one layer."""
    session.set({"model.g_hidden": "", "model.d_hidden": "[]"})
    assert session.cfg.model.g_hidden == [] == session.cfg.model.d_hidden
    session.iterate(100)
    f = session.frame(scores=False)
    assert f["step"] == 100 and np.isfinite(np.array(f["fake"])).all()
    grid = np.array(f["manifold"]["points"]).reshape(20, 20, 2)
    steps = np.diff(grid, axis=1)  # an affine map: every cell of the sheet the same
    np.testing.assert_allclose(steps, np.broadcast_to(steps[:1, :1], steps.shape), atol=2e-3)
    session.set({"model.g_hidden": "24"})
    assert session.cfg.model.g_hidden == [24] and session.step == 0


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"optim.d_lr": -1}, "optim.d_lr"),
        ({"model.latent_dim": 0}, "model.latent_dim"),
        ({"model.latent_dim": 101}, "at most 100"),
        ({"loss.name": "nope"}, "accepted"),
        ({"model.d_hidden": "64, x"}, "whole numbers"),
        ({"model.d_hidden": "0"}, "or \\[\\] for no hidden layer"),
        ({"model.g_hidden": "8, 8, 8, 8, 8, 8, 8"}, "at most 6 layers"),
        ({"train.batch_size": 63, "model.pack": 2}, "multiple"),
        ({"data.path": "/etc/passwd"}, "no control"),
    ],
)
def test_bad_values_are_refused_and_the_state_kept(
    session: Session, changes: dict, says: str
) -> None:
    session.iterate(20)
    before, fake = session.cfg, _fake(session)
    with pytest.raises(UserError, match=says):
        session.set(changes)
    assert session.cfg == before and session.step == 20
    assert np.array_equal(_fake(session), fake)


def test_drawn_points_become_the_data(session: Session) -> None:
    drawn = [[0.1 * i, -0.05 * i] for i in range(30)]
    session.draw(drawn)
    assert session.cfg.data.name == "points"
    both = np.concatenate([session.data.train, session.data.holdout])
    assert sorted(map(tuple, both.round(5).tolist())) == sorted(
        map(tuple, np.float32(drawn).round(5).tolist())
    )
    session.iterate(5)
    assert session.step == 5


@pytest.mark.parametrize(
    ("pts", "says"), [([[0.0, 0.0]], "at least 2"), ([], "at least 2"), ("x", "list")]
)
def test_too_few_drawn_points_are_refused(session: Session, pts, says: str) -> None:
    before = session.cfg
    with pytest.raises(UserError, match=says):
        session.draw(pts)
    assert session.cfg == before


def test_uploads_good_and_malformed(session: Session) -> None:
    with pytest.raises(UserError, match="'mine.csv'"):
        session.upload("mine.csv", b"x,y\n1,2\n3,oops\n")
    with pytest.raises(UserError, match="suffix"):
        session.upload("mine.txt", b"1,2\n")
    assert session.cfg.data.name == "ring8"
    session.upload("mine.csv", b"x,y\n" + b"".join(b"%d,%d\n" % (i, i % 3) for i in range(40)))
    assert session.cfg.data.name == "points" and session.data.dim == 2
    with pytest.raises(UserError):  # a bad upload after a good one leaves the good one's file
        session.upload("mine.csv", b"garbage")
    session.set({"optim.d_lr": 1e-3})  # rebuilds the engine: its data file is still there
    assert len(session.data.train) + len(session.data.holdout) == 40


def test_frame_holds_every_view(session: Session) -> None:
    session.iterate(100)
    f = session.frame()
    n = len(f["fake"])
    assert len(f["fooled"]) == n == len(f["push"]) and set(f["fooled"]) <= {0, 1}
    assert len(f["field"]) == f["grid"] ** 2 and 0 <= min(f["field"]) <= max(f["field"]) <= 255
    assert np.abs(np.array(f["push"])).sum() > 0  # G is pushed somewhere
    assert [r[0] for r in f["scores"]][:2] == ["modes captured", "high quality"]
    assert f["curve"][-1][0] == 100
    json.dumps(f)  # JSON-ready: what the server sends as it is


def test_kl_and_js_fall_as_g_learns_the_data_down_towards_their_floor(session: Session) -> None:
    """Each logged row carries KL(real || fake) and JS on the plot's grid: a fresh G sits
    near the centre, far from the ring (JS near ln 2); after training it covers the ring."""
    session.iterate(1500)
    f = session.frame(scores=False)
    kl, js = np.array([r[4] for r in f["curve"]]), np.array([r[5] for r in f["curve"]])
    assert len(kl) == 30 and np.isfinite(kl).all() and np.isfinite(js).all()
    assert (js >= 0).all() and (js <= np.log(2)).all()
    assert js[0] > 0.6 and kl[-3:].mean() < 0.7 * kl[:3].mean() and js[-1] < js[0] - 0.1
    floor = f["divergence_floor"]  # two real samples of the same size: far below G's
    assert 0 < floor["js"] < js.min() / 5 and 0 < floor["kl"] < kl.min() / 5
    assert session.rows[-1]["kl"] == pytest.approx(kl[-1], abs=1e-5)  # saved runs keep them


def test_kl_and_js_of_1d_data_come_from_a_1d_histogram(tmp_path: Path) -> None:
    s = Session("gaussian1d", overrides=["data.n=600", "data.holdout=300"], folder=tmp_path)
    s.iterate(100)
    f = s.frame(scores=False)
    kl, js = f["curve"][-1][4:6]
    assert s.views.dim == 1 and len(s.divergence.extent) == 2  # [x0, x1]: 40 bins
    assert kl > 0 and 0 < js < np.log(2)
    assert 0 < f["divergence_floor"]["js"] < np.log(2)
    s.close()


def test_push_is_the_gradient_of_gs_objective(session: Session) -> None:
    """The arrows against autograd through the torch engine's D: -dL_G/dx per sample."""
    import torch

    from gankit.lab.views import g_push, push_points
    from gankit.losses import LOSSES, torch_ops

    session.iterate(30)
    e, h = session.engine, 1e-3
    fake = e.sample(session.views.z[:50]).astype(np.float64)
    outs = [e.critic(x.astype(np.float32)).astype(np.float64) for x in (fake, push_points(fake, h))]
    push = g_push(session.cfg, *outs, e.critic(session.views.real_ref), h)
    x = torch.tensor(fake, dtype=torch.float32, requires_grad=True)
    e.D.eval()
    LOSSES["bce"].g(torch_ops(), None, e.D(x).squeeze(1)).backward()
    e.D.train()
    want = -x.grad.numpy() * len(fake)
    # finite differences across one of D's kinks (leaky ReLU) may miss by more: most agree
    err = np.linalg.norm(push - want, axis=1) / np.linalg.norm(want, axis=1).clip(1e-9)
    assert np.mean(err < 0.01) >= 0.9


def test_scenario_round_trip(session: Session) -> None:
    session.set({"loss.name": "minimax", "loss.r1": 0.0})
    session.draw([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    again = open_scenario(json.loads(json.dumps(scenario(session))))
    try:
        assert again.cfg.loss.name == "minimax" and again.cfg.loss.r1 == 0.0
        assert again.cfg.data.name == "points" and len(again.data.train) == 3
    finally:
        again.close()
    with pytest.raises(UserError, match="gankit_lab"):
        open_scenario({"preset": "ring8"})


def test_save_as_run_then_gankit_reads_it(
    session: Session, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """``gankit eval`` and ``gankit doctor`` on the saved run (in this process: a fresh
    interpreter costs seconds), ``gankit.load`` samples it, and resuming trains on from the
    lab's step (the loop itself, without the end-of-run pictures that cost seconds)."""
    import gankit
    from gankit import training
    from gankit.cli import main

    session.iterate(120)
    run = save_run(session, tmp_path / "run", pictures=False)
    assert (run / "config.json").is_file() and (run / "metrics.jsonl").is_file()
    for command in (["eval", str(run)], ["doctor", str(run)]):
        with pytest.raises(SystemExit) as done:
            main(command)
        assert done.value.code in (0, None), capsys.readouterr().err
    assert "modes captured" in capsys.readouterr().out
    assert gankit.load(run).sample(10).shape == (10, 2)
    training.resume(run, ["train.steps=140"], progress=False)
    assert max(r["step"] for r in gankit.load(run).metrics if "d_loss" in r) == 140


def test_side_by_side_runs_are_numbered_and_named_by_panel(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gankit.lab.keep import save_runs
    from gankit.run import RunDir

    monkeypatch.chdir(tmp_path)
    variants = [{"model.latent_dim": 1}, {"model.latent_dim": 20}, {"optim.name": "sgd"}]
    panels = [Session("ring8", config=controls_changed(session.cfg, v)) for v in variants]
    for p in panels:
        p.iterate(50)
    paths = save_runs(panels, variants, pictures=False)
    assert [p.name for p in paths] == [
        "00000-lab-ring8-torch-1-latent_dim-1",
        "00001-lab-ring8-torch-2-latent_dim-20",
        "00002-lab-ring8-torch-3-optim-sgd",
    ]
    assert [RunDir.open(p).config().model.latent_dim for p in paths] == [1, 20, 2]
    kept = save_runs(panels[:2], variants[:2], tmp_path / "kept", pictures=False)
    assert [p.name for p in kept] == ["1-latent_dim-1", "2-latent_dim-20"]
    with pytest.raises(UserError, match="1-latent_dim-1 already holds a run"):
        save_runs(panels, variants, tmp_path / "kept", pictures=False)
    assert not (tmp_path / "kept" / "3-optim-sgd").exists()  # a clash writes none
    for p in panels:
        p.close()


def test_each_problem_opens_as_docs_problems_trains_it() -> None:
    from gankit.lab.keep import PROBLEMS, problem

    for name, recipe in PROBLEMS.items():
        s = problem(name)
        try:
            assert s.cfg.preset == recipe["preset"]
            for key, value in recipe["controls"].items():
                assert get_control(s.cfg, key) == value
        finally:
            s.close()
    with pytest.raises(UserError, match="vanishing_gradients"):
        problem("boredom")


def test_a_doctors_remedy_is_applied_and_training_goes_on(session: Session) -> None:
    from gankit.doctor.finding import Remedies

    session.set({"loss.name": "minimax", "loss.r1": 0.0})
    session.iterate(10)
    remedies = Remedies(session.cfg.model_dump())
    command = remedies("loss.name=bce")  # as the doctor writes it
    assert "eval.n_samples" in command  # it repeats the lab's own overrides too
    assert session.remedy_changes(command) == {"loss.name": "bce"}
    # the doctor's first remedy undoes the blamed changes: keys it leaves out
    undo = remedies.blaming("vanishing_gradients").undo()[0]
    assert session.remedy_changes(undo) == {"loss.name": "bce", "loss.r1": 0.003}
    finding = {"remedies": [undo, remedies.blaming("vanishing_gradients")("loss.name=bce")]}
    assert len(session._actions(finding)) == 1  # the same changes: one button
    session.remedy(command)
    assert session.cfg.loss.name == "bce" and session.step == 10
    assert "loss.name = bce" in session.message
    with pytest.raises(UserError, match="changes nothing"):
        session.remedy(command)


def test_switching_engines_carries_the_gan_over(session: Session) -> None:
    session.iterate(50)
    fake = _fake(session)
    session.set({"train.engine": "numpy"})
    assert session.engine.name == "numpy" and session.step == 50
    assert np.allclose(_fake(session), fake, atol=1e-4)  # the same weights, another engine
    session.iterate(5)
    with pytest.raises(UserError, match="spectral"):
        session.set({"model.d_spectral_norm": True})  # the numpy engine has none
    assert session.engine.name == "numpy" and session.step == 55
