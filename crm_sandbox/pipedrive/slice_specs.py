"""Cut the operations the Pipedrive sandbox serves out of the vendor's OpenAPI files.

The vendor files (``shared/specs/pipedrive/openapi-v1.yaml`` and ``openapi-v2.yaml``, 2.8 MB of
YAML between them; provenance in their ``SOURCE.md``) describe hundreds of operations we never
call. This script keeps the paths listed in :data:`PATHS` - every method of each, byte-for-byte
as the vendor wrote them - plus the component schemas they reference (transitively), the
security schemes, ``info`` and ``servers``, and writes them as JSON next to this file
(``specs/v1.json``, ``specs/v2.json``). Nothing is edited; corrections the sandbox needs are
applied in memory by :mod:`.validation`.

Run it again after refreshing the vendor files::

    python -m crm_sandbox.pipedrive.slice_specs ../shared/specs/pipedrive

and update ``specs/SOURCE.md`` with the sha256 it prints.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml

__all__ = ["PATHS", "slice_spec", "main"]

OUT_DIR = Path(__file__).parent / "specs"

#: version -> (vendor file, paths kept). v2 where it exists, v1 for the rest (research
#: pipedrive.md section 3: "use v2 where it exists; v1 only for leads, notes, files, users,
#: activity types, lead labels").
PATHS: dict[str, tuple[str, tuple[str, ...]]] = {
    "v2": ("openapi-v2.yaml", (
        "/persons", "/persons/{id}", "/persons/search",
        "/organizations", "/organizations/{id}", "/organizations/search",
        "/deals", "/deals/{id}", "/deals/search",
        "/leads/search",
        "/activities", "/activities/{id}",
        "/pipelines", "/pipelines/{id}", "/stages", "/stages/{id}",
        "/personFields", "/personFields/{field_code}", "/personFields/{field_code}/options",
        "/organizationFields", "/organizationFields/{field_code}", "/organizationFields/{field_code}/options",
        "/dealFields", "/dealFields/{field_code}", "/dealFields/{field_code}/options",
    )),
    "v1": ("openapi-v1.yaml", (
        "/leads", "/leads/{id}", "/leadFields", "/leadLabels",
        "/notes", "/notes/{id}",
        "/files", "/files/{id}", "/files/{id}/download",
        "/users", "/users/me", "/users/{id}",
        "/activityTypes", "/activityTypes/{id}",
    )),
}


def _refs(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            out.add(ref)
        for v in node.values():
            _refs(v, out)
    elif isinstance(node, list):
        for v in node:
            _refs(v, out)


def _resolve(doc: dict, ref: str) -> Any:
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def slice_spec(doc: dict, paths: tuple[str, ...]) -> dict:
    """The part of ``doc`` that ``paths`` need, refs included.

    Raises:
        KeyError: a listed path is not in the vendor file (it was renamed or removed upstream).
    """
    missing = [p for p in paths if p not in doc["paths"]]
    if missing:
        raise KeyError(f"paths not in the vendor spec: {', '.join(missing)}")
    out: dict[str, Any] = {k: doc[k] for k in ("openapi", "info", "servers") if k in doc}
    out["paths"] = {p: doc["paths"][p] for p in paths}
    comps: dict[str, dict] = {"securitySchemes": doc["components"]["securitySchemes"]}
    todo: set[str] = set()
    _refs(out["paths"], todo)
    seen: set[str] = set()
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        target = _resolve(doc, ref)
        comps.setdefault(kind, {})[name] = target
        _refs(target, todo)
    out["components"] = comps
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m crm_sandbox.pipedrive.slice_specs SHARED_SPECS_PIPEDRIVE_DIR", file=sys.stderr)
        return 2
    src = Path(argv[0])
    OUT_DIR.mkdir(exist_ok=True)
    for version, (file, paths) in PATHS.items():
        raw = (src / file).read_bytes()
        doc = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        text = json.dumps(slice_spec(doc, paths), indent=1, ensure_ascii=False) + "\n"
        (OUT_DIR / f"{version}.json").write_text(text, encoding="utf-8")
        print(f"{file} sha256 {hashlib.sha256(raw).hexdigest()} -> specs/{version}.json "
              f"sha256 {hashlib.sha256(text.encode()).hexdigest()} ({len(paths)} paths)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
