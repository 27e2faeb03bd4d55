"""The base of every source that reads a folder of export files against declared layouts."""

from __future__ import annotations

import importlib
from pathlib import Path

from ..shapes import Snapshot
from ._base import Source
from ._export import read_export
from ._layout import Layout, load_layouts

__all__ = ["FileExportSource"]


class FileExportSource(Source):
    """A file-export source: ``package`` holds its ``layout.yaml`` (and ``layouts/``), its
    ``generator`` module, and optionally a ``definitions`` function that reads the export's
    workflow and template definitions into ``Snapshot.meta["automations"]``."""

    package: str = ""

    def layouts(self) -> tuple[Layout, ...]:
        """Every layout version this source knows, current first."""
        return load_layouts(self.package)

    def _definitions(self):
        module = importlib.import_module(self.package)
        return getattr(module, "read_definitions", None)

    def read(self, location: str | Path) -> Snapshot:
        """Read an export folder strictly: any drift or unreadable file is an error naming file,
        row, column and the fix. See :mod:`toolkit.sources._export`."""
        return read_export(location, source=self.name, layouts=self.layouts(), mode="strict",
                           definitions=self._definitions())

    def read_for_audit(self, location: str | Path) -> Snapshot:
        """Read everything readable; drift and unreadable files or records are recorded in
        ``meta["drift"]`` and ``meta["read_errors"]`` instead of raised."""
        return read_export(location, source=self.name, layouts=self.layouts(), mode="report",
                           definitions=self._definitions())

    def generate(self, out: str | Path, *, patients: int, seed: int) -> Path:
        """Write a synthetic export with planted defects and ``ground_truth.json`` beside it."""
        generator = importlib.import_module(f"{self.package}.generator")
        return generator.generate(out, patients=patients, seed=seed)
