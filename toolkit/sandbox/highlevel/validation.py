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

import copy
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from werkzeug.datastructures import Headers, ImmutableMultiDict

__all__ = ["request_errors", "response_errors", "unknown_properties", "spec_file_for", "SERVER_URL"]

SPEC_DIR = Path(__file__).parent / "specs"
#: the vendor's server URL from every spec's ``servers``; requests are matched against it
SERVER_URL = "https://services.leadconnectorhq.com"

#: first path segment -> spec file (apps/…json), the four we serve
_FILES = {
    "contacts": "apps/contacts.json",
    "opportunities": "apps/opportunities.json",
    "locations": "apps/locations.json",
    "users": "apps/users.json",
}

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
]


def _set_pointer(doc: dict, pointer: str, value: Any) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]
    target = doc
    for p in parts[:-1]:
        target = target[p]
    target[parts[-1]] = copy.deepcopy(value)


@lru_cache(maxsize=None)
def spec_dict(file: str) -> dict:
    """The parsed, patched spec ``file`` (relative to ``specs/``)."""
    with open(SPEC_DIR / file, encoding="utf-8") as fh:
        doc = json.load(fh)
    for f, pointer, value, _why in _PATCHES:
        if f == file:
            _set_pointer(doc, pointer, value)
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


class _Request:
    """The request protocol openapi-core expects, built from plain values."""

    def __init__(self, method: str, path: str, query: Iterable[tuple[str, str]], headers: dict[str, str],
                 body: bytes | None, content_type: str = "application/json"):
        self.host_url = SERVER_URL
        self.path = path
        self.method = method.lower()
        self.body = body or None
        self.content_type = content_type
        self.parameters = RequestParameters(query=ImmutableMultiDict(list(query)), header=Headers(headers),
                                            cookie=ImmutableMultiDict(), path={})


class _Response:
    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None):
        self.status_code = status
        self.data = body
        self.headers = Headers(headers or {})
        self.content_type = "application/json"


def request_errors(method: str, path: str, query: Iterable[tuple[str, str]], headers: dict[str, str],
                   body: bytes | None) -> list[str] | None:
    """Validate one request against the vendor spec.

    Returns:
        None when the spec has no such path/operation (the caller answers 404), else the list
        of messages in the vendor's style (empty = valid).
    """
    file = spec_file_for(path)
    if file is None:
        return None
    api = _openapi(file)
    req = _Request(method, path, query, headers, body)
    messages: list[str] = []
    for err in api.iter_request_errors(req):
        if isinstance(err, PathError):
            return None
        messages.extend(_messages(err))
    return messages


def response_errors(method: str, path: str, query: Iterable[tuple[str, str]], headers: dict[str, str],
                    req_body: bytes | None, status: int, body: bytes) -> list[str]:
    """Validate a response against the vendor spec (used by tests to check the sandbox itself)."""
    file = spec_file_for(path)
    if file is None:
        return [f"no spec covers {path}"]
    api = _openapi(file)
    req = _Request(method, path, query, headers, req_body)
    return [str(e) + "".join(f"; {c}" for c in _schema_errors(e)) for e in
            api.iter_response_errors(req, _Response(status, body))]


def _schema_errors(err: Exception) -> list[str]:
    cause = err.__cause__
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in getattr(cause, "schema_errors", ()) or ()]


_REQUIRED = re.compile(r"'([^']+)' is a required property")


def _messages(err: Exception) -> list[str]:
    """Render an openapi-core error the way the vendor's class-validator does."""
    cause = err.__cause__
    schema_errors = getattr(cause, "schema_errors", None)
    if not schema_errors:
        name = getattr(err, "name", None)
        if name is not None and "Missing" in type(err).__name__:
            return [f"{name} should not be empty"]
        if name is not None:
            return [f"{name} is invalid"]
        if "Missing" in type(err).__name__:
            return ["request body should not be empty"]
        return [str(err)]
    out = []
    for e in schema_errors:
        field = ".".join(str(p) for p in e.absolute_path)
        if e.validator == "required":
            m = _REQUIRED.search(e.message)
            prop = m.group(1) if m else "field"
            out.append(f"{field + '.' if field else ''}{prop} should not be empty")
        elif e.validator == "type":
            out.append(f"{field} must be a {e.validator_value}")
        elif e.validator == "enum":
            out.append(f"{field} must be one of the following values: {', '.join(map(str, e.validator_value))}")
        elif e.validator == "maximum":
            out.append(f"{field} must not be greater than {e.validator_value}")
        elif e.validator == "minimum":
            out.append(f"{field} must not be less than {e.validator_value}")
        else:
            out.append(f"{field} has an invalid value")
    return out


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
