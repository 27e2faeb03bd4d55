"""The project's own request and response schemas for the Freshsales (Freshworks CRM) API.

Freshworks publishes no machine-readable spec, and the community file in
``shared/specs/freshsales/`` types every body as ``{type: object}`` (its SOURCE.md). So these
JSON Schemas are written from ``shared/research/freshsales.md`` ("§n" below); every route and
every body says where it comes from, with the research note's confidence tag:
``[doc]`` vendor page, ``[fw]`` Freshworks employee, ``[idx]`` endpoint index linking to the
vendor's doc anchors, ``[3p]`` third-party integrations, ``[?]`` inferred - the sandbox's own
choice where the sources are silent. Status codes follow the community spec's inventory
(create 201, update 200, delete 204) unless the research says otherwise.

One table, :data:`ROUTES`, is used three ways: the sandbox routes and validates every request
with it, the adapter's tests validate what the adapter sends, and the request-log check
validates every line a demo run wrote. Paths are relative to the account's API root
(``https://<bundle-alias>/api/...``, §1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from functools import lru_cache
from typing import Any, Iterable

from jsonschema import Draft202012Validator

__all__ = ["ROUTES", "Route", "match", "request_errors", "response_errors", "multipart_fields", "api_path",
           "logged_request_errors",
           "ENTITIES", "CUSTOM_FIELD_TYPES", "FIELD_TYPE_CODES", "BULK_MAX", "PER_PAGE_MAX", "ERROR_BODY"]

#: records per bulk_upsert call ([fw] BATCH_SIZE = 100; [3p] "100 records per request", §6)
BULK_MAX = 100
#: page size ceiling for list views ([idx], §8)
PER_PAGE_MAX = 100

#: URL collection name -> body root key (singular), §1 "Body wrapping" [3p]
ENTITIES = {"contacts": "contact", "sales_accounts": "sales_account", "deals": "deal", "tasks": "task",
            "appointments": "appointment", "notes": "note"}

#: custom field types as ``GET /api/settings/<entity>/fields`` reports them. The research names
#: the ``type`` key but not its values (§5) [?]; these are the sandbox's vocabulary, one per
#: type the toolkit provisions, so every type reads back as itself.
CUSTOM_FIELD_TYPES = ("text", "textarea", "number", "currency", "date", "datetime", "checkbox", "dropdown",
                      "multi_select_dropdown", "phone_number", "email")
#: ``field_type`` codes for the create-field call, which takes a number ([idx] #create_custom_field,
#: §5). The vendor's numbering is not in our sources [?]: this is the sandbox's numbering.
FIELD_TYPE_CODES = {name: code for code, name in enumerate(CUSTOM_FIELD_TYPES, start=1)}

# --- building blocks ------------------------------------------------------------------------

_ID = {"type": ["integer", "string"], "pattern": r"^[0-9]+$", "minimum": 1}   # ids are numbers (§1 example /contacts/144)
_ID_OR_NULL = {"anyOf": [_ID, {"type": "null"}]}
_STR = {"type": ["string", "null"]}
_NUM = {"type": ["number", "null"]}
_BOOL = {"type": ["boolean", "null"]}
_DATE = {"type": ["string", "null"], "pattern": r"^\d{4}-\d{2}-\d{2}$"}
# ISO 8601 assumed for due_date/from_date (§12 gap); a missing offset means the account's zone [?]
_TIMESTAMP = {"type": "string",
              "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"}
_TIMESTAMP_OR_NULL = {"anyOf": [_TIMESTAMP, {"type": "null"}]}
#: custom values live under ``custom_field`` keyed by ``cf_`` names (§5 [fw]); which names and
#: values are valid is the account's field registry, checked by the sandbox's state
_CUSTOM = {"type": "object", "propertyNames": {"pattern": r"^cf_[a-z0-9_]+$"}}
_TARGETABLE = {"type": "string", "enum": ["Contact", "SalesAccount", "Deal"]}  # §4 Task/Note [3p]


def _obj(props: dict, required: Iterable[str] = (), *, closed: bool = True) -> dict:
    """An object schema; request bodies are closed (unknown properties are an error)."""
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    if closed:
        out["additionalProperties"] = False
    return out


def _wrapped(root: str, inner: dict) -> dict:
    return _obj({root: inner}, [root])


# §4 Contact [3p] (Airbyte manifest, n8n); email is the primary address on write
CONTACT = _obj({
    **{k: _STR for k in ("first_name", "last_name", "email", "mobile_number", "work_number", "address", "city",
                         "state", "zipcode", "country", "time_zone", "job_title", "external_id", "medium",
                         "keyword", "facebook", "twitter", "linkedin", "subscription_status")},
    "phone_numbers": {"type": "array", "items": {"type": "object"}},
    "subscription_types": _STR,
    **{k: _ID_OR_NULL for k in ("owner_id", "sales_account_id", "lifecycle_stage_id", "contact_status_id",
                                "lead_source_id", "campaign_id", "territory_id")},
    "sales_accounts": {"type": "array", "items": _obj({"id": _ID, "is_primary": {"type": "boolean"}}, ["id"])},
    "custom_field": _CUSTOM,
})
# §4 Sales account [3p]
SALES_ACCOUNT = _obj({
    **{k: _STR for k in ("name", "address", "city", "state", "zipcode", "country", "phone", "website",
                         "facebook", "twitter", "linkedin")},
    "number_of_employees": {"type": ["integer", "null"]}, "annual_revenue": _NUM,
    **{k: _ID_OR_NULL for k in ("owner_id", "parent_sales_account_id", "territory_id", "industry_type_id",
                                "business_type_id")},
    "custom_field": _CUSTOM,
})
# §4 Deal [3p]; contacts_added_list is how a deal names its contacts [?] (§4 "contacts_added_list /
# contact_ids [?]")
DEAL = _obj({
    "name": _STR, "amount": _NUM, "base_currency_amount": _NUM,
    "probability": {"type": ["integer", "null"], "minimum": 0, "maximum": 100}, "expected_close": _DATE,
    **{k: _ID_OR_NULL for k in ("owner_id", "sales_account_id", "deal_pipeline_id", "deal_stage_id",
                                "deal_reason_id", "deal_type_id", "deal_payment_status_id", "lead_source_id",
                                "campaign_id", "currency_id", "territory_id")},
    "contacts_added_list": {"type": "array", "items": _ID},
    "custom_field": _CUSTOM,
})
# §4 Task [3p]; `status` 0 = open, 1 = completed matches the open|completed list filter [?]
TASK = _obj({"title": _STR, "description": _STR, "due_date": _TIMESTAMP, "owner_id": _ID,
             "targetable_type": _TARGETABLE, "targetable_id": _ID, "task_type_id": _ID_OR_NULL,
             "outcome_id": _ID_OR_NULL, "status": {"type": "integer", "enum": [0, 1]}})
_ATTENDEE = _obj({"attendee_type": {"enum": ["FdMultitenant::User", "Contact"]}, "attendee_id": _ID},
                 ["attendee_type", "attendee_id"])
# §4 Appointment [3p] (n8n maps user attendees to FdMultitenant::User)
APPOINTMENT = _obj({"title": _STR, "description": _STR, "location": _STR, "time_zone": _STR,
                    "from_date": _TIMESTAMP, "end_date": _TIMESTAMP, "is_allday": {"type": "boolean"},
                    "targetable_type": _TARGETABLE, "targetable_id": _ID, "outcome_id": _ID_OR_NULL,
                    "latitude": _STR, "longitude": _STR,
                    "appointment_attendees_attributes": {"type": "array", "items": _ATTENDEE}})
# §4 Note [3p]
NOTE = _obj({"description": {"type": "string", "minLength": 1}, "targetable_type": _TARGETABLE,
             "targetable_id": _ID})

#: create = the shape plus the fields §4 marks required (*); update = any subset
_BODIES = {
    "contacts": (CONTACT, []), "sales_accounts": (SALES_ACCOUNT, ["name"]), "deals": (DEAL, ["name"]),
    "tasks": (TASK, ["title", "due_date", "owner_id", "targetable_type", "targetable_id"]),
    "appointments": (APPOINTMENT, ["title", "from_date", "end_date"]),
    "notes": (NOTE, ["description", "targetable_type", "targetable_id"]),
}


def _create(entity: str) -> dict:
    shape, required = _BODIES[entity]
    return _wrapped(ENTITIES[entity], {**shape, "required": required} if required else shape)


def _update(entity: str) -> dict:
    return _wrapped(ENTITIES[entity], _BODIES[entity][0])


# §6 single upsert [idx] #upsert_a_contact: unique_identifier names one field (emails, name, a
# unique cf_) [3p][?]
def _upsert(entity: str) -> dict:
    ident = {"type": "object", "minProperties": 1, "maxProperties": 1,
             "additionalProperties": {"type": ["string", "integer"]}}
    return _obj({"unique_identifier": ident, ENTITIES[entity]: _BODIES[entity][0]},
                ["unique_identifier", ENTITIES[entity]])


# §6 bulk upsert [fw][idx]: items carry one identifier (emails, id, or another unique field -
# a gap: the sandbox accepts a cf_ name too [?]) and a `data` object; at most 100 items
def _bulk_upsert(entity: str) -> dict:
    item = {"type": "object", "required": ["data"], "minProperties": 2, "maxProperties": 2,
            "properties": {"data": _BODIES[entity][0], "id": _ID, "emails": {"type": "string"},
                           "name": {"type": "string"}},
            "propertyNames": {"pattern": r"^(data|id|emails|name|cf_[a-z0-9_]+)$"}}
    return _obj({entity: {"type": "array", "minItems": 1, "maxItems": BULK_MAX, "items": item}}, [entity])


# §7 bulk delete [idx] #bulk_delete_*; body from [3p]; max ids per call unknown (gap) - 100 [?]
def _bulk_destroy(entity: str) -> dict:
    props: dict[str, Any] = {"selected_ids": {"type": "array", "minItems": 1, "maxItems": BULK_MAX, "items": _ID}}
    if entity == "sales_accounts":
        props["delete_associated_contacts_deals"] = {"type": "boolean"}
    return _obj(props, ["selected_ids"])


# §5 create custom field [idx] #create_custom_field: {label*, field_type* (number), required};
# choices for dropdowns as in the fields listing [?]
CREATE_FIELD = _obj({"label": {"type": "string", "minLength": 1, "maxLength": 255},
                     "field_type": {"type": "integer", "enum": sorted(FIELD_TYPE_CODES.values())},
                     "required": {"type": "boolean"},
                     "choices": {"type": "array", "items": _obj({"value": {"type": "string", "minLength": 1}},
                                                                ["value"])}},
                    ["label", "field_type"])
# [3p] filtered search: filter_rule list; operators beyond `is`/`is_in` are not used here [?]
FILTERED_SEARCH = _obj({"filter_rule": {"type": "array", "minItems": 1, "items": _obj({
    "attribute": {"type": "string"}, "operator": {"enum": ["is", "is_in"]},
    "value": {"type": ["string", "integer", "array"]}}, ["attribute", "operator", "value"])},
    "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1, "maximum": PER_PAGE_MAX}},
    ["filter_rule"])

# --- query strings --------------------------------------------------------------------------
_PAGE_QUERY = {"page": {"type": "integer", "minimum": 1},
               "per_page": {"type": "integer", "minimum": 1, "maximum": PER_PAGE_MAX},  # §8 [idx]
               "sort": {"type": "string"}, "sort_type": {"enum": ["asc", "desc"]}, "include": {"type": "string"}}
_INCLUDE_QUERY = {"include": {"type": "string"}}

# --- responses (validated in tests; additional vendor properties are allowed) ----------------
ERROR_BODY = _obj({"errors": _obj({"code": {"type": "integer"},
                                   "message": {"anyOf": [{"type": "string"},
                                                         {"type": "array", "items": {"type": "string"}}]}},
                                  ["code", "message"], closed=False)}, ["errors"], closed=False)  # §9 [3p]
_RECORD_OUT = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}
_CF_OUT = {"type": "object", "propertyNames": {"pattern": r"^cf_[a-z0-9_]+$"}}
_META = _obj({"total_pages": {"type": "integer"}, "total": {"type": "integer"}}, ["total_pages", "total"], closed=False)
_ENTITY_OUT = {
    "contact": {**_RECORD_OUT, "properties": {"id": {"type": "integer"}, "custom_field": _CF_OUT,
                                              "emails": {"type": "array"}}},
    "sales_account": {**_RECORD_OUT, "properties": {"id": {"type": "integer"}, "custom_field": _CF_OUT}},
    "deal": {**_RECORD_OUT, "properties": {"id": {"type": "integer"}, "custom_field": _CF_OUT,
                                           "contact_ids": {"type": "array", "items": {"type": "integer"}}}},
    "task": _RECORD_OUT, "appointment": _RECORD_OUT, "note": _RECORD_OUT,
}


def _one(root: str) -> dict:
    return _obj({root: _ENTITY_OUT[root]}, [root], closed=False)


def _many(plural: str, item: dict, meta: bool = True) -> dict:
    return _obj({plural: {"type": "array", "items": item}, **({"meta": _META} if meta else {})},
                [plural] + (["meta"] if meta else []), closed=False)


_FIELD_OUT = _obj({"id": {"type": "integer"}, "name": {"type": "string"}, "label": {"type": "string"},
                   "type": {"type": "string"}, "required": {"type": "boolean"},
                   "choices": {"type": "array", "items": _obj({"id": {"type": "integer"}, "value": {"type": "string"}},
                                                              ["id", "value"], closed=False)}},
                  ["id", "name", "label", "type"], closed=False)
_NAMED = _obj({"id": {"type": "integer"}, "name": {"type": "string"}}, ["id", "name"], closed=False)
_JOB_URL = _obj({"job_status_url": {"type": "string"}}, ["job_status_url"], closed=False)
# §6: the job-status body is a gap; this is the shape the research suggests for the sandbox [?]
_JOB = _obj({"id": {"type": "integer"}, "status": {"enum": ["queued", "in_progress", "completed", "failed"]},
             "total": {"type": "integer"}, "succeeded": {"type": "integer"}, "failed": {"type": "integer"},
             "errors": {"type": "array", "items": _obj({"index": {"type": "integer"}, "message": {"type": "string"}},
                                                       ["index", "message"], closed=False)}},
            ["id", "status", "total", "succeeded", "failed", "errors"], closed=False)
_USER_OUT = _obj({"id": {"type": "integer"}, "email": {"type": "string"}, "display_name": {"type": "string"}},
                 ["id", "email"], closed=False)
_DOC_OUT = _obj({"id": {"type": "integer"}, "file_name": {"type": "string"}, "targetable_type": _TARGETABLE,
                 "targetable_id": {"type": "integer"}}, ["id", "file_name", "targetable_type", "targetable_id"],
                closed=False)


@dataclass(frozen=True)
class Route:
    """One operation: what it accepts and what it answers, and where we know it from."""

    method: str
    template: str                     # with {name} placeholders, relative to /api
    ok: int                           # success status
    body: dict | None = None          # JSON request body schema (None: no body)
    query: dict | None = None         # query parameters -> schema
    response: dict | None = None      # success body schema (None: empty body)
    cite: str = ""
    multipart: tuple[str, ...] = ()   # required multipart form fields (documents)
    required_query: tuple[str, ...] = ()


def _routes() -> list[Route]:
    r: list[Route] = []
    for plural in ("contacts", "sales_accounts", "deals"):
        one = ENTITIES[plural]
        r += [
            Route("POST", f"/{plural}", 201, _create(plural), None, _one(one), "§3 create [idx]"),
            Route("GET", f"/{plural}/{{id}}", 200, None, _INCLUDE_QUERY, _one(one), "§3 read [idx]"),
            Route("PUT", f"/{plural}/{{id}}", 200, _update(plural), None, _one(one), "§3 update [idx]"),
            Route("DELETE", f"/{plural}/{{id}}", 204, None,
                  {"delete_associated_contacts_deals": {"enum": ["true", "false"]}} if plural == "sales_accounts" else None,
                  None, "§7 delete [idx]; status from the community spec"),
            Route("DELETE", f"/{plural}/{{id}}/forget", 204, None, None, None, "§7 forget [3p]"),
            Route("GET", f"/{plural}/filters", 200, None, None, _many("filters", _NAMED, meta=False), "§8 views [3p]"),
            Route("GET", f"/{plural}/view/{{view_id}}", 200, None, _PAGE_QUERY, _many(plural, _ENTITY_OUT[one]),
                  "§8 list view, page/per_page <= 100 [idx][3p]"),
            Route("POST", f"/{plural}/upsert", 200, _upsert(plural), None, _one(one), "§6 upsert [idx]; 201 when created"),
            Route("POST", f"/{plural}/bulk_upsert", 200, _bulk_upsert(plural), None, _JOB_URL, "§6 bulk upsert [fw][idx]"),
            Route("POST", f"/{plural}/bulk_destroy", 202, _bulk_destroy(plural), None, _JOB_URL,
                  "§7 bulk delete [idx]; async like bulk upsert [?] (202 from the community spec)"),
            Route("GET", f"/{plural}/{{id}}/document_associations", 200, None, _PAGE_QUERY,
                  _many("document_associations", _DOC_OUT), "§3 list files [idx]"),
            Route("GET", f"/settings/{plural}/fields", 200, None, _INCLUDE_QUERY, _many("fields", _FIELD_OUT, meta=False),
                  "§5 field schema [3p]"),
            # §5 [idx] documents creating fields for custom modules; for the standard forms it is
            # unverified. Listing forms (to get form_id) and deleting a field are inferred [?].
            Route("GET", f"/settings/{plural}/forms", 200, None, None, _many("forms", _NAMED, meta=False), "§5 [?]"),
            Route("POST", f"/settings/{plural}/forms/{{form_id}}/fields", 201, CREATE_FIELD, None,
                  _obj({"field": _FIELD_OUT}, ["field"], closed=False), "§5 #create_custom_field [idx]"),
            Route("DELETE", f"/settings/{plural}/forms/{{form_id}}/fields/{{id}}", 204, None, None, None, "§5 [?]"),
            Route("POST", f"/filtered_search/{one}", 200, FILTERED_SEARCH, None, _many(plural, _ENTITY_OUT[one]),
                  "§3 filtered search [3p]"),
        ]
    for plural, filters in (("tasks", ["open", "completed", "overdue"]), ("appointments", ["upcoming", "past"])):
        one = ENTITIES[plural]
        r += [
            Route("POST", f"/{plural}", 201, _create(plural), None, _one(one), "§3 create [3p]"),
            Route("GET", f"/{plural}", 200, None, {**_PAGE_QUERY, "filter": {"enum": filters}},
                  _many(plural, _ENTITY_OUT[one]), "§3 list with filter [3p]", required_query=("filter",)),
            Route("GET", f"/{plural}/{{id}}", 200, None, _INCLUDE_QUERY, _one(one), "§3 read [3p]"),
            Route("PUT", f"/{plural}/{{id}}", 200, _update(plural), None, _one(one), "§3 update [3p]"),
            Route("DELETE", f"/{plural}/{{id}}", 204, None, None, None, "§7 delete [3p]"),
        ]
    r += [
        Route("POST", "/notes", 201, _create("notes"), None, _one("note"), "§3 notes [3p]"),
        Route("PUT", "/notes/{id}", 200, _update("notes"), None, _one("note"), "§3 notes [3p]"),
        Route("DELETE", "/notes/{id}", 204, None, None, None, "§3 notes [3p]; read back via include=notes"),
        Route("POST", "/documents", 201, None, None, _obj({"document": _DOC_OUT}, ["document"], closed=False),
              "§4 File: multipart file*, file_name, is_shared, targetable_id*, targetable_type* [idx]",
              multipart=("file", "targetable_id", "targetable_type")),
        Route("GET", "/job_statuses/{id}", 200, None, None, _JOB, "§6 #job_status_api [fw][idx]"),
        Route("GET", "/lookup", 200, None, {"q": {"type": "string"}, "f": {"type": "string"},
                                            "entities": {"type": "string", "pattern": r"^(contact|sales_account|deal)(,(contact|sales_account|deal))*$"}},
              {"type": "object"}, "§3 #lookup_search [idx]", required_query=("q", "f", "entities")),
        Route("GET", "/selector/owners", 200, None, None, _many("users", _USER_OUT, meta=False),
              "§3 selectors: the only way to list users [3p]"),
        Route("GET", "/selector/deal_pipelines/{id}/deal_stages", 200, None, None,
              _many("deal_stages", _NAMED, meta=False), "§3 selectors [3p]"),
        Route("GET", "/selector/{name}", 200, None, None, {"type": "object"}, "§3 selectors [3p]"),
    ]
    return r


ROUTES: list[Route] = _routes()


@lru_cache(maxsize=None)
def _compiled() -> list[tuple[re.Pattern, Route]]:
    out = []
    # literal segments win over placeholders (/contacts/filters before /contacts/{id})
    for route in sorted(ROUTES, key=lambda r: r.template.count("{")):
        rx = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.template))
        out.append((re.compile("^" + rx + "$"), route))
    return out


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for ``method path`` (path relative to ``/api``) and its path parameters."""
    for rx, route in _compiled():
        m = rx.match(path)
        if m and route.method == method.upper():
            return route, m.groupdict()
    return None


_VALIDATORS: dict[int, tuple[dict, Draft202012Validator]] = {}


def _check(schema: dict, value: Any) -> list[str]:
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = _VALIDATORS[id(schema)] = (schema, Draft202012Validator(schema))
    errors = sorted(cached[1].iter_errors(value), key=lambda e: [str(p) for p in e.path])
    return [_render(e) for e in errors]


def _render(e) -> str:
    where = ".".join(str(p) for p in e.path)
    if e.validator == "additionalProperties":
        extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))
        return f"{where + ': ' if where else ''}invalid attribute(s): {', '.join(extra)}"
    return f"{where or 'body'}: {e.message}"


def _query_value(schema: dict, raw: str) -> Any:
    if "integer" in (schema.get("type") or ()):
        try:
            return int(raw)
        except ValueError:
            return raw
    return raw


def request_errors(method: str, path: str, query: Iterable[tuple[str, str]] = (), body: Any = None, *,
                   content_type: str = "", raw: bytes = b"") -> list[str] | None:
    """Problems with a request, as messages; ``[]`` when valid, ``None`` when no route matches.

    Args:
        method, path: the operation (path relative to ``/api``).
        query: query parameters as (name, value) pairs.
        body: the decoded JSON body (None when there is none).
        content_type, raw: for multipart uploads, the header and the raw body.
    """
    found = match(method, path)
    if found is None:
        return None
    route, _ = found
    errors: list[str] = []
    params = dict(query)
    for name in route.required_query:
        if name not in params:
            errors.append(f"query: {name} is required")
    for name, raw_value in params.items():
        schema = (route.query or {}).get(name)
        if schema is None:
            continue  # unknown query parameters are ignored, as Rails apps do [?]
        errors += [f"query {name}: {m.split(': ', 1)[-1]}" for m in _check(schema, _query_value(schema, raw_value))]
    if route.multipart:
        form = multipart_fields(content_type, raw)
        if form is None:
            errors.append("body: expected multipart/form-data")
        else:
            errors += [f"body: {name} is required" for name in route.multipart if name not in form]
            unknown = sorted(set(form) - {"file", "file_name", "is_shared", "targetable_id", "targetable_type"})
            if unknown:
                errors.append(f"invalid attribute(s): {', '.join(unknown)}")
            if form.get("targetable_type", (b"Contact", None))[0].decode(errors="replace") not in ("Contact", "SalesAccount", "Deal"):
                errors.append("targetable_type must be one of Contact, SalesAccount, Deal")
    elif route.body is not None:
        errors += _check(route.body, body) if body is not None else ["body: a JSON body is required"]
    elif body not in (None, b"", ""):
        errors.append("body: this operation takes no body")
    return errors


def response_errors(method: str, path: str, status: int, body: Any) -> list[str]:
    """Problems with a response (tests): success bodies against the route, errors against §9."""
    found = match(method, path)
    if found is None:
        return [f"no route {method} {path}"]
    route, _ = found
    if status >= 400:
        return _check(ERROR_BODY, body)
    if route.response is None:
        return [] if body in (None, b"", "") else ["a body where none is expected"]
    return _check(route.response, body)


def api_path(path: str) -> str | None:
    """The path relative to ``/api`` (Suite ``/crm/sales/api/...`` or Classic ``/api/...``), or None."""
    for prefix in ("/crm/sales/api", "/api"):
        if path.startswith(prefix + "/"):
            return path[len(prefix):]
    return None


def logged_request_errors(entry: dict) -> list[str] | None:
    """Problems with one request-log line (``--request-log``), as :func:`request_errors`.

    Uploads are logged as a summary of their parts (``{"multipart": [{name, size, value?}]}``,
    never the bytes), so for them the required parts and the small text values are checked.
    """
    from urllib.parse import parse_qsl

    path = api_path(entry["path"])
    if path is None:
        return None
    query = parse_qsl(entry.get("query") or "", keep_blank_values=True)
    body = entry.get("body")
    if isinstance(body, dict) and set(body) == {"multipart"}:
        found = match(entry["method"], path)
        if found is None:
            return None
        errors = request_errors(entry["method"], path, query, None) if not found[0].multipart else []
        names = {p.get("name"): p for p in body["multipart"]}
        errors += [f"body: {n} is required" for n in found[0].multipart if n not in names]
        errors += [f"invalid attribute(s): {n}" for n in names
                   if n not in ("file", "file_name", "is_shared", "targetable_id", "targetable_type")]
        ttype = names.get("targetable_type", {}).get("value", "Contact")
        if ttype not in ("Contact", "SalesAccount", "Deal"):
            errors.append("targetable_type must be one of Contact, SalesAccount, Deal")
        return errors
    return request_errors(entry["method"], path, query, body)


def multipart_fields(content_type: str, raw: bytes) -> dict[str, tuple[bytes, str | None]] | None:
    """The parts of a multipart/form-data body: field name -> (content, file name), or None
    when the body is not multipart."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw)
    if not msg.is_multipart():
        return None
    out: dict[str, tuple[bytes, str | None]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            out[str(name)] = (part.get_payload(decode=True) or b"", part.get_filename())
    return out
