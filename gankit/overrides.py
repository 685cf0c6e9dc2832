"""Python values, keyword sections and command lines as the CLI's ``--set`` overrides, so the
Python door layers a config exactly as ``gankit train`` does, and fails with its sentences."""

from __future__ import annotations

import json
import shlex
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gankit.config import Config, load_config
from gankit.errors import UserError


def toml_value(value: Any) -> str:
    """A Python value as ``--set section.key=VALUE`` reads it back (TOML; floats exactly,
    strings bare where that reads back the same): the Python door's overrides and the
    doctor's remedy commands are written with it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return repr(float(value))  # 'inf', 'nan' and '1e-05' are TOML floats too
    if isinstance(value, list | tuple):
        return "[" + ",".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        if value and value == value.strip() and value.isprintable():
            try:  # a bare word reads back as itself unless TOML reads it as something else
                tomllib.loads(f"v = {value}")
            except tomllib.TOMLDecodeError:
                return value
        return json.dumps(value, ensure_ascii=False)  # TOML's basic strings take JSON's escapes
    raise UserError(
        f"config value {value!r} is a {type(value).__name__}; give a number, a bool, a string "
        "or a list of those."
    )


def overrides(
    sections: Mapping[str, Any] | None = None, dotted: Mapping[str, Any] | None = None
) -> list[str]:
    """``{"model": {"latent_dim": 20}}`` and ``{"train.steps": 500}`` as the CLI's
    ``--set`` strings, in the order given (later ones win, as on the command line)."""
    out: list[str] = []
    for section, keys in (sections or {}).items():
        if not isinstance(keys, Mapping):
            raise UserError(
                f"{section}={keys!r} is not a mapping of the section's keys; write it like "
                f'{section}={{"key": value}}, for instance train={{"steps": 2000}}.'
            )
        out += [f"{section}.{key}={toml_value(v)}" for key, v in keys.items()]
    out += [f"{key}={toml_value(v)}" for key, v in (dotted or {}).items()]
    return out


def resume_command(command: str) -> tuple[str, list[str]] | None:
    """The run directory and ``--set`` overrides of a ``gankit train --resume RUN [--set
    key=value ...]`` line (a doctor's remedy for a run stopped early); None for another."""
    words = shlex.split(command)
    if words[:3] != ["gankit", "train", "--resume"] or len(words) < 4:
        return None
    rest = words[4:]
    if len(rest) % 2 or any(flag != "--set" for flag in rest[::2]):
        raise UserError(f"{command!r}: only --set key=value can follow the run directory.")
    return words[3], rest[1::2]


def command_config(command: str, extra: list[str] | None = None) -> Config:
    """The config of a ``gankit train PRESET [--seed N] [--set key=value ...]`` line, the form
    of the doctor's remedies, read as the CLI reads it; ``extra`` overrides come last."""
    words = shlex.split(command)
    if words[:2] != ["gankit", "train"] or len(words) < 3 or words[2].startswith("-"):
        raise UserError(
            f"{command!r} is not a gankit train PRESET [--seed N] [--set key=value] command."
        )
    sets, seed, rest = [], None, words[3:]
    while rest:
        flag, value, rest = rest[0], rest[1:2], rest[2:]
        if flag not in ("--set", "--seed") or not value:
            raise UserError(
                f"{command!r}: only --set key=value and --seed N can follow the preset."
            )
        if flag == "--set":
            sets.append(value[0])
        elif value[0].lstrip("-").isdigit():
            seed = int(value[0])
        else:
            raise UserError(f"{command!r}: --seed takes a whole number, not {value[0]!r}.")
    return load_config(words[2], [*sets, *(extra or [])], None, seed)
