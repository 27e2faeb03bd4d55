"""The seam every source implements."""

from __future__ import annotations

import abc
from pathlib import Path

from ..snapshot import Snapshot


class Source(abc.ABC):
    """One practice system's export (or API) reader.

    Subclasses set ``name`` and implement :meth:`read`; file sources also implement
    :meth:`generate` so that anyone can try the toolkit without a real practice.
    """

    name: str = ""

    @abc.abstractmethod
    def read(self, location: str | Path) -> Snapshot:
        """Read everything at ``location`` into a Snapshot.

        Raises:
            SourceError: naming file, row and column for anything unreadable.
        """

    def generate(self, out: str | Path, *, patients: int, seed: int) -> Path:
        """Write a synthetic export with planted defects and their ground truth to ``out``."""
        raise NotImplementedError(f"{self.name} has no generator")
