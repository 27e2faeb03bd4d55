"""Dent-O-Soft: an on-premises dental practice system exported as a folder of cp1252 CSV files.

``DentOSoftSource().read(folder)`` returns a :class:`~toolkit.shapes.Snapshot`;
``DentOSoftSource().generate(out, patients=..., seed=...)`` writes a realistic synthetic export
with planted defects and a ``ground_truth.json`` describing every one of them. The declared
layouts (``layout.yaml``, version ``dos-7``; ``layouts/dos-6.yaml``) are the contract both sides
follow.
"""

from __future__ import annotations

from pathlib import Path

from .._file_source import FileExportSource
from ._automations import read_definitions
from ._layout import load_layout, load_layouts
from .reader import read_export

__all__ = ["DentOSoftSource", "load_layout", "load_layouts", "read_export", "read_definitions",
           "generate"]


class DentOSoftSource(FileExportSource):
    """The Dent-O-Soft export-folder source."""

    name = "dent-o-soft"
    display_name = "Dent-O-Soft"
    package = __name__


def generate(out: str | Path, patients: int, seed: int) -> Path:
    """Module-level shortcut for :meth:`DentOSoftSource.generate`."""
    from .generator import generate as _generate

    return _generate(out, patients=patients, seed=seed)
