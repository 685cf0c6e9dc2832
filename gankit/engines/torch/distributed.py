"""Training the torch engine in several processes under ``torchrun`` (DistributedDataParallel).

torchrun starts one process per device and tells each its place through WORLD_SIZE, RANK and
LOCAL_RANK; with WORLD_SIZE > 1 training runs data-parallel, and without torchrun nothing here
does anything. ``train.batch_size`` stays the global batch: every rank draws the same global
indices and noise from the same seeded stream and trains on its own slice of each batch, and
DDP averages the gradients, so an update is the one-process update up to float rounding.
Batch-norm is synchronised over the ranks (torch's SyncBatchNorm on CUDA, :class:`SyncBatchNorm`
here on CPU) so that it normalises over the global batch as well. Global rank 0 alone writes
the run directory and prints; the others only train.

One thing cannot equal one process: D's dropout masks (each rank draws its shard's from the
same torch stream, so the shards get the same masks; no preset uses dropout). The logged
realness of a critic or a relativistic D is centred on the global batch's means, which the
ranks share once per D step.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor, nn

from gankit.config import Config
from gankit.errors import UserError
from gankit.torchrun import is_lead, world_size

T = TypeVar("T")


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def check(cfg: Config) -> None:
    """Refuse, before any process group exists (so every rank stops alike), what cannot be
    split over the ranks."""
    w = world_size()
    if w == 1:
        return
    if cfg.train.engine != "torch":
        raise UserError(
            f"torchrun with {w} processes trains the torch engine only, not train.engine = "
            f"{cfg.train.engine}; run that engine as one process."
        )
    b, pack = cfg.train.batch_size, cfg.model.pack
    if b % (pack * w):
        whole = f"model.pack x WORLD_SIZE = {pack} x {w}" if pack > 1 else f"WORLD_SIZE = {w}"
        raise UserError(
            f"train.batch_size = {b} (the global batch) does not split into equal shards of "
            f"whole packs over {w} processes; give a multiple of {whole}."
        )
    # minibatch-std groups 4 consecutive packs: each shard must hold whole groups for D to
    # see the groups the one-process run sees
    if cfg.model.d_mbstd and (b // (pack * w)) % 4:
        raise UserError(
            f"model.d_mbstd groups 4 packs, so each of the {w} processes needs a multiple of "
            f"4 packs: give train.batch_size a multiple of {4 * pack * w}."
        )


@contextmanager
def session(cfg: Config, agreed: tuple[type[Exception], ...] = ()) -> Iterator[bool]:
    """The process group for one training run (nothing without torchrun); yields whether this
    process is the lead. ``agreed``: exceptions every rank raises together (a stop they
    agreed on), after which they leave together as after training."""
    check(cfg)
    if world_size() == 1 or active():
        yield is_lead()
        return
    from gankit.engines.torch.engine import resolve_device

    if resolve_device(cfg.train.device).type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))  # "cuda" = this rank's
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")
    try:
        yield is_lead()
    except agreed:
        dist.barrier()
        raise
    else:
        # all leave together: a rank that tears down while another still works aborts at
        # exit (gloo); rank 0 scores the run after this, alone
        dist.barrier()
    finally:
        end_process_group()


def end_process_group() -> None:
    """destroy_process_group, then on gloo give its worker threads the interpreter for a
    moment before this process may exit.

    A gloo worker frees a finished collective (and the tensors it held, some made in Python)
    just after the waiting thread has gone on, and freeing a Python-made tensor takes the
    GIL. A worker that asks for the GIL once the interpreter has begun shutting down aborts
    the whole process ("terminate called without an active exception"; the core dump shows
    ProcessGroupGloo::runLoop freeing an AsyncBarrierWork), which torchrun reports as a
    failed run after training succeeded: 4 times in about 100 two-process runs on 2 busy
    cores. The workers cannot be joined instead: DDP keeps the process group alive past
    destroy_process_group (torch 2.13), so its threads live until exit. Sleeping releases
    the GIL; the workers need microseconds of it."""
    gloo = dist.get_backend() == "gloo"
    dist.destroy_process_group()
    if gloo:
        time.sleep(0.2)


def _device() -> torch.device:
    """Where a collective's tensors must live: NCCL only reduces CUDA tensors."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def barrier() -> None:
    if active():
        dist.barrier()


def any_rank(value: int) -> int:
    """The largest of every rank's ``value`` (a signal number, 0 for none): all ranks agree
    to stop when any was asked to, so none waits forever in a collective."""
    if not active():
        return value
    t = torch.tensor([value], device=_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


def on_lead(fn: Callable[[], T]) -> T:
    """``fn()`` run by rank 0 alone, its result sent to every rank; when it fails there,
    every rank stops (rank 0 with the error, the others silently) instead of waiting."""
    if not active():
        return fn()
    box: list[Any] = [None]
    if is_lead():
        try:
            box = [("ok", fn())]
        except Exception as e:
            dist.broadcast_object_list([("error", str(e))], src=0)
            raise
    dist.broadcast_object_list(box, src=0)
    kind, value = box[0]
    if kind == "error":
        raise UserError(value)
    return value


@contextmanager
def local_lead_first() -> Iterator[None]:
    """Local rank 0 of each machine goes first (through a barrier every rank meets once), so
    data collected or cached on first use is made once per machine."""
    first = int(os.environ.get("LOCAL_RANK", "0")) == 0
    if active() and not first:
        dist.barrier()
    try:
        yield
    finally:
        if active() and first:
            dist.barrier()


# --- the engine -----------------------------------------------------------------------------


def wrap(engine: Any) -> None:
    """Make a freshly built (or loaded) TorchEngine train its shard under DDP: batch-norm
    synchronised in place (same parameters and buffers, so state-dict keys and optimisers are
    untouched) and the training steps run through DDP wrappers. ``engine.G``/``engine.D``
    stay the plain modules that snapshots, sampling and checkpoints use."""
    if not active():
        return
    from torch.nn.parallel import DistributedDataParallel as DDP

    engine.rank, engine.world = dist.get_rank(), dist.get_world_size()
    cuda = engine.device.type == "cuda"
    if not cuda and engine.images and not engine.cfg.train.threads:
        # the cores of one machine are shared by its ranks
        local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
    # torch's SyncBatchNorm on CUDA, with its fused kernels; ours where it cannot run (CPU)
    # or where a penalty (R1, R2, WGAN-GP's) differentiates D's gradient again: torch's
    # backward is not differentiable, ours is made of differentiable operations
    penalty = bool(engine.penalties)
    fused = nn.SyncBatchNorm.convert_sync_batchnorm
    engine.G = (fused if cuda else convert_sync_batchnorm)(engine.G)
    engine.D = (fused if cuda and not penalty else convert_sync_batchnorm)(engine.D)
    ids = [engine.device.index or torch.cuda.current_device()] if cuda else None

    def ddp(module: nn.Module) -> nn.Module:
        # no buffer broadcast before each forward: the synchronised batch-norm statistics
        # (and spectral norm's vectors) come out equal on every rank by themselves
        try:
            return DDP(module, device_ids=ids, forward_sync_buffers=False)
        except TypeError:  # torch before forward_sync_buffers
            return DDP(module, device_ids=ids, broadcast_buffers=False)

    # D_train is D itself or holds it: either way it holds the converted batch-norm now
    engine.G_train, engine.D_train = ddp(engine.G), ddp(engine.D_train)
    # DDP averages gradients from autograd's hooks: no steps by hand, a shard's R1 packs
    engine.choose_fast_paths()


class _AllReduce(torch.autograd.Function):
    """A sum over the ranks that gradients flow through: the gradient of a sum's input is
    the sum of every rank's gradient of its output. torch.distributed.nn.functional's
    all_reduce does the same but warns of its deprecation (torch 2.13) in favour of a
    private module."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        x = x.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return _AllReduce.apply(grad)  # through apply: a gradient penalty differentiates it


def grad_all_reduce(x: Tensor) -> Tensor:
    return _AllReduce.apply(x)


class SyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch-norm over the global batch for CPU processes (gloo), where torch's SyncBatchNorm
    does not run, and for a D under a gradient penalty: in training the per-channel sums
    and counts go through an all_reduce that carries gradients (its backward all-reduces the
    gradients), so both the output and its gradient (and the gradient's gradient) are
    BatchNorm1d/2d's on the concatenated batch. The mean comes first and the
    variance from the centred values (two reductions), as exact as torch's own two-pass
    statistics. Evaluation uses the running statistics and talks to no other rank."""

    def _check_input_dim(self, x: Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input (N, C, ...), got {x.dim()}-D")

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or not active():
            return super().forward(x)
        self._check_input_dim(x)
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        count = x.new_tensor([x.numel() // x.shape[1]])
        total = grad_all_reduce(torch.cat([x.sum(dims), count]))
        n = total[-1]
        mean = total[:-1] / n
        centred = x - mean.reshape(shape)
        var = grad_all_reduce(centred.square().sum(dims)) / n  # biased, as BN normalises
        y = centred * torch.rsqrt(var + self.eps).reshape(shape)
        if self.affine:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        if self.track_running_stats and self.running_mean is not None:
            self._update_running(mean.detach(), var.detach() * n / (n - 1))
        return y

    @torch.no_grad()
    def _update_running(self, mean: Tensor, unbiased_var: Tensor) -> None:
        factor = 0.0 if self.momentum is None else self.momentum
        if self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative average, as torch's BN
                factor = 1.0 / float(self.num_batches_tracked)
        self.running_mean.mul_(1.0 - factor).add_(factor * mean)
        self.running_var.mul_(1.0 - factor).add_(factor * unbiased_var)


def convert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Every BatchNorm in ``module`` replaced by :class:`SyncBatchNorm` holding the very same
    parameters and buffers (what torch's convert_sync_batchnorm does for CUDA)."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(
        module, SyncBatchNorm
    ):
        new = SyncBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine,
            module.track_running_stats,
        )  # fmt: skip
        new.weight, new.bias = module.weight, module.bias
        new.running_mean, new.running_var = module.running_mean, module.running_var
        new.num_batches_tracked = module.num_batches_tracked
        new.train(module.training)
        return new
    for name, child in module.named_children():
        module.add_module(name, convert_sync_batchnorm(child))
    return module
