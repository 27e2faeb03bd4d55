"""Dental-Exec: a practice-management-flavoured CRM for practices and DSOs, exported as a folder
of UTF-8 (with byte-order mark) CSV files plus its workflow and e-mail template definitions.

``DentalExecSource().read(folder)`` returns a :class:`~toolkit.shapes.Snapshot` read against
the declared layout (``layout.yaml``, ``dx-4``); ``generate(out, patients=..., seed=...)`` writes a
realistic synthetic export with planted defects (a circular parent chain among them) and
``ground_truth.json``.
"""

from __future__ import annotations

from .._file_source import FileExportSource
from ._layout import load_layout
from ._workflows import read_definitions

__all__ = ["DentalExecSource", "load_layout", "read_definitions"]


class DentalExecSource(FileExportSource):
    """The Dental-Exec export-folder source."""

    name = "dental-exec"
    display_name = "Dental-Exec"
    package = __name__
