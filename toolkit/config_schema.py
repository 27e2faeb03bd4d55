"""The shapes of ``workspace.yaml`` and ``mapping.yaml``, checked before either is used.

Both files are edited by hand, so a typo must stop the step that reads it rather than be
carried silently (``staus: confirmed`` would leave a field unconfirmed; ``fallback_user_emial``
would send every unmatched owner's records nowhere). Each file is checked against a JSON Schema
(:data:`WORKSPACE_SCHEMA`, :data:`MAPPING_SCHEMA`); every problem is reported with the file, the
line and, for a misspelt key, the key it most likely meant.

Keys the toolkit itself writes are all in the schemas (a test writes every template and every
proposal and checks them); mapping rules that take free-form blocks (``derive``, ``values``,
``schema``, …) are checked by the code that reads them.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

__all__ = ["WORKSPACE_SCHEMA", "MAPPING_SCHEMA", "FIELD_KEYS", "ROUTE_KEYS", "ENGINE_KEYS", "Problem", "problems",
           "key_lines", "did_you_mean", "where", "report", "read_checked"]

_STR_OR_NULL = {"type": ["string", "null"]}
_OBJ = {"type": "object"}

#: a destination block (the production account, or ``staging:``)
_ACCOUNT = {"type": "object", "additionalProperties": False, "required": ["base_url", "token_env"], "properties": {
    "name": {"type": "string"}, "base_url": {"type": "string"}, "token_env": {"type": "string"},
    "options": {"type": ["object", "null"]}, "fallback_user_email": _STR_OR_NULL}}

#: ``engine:`` settings (toolkit.workflow.ENGINE_DEFAULTS, and ``note_unchanged``)
ENGINE_KEYS = {"workers": {"type": "integer", "minimum": 1}, "pace": {"type": "number", "exclusiveMinimum": 0,
                                                                       "maximum": 1},
               "read_before": {"type": "boolean"}, "max_attempts": {"type": "integer", "minimum": 1},
               "max_file_bytes": {"type": ["integer", "null"], "minimum": 1}, "note_unchanged": {"type": "boolean"}}

WORKSPACE_SCHEMA: dict = {
    "type": "object", "additionalProperties": False, "required": ["source", "destination"],
    "properties": {
        "source": {"type": "object", "additionalProperties": False, "required": ["name", "location"],
                   "properties": {"name": {"type": "string"}, "location": {"type": "string"},
                                  "options": {"type": ["object", "null"]}}},
        "destination": {**_ACCOUNT, "required": ["name", "base_url", "token_env"]},
        "owner_resolution": {"type": "object", "additionalProperties": False, "properties": {
            "by": {"enum": ["email"]}, "fallback_user_email": _STR_OR_NULL}},
        "staging": _ACCOUNT,
        "engine": {"type": "object", "additionalProperties": False, "properties": ENGINE_KEYS},
        "practice_name": {"type": "string"},
        "workspace_id": {"type": "string"},
    },
}

#: every key a mapping field may carry (see toolkit/mapping/_spec.py's docstring)
FIELD_KEYS = {
    "source": {"type": ["string", "array", "null"], "items": {"type": "string"}}, "target": _STR_OR_NULL,
    "type": _STR_OR_NULL, "transform": _STR_OR_NULL, "lookup": {"type": ["object", "array", "null"]},
    "template": _STR_OR_NULL, "value": {}, "name": _STR_OR_NULL, "options": {"type": ["array", "string", "null"]},
    "where": _STR_OR_NULL, "otherwise": {}, "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    "reason": _STR_OR_NULL, "status": {"enum": ["proposed", "confirmed", "excluded"]},
    "collect": _OBJ, "split": {"type": "string"}, "item": {"type": ["integer", "string"]},
    "format": {"type": "string"}, "concept": _STR_OR_NULL, "evidence": {}, "confirmed_by": _STR_OR_NULL,
    "confirmed_at": _STR_OR_NULL, "has_dup": {}, "active": {}, "prospect": {},
}

#: every key an object route may carry
ROUTE_KEYS = {
    "source": {"type": "string"}, "target": {"type": "string"}, "key": {"type": "string"},
    "fields": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                          "properties": FIELD_KEYS}},
    "where": _STR_OR_NULL, "skip": {"type": ["array", "null"]}, "owner": {"type": ["object", "null"]},
    "links": {"type": ["object", "null"]}, "pipeline": {"type": ["object", "null"]},
    "values": {"type": ["object", "null"]}, "flags": {"type": "array"}, "derive": {}, "hierarchy": {},
    "unique": {}, "dedupe": {}, "schema": {}, "custom_values": {}, "status": {"enum": ["included", "excluded"]},
    "confidence": {"type": "number", "minimum": 0, "maximum": 1}, "evidence": {},
    "reason": _STR_OR_NULL, "confirmed_by": _STR_OR_NULL, "confirmed_at": _STR_OR_NULL,
}

MAPPING_SCHEMA: dict = {
    "type": "object", "additionalProperties": False, "required": ["source", "destination", "objects"],
    "properties": {
        "source": {"type": "string"}, "destination": {"type": "string"},
        "objects": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                               "required": ["source", "target", "key"], "properties": ROUTE_KEYS}},
        "params": {"type": ["object", "null"]}, "carried": {}, "not_migrated": {"type": ["array", "null"]},
        "dropped_routes": {}, "duplicate_pairs": {}, "confirmed_by": _STR_OR_NULL, "confirmed_at": _STR_OR_NULL,
    },
}


class Problem:
    """One thing wrong in a file: where (its path in the data, and its line) and what."""

    def __init__(self, path: tuple, line: int | None, message: str):
        self.path, self.line, self.message = path, line, message

    def __str__(self) -> str:
        return self.message


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or an empty string."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def key_lines(text: str) -> dict[tuple, int]:
    """Data path -> the 1-based line its key (or list item) starts on, for a YAML document."""
    out: dict[tuple, int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return out

    def walk(node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                here = path + (k.value,)
                out[here] = k.start_mark.line + 1
                walk(v, here)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                out[path + (i,)] = v.start_mark.line + 1
                walk(v, path + (i,))

    if root is not None:
        walk(root, ())
    return out


def _line(lines: dict[tuple, int], path: tuple) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def problems(data: Any, schema: dict, text: str = "") -> list[Problem]:
    """Every way ``data`` breaks ``schema``, with lines from the YAML ``text`` it was read from."""
    from ._slow_imports import import_jsonschema

    jsonschema = import_jsonschema()
    lines = key_lines(text) if text else {}
    out: list[Problem] = []
    validator = jsonschema.Draft202012Validator(schema)
    for err in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        path = tuple(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = list((err.schema.get("properties") or {}))
            for key in sorted(k for k in err.instance if k not in allowed):
                out.append(Problem(path + (key,), _line(lines, path + (key,)),
                                   f"unknown key {key!r}{did_you_mean(key, allowed)}"))
            continue
        if err.validator == "enum":
            msg = f"{err.instance!r} is not one of {err.validator_value}{did_you_mean(err.instance, err.validator_value)}"
        elif err.validator == "required":
            msg = err.message.replace("is a required property", "is missing")
        else:
            msg = err.message
        out.append(Problem(path, _line(lines, path), msg))
    return out


def where(path: tuple, data: Any) -> str:
    """A data path as a person reads it: ``objects[2] (patients -> contact) fields[4] (FirstName)``."""
    parts: list[str] = []
    node = data
    for p in path:
        try:
            node = node[p]
        except (KeyError, IndexError, TypeError):
            node = None
        if not isinstance(p, int):
            parts.append(str(p))
            continue
        label = ""
        if isinstance(node, dict) and "key" in node:
            label = f" ({node.get('source')} -> {node.get('target')})"
        elif isinstance(node, dict):
            label = f" ({node.get('source') or node.get('template') or node.get('value')})"
        if parts:
            parts[-1] += f"[{p}]{label}"
        else:
            parts.append(f"[{p}]{label}")
    return " ".join(parts)


def report(file: str | Path, data: Any, found: list[Problem], limit: int = 8) -> str:
    """One message naming ``file`` and each problem's line and place (the first ``limit``)."""
    lines = [f"{file}:{p.line or '?'}: {where(p.path[:-1] if 'unknown key' in p.message else p.path, data)}"
             f"{': ' if p.path else ''}{p.message}" for p in found[:limit]]
    more = f"\n… and {len(found) - limit} more" if len(found) > limit else ""
    return f"{file}: {len(found)} problem{'s' if len(found) != 1 else ''}\n" + "\n".join(lines) + more


def read_checked(path: str | Path, schema: dict, error: type[Exception],
                 more: Callable[[Any, dict[tuple, int]], list[Problem]] | None = None) -> Any:
    """A YAML file read and checked against ``schema`` (then ``more``, given the data and its
    lines, when the schema holds); every problem raised as one ``error`` naming file and line."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({exc})") from None
    found = problems(data, schema, text)
    if not found and more is not None:
        found = more(data, key_lines(text))
    if found:
        raise error(report(path, data, found))
    return data
