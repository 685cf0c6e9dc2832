"""This process's place under torchrun, read from the environment torchrun sets (WORLD_SIZE,
RANK), without importing torch: the CLI asks it before any training starts."""

from __future__ import annotations

import os


def world_size() -> int:
    """How many processes torchrun started (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0")) if world_size() > 1 else 0


def is_lead() -> bool:
    """Global rank 0 (or no torchrun): the process that writes the run directory and prints."""
    return rank() == 0
