"""What the sandboxes share to check requests against a vendor's OpenAPI file with openapi-core.

Each vendor's ``validation`` module keeps what is its own: which spec file covers a path, the
corrections its spec needs (each with its reason), and how the vendor words a validation error
(:class:`Phrasebook`). This module holds the rest: JSON-pointer edits of a parsed spec, the plain
request and response objects openapi-core reads, and turning openapi-core's errors into the lines
a vendor's 400/422 body would carry.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Iterable

from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

__all__ = ["Phrasebook", "PlainRequest", "PlainResponse", "pointer", "set_pointer", "schema_errors", "messages"]

_REQUIRED = re.compile(r"'([^']+)' is a required property")


def _part(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def pointer(doc: Any, where: str) -> Any:
    """The node at JSON pointer ``where`` (``/paths/~1contacts~1/post``)."""
    node = doc
    for token in where.lstrip("/").split("/"):
        key = _part(token)
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def set_pointer(doc: dict, where: str, value: Any) -> None:
    """Put a copy of ``value`` at JSON pointer ``where``."""
    parent, _, last = where.rpartition("/")
    target = pointer(doc, parent) if parent else doc
    key = _part(last)
    target[int(key) if isinstance(target, list) else key] = copy.deepcopy(value)


class PlainRequest:
    """The request protocol openapi-core expects, built from plain values."""

    def __init__(self, host_url: str, method: str, path: str, query: Iterable[tuple[str, str]],
                 headers: dict[str, str], body: bytes | None, content_type: str = "application/json"):
        self.host_url = host_url
        self.path = path
        self.method = method.lower()
        self.body = body or None
        self.content_type = content_type
        self.parameters = RequestParameters(query=ImmutableMultiDict(list(query)), header=Headers(headers),
                                            cookie=ImmutableMultiDict(), path={})


class PlainResponse:
    """The response protocol openapi-core expects."""

    def __init__(self, status: int, body: bytes, content_type: str = "application/json",
                 headers: dict[str, str] | None = None):
        self.status_code = status
        self.data = body
        self.headers = Headers(headers or {"Content-Type": content_type})
        self.content_type = content_type


def schema_errors(err: Exception) -> list[str]:
    """``path: message`` for each schema error under an openapi-core error (for response checks)."""
    cause = err.__cause__
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in getattr(cause, "schema_errors", ()) or ()]


@dataclass(frozen=True)
class Phrasebook:
    """How one vendor words its validation errors; each a ``str.format`` template.

    Fields available: ``{name}`` (a parameter), ``{detail}`` (openapi-core's reason), ``{prefix}``
    (``field.`` or empty) and ``{prop}`` (a missing property), ``{field}`` (dotted body path),
    ``{value}`` (the schema's type or bound), ``{values}`` (an enum's values, comma-separated),
    ``{message}`` (the schema validator's own message). ``maximum``/``minimum`` None fall back to
    ``other``; ``param_field`` names a parameter's schema error by the parameter when the body
    path is empty.
    """

    param_missing: str
    param_invalid: str
    body_missing: str
    required: str
    type: str
    enum: str
    other: str
    maximum: str | None = None
    minimum: str | None = None
    param_field: str | None = None


def messages(err: Exception, words: Phrasebook) -> list[str]:
    """One line per problem in an openapi-core request error, in the vendor's words."""
    cause = err.__cause__
    found = getattr(cause, "schema_errors", None)
    name = getattr(err, "name", None)
    if not found:
        missing = "Missing" in type(err).__name__
        if name is not None:
            template = words.param_missing if missing else words.param_invalid
            return [template.format(name=name, detail=str(cause) if cause is not None else str(err))]
        return [words.body_missing] if missing else [str(err)]
    out = []
    for e in found:
        field = ".".join(str(p) for p in e.absolute_path)
        if not field and name and words.param_field:
            field = words.param_field.format(name=name)
        template = {"required": words.required, "type": words.type, "enum": words.enum, "maximum": words.maximum,
                    "minimum": words.minimum}.get(e.validator) or words.other
        m = _REQUIRED.search(e.message) if e.validator == "required" else None
        values = ", ".join(map(str, e.validator_value)) if e.validator == "enum" else ""
        out.append(template.format(field=field, prefix=f"{field}." if field else "", prop=m.group(1) if m else "field",
                                   value=e.validator_value, values=values, message=e.message,
                                   field_or_body=field or "body"))
    return out
