"""The Snapshot: what a source hands to the rest of the toolkit.

One pandas DataFrame per source object with the source's own column names (every cell read as
text, so nothing is reinterpreted before the audit sees it), the declared schema, and extraction
metadata. Sources never know about destinations.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Snapshot", "ObjectSchema"]


@dataclass
class ObjectSchema:
    """The declared shape of one source object.

    Attributes:
        name: the source object's name (``patients``).
        file: the file it was read from, relative to the export folder.
        key: the column that identifies a record.
        columns: column name -> declared type (``text``, ``date``, ``phone``, ``email``,
            ``money``, ``number``, ``code``, ``flag``, ``picklist``, ``id``).
        picklists: column name -> the values the source allows, where it declares them.
        references: column name -> ``"<object>.<column>"`` it points at.
        updated_column: the column holding the record's last-modified time, if any.
    """

    name: str
    file: str
    key: str
    columns: dict[str, str]
    picklists: dict[str, list[str]] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)
    updated_column: str | None = None


@dataclass
class Snapshot:
    """Everything read from one source at one moment.

    Attributes:
        source: the registered source name (``dent-o-soft``).
        tables: object name -> DataFrame of strings (missing cells are ``<NA>``).
        schema: object name -> its declared :class:`ObjectSchema`.
        extracted_at: when the extraction finished (UTC).
        watermark: the newest modification time seen, for delta runs (ISO 8601), if any.
        location: the export folder or API base the data came from.
        meta: anything else worth keeping (layout version, encodings detected, row numbers).
    """

    source: str
    tables: dict[str, pd.DataFrame]
    schema: dict[str, ObjectSchema]
    extracted_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    watermark: str | None = None
    location: str = ""
    meta: dict = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def counts(self) -> dict[str, int]:
        """Records per object."""
        return {name: len(df) for name, df in self.tables.items()}
