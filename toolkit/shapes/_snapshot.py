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

    def empty_objects(self) -> list[dict]:
        """Objects read with no records (a header only, or an empty file), each with the columns
        of other objects whose records point at it: ``{object, file, referred_by}``.

        An empty object others refer to is an export cut short: nothing that points at it can
        load, so a migration refuses it; one nobody refers to may simply have nothing in it.
        """
        out = []
        for name, df in self.tables.items():
            if len(df):
                continue
            referring = []
            for other, sch in self.schema.items():
                rows = self.tables.get(other)
                if rows is None or not len(rows):
                    continue
                for col, target in sch.references.items():
                    if target.split(".", 1)[0] == name and col in rows.columns and bool(rows[col].notna().any()):
                        referring.append(f"{other}.{col}")
            sch = self.schema.get(name)
            out.append({"object": name, "file": sch.file if sch else name, "referred_by": referring})
        return out
