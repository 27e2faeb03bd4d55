"""Request (and, for tests, response) validation against the vendor's own OpenAPI files.

The vendored files under ``specs/`` are byte-identical copies of the vendor's (see
``specs/SOURCE.md``). They have known defects (research note highlevel.md section 8); every
correction is a patch in :data:`_PATCHES` below, applied in memory when a file is first
loaded, and each patch says why. The files are parsed once per process and cached.

Error messages are rendered the way HighLevel's NestJS validation renders them
(``"property X should not exist"``, ``"name must be a string"``), because clients (and our
adapter) surface them to people.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qsl

import httpx
from openapi_core import Config, OpenAPI
from openapi_core.templating.paths.exceptions import PathError

from .._openapi import Phrasebook, PlainRequest, PlainResponse, schema_errors, set_pointer
from .._openapi import messages as render

__all__ = ["request_errors", "response_errors", "unknown_properties", "spec_file_for", "version_for", "SERVER_URL",
           "DEFAULT_VERSION", "validate_request_log"]

SPEC_DIR = Path(__file__).parent / "specs"
#: the vendor's server URL from every spec's ``servers``; requests are matched against it
SERVER_URL = "https://services.leadconnectorhq.com"

#: first path segment -> spec file (apps/…json)
_FILES = {
    "contacts": "apps/contacts.json",
    "opportunities": "apps/opportunities.json",
    "locations": "apps/locations.json",
    "users": "apps/users.json",
    "businesses": "apps/businesses.json",
    "custom-fields": "apps/custom-fields.json",
    "objects": "apps/objects.json",
    "associations": "apps/associations.json",
    "calendars": "apps/calendars.json",
    "medias": "apps/medias.json",
}
#: the Version header each spec file requires (research §1: calendars are 2021-04-15)
_VERSIONS = {"apps/calendars.json": "2021-04-15"}
DEFAULT_VERSION = "2021-07-28"

#: Our own schema for the contacts search body: the spec's SearchBodyV2DTO is empty
#: (research §8.2). Fields from the vendor docs mirror cited in research §3; locationId and
#: pageLimit required (issue #31), pageLimit <= 500, page-based search capped at 10,000 records.
CONTACT_SEARCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["locationId", "pageLimit"],
    "properties": {
        "locationId": {"type": "string"},
        "page": {"type": "integer", "minimum": 1},
        "pageLimit": {"type": "integer", "minimum": 1, "maximum": 500},
        "searchAfter": {"type": "array"},
        "query": {"type": "string"},
        "filters": {"type": "array", "items": {"type": "object"}},
        "sort": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "direction": {"type": "string", "enum": ["asc", "desc"]}}}},
    },
}

_DOB = {"type": "string", "description": "patched: spec types it object (research §8.5)"}
_NUMBER_VALUE = {"type": "number"}

TASK_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["id", "contactId"],
    "properties": {k: {"type": "string"} for k in ("id", "title", "body", "assignedTo", "dueDate", "contactId")}
    | {"completed": {"type": "boolean"}},
}
#: Record create/update bodies: the spec's DTOs are empty (research §8.2); fields inferred from
#: IRecordSchema: properties by short field key, owner (max 1 user), followers (max 10).
_PEOPLE = {"owner": {"type": "array", "items": {"type": "string"}, "maxItems": 1},
           "followers": {"type": "array", "items": {"type": "string"}, "maxItems": 10}}
RECORD_CREATE_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["locationId", "properties"],
    "properties": {"locationId": {"type": "string"}, "properties": {"type": "object"}, **_PEOPLE},
}
RECORD_UPDATE_SCHEMA: dict[str, Any] = {
    "type": "object", "properties": {"properties": {"type": "object"}, **_PEOPLE},
}
RELATION_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["id", "associationId", "firstRecordId", "secondRecordId", "locationId"],
    "properties": {k: {"type": "string"} for k in ("id", "associationId", "firstRecordId", "secondRecordId", "locationId")},
}
RELATION_LIST_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["relations", "total"],
    "properties": {"relations": {"type": "array", "items": RELATION_SCHEMA}, "total": {"type": "number"}},
}
ASSOCIATION_LIST_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["associations", "total"],
    "properties": {"associations": {"type": "array", "items": {"$ref": "#/components/schemas/GetPostSuccessfulResponseDto"}},
                   "total": {"type": "number"}},
}
DATA_TYPES_V2 = {"TEXT", "LARGE_TEXT", "NUMERICAL", "PHONE", "MONETORY", "CHECKBOX", "SINGLE_OPTIONS",
                 "MULTIPLE_OPTIONS", "DATE", "TEXTBOX_LIST", "FILE_UPLOAD", "RADIO", "EMAIL"}

#: (file, JSON pointer into the file, replacement, why). Applied in order at load time.
_PATCHES: list[tuple[str, str, Any, str]] = [
    ("apps/contacts.json", "/components/schemas/SearchBodyV2DTO", CONTACT_SEARCH_SCHEMA,
     "empty request schema in the spec (research §8.2)"),
    *[("apps/contacts.json", f"/components/schemas/{dto}/properties/dateOfBirth", _DOB,
       "dateOfBirth is typed object but the documented formats are strings (research §8.5)")
      for dto in ("CreateContactDto", "UpdateContactDto", "UpsertContactDto")],
    *[("apps/contacts.json", f"/components/schemas/{f}/properties/field_value", _NUMBER_VALUE,
       "numeric custom-field values are typed object although the example is a number (100)")
      for f in ("NumericField", "MonetoryField")],
    ("apps/opportunities.json", "/components/schemas/customFieldsInputObjectSchema/properties/field_value",
     {"anyOf": [{"type": "object"}, {"type": "number"}]},
     "opportunity custom fields of type NUMERICAL/MONETORY need a number; the spec allows only "
     "string, string[] or object"),
    ("apps/opportunities.json", "/components/schemas/CustomFieldResponseSchema/properties/fieldValue",
     {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "object"},
                {"type": "array", "items": {"type": "string"}}, {"type": "array", "items": {"type": "object"}}]},
     "read-back of a numeric opportunity custom field is a number (research §4, issue #87)"),
    ("apps/opportunities.json", "/components/schemas/PipelinesResponseSchema/properties/stages",
     {"type": "array", "items": {"type": "object"}},
     "stages are mis-typed as array-of-arrays; real stages are objects {id,name,position} (research §4)"),
    # --- businesses, custom fields v2, objects, associations, calendars, media, tasks ----------
    ("apps/locations.json", "/components/schemas/CreateCustomFieldsDTO/properties/options",
     {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
     "how pick-list options are passed is undocumented (research §10); accepted as in the v2 API"),
    *[("apps/locations.json", f"/components/schemas/CreateCustomFieldsDTO/properties/{k}", {"type": "string"},
       "undocumented but accepted (research §4, issue #300)") for k in ("fieldKey", "parentId", "description")],
    ("apps/locations.json", "/components/schemas/LocationTaskListSuccessfulResponseDto/properties/tasks",
     {"type": "array", "items": TASK_SCHEMA}, "task search items are mis-typed as arrays"),
    ("apps/contacts.json", "/components/schemas/ContactsBusinessUpdate/properties/businessId",
     {"type": "string", "nullable": True}, "null unlinks the contacts (research §4 'Companies')"),
    ("apps/custom-fields.json", "/components/schemas/ICustomField/properties/dataType/enum",
     sorted(DATA_TYPES_V2), "the create DTO accepts EMAIL, so fields of that type exist and are returned"),
    ("apps/custom-fields.json", "/components/schemas/CustomFieldsResponseDTO/properties/folders",
     {"type": "array", "items": {"$ref": "#/components/schemas/ICustomFieldFolder"}},
     "folders are typed as fields (which require dataType, showInForms …); they are folders"),
    ("apps/objects.json", "/components/schemas/CreateCustomObjectRecordDto", RECORD_CREATE_SCHEMA,
     "empty request schema in the spec (research §8.2); shape from IRecordSchema (research §4)"),
    ("apps/objects.json", "/components/schemas/UpdateCustomObjectRecordDto", RECORD_UPDATE_SCHEMA,
     "empty request schema in the spec (research §8.2)"),
    *[("apps/objects.json", f"/components/schemas/{dto}/properties/properties", {"type": "object"},
       "record properties are typed string; they are an object of field values (research §4)")
      for dto in ("IRecordSchema", "RecordResponseDTO")],
    ("apps/objects.json", "/components/schemas/ICustomObjectSchema/properties/type", {"type": "string"},
     "typed object although the example says the value is USER_DEFINED or SYSTEM_DEFINED"),
    ("apps/objects.json", "/components/schemas/RecordResponseDTO/properties/searchAfter",
     {"type": "array", "items": {"anyOf": [{"type": "number"}, {"type": "string"}]}},
     "the cursor is [timestamp, id]; the id is a string"),
    ("apps/objects.json", "/components/schemas/SearchRecordsBody/required", ["locationId", "pageLimit"],
     "search bodies list every field as required (research §8.3); page/query/searchAfter are alternatives"),
    *[("apps/associations.json", f"/components/schemas/{dto}/properties/{k}", {"type": "string"},
       "typed object although the values are strings (examples 'student', 'custom_objects.children')")
      for dto in ("createAssociationReqDto", "GetPostSuccessfulResponseDto")
      for k in ("firstObjectLabel", "firstObjectKey", "secondObjectLabel", "secondObjectKey")],
    ("apps/associations.json", "/components/schemas/GetPostSuccessfulResponseDto/properties/associationType",
     {"type": "string"}, "typed object although the value is a string (USER_DEFINED)"),
    *[("apps/associations.json", f"/paths/{ptr}/responses/{code}/content/application~1json/schema", schema,
       "relation and list responses reuse the association DTO in the spec (research §8.6); the relation "
       "and list shapes are the sandbox's own (unverified)")
      for ptr, code, schema in (("~1associations~1relations/post", "201", RELATION_SCHEMA),
                                ("~1associations~1relations~1{recordId}/get", "200", RELATION_LIST_SCHEMA),
                                ("~1associations~1relations~1{relationId}/delete", "200", RELATION_SCHEMA),
                                ("~1associations~1/get", "200", ASSOCIATION_LIST_SCHEMA))],
    *[("apps/calendars.json", f"/components/schemas/CalendarEventDTO/properties/{k}", {"type": "string"},
       "typed object although the value is an ISO date-time string (example 2023-09-25T16:00:00+05:30)")
      for k in ("startTime", "endTime", "dateAdded", "dateUpdated")],
    ("apps/medias.json", "/components/schemas/GetFilesResponseDTO/properties/files/items", {"type": "object"},
     "files are typed string; the example is an object {altId, altType, name, parentId, url, path}"),
]

@lru_cache(maxsize=None)
def spec_dict(file: str) -> dict:
    """The parsed, patched spec ``file`` (relative to ``specs/``)."""
    with open(SPEC_DIR / file, encoding="utf-8") as fh:
        doc = json.load(fh)
    for f, pointer, value, _why in _PATCHES:
        if f == file:
            set_pointer(doc, pointer, value)
    return doc


@lru_cache(maxsize=None)
def _openapi(file: str) -> OpenAPI:
    path = (SPEC_DIR / file).resolve()
    # Spec-level validation is off: the vendor files fail it on defects that do not affect
    # request checking (security schemes carry `name`/`in` on type http; the bulk-tags path
    # declares no `{type}` parameter, issue #315). base_uri resolves ../common/… refs.
    return OpenAPI.from_dict(spec_dict(file), base_uri=path.as_uri(), config=Config(spec_validator_cls=None))


def spec_file_for(path: str) -> str | None:
    """The spec file that covers a request path, by its first segment."""
    return _FILES.get(path.strip("/").split("/", 1)[0])


def version_for(path: str) -> str:
    """The ``Version`` header the vendor requires for ``path`` (research §1)."""
    return _VERSIONS.get(spec_file_for(path) or "", DEFAULT_VERSION)


def request_errors(method: str, path: str, query: Iterable[tuple[str, str]], headers: dict[str, str],
                   body: bytes | None, content_type: str = "application/json") -> list[str] | None:
    """Validate one request against the vendor spec.

    Returns:
        None when the spec has no such path/operation (the caller answers 404), else the list
        of messages in the vendor's style (empty = valid).
    """
    file = spec_file_for(path)
    if file is None:
        return None
    api = _openapi(file)
    req = PlainRequest(SERVER_URL, method, path, query, headers, body, content_type)
    messages: list[str] = []
    for err in api.iter_request_errors(req):
        if isinstance(err, PathError):
            return None
        messages.extend(render(err, _WORDS))
    return messages


def response_errors(method: str, path: str, query: Iterable[tuple[str, str]], headers: dict[str, str],
                    req_body: bytes | None, status: int, body: bytes) -> list[str]:
    """Validate a response against the vendor spec (used by tests to check the sandbox itself)."""
    file = spec_file_for(path)
    if file is None:
        return [f"no spec covers {path}"]
    api = _openapi(file)
    req = PlainRequest(SERVER_URL, method, path, query, headers, req_body)
    return [str(e) + "".join(f"; {c}" for c in schema_errors(e)) for e in
            api.iter_response_errors(req, PlainResponse(status, body))]


#: how HighLevel's class-validator words a refused request (research §1: 422 bodies)
_WORDS = Phrasebook(param_missing="{name} should not be empty", param_invalid="{name} is invalid",
                    body_missing="request body should not be empty", required="{prefix}{prop} should not be empty",
                    type="{field} must be a {value}",
                    enum="{field} must be one of the following values: {values}",
                    maximum="{field} must not be greater than {value}", minimum="{field} must not be less than {value}",
                    other="{field} has an invalid value")


@lru_cache(maxsize=None)
def _allowed_properties(file: str, path_pattern: str, method: str) -> frozenset[str] | None:
    op = spec_dict(file)["paths"][path_pattern][method.lower()]
    ref = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
    if not ref or not ref.startswith("#/components/schemas/"):
        return None
    schema = spec_dict(file)["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return frozenset(schema.get("properties", {}))


def unknown_properties(path_pattern: str, method: str, body: Any) -> list[str]:
    """Top-level body properties the spec does not declare, in the vendor's 422 wording.

    HighLevel's API rejects undeclared properties (NestJS ``forbidNonWhitelisted``; research §1,
    issue #262 ``"property additionalEmails should not exist"``). The spec itself does not say
    ``additionalProperties: false``, so openapi-core would let them through.
    """
    file = spec_file_for(path_pattern)
    allowed = _allowed_properties(file, path_pattern, method) if file else None
    if allowed is None or not isinstance(body, dict):
        return []
    return [f"property {k} should not exist" for k in body if k not in allowed]


def validate_request_log(path: str) -> list[str]:
    """Check every request in a sandbox ``--request-log`` file against the vendor spec.

    Returns one message per request that the spec does not know or that breaks it (empty: all
    valid). Multipart uploads are checked by their parts' names and values (the log keeps no
    file bytes).
    """
    problems = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            e = json.loads(line)
            headers = dict(e.get("headers") or {})
            body, ctype = _logged_body(e.get("body"), headers)
            errors = request_errors(e["method"], e["path"], parse_qsl(e.get("query") or "", keep_blank_values=True),
                                    headers, body, ctype)
            where = f"{path} line {n}: {e['method']} {e['path']}"
            if errors is None:
                problems.append(f"{where}: no such operation in the vendor spec")
            elif errors:
                problems.append(f"{where}: {'; '.join(errors)}")
    return problems


def _logged_body(body: Any, headers: dict[str, str]) -> tuple[bytes | None, str]:
    if isinstance(body, dict) and "multipart" in body:
        parts = [(p["name"], (p["filename"], b"x", "application/octet-stream") if "filename" in p else (None, p.get("value", "")))
                 for p in body["multipart"] if p.get("name")]
        if not parts:
            return b"", "multipart/form-data"
        req = httpx.Request("POST", "http://sandbox/", files=parts)
        return req.read(), req.headers["content-type"]
    if body is None:
        return None, headers.get("content-type", "application/json")
    return json.dumps(body).encode(), "application/json"
