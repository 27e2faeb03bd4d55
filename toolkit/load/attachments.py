"""Attachments: which export files are re-uploaded and which stay behind as a link.

A file travels through the Destination seam as ``Record(object="file", fields={"path": ...,
"name": ...}, links={"contactId": ...})``; the mapping may add ``size`` (the size the export
declares), which the engine checks and removes before the record reaches the adapter. The adapter says how large a file it accepts
(``max_file_bytes``; HighLevel's media upload takes 25 MB, research highlevel.md "Files").
A file over the limit is not uploaded: its path is written into a text custom field of the
record it belongs to (:data:`LINK_FIELD`) and listed in the run's report, so nothing is lost
and nobody has to guess where it went.

Pictures embedded in notes travel the same way (:mod:`toolkit.mapping.inline_images`): build_plan
writes each to a folder and plans a file record keyed ``<note id>#image-<n>`` whose ``path`` is
absolute, linked to the note's own parent.

The size that counts is the larger of the file on disk and the size the export declares:
a file smaller on disk than the export says is likely truncated, and uploading a truncated
X-ray would be worse than linking to the original.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..export_paths import UnsafePathError, inside
from ..shapes import FILE_INPUTS, FILE_OBJECT, CustomField, Plan

__all__ = ["FILE_OBJECT", "FILE_INPUTS", "LINK_FIELD", "FileCheck", "check_file", "files_kept_as_links", "link_field",
           "link_text"]

#: the custom field (on the file's parent record) that holds files too large to upload
LINK_FIELD = "files_kept_as_links"


@dataclass
class FileCheck:
    """What to do with one file.

    Attributes:
        path: the file's absolute path.
        relative: the path as the export names it (what a link shows).
        size: bytes that count against the limit (max of disk and declared).
        upload: whether it goes up as a file; False means it is kept as a link.
        problem: why it cannot be handled at all (missing file), else None.
    """

    path: Path
    relative: str
    size: int
    upload: bool
    problem: str | None = None


def check_file(fields: dict, root: str | Path | None, limit: int | None,
               also: tuple[str | Path, ...] = ()) -> FileCheck:
    """Decide upload or link for a file record's ``fields`` (``path``, optional ``size``).

    The path must stay inside the export (:func:`toolkit.export_paths.inside`): a name with
    ``..``, an absolute path, a link that leaves the folder, a device or a folder is refused as
    the record's problem, and nothing is read from it.

    Args:
        fields: the record's fields; ``path`` is relative to ``root`` (absolute only inside ``also``).
        root: the export folder.
        limit: the destination's largest accepted file in bytes (None = no limit known).
        also: further folders the toolkit wrote files to itself (pictures taken out of notes).
    """
    relative = str(fields.get("path") or "")
    declared = _int(fields.get("size"))
    if not relative:
        return FileCheck(Path(), relative, 0, False, "the file record names no path")
    try:
        path = inside(relative, root, also=also)
    except UnsafePathError as exc:
        return FileCheck(Path(), relative, 0, False, str(exc))
    except FileNotFoundError:
        if declared is not None and limit is not None and declared > limit:
            # Too large to upload anyway: a link to where the export says it is still helps.
            return FileCheck(Path(), relative, declared, False)
        return FileCheck(Path(), relative, declared or 0, False, f"file {relative} is not in the export")
    size = max(path.stat().st_size, declared or 0)
    return FileCheck(path, relative, size, limit is None or size <= limit)


def files_kept_as_links(plan: Plan, parents: dict[str, str], root: str | Path | None,
                        limit: int | None, also: tuple[str | Path, ...] = ()) -> dict[tuple[str, str], list[FileCheck]]:
    """(parent source object, key) -> the files of ``plan`` too large to upload, checked up front.

    Files load after the records they belong to, so the engine writes each parent with its
    link field already filled: no second write to the parent, nothing to undo but a delete.

    Args:
        parents: source object -> the destination object its records load as.
    """
    kept: dict[tuple[str, str], list[FileCheck]] = {}
    for op in plan.objects:
        if op.target != FILE_OBJECT:
            continue
        for pr in op.records:
            parent = next(iter(pr.links.values()), None)
            if pr.skip_reason or parent is None or parent[0] not in parents:
                continue
            check = check_file(pr.record.fields, root, limit, also)
            if not check.upload and not check.problem:
                kept.setdefault((parent[0], plan.aliases.get(parent, parent[1])), []).append(check)
    return kept


def link_text(checks: list[FileCheck]) -> str:
    """The custom field's value: one line per file, with its size."""
    return "\n".join(f"{c.relative} ({c.size / 1_000_000:.1f} MB)" for c in checks)


def link_field(object: str) -> CustomField:
    """The custom field that holds links to files kept out of the destination."""
    return CustomField(key=LINK_FIELD, name="Files kept as links", type="large_text", object=object)


def _int(value) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None
