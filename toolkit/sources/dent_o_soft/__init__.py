"""Dent-O-Soft: an on-premises dental practice system exported as a folder of cp1252 CSV files.

``DentOSoftSource().read(folder)`` returns a :class:`~toolkit.snapshot.Snapshot`;
``DentOSoftSource().generate(out, patients=..., seed=...)`` writes a realistic synthetic export
with planted defects and a ``ground_truth.json`` describing every one of them. The declared
layout (``layout.yaml``, version ``dos-7``) is the contract both sides follow.
"""

from __future__ import annotations

from pathlib import Path

from ...snapshot import Snapshot
from .._base import Source
from ._layout import load_layout
from .reader import read_export

__all__ = ["DentOSoftSource", "load_layout", "read_export", "generate"]


class DentOSoftSource(Source):
    """The Dent-O-Soft export-folder source."""

    name = "dent-o-soft"

    def read(self, location: str | Path) -> Snapshot:
        """Read an export folder; see :func:`toolkit.sources.dent_o_soft.reader.read_export`."""
        return read_export(location)

    def generate(self, out: str | Path, *, patients: int, seed: int) -> Path:
        """Write a synthetic export; see :func:`toolkit.sources.dent_o_soft.generator.generate`."""
        from .generator import generate as _generate

        return _generate(out, patients=patients, seed=seed)


def generate(out: str | Path, patients: int, seed: int) -> Path:
    """Module-level shortcut for :meth:`DentOSoftSource.generate`."""
    from .generator import generate as _generate

    return _generate(out, patients=patients, seed=seed)
