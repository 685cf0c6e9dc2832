"""A finding of the doctor, the commands it suggests, and its JSON form."""

from __future__ import annotations

import copy
import math
import shlex
from dataclasses import asdict, dataclass, field
from typing import Any

from gankit.config import Config
from gankit.overrides import toml_value

DEFAULTS = Config()  # config.py's defaults, for what a run's config.json leaves out


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


# Keys that say where and how fast a run computes, not what it learns: remedies leave them out
MACHINE_KEYS = {"train.threads", "train.device"}

# Per problem, the config keys whose values usually cause it. A run that changed any of them
# from its preset's gets, as its first remedy, the same run with those changes undone: the
# presets are tested configurations, so this is the change most likely to help. No remedy
# for that problem repeats them (Remedies.blaming), and the finding says so.
CAUSES = {
    "vanishing_gradients": {
        "loss.name", "loss.r1", "optim.name", "optim.d_lr", "optim.g_lr", "train.d_steps",
    },
    "mode_collapse": {
        "loss.name", "loss.r1", "model.pack", "model.g_ema", "model.d_mbstd", "train.batch_size",
        "optim.name", "optim.d_lr", "optim.g_lr", "optim.beta1", "optim.lr_decay",
    },
    "non_convergence": {
        "loss.name", "loss.r1", "model.g_ema", "optim.name", "optim.d_lr", "optim.g_lr",
        "optim.beta1", "optim.lr_decay", "train.d_steps",
    },
    "discriminator_wins": {
        "loss.name", "loss.r1", "optim.d_lr", "optim.g_lr", "train.d_steps", "train.g_steps",
    },
    "divergence": {
        "loss.name", "optim.name", "optim.d_lr", "optim.g_lr", "optim.momentum",
        "optim.lr_decay", "train.dtype",
    },
    "far_from_data": {
        "loss.name", "optim.name", "optim.d_lr", "optim.g_lr", "optim.lr_decay", "model.g_ema",
        "train.steps",
    },
    # a run stopped before its preset's budget: the budget
    "too_early": {"train.steps"},
}  # fmt: skip
# The run's values a remedy scales (Remedies' attributes), by config key
SCALED = {
    "optim.d_lr": "d_lr", "optim.g_lr": "g_lr", "loss.r1": "r1", "train.d_steps": "d_steps",
    "train.batch_size": "batch", "optim.lr_decay": "lr_decay", "model.g_ema": "g_ema",
    "train.steps": "steps",
}  # fmt: skip


def preset_config(config: dict[str, Any]) -> dict[str, Any] | None:
    """The run's preset as a config dict, None where the preset is unknown."""
    from gankit.config import load_config
    from gankit.errors import UserError

    try:
        return load_config(str(config.get("preset", ""))).model_dump()
    except UserError:
        return None


def run_overrides(config: dict[str, Any]) -> tuple[list[str], int | None]:
    """The ``--set`` overrides that turn the run's preset into its config, and its seed where
    it differs from the preset's: so a remedy repeats the run with one change, not the
    preset with it. Nothing for a config whose preset is unknown."""
    base = preset_config(config)
    if base is None:
        return [], None
    sets = []
    for section, values in config.items():
        if isinstance(values, dict) and isinstance(base.get(section), dict):
            for key, value in values.items():
                if key not in base[section] or base[section][key] == value:
                    continue
                if f"{section}.{key}" not in MACHINE_KEYS:
                    sets.append(f"{section}.{key}={toml_value(value)}")
    seed = config.get("seed")
    return sets, (int(seed) if seed is not None and seed != base.get("seed") else None)


class Remedies:
    """Builds ``gankit train PRESET --set ...`` commands: the run's own overrides with the
    remedy's changes on top, and the run's values where a remedy scales one."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.preset = str(config.get("preset", "PRESET"))

        def value(section: str, key: str) -> Any:
            """The run's value, or config.py's default where the run's config has none."""
            v = config.get(section, {}).get(key)
            return getattr(getattr(DEFAULTS, section), key) if v is None else v

        self.d_lr = float(value("optim", "d_lr"))
        self.g_lr = float(value("optim", "g_lr"))
        self.r1 = float(value("loss", "r1"))
        self.d_steps = int(value("train", "d_steps"))
        self.batch = int(value("train", "batch_size"))
        self.steps = int(value("train", "steps"))
        # a remedy the run already uses is not suggested
        self.lr_decay = str(value("optim", "lr_decay"))
        self.g_ema = float(value("model", "g_ema"))
        self.overrides, self.seed = run_overrides(config) if "preset" in config else ([], None)
        self.blamed: list[str] = []  # the run's overrides that the finding blames
        self._config = config

    def blaming(self, problem: str) -> Remedies:
        """These commands for ``problem``: the run's own changes to its usual causes (CAUSES)
        left out of every one, and the values remedies scale taken from the preset where
        the run's are blamed."""
        out = copy.copy(self)
        causes = CAUSES.get(problem, set())
        out.blamed = [o for o in self.overrides if o.partition("=")[0] in causes]
        out.overrides = [o for o in self.overrides if o not in out.blamed]
        base = preset_config(self._config) if out.blamed else None
        for o in out.blamed:
            section, _, key = o.partition("=")[0].partition(".")
            attr = SCALED.get(f"{section}.{key}")
            if attr is not None and base is not None:
                kind = type(getattr(self, attr))
                setattr(out, attr, kind(base[section][key]))
        return out

    def undo(self) -> list[str]:
        """The run with the blamed changes undone, as a one-item list; empty when it made
        none."""
        return [self()] if self.blamed else []

    def why(self) -> str:
        """The sentence a finding adds when the run's own changes are a usual cause."""
        if not self.blamed:
            return ""
        what = ", ".join(o.replace("=", " = ") for o in self.blamed)
        return (
            f" The run changed {what} from its preset, a usual cause of this: the first "
            "remedy undoes it, and none repeats it."
        )

    def __call__(self, *sets: str) -> str:
        changed = {s.partition("=")[0] for s in sets}
        kept = [o for o in self.overrides if o.partition("=")[0] not in changed]
        return self._command(kept, sets)

    def _command(self, kept: list[str], sets: tuple[str, ...]) -> str:
        words = ["gankit", "train", self.preset]
        if self.seed is not None:
            words += ["--seed", str(self.seed)]
        for s in [*kept, *sets]:
            words += ["--set", s]
        return shlex.join(words)

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


def from_json(rows: list[dict[str, Any]]) -> list[Finding]:
    """The findings :func:`to_json` wrote (doctor.json); rows that are not findings are
    skipped, so a damaged file gives what it still holds."""
    names = set(Finding.__dataclass_fields__)
    out = []
    for row in rows:
        try:
            fields = {k: v for k, v in row.items() if k in names}
            first, last = (int(s) for s in fields["steps"])  # exactly two: first, last
            fields["steps"] = (first, last)
            out.append(Finding(**fields))
        except (AttributeError, KeyError, TypeError, ValueError):
            continue
    return out
