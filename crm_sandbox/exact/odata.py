"""The slice of OData v2 the EXACT sandbox understands: ``$select``, ``$filter``, ``$top``, ``$skiptoken``.

Paging follows Exact (research note exact.md §4): a page holds at most 60 records on regular
endpoints and 1,000 on ``bulk/`` and ``sync/`` ones, and when more follow the envelope carries a
``__next`` URL with a ``$skiptoken`` that the client follows verbatim. Our skiptoken holds the
last record's sort value - ``guid'…'`` where records are in key order, an Int64 ``…L`` where sync
endpoints order by ``Timestamp`` - so a link stays valid across restarts of client and server.

``$filter`` accepts comparisons joined by ``and``: ``Field op literal`` with ``eq ne gt ge lt le``
and literals ``123``/``123L``, ``guid'…'``, ``datetime'2024-01-01T00:00[:00]'``, ``'text'``,
``true``/``false``, ``null``. Anything else is a 400, as a request Exact cannot parse would be.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

__all__ = ["QueryError", "Query", "parse_query", "page"]

_ODATA_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")
_COND = re.compile(
    r"\s*(?P<field>[A-Za-z_][A-Za-z0-9_]*)\s+(?P<op>eq|ne|gt|ge|lt|le)\s+"
    r"(?P<lit>guid'[0-9A-Fa-f-]{36}'|datetime'[0-9T:.-]+'|'(?:[^']|'')*'|-?\d+L?|true|false|null)\s*$")
_OPS = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
        "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b, "le": lambda a, b: a <= b}


class QueryError(Exception):
    """A query Exact would refuse with 400; the message says what is wrong."""


def _literal(text: str) -> Any:
    if text.startswith("guid'"):
        return text[5:-1].lower()
    if text.startswith("datetime'"):
        raw = text[9:-1]
        for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
            try:
                t = dt.datetime.strptime(raw, fmt)
            except ValueError:
                continue
            return calendar.timegm(t.timetuple()) * 1000 + t.microsecond // 1000
        raise QueryError(f"cannot read datetime literal {text}")
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    return int(text.rstrip("L"))


def comparable(value: Any) -> Any:
    """A record value in the form literals compare with (dates as ms, GUIDs lower-cased)."""
    if isinstance(value, str):
        m = _ODATA_DATE.match(value)
        if m:
            return int(m.group(1))
        return value.lower() if len(value) == 36 and value.count("-") == 4 else value
    return value


@dataclass
class Query:
    select: list[str] | None
    conditions: list[tuple[str, str, Any]]
    top: int | None
    skiptoken: Any
    raw: dict[str, str]


def parse_query(params: dict[str, str], fields: list[str], *, sync: bool, bulk: bool) -> Query:
    """Check and parse a request's OData options against the entity's ``fields``.

    Raises:
        QueryError: a missing ``$select`` where one is required, ``*``, an unknown field, a
            filter that does not parse, a ``$top`` beyond a page, or a malformed skiptoken.
    """
    known = set(fields) | {"Timestamp"}
    select = None
    raw_select = params.get("$select")
    if raw_select is not None:
        select = [s.strip() for s in raw_select.split(",") if s.strip()]
        if "*" in select:
            raise QueryError("$select=* is not allowed: name the properties you need")
        unknown = [s for s in select if s not in known]
        if unknown:
            raise QueryError(f"$select names unknown properties: {', '.join(unknown)}")
    elif sync or bulk:
        raise QueryError("$select is required on bulk and sync endpoints")
    conditions = []
    raw_filter = params.get("$filter")
    if raw_filter:
        for part in re.split(r"\s+and\s+", raw_filter.strip()):
            m = _COND.match(part)
            if not m:
                raise QueryError(f"cannot parse $filter condition {part.strip()!r}")
            if m.group("field") not in known:
                raise QueryError(f"$filter names unknown property {m.group('field')}")
            conditions.append((m.group("field"), m.group("op"), _literal(m.group("lit"))))
    elif bulk:
        raise QueryError("this bulk endpoint requires a $filter (mandatory filtering)")
    top = None
    if params.get("$top"):
        try:
            top = int(params["$top"])
        except ValueError:
            raise QueryError("$top must be an integer") from None
        if top < 0 or top > (1000 if sync or bulk else 60):
            raise QueryError("$top must be between 0 and the page size")
    token = params.get("$skiptoken")
    skip: Any = None
    if token is not None:
        m = re.fullmatch(r"guid'([0-9A-Fa-f-]{36})'|(\d+)L", token)
        if not m:
            raise QueryError(f"malformed $skiptoken {token!r}")
        skip = m.group(1).lower() if m.group(1) else int(m.group(2))
    return Query(select, conditions, top, skip, dict(params))


def _matches(rec: dict, conditions) -> bool:
    for fld, op, lit in conditions:
        val = comparable(rec.get(fld))
        if val is None or lit is None:
            if not ((op == "eq" and val is None and lit is None) or (op == "ne" and (val is None) != (lit is None))):
                return False
            continue
        try:
            if not _OPS[op](val, lit):
                return False
        except TypeError:
            raise QueryError(f"cannot compare {fld} with {lit!r}") from None
    return True


def page(records: list[dict], q: Query, *, key: str, by_timestamp: bool, size: int,
         next_base: str) -> tuple[list[dict], str | None]:
    """One page of ``records`` under ``q``; returns (rows to send, the ``__next`` URL or None)."""
    rows = [r for r in records if _matches(r, q.conditions)]
    if by_timestamp:
        rows.sort(key=lambda r: r["Timestamp"])
        if q.skiptoken is not None:
            if not isinstance(q.skiptoken, int):
                raise QueryError("this endpoint pages by Timestamp: its skiptoken is an Int64")
            rows = [r for r in rows if r["Timestamp"] > q.skiptoken]
    else:
        rows.sort(key=lambda r: str(r[key]).lower())
        if q.skiptoken is not None:
            if not isinstance(q.skiptoken, str):
                raise QueryError("this endpoint pages by key: its skiptoken is a guid")
            rows = [r for r in rows if str(r[key]).lower() > q.skiptoken]
    limit = min(size, q.top) if q.top is not None else size
    out, more = rows[:limit], len(rows) > limit and q.top is None
    nxt = None
    if more:
        last = out[-1]
        token = f"{last['Timestamp']}L" if by_timestamp else f"guid'{str(last[key]).lower()}'"
        params = {k: v for k, v in q.raw.items() if k != "$skiptoken"} | {"$skiptoken": token}
        nxt = f"{next_base}?{urlencode(params, safe=',$')}"
    fields = q.select
    shaped = []
    for r in out:
        rec = {k: r.get(k) for k in fields} if fields else {k: v for k, v in r.items() if k != "Timestamp"}
        if by_timestamp:
            rec["Timestamp"] = r["Timestamp"]
        shaped.append(rec)
    return shaped, nxt
