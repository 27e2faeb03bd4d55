"""Practice by Numbers: the analytics and patient-engagement layer over a practice's PMS, exported
as a folder of UTF-8 CSV files (one per object) plus its engagement campaigns.

``PracticeByNumbersSource().read(folder)`` returns a :class:`~toolkit.shapes.Snapshot` read
against the declared layout (``layout.yaml``, ``pbn-2``); ``generate(out, patients=..., seed=...)``
writes a realistic synthetic export with planted defects and ``ground_truth.json``.
"""

from __future__ import annotations

from .._file_source import FileExportSource
from ._campaigns import read_definitions
from ._layout import load_layout

__all__ = ["PracticeByNumbersSource", "load_layout", "read_definitions"]


class PracticeByNumbersSource(FileExportSource):
    """The Practice by Numbers export-folder source."""

    name = "practice-by-numbers"
    display_name = "Practice by Numbers"
    package = __name__
