"""Read a Dent-O-Soft export folder into a :class:`~toolkit.shapes.Snapshot`.

Dent-O-Soft has no API and no published export format; practices hand over a folder of CSV files
written by its export utility (one per object, cp1252, CRLF). The layouts we check against are
the declared ones (``layout.yaml`` = ``dos-7``; older versions in ``layouts/``); which one an
export follows is decided from its headers. Reading itself is the shared layout-driven reader
(:mod:`toolkit.sources._export`), which documents what ``Snapshot.meta`` holds.

``ground_truth.json``, ``crm_users.json``, the ``documents/`` folder and any other file are not
part of the export and are ignored (listed in ``meta["ignored_files"]``); the automation rules and
message templates are read into ``meta["automations"]``.
"""

from __future__ import annotations

from pathlib import Path

from ...shapes import Snapshot
from .._export import read_export as _read_export
from ._automations import read_definitions
from ._layout import Layout, load_layouts

__all__ = ["read_export", "SOURCE_NAME"]

SOURCE_NAME = "dent-o-soft"


def read_export(folder: str | Path, *, layout: Layout | None = None, mode: str = "strict") -> Snapshot:
    """Read every declared file of a Dent-O-Soft export folder.

    Args:
        folder: the export folder.
        layout: read against this layout only (default: the version the headers match best).
        mode: ``strict`` (errors raise) or ``report`` (drift and unreadable files are recorded).

    Raises:
        SourceError: (strict) the folder or a required file is missing, empty, undecodable, or
            has a malformed record (each naming file, line and column).
        SchemaDriftError: (strict) a file's header misses a declared column or has an unknown one.
    """
    layouts = (layout,) if layout is not None else load_layouts()
    return _read_export(folder, source=SOURCE_NAME, layouts=layouts, mode=mode,
                        definitions=read_definitions)
