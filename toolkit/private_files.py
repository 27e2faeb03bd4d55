"""Files and folders readable by their owner only: everything a workspace holds concerns patients."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["write_private", "private_dir"]


def private_dir(path: Path) -> None:
    """Make ``path`` (and its parents) exist; ``path`` itself owner-only."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the owner only."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
