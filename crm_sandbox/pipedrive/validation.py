"""Request (and, for tests, response) validation against the vendor's own OpenAPI files.

``specs/v1.json`` and ``specs/v2.json`` are unedited slices of the vendor's ``openapi-v1.yaml`` and
``openapi-v2.yaml`` (see ``specs/SOURCE.md`` and :mod:`.slice_specs`). Where the files contradict
what the API does or what the vendor's own prose says, a patch in :data:`_PATCHES` (a property
replaced throughout a subtree) or :data:`_REPLACE` (one node replaced) corrects them in memory
when they are first loaded, each with its reason. Everything is parsed once per process.

Paths: v2 lives under ``/api/v2`` only; v1 answers under ``/api/v1`` and ``/v1`` (research
pipedrive.md section 1). Both are matched against the spec servers
(``https://api.pipedrive.com/api/v2`` and ``https://api.pipedrive.com/v1``).
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qsl

from openapi_core import Config, OpenAPI
from openapi_core.templating.paths.exceptions import PathError

from .._openapi import Phrasebook, PlainRequest, PlainResponse, pointer, schema_errors, set_pointer
from .._openapi import messages as render

__all__ = ["split_version", "request_errors", "response_errors", "unknown_properties", "operation",
           "token_cost", "spec_dict", "log_entry_errors", "HOST"]

SPEC_DIR = Path(__file__).parent / "specs"
HOST = "https://api.pipedrive.com"
#: how each version's paths start in the spec's server URL
_SERVER_PREFIX = {"v1": "/v1", "v2": "/api/v2"}

_NULLABLE_CURSOR = {"type": "string", "nullable": True,
                    "description": "patched: null on the last page (research pipedrive.md section 7)"}
#: a multipart form value is text; the vendor types these ids as integers, and openapi-core does
#: not cast form fields, so a correct upload would fail validation without this
_FORM_ID = {"type": "string", "pattern": "^[0-9]+$", "description": "patched: integer id sent as form text"}

_LISTS_V2 = ("/persons", "/organizations", "/deals", "/activities", "/pipelines", "/stages",
             "/personFields", "/organizationFields", "/dealFields",
             "/persons/search", "/organizations/search", "/deals/search", "/leads/search")


def _op_pointer(path: str, method: str) -> str:
    return f"/paths/{path.replace('/', '~1')}/{method}"


#: (version, JSON pointer to a subtree, property name, replacement schema, why). Applied at load
#: time: every schema property called ``property name`` inside the subtree is replaced.
_PATCHES: list[tuple[str, str, str, dict, str]] = [
    *[("v2", _op_pointer(p, "get") + "/responses", "next_cursor", _NULLABLE_CURSOR,
       "next_cursor is null on the last page (research section 7) but typed as a plain string")
      for p in _LISTS_V2],
    *[("v1", _op_pointer("/files", "post") + "/requestBody", name, _FORM_ID,
       "multipart form values are text; openapi-core does not cast them to the declared integer")
      for name in ("deal_id", "person_id", "org_id", "product_id", "activity_id", "project_id")],
]


def _comma_list(values: list[str]) -> dict:
    words = "|".join(values)
    return {"type": "string", "pattern": f"^({words})(,({words}))*$",
            "description": "patched: a comma-separated list of the enum's values"}


_SEARCH_FIELDS = {"/persons/search": ["custom_fields", "email", "notes", "phone", "name"],
                  "/organizations/search": ["address", "custom_fields", "notes", "name"],
                  "/deals/search": ["custom_fields", "notes", "title"],
                  "/leads/search": ["custom_fields", "notes", "title"]}

#: (version, JSON pointer, replacement, why): whole nodes replaced at load time
_REPLACE: list[tuple[str, str, Any, str]] = [
    *[("v2", _op_pointer(path, "get") + "/parameters/1/schema", _comma_list(values),
       "`fields` is documented as \"a comma-separated string array\" but typed as a single enum value")
      for path, values in _SEARCH_FIELDS.items()],
    ("v1", _op_pointer("/files/{id}/download", "get") + "/responses/200/content/application~1octet-stream/schema",
     {"title": "GetDownloadFileResponse", "type": "string", "format": "binary"},
     "a download is the file's raw bytes (octet-stream); `format: byte` means base64 text"),
]


def _replace_property(node: Any, name: str, value: dict) -> None:
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict) and name in props:
            props[name] = copy.deepcopy(value)
        for v in node.values():
            _replace_property(v, name, value)
    elif isinstance(node, list):
        for v in node:
            _replace_property(v, name, value)


def _apply(version: str, doc: dict) -> None:
    for v, where, name, value, _why in _PATCHES:
        if v == version:
            _replace_property(pointer(doc, where), name, value)
    for v, where, value, _why in _REPLACE:
        if v == version:
            parent = where.rpartition("/")[0]
            if "/parameters/" in where:  # check the index still names the parameter we mean
                if pointer(doc, parent).get("name") != "fields":
                    raise KeyError(f"{where}: the vendor spec moved the `fields` parameter")
            set_pointer(doc, where, value)


@lru_cache(maxsize=None)
def spec_dict(version: str) -> dict:
    """The parsed, patched slice for ``version`` ("v1" or "v2")."""
    doc = json.loads((SPEC_DIR / f"{version}.json").read_text(encoding="utf-8"))
    _apply(version, doc)
    return doc


@lru_cache(maxsize=None)
def _openapi(version: str) -> OpenAPI:
    # Spec-level validation off: it is slow on files this size and the vendor's files are not
    # what we are testing; request/response validation is unaffected.
    return OpenAPI.from_dict(spec_dict(version), config=Config(spec_validator_cls=None))


def split_version(path: str) -> tuple[str | None, str]:
    """(version, path inside that version) for a request path; version None when neither.

    ``/api/v2/persons`` -> ("v2", "/persons"); ``/api/v1/notes`` and ``/v1/notes`` -> ("v1", "/notes").
    """
    for prefix, version in (("/api/v2/", "v2"), ("/api/v1/", "v1"), ("/v1/", "v1")):
        if path.startswith(prefix):
            return version, "/" + path[len(prefix):]
    return None, path


_TEMPLATE_RE: dict[str, list[tuple[re.Pattern, str]]] = {}


def operation(version: str, method: str, inner_path: str) -> tuple[str, dict] | None:
    """(path template, operation object) serving ``method inner_path``, or None."""
    if version not in _TEMPLATE_RE:
        pats = []
        for tpl in spec_dict(version)["paths"]:
            rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(tpl)) + "$"
            pats.append((re.compile(rx), tpl))
        # concrete segments win over parameters (/persons/search before /persons/{id})
        pats.sort(key=lambda p: p[1].count("{"))
        _TEMPLATE_RE[version] = pats
    for rx, tpl in _TEMPLATE_RE[version]:
        if rx.match(inner_path):
            op = spec_dict(version)["paths"][tpl].get(method.lower())
            if isinstance(op, dict):
                return tpl, op
    return None


def token_cost(version: str, method: str, inner_path: str) -> int | None:
    """The operation's ``x-token-cost`` (research section 2.3), or None for an unknown operation."""
    found = operation(version, method, inner_path)
    return int(found[1].get("x-token-cost", 0)) if found else None


def _request(version: str, method: str, inner_path: str, query: Iterable[tuple[str, str]], headers: dict[str, str],
             body: bytes | None) -> PlainRequest:
    return PlainRequest(HOST, method, _SERVER_PREFIX[version] + inner_path, query, headers, body,
                        headers.get("content-type") or headers.get("Content-Type") or "application/json")


def request_errors(version: str, method: str, inner_path: str, query: Iterable[tuple[str, str]],
                   headers: dict[str, str], body: bytes | None) -> list[str] | None:
    """Validate one request against the vendor spec.

    Returns:
        None when the spec has no such operation (the caller answers 404), else a list of
        one-line problems (empty = valid).
    """
    if operation(version, method, inner_path) is None:
        return None
    req = _request(version, method, inner_path, query, headers, body)
    messages: list[str] = []
    with warnings.catch_warnings():
        # openapi-core warns that it cannot check the oauth2 scheme; the app checks credentials
        warnings.simplefilter("ignore", UserWarning)
        errors = list(_openapi(version).iter_request_errors(req))
    for err in errors:
        if isinstance(err, PathError):
            return None
        if "Security" in type(err).__name__:
            continue  # credentials are the app's business (401 comes before validation)
        messages.extend(render(err, _WORDS))
    return messages


def response_errors(version: str, method: str, inner_path: str, query: Iterable[tuple[str, str]],
                    headers: dict[str, str], req_body: bytes | None, status: int, body: bytes,
                    content_type: str = "application/json") -> list[str]:
    """Validate a response against the vendor spec (the tests use it to check the sandbox)."""
    req = _request(version, method, inner_path, query, headers, req_body)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        errors = list(_openapi(version).iter_response_errors(req, PlainResponse(status, body, content_type)))
    return [str(e) + "".join(f"; {c}" for c in schema_errors(e)) for e in errors]


#: one readable line per problem, naming the parameter or body field
_WORDS = Phrasebook(param_missing="Parameter '{name}' is required", param_invalid="Parameter '{name}' is invalid: {detail}",
                    body_missing="Request body is required", required="{prefix}{prop} is required",
                    type="{field} must be of type {value}", enum="{field} must be one of: {values}",
                    other="{field_or_body}: {message}", param_field="Parameter '{name}'")


@lru_cache(maxsize=None)
def _allowed_properties(version: str, template: str, method: str) -> tuple[frozenset[str], bool] | None:
    """(declared top-level body properties, whether the spec itself allows others)."""
    op = spec_dict(version)["paths"][template][method.lower()]
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if not schema:
        return None
    props: set[str] = set()
    open_ = False
    for part in [schema, *schema.get("allOf", [])]:
        while "$ref" in part:
            part = pointer(spec_dict(version), part["$ref"][1:])
        props |= set(part.get("properties", {}))
        open_ = open_ or part.get("additionalProperties") is True
    return frozenset(props), open_


def unknown_properties(version: str, method: str, template: str, body: Any,
                       also_allowed: Iterable[str] = ()) -> list[str]:
    """Top-level body properties the spec does not declare (the sandbox rejects them).

    openapi-core lets undeclared properties through because the vendor's schemas do not say
    ``additionalProperties: false``; a migration needs a destination that rejects fields it
    does not know, so a typo never vanishes silently. Where the vendor's schema explicitly says
    ``additionalProperties: true`` (``addNote``) the property is allowed. ``also_allowed`` adds
    names the caller knows are valid (custom-field keys written at the root on v1 leads).
    """
    found = _allowed_properties(version, template, method)
    if found is None or not isinstance(body, dict):
        return []
    allowed, open_ = found
    if open_:
        return []
    extra = set(also_allowed)
    return [f"Unknown property '{k}'" for k in body if k not in allowed and k not in extra]


def _multipart_body(parts: list[dict], content_type: str) -> bytes:
    """A multipart body rebuilt from the request log's summary (names, file names, sizes, values)."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    boundary = m.group(1) if m else "sandbox-log"
    out = b""
    for p in parts:
        disp = f'form-data; name="{p.get("name")}"'
        if "filename" in p:
            disp += f'; filename="{p["filename"]}"'
            data = b"x" * int(p.get("size", 0))  # the log keeps sizes, never file bytes
        else:
            data = str(p.get("value", "")).encode()
        out += f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def log_entry_errors(entry: dict) -> list[str]:
    """Problems with one request-log line (``--request-log``) against the vendor spec; empty = valid.

    Multipart uploads are logged as a summary of their parts; they are rebuilt with placeholder
    bytes of the logged size before validation.
    """
    version, inner = split_version(entry["path"])
    where = f"{entry['method']} {entry['path']}"
    if version is None:
        return [f"{where}: not a Pipedrive API path"]
    headers = {k.lower(): v for k, v in (entry.get("headers") or {}).items()}
    body = entry.get("body")
    if isinstance(body, dict) and "multipart" in body:
        raw: bytes | None = _multipart_body(body["multipart"], headers.get("content-type", ""))
    elif body is None:
        raw = None
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = json.dumps(body).encode()
    query = parse_qsl(entry.get("query") or "", keep_blank_values=True)
    errors = request_errors(version, entry["method"], inner, query, headers, raw)
    if errors is None:
        return [f"{where}: no such operation in the vendor spec"]
    return [f"{where}: {e}" for e in errors]
