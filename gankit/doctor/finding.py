"""A finding of the doctor, the commands it suggests, and its JSON form."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Finding:
    """One problem of a run, with the numbers that show it and commands that may fix it."""

    # vanishing_gradients | mode_collapse | non_convergence | discriminator_wins | divergence
    name: str
    severity: str  # "warning" | "error"
    steps: tuple[int, int]  # first and last step where it shows
    evidence: dict[str, float] = field(default_factory=dict)
    summary: str = ""
    remedies: list[str] = field(default_factory=list)
    # the metrics.jsonl keys whose curves show it (what a report plots beside the finding)
    series: list[str] = field(default_factory=list)


class Remedies:
    """Builds `gankit train PRESET --set ...` commands with the run's own values."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.preset = str(config.get("preset", "PRESET"))
        optim, loss = config.get("optim", {}), config.get("loss", {})
        self.d_lr = float(optim.get("d_lr", 2e-3))
        self.g_lr = float(optim.get("g_lr", 2e-3))
        self.r1 = float(loss.get("r1", 0.0) or 0.0)
        self.d_steps = int(config.get("train", {}).get("d_steps", 1))
        self.batch = int(config.get("train", {}).get("batch_size", 256))
        # defaults as in config.py; a remedy the run already uses is not suggested
        self.lr_decay = str(optim.get("lr_decay", "linear"))
        self.g_ema = float(config.get("model", {}).get("g_ema", 0.999))

    def __call__(self, *sets: str) -> str:
        return " ".join([f"gankit train {self.preset}"] + [f"--set {s}" for s in sets])

    def r1_up(self) -> str:
        """Ten times the run's R1 weight (0.01 when it had none): enough to change D."""
        return self(f"loss.r1={max(10 * self.r1, 0.01):g}")

    def lower_d_lr(self) -> str:
        return self(f"optim.d_lr={self.d_lr / 4:g}")

    def lower_lrs(self) -> str:
        return self(f"optim.d_lr={self.d_lr / 4:g}", f"optim.g_lr={self.g_lr / 4:g}")


def finite(v: Any) -> Any:
    """Strict JSON has no NaN/inf: write them as null, as the run directory does."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [finite(x) for x in v]
    return v


def to_json(findings: list[Finding]) -> list[dict[str, Any]]:
    """Plain JSON-ready dicts (steps as a list, non-finite numbers as null)."""
    return [finite(asdict(f)) for f in findings]
