"""The source id of records HighLevel gives no custom fields (tasks, notes, events, files).

Every migrated record carries its source record's id so an interrupted run can be settled by
looking it up, and reconciliation can account for it (DESIGN.md, "Ledger"). Tasks, notes and
appointments have no custom fields in HighLevel (apps/contacts.json TaskSchema, NotesDTO;
apps/calendars.json AppointmentCreateSchema), so the id rides as the last line of their text -
``Source ID: PT-1042`` - readable by the practice's staff too. Read-back strips it again, so a
record reads back in the shape it was written in.
"""

from __future__ import annotations

import re

__all__ = ["with_source", "split_source"]

_LINE = "Source ID: "
_TRAILER = re.compile(r"(?:\n\n|^)Source ID: ([^\n]+)$")


def with_source(text: str | None, source_id: str | None) -> str | None:
    """``text`` with the source-id line appended (``text`` unchanged when there is no id)."""
    if source_id in (None, ""):
        return text
    return f"{text}\n\n{_LINE}{source_id}" if text else f"{_LINE}{source_id}"


def split_source(text: str | None) -> tuple[str | None, str | None]:
    """(text without the source-id line, the id) - the id is None when there is no such line."""
    if not text:
        return text, None
    m = _TRAILER.search(text)
    if m is None:
        return text, None
    rest = text[: m.start()]
    return (rest or None), m.group(1)
