"""Records <-> Freshsales bodies: which object lives where, field lists, values and time zones.

Facts from ``shared/research/freshsales.md`` ("§n"). Records carry Freshsales' own field names
(``first_name``, ``deal_stage_id``); ids travel as strings in Records and as numbers on the wire.
Timestamps in Records are naive ISO 8601 in the adapter's time zone (option ``time_zone``): the
API takes and returns offsets (§12 assumes ISO 8601), and a practice export's times are local.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["ObjectInfo", "OBJECTS", "TYPE_TO_FS", "FS_TO_TYPE", "FIELD_TYPE_CODES", "plain", "to_api_time",
           "from_api_time", "mark", "unmark", "SOURCE_MARK"]


@dataclass(frozen=True)
class ObjectInfo:
    """Where one of our objects lives in Freshsales.

    Attributes:
        module: URL collection (``contacts``); ``root``: body key (``contact``, §1).
        fields: standard fields read back into ``Record.fields``.
        links: link field -> how it reads back (the same name, or ``contact_ids`` for deals).
        custom: whether the module has ``cf_`` custom fields (§5: contacts, accounts, deals).
        targetable: the ``targetable_type`` of this module's records (§4), if others hang off it.
        bulk: whether bulk_upsert/bulk_destroy exist (§6, §7).
    """

    module: str
    root: str
    fields: tuple[str, ...]
    links: tuple[str, ...] = ()
    custom: bool = False
    targetable: str | None = None
    bulk: bool = False


_CONTACT_FIELDS = ("first_name", "last_name", "email", "mobile_number", "work_number", "address", "city", "state",
                   "zipcode", "country", "time_zone", "job_title", "external_id", "medium", "keyword", "facebook",
                   "twitter", "linkedin", "subscription_status", "subscription_types", "lifecycle_stage_id",
                   "contact_status_id", "lead_source_id", "campaign_id", "territory_id")  # §4 Contact
_CONTACT = ObjectInfo("contacts", "contact", _CONTACT_FIELDS, ("sales_account_id",), True, "Contact", True)

#: our object -> Freshsales. A lead is a contact in the lead lifecycle stage (§3 "Leads").
OBJECTS: dict[str, ObjectInfo] = {
    "sales_account": ObjectInfo("sales_accounts", "sales_account", (
        "name", "address", "city", "state", "zipcode", "country", "phone", "website", "facebook", "twitter",
        "linkedin", "number_of_employees", "annual_revenue", "territory_id", "industry_type_id",
        "business_type_id"), ("parent_sales_account_id",), True, "SalesAccount", True),  # §4 Sales account
    "contact": _CONTACT,
    "lead": _CONTACT,
    "deal": ObjectInfo("deals", "deal", (
        "name", "amount", "base_currency_amount", "probability", "expected_close", "deal_pipeline_id",
        "deal_stage_id", "deal_reason_id", "deal_type_id", "deal_payment_status_id", "lead_source_id",
        "campaign_id", "currency_id", "territory_id"), ("sales_account_id", "contacts_added_list"), True, "Deal",
        True),  # §4 Deal
    "task": ObjectInfo("tasks", "task", ("title", "description", "due_date", "targetable_type", "task_type_id",
                                         "outcome_id", "status"), ("targetable_id",)),  # §4 Task
    "appointment": ObjectInfo("appointments", "appointment", (
        "title", "description", "location", "time_zone", "from_date", "end_date", "is_allday", "targetable_type",
        "outcome_id", "latitude", "longitude"), ("targetable_id",)),  # §4 Appointment
    "note": ObjectInfo("notes", "note", ("description", "targetable_type"), ("targetable_id",)),  # §4 Note
    # a file: written from fields["path"] (the local file) and "name"; read back as its name (§4 File)
    "file": ObjectInfo("documents", "document", ("name", "is_shared", "targetable_type"), ("targetable_id",)),
}

#: fields holding timestamps (§4; ISO 8601 assumed, §12)
TIMESTAMP_FIELDS = {"due_date", "from_date", "end_date"}

#: our custom-field type -> the type the fields listing reports (see the sandbox's schemas: the
#: vendor's vocabulary is not in our sources, §5)
TYPE_TO_FS = {"text": "text", "large_text": "textarea", "number": "number", "monetary": "currency", "date": "date",
              "datetime": "datetime", "checkbox": "checkbox", "single_option": "dropdown",
              "multiple_options": "multi_select_dropdown", "phone": "phone_number", "email": "email"}
FS_TO_TYPE = {v: k for k, v in TYPE_TO_FS.items()} | {"radio": "single_option", "url": "text"}
#: ``field_type`` codes of the create-field call, which takes a number (§5 [idx]); the
#: numbering is not published in our sources - it mirrors the sandbox's and must be checked
#: against a real account before creating fields there
FIELD_TYPE_CODES = {name: code for code, name in enumerate(
    ("text", "textarea", "number", "currency", "date", "datetime", "checkbox", "dropdown", "multi_select_dropdown",
     "phone_number", "email"), start=1)}

#: tasks, appointments, notes and files have no custom fields (§5 lists field settings for
#: contacts, accounts, deals and sales activities only), so their source id rides at the end of
#: the description (file name for files) - "each note includes a link to its originating record"
SOURCE_MARK = re.compile(r"(?:\n\n)?\[Source ID: ([^\]\n]+)\]$")


def mark(text: str | None, source_id: str) -> str:
    return f"{text}\n\n[Source ID: {source_id}]" if text else f"[Source ID: {source_id}]"


def unmark(text: str | None) -> tuple[str | None, str | None]:
    """(text without the marker, source id) - (text, None) when there is no marker."""
    if not text:
        return text, None
    m = SOURCE_MARK.search(text)
    if not m:
        return text, None
    rest = text[:m.start()]
    return (rest or None), m.group(1)


def plain(v: Any) -> Any:
    """A value JSON can carry (Decimal, dates and numpy scalars become plain Python)."""
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if hasattr(v, "item") and callable(v.item):  # numpy scalar
        return v.item()
    return v


def to_api_time(value: Any, zone) -> str:
    """A timestamp for the API: naive values are wall-clock time in ``zone``."""
    moment = value if isinstance(value, datetime) else None
    if moment is None:
        text = str(value).strip().replace("Z", "+00:00")
        moment = datetime.fromisoformat(text)  # a date-only value becomes midnight
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat(timespec="seconds")


def from_api_time(value: Any, zone) -> Any:
    """A timestamp from the API as naive wall-clock time in ``zone`` (what we wrote)."""
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")
