"""Reading and writing the run directory, the contract between training and all that follows.

```
RUN/config.json      resolved config + "meta" (versions, engine, device, start time)
RUN/metrics.jsonl    one JSON object per logged step
RUN/events.jsonl     warnings, resumes, interruptions, findings
RUN/checkpoints/     step_<N>.safetensors + step_<N>.json (the JSON is written last)
RUN/snapshots/       real.npz, step_<N>.npz (+ step_<N>.png for images), last.png
```
Every write of a whole file goes to a temporary name first and is then renamed, so a crash
leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from gankit.config import Config, config_from_dict
from gankit.errors import UserError


def _clean(obj: Any) -> Any:
    """JSON has no NaN/inf: write them as null (strict JSON that any reader takes)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        return _clean(obj.item())
    return obj


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A temporary name beside ``path`` to write to; renamed to ``path`` once the writing is
    done, removed if it fails, so a crash or a Ctrl-C never leaves half a file (or an empty
    one). Writers given the name must be told the format: its suffix is .tmp."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename, so a crash never leaves half a file."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, (json.dumps(_clean(obj), indent=2) + "\n").encode())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All complete lines that hold a JSON object; a torn last line (a crash mid-write), or
    any line of garbage, is skipped: a log read for what it still says."""
    if not path.exists():
        return []
    text = path.read_bytes().decode("utf-8", errors="replace")  # stray bytes: a garbage line
    lines = [line for line in text.splitlines() if line.strip()]
    try:  # one parse call for the whole file; line by line only when a line is torn
        rows = list(json.loads("[" + ",".join(lines) + "]"))
    except json.JSONDecodeError:
        rows = []
        for line in lines:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return [r for r in rows if isinstance(r, dict)]


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file that must hold an object, or one sentence naming the file and what is
    wrong with it."""
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path} is not valid JSON ({e}).") from None
    except OSError as e:
        raise UserError(f"{path} cannot be read ({e.strerror or e}).") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} holds a JSON {type(data).__name__}, not the object it should.")
    return data


_CHECKPOINT_NAME = re.compile(r"step_(\d+)")


class _Damaged(Exception):
    """A checkpoint a crash or a disk left unreadable: an older one may stand in for it."""


def non_finite_key(state: dict[str, np.ndarray]) -> str | None:
    """The first floating-point array of an engine's state (weights, optimiser moments)
    holding NaN/inf, or None: training writes no checkpoint of such a state."""
    for key, value in state.items():
        if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
            return key
    return None


class RunDir:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.checkpoints = self.path / "checkpoints"
        self.snapshots = self.path / "snapshots"
        self.metrics_file = self.path / "metrics.jsonl"
        self.events_file = self.path / "events.jsonl"

    # --- creating and opening ---------------------------------------------------------

    @classmethod
    def create(cls, path: str | Path, cfg: Config, meta: dict[str, Any]) -> RunDir:
        run = cls(path)
        if (run.path / "config.json").exists():
            how = "continue it" if run.checkpoint_steps() else "start it again in place"
            raise UserError(
                f"{run.path} already holds a run; pick another --out, or {how} with "
                f"gankit train --resume {run.path}."
            )
        try:
            run.checkpoints.mkdir(parents=True, exist_ok=True)
            run.snapshots.mkdir(parents=True, exist_ok=True)
            write_json(run.path / "config.json", {**cfg.model_dump(), "meta": meta})
        except OSError as e:  # under a file, or where nobody may write: before any training
            raise UserError(
                f"cannot create the run directory {run.path} ({e.strerror or e}); pick an "
                "--out in a folder you can write."
            ) from None
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        run = cls(path)
        if not (run.path / "config.json").is_file():
            raise UserError(f"{run.path} is not a gankit run directory (it has no config.json).")
        return run

    def config(self) -> Config:
        data = self.raw_config()
        data.pop("meta", None)
        return config_from_dict(data, f"{self.path / 'config.json'}")

    def raw_config(self) -> dict[str, Any]:
        return read_json_object(self.path / "config.json")

    def update_config(self, cfg: Config, meta: dict[str, Any]) -> None:
        write_json(self.path / "config.json", {**cfg.model_dump(), "meta": meta})

    # --- logs ---------------------------------------------------------------------------

    def log_metrics(self, row: dict[str, Any]) -> None:
        with self.metrics_file.open("a") as f:
            f.write(json.dumps(_clean(row)) + "\n")

    def event(self, kind: str, **fields: Any) -> None:
        row = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "event": kind, **fields}
        with self.events_file.open("a") as f:
            f.write(json.dumps(_clean(row)) + "\n")

    def metrics(self) -> list[dict[str, Any]]:
        return read_jsonl(self.metrics_file)

    def events(self) -> list[dict[str, Any]]:
        return read_jsonl(self.events_file)

    def truncate_after(self, step: int) -> None:
        """On resume, forget what was logged and snapshotted after the checkpoint, so the
        resumed run writes those steps once, exactly as an uninterrupted run would."""
        rows = [r for r in self.metrics() if r.get("step", 0) <= step]
        atomic_write(
            self.metrics_file, "".join(json.dumps(_clean(r)) + "\n" for r in rows).encode()
        )
        for snap in self.snapshots.glob("step_*.npz"):
            if int(snap.stem.split("_")[1]) > step:
                snap.unlink()

    # --- checkpoints --------------------------------------------------------------------

    def save_checkpoint(
        self, step: int, state: dict[str, np.ndarray], info: dict[str, Any], keep: int
    ) -> Path:
        name = f"step_{step:07d}"
        tensors = {k: np.ascontiguousarray(v) for k, v in state.items()}
        tmp = self.checkpoints / f".{name}.safetensors.tmp"
        save_file(tensors, str(tmp))
        os.replace(tmp, self.checkpoints / f"{name}.safetensors")
        write_json(self.checkpoints / f"{name}.json", {"step": step, **info})  # last: complete
        for old in self._complete_checkpoints()[:-keep]:
            old.with_suffix(".safetensors").unlink(missing_ok=True)
            old.unlink(missing_ok=True)
        return self.checkpoints / f"{name}.safetensors"

    def _complete_checkpoints(self) -> list[Path]:
        """JSON files whose weights exist, oldest first (files of other names are not ours)."""
        out = [
            j
            for j in self.checkpoints.glob("step_*.json")
            if _CHECKPOINT_NAME.fullmatch(j.stem) and j.with_suffix(".safetensors").is_file()
        ]
        return sorted(out, key=lambda p: int(p.stem.split("_")[1]))

    def checkpoint_steps(self) -> list[int]:
        """The steps of the complete checkpoints, oldest first (read from their names)."""
        return [int(p.stem.split("_")[1]) for p in self._complete_checkpoints()]

    def latest_checkpoint(self) -> tuple[int, dict[str, np.ndarray], dict[str, Any]] | None:
        """The newest complete checkpoint: its step, weights and JSON. One left unreadable
        is passed over, with a warning, for the one before it; one whose JSON names another
        step than its file name is refused, since which of the two is right cannot be told."""
        done = self._complete_checkpoints()
        for path in reversed(done):
            try:
                step, info = _checkpoint_info(path)
            except _Damaged as e:
                if path == done[0]:
                    raise UserError(f"{e}; there is no older checkpoint to fall back to.") from None
                warnings.warn(f"{e}; using the checkpoint before it.", stacklevel=2)
                continue
            try:
                state = load_file(str(path.with_suffix(".safetensors")))
            except Exception as e:  # safetensors raises its own error types (a torn file)
                weights = path.with_suffix(".safetensors")
                if path == done[0]:
                    raise UserError(
                        f"checkpoint {weights} is unreadable ({e}); there is no older "
                        "checkpoint to fall back to."
                    ) from None
                warnings.warn(
                    f"checkpoint {weights} is unreadable ({e}); using the checkpoint before it.",
                    stacklevel=2,
                )
                continue
            return step, state, info
        return None

    def finite_checkpoint(self) -> tuple[int, dict[str, np.ndarray], dict[str, Any]]:
        """The newest complete checkpoint, refused in one sentence when there is none or
        when its weights hold NaN/inf (samples of them would be NaN too)."""
        latest = self.latest_checkpoint()
        if latest is None:
            raise UserError(f"{self.path} has no complete checkpoint yet; train it first.")
        self.check_finite(latest[0], latest[1])
        return latest

    def check_finite(self, step: int, state: dict[str, np.ndarray]) -> None:
        """One sentence when checkpoint ``step``'s arrays hold NaN/inf (training never
        writes such a checkpoint; one made elsewhere, or edited, may)."""
        key = non_finite_key(state)
        if key is not None:
            raise UserError(
                f"checkpoint {self.checkpoints / f'step_{step:07d}.safetensors'} holds "
                f"NaN or infinite values (in {key}); delete its two files to use the "
                "checkpoint before it, or train again with lower learning rates."
            )

    # --- snapshots ----------------------------------------------------------------------

    def save_snapshot(self, step: int, arrays: dict[str, Any]) -> None:
        tmp = self.snapshots / f".step_{step:07d}.npz.tmp"
        with tmp.open("wb") as f:
            np.savez_compressed(f, step=np.int64(step), **arrays)
        os.replace(tmp, self.snapshots / f"step_{step:07d}.npz")

    def save_real(self, **arrays: np.ndarray) -> None:
        """The real reference every picture of the run shows: points and the plot range, or
        real images."""
        with (self.snapshots / ".real.npz.tmp").open("wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(self.snapshots / ".real.npz.tmp", self.snapshots / "real.npz")

    def snapshot_steps(self) -> list[int]:
        return sorted(int(p.stem.split("_")[1]) for p in self.snapshots.glob("step_*.npz"))


def _checkpoint_info(path: Path) -> tuple[int, dict[str, Any]]:
    """A checkpoint's step and JSON: an object whose "step" is the step its file name says.
    A file that cannot be read as such raises _Damaged; a step that disagrees, UserError."""
    named = int(path.stem.split("_")[1])
    try:
        info = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
        raise _Damaged(f"checkpoint {path} is unreadable ({e})") from None
    if not isinstance(info, dict) or "step" not in info:
        raise _Damaged(f'checkpoint {path} holds no JSON object with a "step"')
    if type(info["step"]) is not int or info["step"] != named:
        raise UserError(
            f'checkpoint {path} says "step": {json.dumps(info["step"])} but its file name says '
            f"step {named}; put the right step in the file, or delete both of its files to "
            "resume from the checkpoint before."
        )
    return named, info


def next_run_dir(root: str | Path, name: str) -> Path:
    """``runs/00003-sine``: a fresh numbered directory, so runs never overwrite each other."""
    root = Path(root)
    used = [int(p.name[:5]) for p in root.glob("[0-9][0-9][0-9][0-9][0-9]-*") if p.is_dir()]
    return root / f"{max(used, default=-1) + 1:05d}-{name}"
