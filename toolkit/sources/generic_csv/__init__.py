"""Any CSV/XLSX export: a folder of files from a system the toolkit has no layout for.

``GenericCsvSource().read(folder)`` detects each file's encoding, delimiter, header row and date
layouts, guesses what it holds and says how sure it is (see :mod:`.reader`);
``generate(out, patients=..., seed=...)`` writes a folder of files written every way real
exports are, with planted defects and ``ground_truth.json``.
"""

from __future__ import annotations

from pathlib import Path

from ...shapes import Snapshot
from .._base import Source
from .reader import read_folder

__all__ = ["GenericCsvSource", "read_folder"]


class GenericCsvSource(Source):
    """The any-CSV/XLSX source."""

    name = "generic-csv"
    display_name = "CSV/XLSX export"

    def read(self, location: str | Path) -> Snapshot:
        """Read every table file strictly (an unreadable file or record raises)."""
        return read_folder(location, mode="strict")

    def read_for_audit(self, location: str | Path) -> Snapshot:
        """Read what can be read; unreadable files and records go to ``meta["read_errors"]``."""
        return read_folder(location, mode="report")

    def generate(self, out: str | Path, *, patients: int, seed: int) -> Path:
        """Write a synthetic multi-format export; see :mod:`.generator`."""
        from .generator import generate

        return generate(out, patients=patients, seed=seed)
