"""Exact Online's JSON value conventions, shared by the generator and the extractor.

Dates travel as OData v2 ``/Date(<milliseconds>)/`` literals holding the division's local wall
time, not UTC (research note exact.md §5, from Airbyte's connector). We keep them as wall time:
encoding treats a naive datetime as if it were UTC, decoding does the inverse, so a value comes
back exactly as it went in and no time zone is invented.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

__all__ = ["to_odata_date", "from_odata_date", "ODATA_DATE"]

ODATA_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")


def to_odata_date(value: dt.date | dt.datetime) -> str:
    """``/Date(ms)/`` for a date or naive datetime (wall time)."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return f"/Date({calendar.timegm(value.timetuple()) * 1000 + value.microsecond // 1000})/"


def from_odata_date(text: str) -> dt.datetime | None:
    """The naive wall-time datetime of a ``/Date(ms)/`` literal, or None if ``text`` is not one."""
    m = ODATA_DATE.match(text.strip()) if isinstance(text, str) else None
    if not m:
        return None
    return dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=int(m.group(1)))
