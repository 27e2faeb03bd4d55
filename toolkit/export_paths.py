"""Paths an export names stay inside the export.

An export is input from outside the practice's control: a documents row may name
``../../etc/passwd``, a file may be a symbolic link to ``/etc/shadow`` or a device. Nothing
outside the folders the toolkit was told to read may be read or uploaded, so every path an
export gives goes through :func:`inside`, and every folder listing through :func:`listing`.

The rules, in order:

* the name is not empty, not absolute (a drive or a leading slash) and has no ``..`` part;
* the path, with every symbolic link followed, still lies under one of the allowed roots
  (the export folder; for files the toolkit itself wrote, the workspace's own folders);
* what it names is a regular file (not a device, FIFO, socket or folder).

A refusal is a :class:`UnsafePathError` whose message names the file as the export names it and
why it was refused, and never quotes the content of what it points at.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

from .errors import SourceError

__all__ = ["UnsafePathError", "inside", "listing", "is_inside"]


class UnsafePathError(SourceError):
    """A path from an export points outside the export, or at something that is not a file."""


def is_inside(path: Path, roots: tuple[Path, ...]) -> bool:
    """Whether ``path`` (already resolved) lies under one of ``roots`` (resolved here)."""
    for root in roots:
        try:
            path.relative_to(Path(root).resolve())
            return True
        except ValueError:
            continue
    return False


def inside(name: str | os.PathLike, root: str | Path | None, *, also: tuple[str | Path, ...] = ()) -> Path:
    """The resolved path of ``name``, checked to be a regular file inside ``root`` (or ``also``).

    Args:
        name: the path as the export gives it, relative to ``root``; an absolute path is
            accepted only when it lies in one of ``also`` (files the toolkit wrote itself, such
            as pictures taken out of notes).
        root: the export folder (None: only ``also`` counts).
        also: further folders whose files may be read.

    Raises:
        UnsafePathError: the path leaves the allowed folders, or is not a regular file.
        FileNotFoundError: it is allowed but does not exist.
    """
    text = os.fspath(name)
    shown = text if len(text) <= 200 else text[:200] + "…"
    if not text.strip():
        raise UnsafePathError("the record names no file")
    if "\x00" in text:
        raise UnsafePathError(f"file name {shown!r} holds a NUL byte; refused")
    parts = set(PurePosixPath(text.replace("\\", "/")).parts)
    if ".." in parts:
        raise UnsafePathError(f"file {shown!r} climbs out of the export with '..'; refused")
    roots = tuple(Path(r).resolve() for r in ((root,) if root is not None else ()) + tuple(also))
    absolute = os.path.isabs(text) or PureWindowsPath(text).drive != ""
    if absolute:
        candidate = Path(text)
        if not is_inside(candidate.resolve(), tuple(Path(a).resolve() for a in also)):
            raise UnsafePathError(f"file {shown!r} is an absolute path outside the export; refused")
    else:
        if root is None:
            raise UnsafePathError(f"file {shown!r} is relative, but there is no export folder to read it from")
        candidate = Path(root) / text
    resolved = candidate.resolve()  # follows every symbolic link, whether or not it exists
    if not is_inside(resolved, roots):
        raise UnsafePathError(f"file {shown!r} is a link to a place outside the export; refused")
    try:
        mode = os.stat(resolved).st_mode
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise UnsafePathError(f"file {shown!r} cannot be examined ({exc.strerror}); refused") from None
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device, pipe or socket)"
        raise UnsafePathError(f"file {shown!r} is {what}; refused")
    return resolved


def listing(folder: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """The regular files of an export folder, keyed by lower-cased name, and the ones refused.

    A symbolic link that resolves inside the folder is read like the file it names; one that
    leaves the folder, or anything that is not a regular file, is refused with its reason (the
    caller reports it; nothing is read from it).

    Returns:
        (name -> path for files that may be read, name -> reason for entries refused).
    """
    ok: dict[str, Path] = {}
    refused: dict[str, str] = {}
    for p in sorted(folder.iterdir()):
        if p.is_dir() and not p.is_symlink():
            continue
        try:
            inside(p.name, folder)
            ok[p.name.lower()] = p  # read under the name the export lists (headers and reports quote it)
        except UnsafePathError as exc:
            refused[p.name.lower()] = str(exc)
        except FileNotFoundError:
            refused[p.name.lower()] = f"file {p.name!r} is a broken link; refused"
    return ok, refused
