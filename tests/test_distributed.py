"""Training under torchrun: 2 CPU processes (gloo) train what one process trains with the same
global batch, write one run directory, resume exactly; and the CPU synchronised batch-norm
is BatchNorm over the concatenated batch, forward, backward and running statistics."""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.numpy import load_file

from gankit.engines.torch.distributed import (
    SyncBatchNorm,
    convert_sync_batchnorm,
    end_process_group,
)
from gankit.engines.torch.input_grad import input_grad
from gankit.run import RunDir

# gankit.training and gankit.cli are imported where used: the sync-BN test's spawned processes
# import this module, and start in half the time without them

SMALL = [
    "data.n=2000", "data.holdout=500", "train.batch_size=64", "train.steps=20",
    "train.log_every=5", "train.snapshot_every=10", "train.checkpoint_every=10",
    "viz.grid=16", "viz.points=100", "eval.n_samples=300", "eval.w1_points=300",
]  # fmt: skip
# G with batch-norm, in float64: what differs then is the synchronised statistics' maths, not
# float32's rounding over 20 Adam steps
BN = ["model.g_batchnorm=true", "train.dtype=float64"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "120"}


# training alone under torchrun, without the scores and pictures that `gankit train` adds
# on rank 0 afterwards (seconds each), for the runs only compared step by step; with
# STOP_AT, rank 1 alone gets a SIGINT after that step, which every rank must agree on
TRAIN_ONLY = """import os, signal, sys
from gankit import training as train
from gankit.config import load_config
from gankit.engines.torch.engine import TorchEngine

stop_at, chunk = int(os.environ.get("STOP_AT", "0")), TorchEngine.train

def train_then_signal(self, n):
    stats = chunk(self, n)
    if self.iteration == stop_at and os.environ["RANK"] == "1":
        os.kill(os.getpid(), signal.SIGINT)
    return stats

TorchEngine.train = train_then_signal
try:
    if sys.argv[1] == "--resume":
        train.resume(sys.argv[2], progress=False)
    else:
        train.start(load_config("ring8", sys.argv[2:]), sys.argv[1], progress=False)
except train.Interrupted:
    sys.exit(130)
"""


def torchrun(*args: str, cwd: Path, env: dict[str, str] = ENV) -> subprocess.Popen:
    """``torchrun --nproc-per-node 2 --standalone -m gankit ...``, as a user launches it (or
    the script TRAIN_ONLY when the first argument ends in .py)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone"]
    if not args[0].endswith(".py"):
        cmd += ["-m", "gankit"]
        args = (*args, "--quiet")
    return subprocess.Popen(
        [*cmd, *args], cwd=cwd, env=env, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip


def finished(p: subprocess.Popen, code: int = 0) -> str:
    out, err = p.communicate(timeout=300)
    assert (p.returncode == 0) == (code == 0), err[-3000:]
    return out


def sets(*keys: str) -> list[str]:
    return [a for k in keys for a in ("--set", k)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Two-process runs (plain ring8; with G's batch-norm, whole and interrupted halfway then
    resumed) launched side by side, and the same configs trained by one process."""
    from gankit import training
    from gankit.config import load_config

    cwd = tmp_path_factory.mktemp("ddp")
    (cwd / "train.py").write_text(TRAIN_ONLY)
    plain = torchrun("train", "ring8", *sets(*SMALL), "--out", "plain", cwd=cwd)
    bn = torchrun("train.py", "bn", *SMALL, *BN, cwd=cwd)
    half = torchrun("train.py", "half", *SMALL, *BN, cwd=cwd, env={**ENV, "STOP_AT": "10"})
    for name, overrides in (("plain", SMALL), ("bn", [*SMALL, *BN])):
        training.start(load_config("ring8", overrides), cwd / f"one-{name}", progress=False)
    finished(half, code=130)  # torchrun itself reports its workers' 130 as a failure
    resumed = torchrun("train.py", "--resume", "half", cwd=cwd)
    assert "Wasserstein-1" in finished(plain)
    finished(bn)
    finished(resumed)
    (cwd / "train.py").unlink()
    return {name: cwd / name for name in ("plain", "bn", "half", "one-plain", "one-bn")}


def rows(run: Path) -> list[dict]:
    return [r for r in RunDir(run).metrics() if "d_loss" in r]  # training's rows


def weights(run: Path, step: int) -> dict[str, np.ndarray]:
    state = load_file(str(run / "checkpoints" / f"step_{step:07d}.safetensors"))
    return {k: v for k, v in state.items() if k.split(".")[0] in ("G", "D", "G_ema")}


def assert_same_training(one: Path, two: Path) -> None:
    """Every logged statistic within 1e-5, every weight within 1e-5 of its tensor's scale."""
    a, b = rows(one), rows(two)
    assert [r["step"] for r in a] == [r["step"] for r in b] == [5, 10, 15, 20]
    for ra, rb in zip(a, b, strict=True):
        for key in ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm"):
            assert rb[key] == pytest.approx(ra[key], rel=1e-5), (ra["step"], key)
    wa, wb = weights(one, 20), weights(two, 20)
    assert wa.keys() == wb.keys()  # the same state-dict keys: checkpoints interchange
    for k in wa:
        scale = float(np.abs(wa[k]).max()) + 1e-12
        assert np.abs(wa[k] - wb[k]).max() <= 1e-5 * scale, k


def test_two_processes_train_what_one_process_trains(runs):
    run = runs["plain"]
    # each launch wrote its one run directory and nothing else (no runs/ from other ranks)
    assert {p.name for p in run.parent.iterdir()} == {"plain", "bn", "half", "one-plain", "one-bn"}
    for name in ("config.json", "metrics.jsonl", "events.jsonl", "eval.json", "doctor.json"):
        assert (run / name).is_file(), name
    for name in ("training.gif", "curves.png", "report.html", "snapshots/last.png"):
        assert (run / name).is_file(), name
    assert json.loads((run / "config.json").read_text())["meta"]["world_size"] == 2
    events = [e["event"] for e in RunDir(run).events()]
    assert events.count("start") == 1 and events.count("end") == 1  # rank 0 alone wrote
    assert_same_training(runs["one-plain"], run)


def test_batch_norm_is_synchronised_over_the_processes(runs):
    assert_same_training(runs["one-bn"], runs["bn"])


def test_resume_under_torchrun_equals_the_uninterrupted_run(runs):
    half, whole = runs["half"], runs["bn"]
    for ra, rb in zip(rows(whole), rows(half), strict=True):
        assert ra["d_loss"] == rb["d_loss"] and ra["g_loss"] == rb["g_loss"], ra["step"]
    a, b = weights(whole, 20), weights(half, 20)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    meta = json.loads((half / "config.json").read_text())["meta"]
    assert meta["world_size"] == 2
    events = [e["event"] for e in RunDir(half).events()]
    # rank 1's signal stopped both ranks at step 10, and rank 0 wrote why
    assert events == ["start", "interrupted", "resume", "end"], events
    stop = next(e for e in RunDir(half).events() if e["event"] == "interrupted")
    assert stop["step"] == 10


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "train.batch_size=33"], "multiple of WORLD_SIZE = 2"),
        (["--set", "model.pack=4", "--set", "train.batch_size=36"], "model.pack x WORLD_SIZE"),
        (["--engine", "numpy"], "torch engine only"),
    ],
)
def test_what_cannot_be_split_stops_with_one_sentence(args, message, monkeypatch, capsys, tmp_path):
    # checked before any process group exists: no torchrun needed to see it
    from gankit.cli import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(SystemExit) as e:
        main(["train", "ring8", *args, "--out", str(tmp_path / "never"), "--quiet"])
    assert e.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def _sync_bn_worker(rank: int, world: int, init: str) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        for shape, momentum in (((12, 3), 0.1), ((8, 2, 3, 5), None)):
            gen = torch.Generator().manual_seed(0)  # the same numbers on every rank
            make = torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d
            ref = make(shape[1], momentum=momentum).double()
            with torch.no_grad():
                ref.weight.uniform_(0.5, 1.5, generator=gen)
                ref.bias.uniform_(-1, 1, generator=gen)
            sync = convert_sync_batchnorm(copy.deepcopy(ref))
            assert isinstance(sync, SyncBatchNorm)
            assert list(sync.state_dict()) == list(ref.state_dict())
            for _ in range(2):  # twice: the running statistics' update compounds
                x = torch.randn(shape, generator=gen, dtype=torch.float64) * 3 + 1
                w = torch.randn(shape, generator=gen, dtype=torch.float64)
                xa = x.clone().requires_grad_(True)
                ya = ref(xa)
                (ya * w).sum().backward()
                xb = x.tensor_split(world)[rank].clone().requires_grad_(True)
                yb = sync(xb)
                (yb * w.tensor_split(world)[rank]).sum().backward()
                torch.testing.assert_close(yb, ya.tensor_split(world)[rank].detach())
                torch.testing.assert_close(xb.grad, xa.grad.tensor_split(world)[rank])
            for p in (sync.weight, sync.bias):  # each rank holds its part: DDP's sum
                dist.all_reduce(p.grad)
            torch.testing.assert_close(sync.weight.grad, ref.weight.grad)
            torch.testing.assert_close(sync.bias.grad, ref.bias.grad)
            for k, v in ref.state_dict().items():
                torch.testing.assert_close(sync.state_dict()[k], v, msg=k)
            sync.eval()  # the running statistics, and no collective
            ref.eval()
            torch.testing.assert_close(sync(x), ref(x))
    finally:
        end_process_group()  # and gloo's workers given the GIL before the process exits


def test_cpu_sync_batch_norm_is_batch_norm_over_the_whole_batch(tmp_path):
    mp.spawn(_sync_bn_worker, (2, f"file://{tmp_path / 'rendezvous'}"), nprocs=2)


# images through every per-sample draw and cross-sample layer D has: batch-norm in G and D,
# DiffAugment, packing, minibatch-std, and an R1 penalty differentiating through D's
# synchronised batch-norm; float64, so that only the maths can differ
IMAGES = [
    "model.arch=dcgan", "model.g_channels=[16]", "model.d_channels=[8,16]",
    "model.d_batchnorm=true", "model.d_mbstd=true", "model.pack=2", "loss.r1=0.1",
    "loss.r1_every=1",
    'model.augment=["color","translation","cutout"]', "train.batch_size=32",
    "train.dtype=float64", "train.threads=1",
]  # fmt: skip


# and a critic without batch-norm under both penalties, whose input gradient is D's
# transpose (engines/torch/input_grad.py) while DDP averages the weights' gradients
VARIANTS = {
    "batchnorm-r1": [],
    "transpose-gp-r1": ["model.d_batchnorm=false", "loss.name=wgan-gp"],
}


def _image_engine(variant: str):
    from gankit.config import load_config
    from gankit.data import load_data
    from gankit.engines import make_engine

    cfg = load_config("digits", [*IMAGES, *VARIANTS[variant]])
    return make_engine(cfg, load_data(cfg.data, cfg.seed, False).train)


def _image_worker(rank: int, world: int, init: str, out: str, variant: str) -> None:
    from gankit.engines.torch.distributed import wrap

    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        engine = _image_engine(variant)
        wrap(engine)
        stats = [list(engine.train(1).values()) for _ in range(3)]
        if rank == 0:
            np.savez(out, stats=np.array(stats), **engine.state())
        dist.barrier()
    finally:
        end_process_group()  # and gloo's workers given the GIL before the process exits


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_image_gan_trains_in_two_processes_as_in_one(tmp_path, variant):
    out = tmp_path / "two.npz"
    rendezvous = f"file://{tmp_path / 'rendezvous'}"
    mp.spawn(_image_worker, (2, rendezvous, str(out), variant), nprocs=2)
    engine = _image_engine(variant)
    if variant != "batchnorm-r1":
        assert engine.fast.input_grad is input_grad
    stats = np.array([list(engine.train(1).values()) for _ in range(3)])
    two = np.load(out)
    # every statistic, the critic's realness too (scaled by the whole batch's means)
    np.testing.assert_allclose(two["stats"], stats, rtol=1e-9)
    for k, v in engine.state().items():
        # left out: the bias before D's batch-norm (rounding noise in a gradient of exactly
        # 0, scaled up by Adam) and the running means that carry it
        noise = k.endswith(("conv1.bias", "running_mean"))
        if k.split(".")[0] in ("G", "D") and v.dtype.kind == "f" and not noise:
            np.testing.assert_allclose(two[k], v, rtol=1e-7, atol=1e-9, err_msg=k)


@pytest.mark.parametrize("args", [["demo"], ["sweep", "sine", "--grid", "model.latent_dim=1,2"]])
def test_commands_of_several_runs_refuse_torchrun_in_one_sentence(tmp_path, args):
    """As torchrun starts them (WORLD_SIZE set): exit 2, one sentence, nothing written."""
    env = {**os.environ, "WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0"}
    r = subprocess.run(
        [sys.executable, "-m", "gankit", *args], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2
    assert "under torchrun train one preset at a time" in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []
