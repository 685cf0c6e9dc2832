"""The PyTorch engine: data resident on the device, batches and noise drawn there, statistics
accumulated on the device and read once per chunk."""

from __future__ import annotations

import copy
import os
from contextlib import AbstractContextManager, nullcontext

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import Tensor, nn

from gankit import streams
from gankit.config import Config
from gankit.engines import steps
from gankit.engines.base import Engine
from gankit.engines.torch import by_hand
from gankit.engines.torch.augment import diff_augment
from gankit.engines.torch.autograd_steps import AutogradSteps
from gankit.engines.torch.direct_adam import DirectStep
from gankit.engines.torch.fast_paths import FastPaths, choose
from gankit.engines.torch.model import EachHalfItsOwnBatch, build_networks, has_batchnorm
from gankit.errors import UserError
from gankit.losses import LOSSES, realness_stats, torch_ops
from gankit.penalties import due, plan_for


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("train.device = cuda but no CUDA device is visible; use auto or cpu.")
    return torch.device(name)


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 natively: a GPU that supports it, a CPU with AVX-512
    BF16 or AMX tiles (elsewhere oneDNN emulates bf16, slower than float32)."""
    try:
        if device.type == "cuda":
            return torch.cuda.is_bf16_supported()
        if device.type == "cpu":
            return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    except (AttributeError, RuntimeError):  # a torch without these probes
        return False
    return False


def resolve_precision(precision: str, dtype: str, device: torch.device) -> str:
    """What ``train.precision`` means on ``device``: bf16 or the float type itself (auto
    resolved; bf16 asked of float64 maths is an error)."""
    if precision == "bf16" and dtype != "float32":
        raise UserError(
            "train.precision = bf16 autocasts float32 maths; set train.dtype = float32."
        )
    if precision == "auto":
        return "bf16" if dtype == "float32" and native_bf16(device) else dtype
    return "bf16" if precision == "bf16" else dtype


def _grad_norm(params: list[Tensor]) -> Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


def layer_name(param: str) -> str:
    """The layer a parameter belongs to, as :meth:`Engine.layer_grad_norms` keys it: its name
    without the last part; a parametrized weight (spectral norm's
    ``fc0.parametrizations.weight.original``) belongs to the module holding it (``fc0``)."""
    return param.rsplit(".", 1)[0].split(".parametrizations.", 1)[0]


def layer_norms(named: list[tuple[str, Tensor]]) -> dict[str, float]:
    """Per layer the L2 norm over its parameters' gradients ``(name, grad)``: one fused norm
    per tensor, then one read from the device."""
    if not named:
        return {}
    norms = torch._foreach_norm([g for _, g in named])
    squares = torch.stack([n.to(torch.float64) for n in norms]).square().tolist()
    out: dict[str, float] = {}
    for (name, _), sq in zip(named, squares, strict=True):
        out[layer_name(name)] = out.get(layer_name(name), 0.0) + sq
    return {k: v**0.5 for k, v in out.items()}


def _optimizer(cfg: Config, params: list[Tensor], lr: float) -> torch.optim.Optimizer:
    """Fused kernels where the optimiser has them (3x faster than foreach for small nets on a
    CPU core), foreach otherwise."""
    o = cfg.optim
    if o.name == "adam":
        make = lambda **kw: torch.optim.Adam(params, lr=lr, betas=(o.beta1, o.beta2), **kw)  # noqa: E731
    elif o.name == "sgd":
        make = lambda **kw: torch.optim.SGD(params, lr=lr, momentum=o.momentum, **kw)  # noqa: E731
    else:
        return torch.optim.RMSprop(params, lr=lr, momentum=o.momentum, foreach=True)
    try:
        return make(fused=True)
    except (RuntimeError, TypeError, ValueError):  # older torch: no fused kernel here
        return make(foreach=True)


class TorchEngine(Engine):
    name = "torch"

    def __init__(self, cfg: Config, train_data: np.ndarray) -> None:
        super().__init__(cfg, train_data)
        t = cfg.train
        # MLPs (points, 8x8 digits): one thread, conv nets: all cores (TrainConfig.threads);
        # the whole process follows
        conv = self.images and cfg.model.arch != "mlp"
        threads = t.threads or ((os.cpu_count() or 1) if conv else 1)
        torch.set_num_threads(threads)
        # numpy's BLAS too (snapshots, signals, the lab's frames): an idle OpenBLAS thread
        # spins, and took half a core from the browser beside the lab (benchmarks/lab.py)
        threadpool_limits(threads, user_api="blas")
        self.device = resolve_device(t.device)
        self.dtype = torch.float64 if t.dtype == "float64" else torch.float32
        # bf16 (autocast of the forward passes), float32 or float64
        self.precision = resolve_precision(t.precision, t.dtype, self.device)
        # Separate streams (gankit/streams.py): weights, batches and noise; the
        # global torch stream (dropout) is reseeded too and saved with the state.
        init_seed = streams.int_seed(cfg.seed, streams.WEIGHTS)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            self.G, self.D = build_networks(cfg.model, self.net_shape)
        # convolutions run ~2x faster on channels-last tensors (oneDNN on CPU, tensor cores on
        # GPU); the data and both nets use it, so no layout conversions happen in the step
        self.memory_format = torch.channels_last if conv else torch.preserve_format
        if conv and self.device.type == "cuda":  # shapes never change: let cuDNN time its
            torch.backends.cudnn.benchmark = True  # algorithms once and keep the fastest
        self.G.to(self.device, self.dtype, memory_format=self.memory_format)
        self.D.to(self.device, self.dtype, memory_format=self.memory_format)
        torch.manual_seed(streams.int_seed(cfg.seed, streams.DROPOUT))
        self.gen = torch.Generator(self.device)
        self.gen.manual_seed(streams.int_seed(cfg.seed, streams.BATCHES))
        self.data = self._to_device(train_data)
        self.g_params = list(self.G.parameters())
        self.d_params = list(self.D.parameters())
        self.g_opt = _optimizer(cfg, self.g_params, cfg.optim.g_lr)
        self.d_opt = _optimizer(cfg, self.d_params, cfg.optim.d_lr)
        # the loss table's entry and the run's penalties (R1, R2, the gradient penalty)
        self.loss, self.penalties = LOSSES[cfg.loss.name], plan_for(cfg.loss)
        self.last_real: Tensor | None = None  # the last D step's real packs (relativistic G)
        self.iteration = 0  # iterations done, for the learning-rate schedule
        # the EMA copy of G: sampled from, never trained (Karras et al., Yazici et al.)
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False) if cfg.model.g_ema else None
        self.ema_params = list(self.G_ema.parameters()) if self.G_ema is not None else []
        # under torchrun (distributed.wrap): this rank's place, and the DDP wrappers the
        # training steps call; one process trains the plain modules on the whole batch
        self.rank, self.world = 0, 1
        self.G_train: nn.Module = self.G
        # D's training pass takes real and fake stacked: one pass, unless D's batch-norm
        # must see them as two batches
        self.D_train: nn.Module = EachHalfItsOwnBatch(self.D) if has_batchnorm(self.D) else self.D
        self.choose_fast_paths()

    def choose_fast_paths(self) -> None:
        """Choose the fast paths (fast_paths.py) for this engine as it stands: at build, and
        again when torchrun splits it over processes (distributed.wrap)."""
        self.fast: FastPaths = choose(
            self.cfg, self.penalties, self.G, self.D, self.device, self.precision, self.world
        )
        # the optimisers' steps, through Adam's fused kernel called straight where chosen
        self.g_step_fn = DirectStep(self.g_opt, self.fast.direct_adam)
        self.d_step_fn = DirectStep(self.d_opt, self.fast.direct_adam)
        # the step recipe's primitives (engines/steps.py): autograd's, and by hand's where
        # chosen (the autograd ones then take the penalties by hand cannot)
        self.autograd = AutogradSteps(self)
        self.by_hand = by_hand.ByHandSteps(*self.fast.by_hand, self) if self.fast.by_hand else None

    @property
    def net_shape(self) -> tuple[int, ...]:
        """A sample's shape inside the networks: (d,) for points, (C, H, W) for images."""
        if self.images:
            h, w, c = self.sample_shape
            return (c, h, w)
        return self.sample_shape

    def _to_device(self, x: np.ndarray) -> Tensor:
        """Points as floats; images stay uint8 (NCHW) on the device, a quarter of the memory,
        and become floats in [-1, 1] one batch at a time (:meth:`_float`)."""
        if self.images:
            nchw = torch.as_tensor(x, device=self.device).permute(0, 3, 1, 2)
            if self.memory_format is torch.channels_last:
                return nchw.contiguous(memory_format=torch.channels_last)
            return nchw.contiguous()
        return torch.as_tensor(x, device=self.device, dtype=self.dtype)

    def _float(self, x: Tensor) -> Tensor:
        return x.to(self.dtype) / 127.5 - 1.0 if self.images else x

    # --- the hot path -------------------------------------------------------------------

    def _part(self, x: Tensor) -> Tensor:
        """This rank's slice of a global batch (all of it in one process): every rank draws
        the whole batch from the same stream, so the streams stay in step with one process."""
        return x if self.world == 1 else x.tensor_split(self.world)[self.rank]

    def _z(self, n: int) -> Tensor:
        shape = (n, self.cfg.model.latent_dim)
        if self.draws is not None:
            z = self.draws.latent(n, shape[1], self.cfg.model.latent_dist)
            return torch.as_tensor(z, device=self.device, dtype=self.dtype)
        if self.cfg.model.latent_dist == "uniform":
            u = torch.rand(shape, generator=self.gen, device=self.device, dtype=self.dtype)
            return u * 2.0 - 1.0
        return torch.randn(shape, generator=self.gen, device=self.device, dtype=self.dtype)

    def d_input(self, x: Tensor) -> Tensor:
        """What D sees of a batch: augmented (images, when asked), then packed: m samples
        side by side for points, stacked along the channels for images (PacGAN)."""
        m = self.cfg.model
        if m.augment:
            x = diff_augment(x, list(m.augment), self.gen, (self.rank, self.world))
        if self.images:
            return x.reshape(x.shape[0] // m.pack, -1, *x.shape[2:])
        return x.reshape(x.shape[0] // m.pack, -1)

    def _d_step(self) -> Tensor:
        b = self.cfg.train.batch_size
        if self.draws is not None:
            idx = torch.as_tensor(self.draws.indices(self.data.shape[0], b), device=self.device)
        else:
            idx = torch.randint(self.data.shape[0], (b,), generator=self.gen, device=self.device)
        real = self.d_input(self._float(self.data[self._part(idx)]))
        self.last_real = real
        z = self._part(self._z(b))
        penalties = due(self.penalties, self.iteration)  # lazy ones: only every k-th
        by_hand = self.by_hand is not None and (not penalties or self.fast.by_hand_penalties)
        prims = self.by_hand if by_hand else self.autograd
        loss, r, f, norm = steps.d_step(prims, real, z, penalties, lambda: self._mix(real))
        with torch.no_grad():
            means = None
            if self.world > 1 and self.loss.centred:
                # realness centred on the batch's means: the whole batch's, not the shard's
                stacked = torch.stack([r.mean(), f.mean()])
                torch.distributed.all_reduce(stacked)
                means = tuple((stacked / self.world).unbind())
            d_real, d_fake, fooled = realness_stats(self.loss, r, f, torch_ops(), means)
            return torch.stack([loss.detach(), d_real, d_fake, fooled, norm])

    def _mix(self, real: Tensor) -> Tensor:
        """The gradient penalty's weights, one per pack, drawn for the global batch."""
        shape = (real.shape[0] * self.world,) + (1,) * (real.dim() - 1)  # global packs
        if self.draws is not None:
            u = torch.as_tensor(self.draws.mix(shape[0]), device=self.device)
            u = u.to(self.dtype).reshape(shape)
        else:
            u = torch.rand(shape, generator=self.gen, device=self.device, dtype=self.dtype)
        return self._part(u)

    def update_d(self) -> Tensor:
        """D's optimiser step from the gradients in its ``.grad`` (then WGAN's clipping);
        returns their norm before the step."""
        norm = _grad_norm(self.d_params)
        self.d_step_fn.step()
        if self.loss.clip:
            with torch.no_grad():
                torch._foreach_clamp_min_(self.d_params, -self.cfg.loss.clip)
                torch._foreach_clamp_max_(self.d_params, self.cfg.loss.clip)
        return norm

    def _g_step(self) -> Tensor:
        z = self._part(self._z(self.cfg.train.batch_size))
        real = self.last_real if self.loss.relativistic else None
        loss, norm = steps.g_step(self.by_hand or self.autograd, z, real)
        return torch.stack([loss.detach(), norm])

    def update_g(self) -> Tensor:
        """G's optimiser step from the gradients in its ``.grad``, then the EMA copy follows;
        returns their norm before the step."""
        norm = _grad_norm(self.g_params)
        self.g_step_fn.step()
        if self.G_ema is not None:
            with torch.no_grad():
                torch._foreach_lerp_(self.ema_params, self.g_params, 1.0 - self.cfg.model.g_ema)
                for eb, b in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
                    eb.copy_(b)
        return norm

    def forward_scope(self) -> AbstractContextManager[object]:
        """Where the networks' forward passes run: bf16 autocast with train.precision = bf16
        (or auto on a device with native bf16; backward passes, penalties, losses and
        optimisers stay outside it, as autocast's documentation advises), plain float maths
        otherwise."""
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    def _set_lr(self, scale: float) -> None:
        o = self.cfg.optim
        for opt, lr in ((self.g_opt, o.g_lr), (self.d_opt, o.d_lr)):
            for group in opt.param_groups:
                group["lr"] = lr * scale

    def _accumulate(self, acc: Tensor | None, d: Tensor, g: Tensor) -> Tensor:
        step = torch.cat([d, g]).to(torch.float64)  # stays on the device: no host sync
        return step if acc is None else acc + step

    def _means(self, acc: Tensor, n_steps: int) -> list[float]:
        if self.world > 1:  # each rank's shard means, averaged: the global batch's means
            torch.distributed.all_reduce(acc)  # once per chunk, never per step
            acc = acc / self.world
        return (acc / n_steps).tolist()  # the chunk's one read from the device

    # --- off the hot path ---------------------------------------------------------------

    @torch.no_grad()
    def sample(self, z: np.ndarray) -> np.ndarray:
        g = self.G_ema if self.G_ema is not None else self.G
        g.eval()
        try:
            zt = torch.as_tensor(z, device=self.device, dtype=self.dtype)
            out = torch.cat([g(part) for part in zt.split(512)])  # bounded memory for images
        finally:
            g.train()
        if self.images:
            pixels = ((out.float() + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
            return pixels.permute(0, 2, 3, 1).cpu().numpy()
        return out.float().cpu().numpy()

    @torch.no_grad()
    def critic(self, x: np.ndarray) -> np.ndarray:
        self.D.eval()
        try:
            xt = self._float(self._to_device(x))
            reps = (1, self.cfg.model.pack) + (1,) * (xt.dim() - 2)
            out = torch.cat([self.D(part.repeat(reps)) for part in xt.split(512)]).squeeze(1)
        finally:
            self.D.train()
        return out.float().cpu().numpy()

    def layer_grad_norms(self) -> dict[str, float]:
        """From the parameters' ``.grad``: each step zeroes only its own net's gradients
        (to None), and G's backward reaches G's parameters only, so after train() D's hold
        its last step's gradient and G's its own; the optimisers read them without writing."""
        named = [
            (f"{prefix}.{n}", p.grad)
            for prefix, net in (("G", self.G), ("D", self.D))
            for n, p in net.named_parameters()
            if p.grad is not None
        ]
        return layer_norms(named)

    def _nets(self) -> tuple[tuple[str, nn.Module, torch.optim.Optimizer | None], ...]:
        nets: tuple[tuple[str, nn.Module, torch.optim.Optimizer | None], ...] = (
            ("G", self.G, self.g_opt),
            ("D", self.D, self.d_opt),
        )
        return nets + ((("G_ema", self.G_ema, None),) if self.G_ema is not None else ())

    def state(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for prefix, net, opt in self._nets():
            for k, v in net.state_dict().items():
                out[f"{prefix}.{k}"] = v.detach().cpu().numpy().copy()
            if opt is None:
                continue
            names = [n for n, _ in net.named_parameters()]
            for i, per_param in opt.state_dict()["state"].items():
                for key, v in per_param.items():
                    arr = v.detach().cpu().numpy() if torch.is_tensor(v) else np.asarray(v)
                    out[f"optim.{prefix}.{names[i]}.{key}"] = arr.copy()
        out["train.iteration"] = np.array([self.iteration], dtype=np.int64)
        out["rng.batches"] = self.gen.get_state().numpy().copy()
        out["rng.torch"] = torch.get_rng_state().numpy().copy()
        return out

    @staticmethod
    def _like(param: Tensor, value: np.ndarray) -> Tensor:
        """Optimiser state shaped like its parameter gets the parameter's memory layout too:
        fused optimisers walk parameter and state memory in step (channels-last included)."""
        t = torch.as_tensor(value)
        if t.shape == param.shape and param.dim() == 4:
            return torch.empty_like(param, dtype=t.dtype, device="cpu").copy_(t)
        return t

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        for prefix, net, opt in self._nets():
            own = net.state_dict()
            missing = [k for k in own if f"{prefix}.{k}" not in state]
            if missing:
                raise UserError(
                    f"the checkpoint has no {prefix}.{missing[0]}: it was made by a different "
                    "network; resume with the config it was trained with."
                )
            try:
                net.load_state_dict(
                    {k: torch.as_tensor(state[f"{prefix}.{k}"]) for k in own}, strict=True
                )
            except RuntimeError as e:
                raise UserError(
                    f"the checkpoint's {prefix} does not fit this network ({e})."
                ) from None
            if opt is None:
                continue
            names = [n for n, _ in net.named_parameters()]
            params = [p for _, p in net.named_parameters()]
            saved = opt.state_dict()
            per: dict[int, dict[str, Tensor]] = {}
            for i, name in enumerate(names):
                head = f"optim.{prefix}.{name}."
                keys = {k[len(head) :]: v for k, v in state.items() if k.startswith(head)}
                if keys:
                    per[i] = {k: self._like(params[i], v) for k, v in keys.items()}
            opt.load_state_dict({"state": per, "param_groups": saved["param_groups"]})
        self.g_step_fn.reset()  # the optimisers' state tensors were replaced
        self.d_step_fn.reset()
        self.iteration = int(state["train.iteration"].reshape(-1)[0])
        # another engine's checkpoint carries its own random streams: keep ours then
        if "rng.batches" in state:
            self.gen.set_state(torch.as_tensor(state["rng.batches"], dtype=torch.uint8))
        if "rng.torch" in state:
            torch.set_rng_state(torch.as_tensor(state["rng.torch"], dtype=torch.uint8))
