"""Where gankit keeps what it makes once and reuses: collected game frames, trained feature
networks. ``$GANKIT_CACHE`` if set, else ``~/.cache/gankit``."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(sub: str) -> Path:
    """The cache folder for one kind of thing (``atari``, ``features``), created on demand."""
    root = os.environ.get("GANKIT_CACHE") or Path.home() / ".cache" / "gankit"
    path = Path(root) / sub
    path.mkdir(parents=True, exist_ok=True)
    return path
