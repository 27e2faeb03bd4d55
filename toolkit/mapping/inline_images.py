"""Images embedded in a note's text, taken out as files so the note's words and pictures both arrive.

Practice systems keep clinical and communication notes as HTML or RTF with pictures inline: an
HTML ``<img src="data:image/png;base64,...">`` or an RTF ``{\\pict\\pngblip <hex>}`` group
(``\\jpegblip`` for JPEG). A CRM's note takes plain text, so a picture left in place arrives as
pages of base64 or hex. :func:`extract_inline_images` decodes each picture, checks that its bytes
really are the image type it declares, writes it to a folder under a name that depends only on
the note and the picture's position (``<note id>-<n>.<ext>``, so a rerun or a resumed run
rewrites the same files instead of adding new ones) and puts a readable marker in the text where
the picture was: ``[image 1: N0000012-1.png attached]``.

A picture that cannot be read (its base64 or hex does not decode, its bytes are not the declared
type, or the type is not one the toolkit carries) is never dropped silently: its marker says it
was not attached and why, and :attr:`InlineImage.problem` names the note and the reason so the
plan can report it.
"""

from __future__ import annotations

import base64
import html
import binascii
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["InlineImage", "NoteImages", "extract_inline_images", "has_inline_images", "is_note_object",
           "default_folder", "IMAGE_TYPES"]

#: declared type -> (file extension, the bytes every such file starts with)
IMAGE_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "png": ("png", (b"\x89PNG\r\n\x1a\n",)),
    "jpeg": ("jpg", (b"\xff\xd8\xff",)),
    "jpg": ("jpg", (b"\xff\xd8\xff",)),
    "gif": ("gif", (b"GIF87a", b"GIF89a")),
}

# An <img> whose src is a data URI; the quote that opens the attribute closes it.
_HTML_IMG = re.compile(
    r"""<img\b[^>]*?\bsrc\s*=\s*(?P<q>["'])\s*data:(?P<mime>[^;,"']*)(?P<params>(?:;[^,"']*)*),"""
    r"""(?P<data>[^"']*)(?P=q)[^>]*>""", re.IGNORECASE)
# The start of an RTF picture: a bare \pict group or Word's \*\shppict wrapper around one.
_RTF_PICT = re.compile(r"\{\\\*\\shppict\b|\{\\pict\b")
# Word writes a second, old-format copy of each picture for readers without \shppict; it is the
# same picture, so it is removed with its twin rather than counted again.
_RTF_NONSHP = re.compile(r"\{\\nonshppict\b")
_RTF_BLIP = re.compile(r"\\(pngblip|jpegblip|emfblip|wmetafile\d*|macpict|dibitmap\d*|wbitmap\d*)\b")
_RTF_WORD = re.compile(r"\\[a-zA-Z]+-?\d* ?")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class InlineImage:
    """One picture found in a note.

    Attributes:
        n: its position among the note's pictures, from 1.
        name: the file name it is written under (``N0000012-1.png``).
        path: where it was written; None when it could not be read.
        kind: the image type the note declares (``png``, ``jpeg``).
        size: bytes written.
        reason: why it could not be attached, else None.
        problem: the same, naming the note and the picture (what reports show), else None.
    """

    n: int
    name: str
    path: Path | None
    kind: str
    size: int = 0
    reason: str | None = None
    problem: str | None = None


@dataclass
class NoteImages:
    """A note's text with its pictures replaced by markers, and the pictures."""

    text: str
    images: list[InlineImage] = field(default_factory=list)


def is_note_object(target: str) -> bool:
    """Whether records of destination object ``target`` are notes (``note``, ``custom_object:clinical_note``)."""
    name = target.rsplit(":", 1)[-1].lower()
    return name == "note" or name.endswith("_note") or name.endswith("notes")


def has_inline_images(text: str) -> bool:
    """A quick test, before any decoding: does ``text`` hold an HTML data-URI image or an RTF picture?"""
    if not isinstance(text, str):
        return False
    return ("data:" in text and "<img" in text.lower()) or "\\pict" in text


def default_folder(location: str) -> Path:
    """A private folder for one export's inline images when the caller names none.

    The name depends only on where the export is, so rebuilding the plan reuses the same files.
    """
    digest = hashlib.sha1(str(location).encode("utf-8")).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"crm-toolkit-inline-{os.getuid() if hasattr(os, 'getuid') else 0}" / digest


def extract_inline_images(note_id: str, text: str, folder: str | Path, *, start: int = 1) -> NoteImages:
    """Take the pictures out of one note's text.

    Args:
        note_id: the note's source id; file names and problems carry it.
        text: the note's body, HTML, RTF or plain text.
        folder: where the pictures are written (created, owner-only, if missing).
        start: the number of the first picture found (a note whose pictures sit in several
            fields numbers them on from the previous field's).

    Returns:
        The text with one marker per picture, and the pictures in the order they appear.
        Text without pictures comes back unchanged.
    """
    if not isinstance(text, str) or not has_inline_images(text):
        return NoteImages(text)
    folder = Path(folder)
    if text.lstrip().startswith("{\\rtf") or _RTF_PICT.search(text):
        return _rtf(note_id, text, folder, start)
    return _html(note_id, text, folder, start)


def _html(note_id: str, text: str, folder: Path, start: int) -> NoteImages:
    images: list[InlineImage] = []

    def replace(m: re.Match) -> str:
        mime = m["mime"].strip().lower()
        kind = mime.split("/", 1)[1] if mime.startswith("image/") else mime or "unknown"
        n = start + len(images)
        if not mime.startswith("image/"):
            image = _broken(note_id, n, kind, f"the data URI is {mime or 'untyped'}, not an image")
        elif "base64" not in m["params"].lower():
            image = _broken(note_id, n, kind, "the data URI is not base64-encoded")
        else:
            payload = re.sub(r"\s+", "", m["data"])
            try:
                data = base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError):
                image = _broken(note_id, n, kind, _base64_problem(payload))
            else:
                image = _save(note_id, n, kind, data, folder)
        images.append(image)
        return html.escape(_marker(image), quote=False)

    return NoteImages(_HTML_IMG.sub(replace, text), images)


def _base64_problem(payload: str) -> str:
    """Why ``payload`` does not decode, in words a practice's staff can act on."""
    bad = re.search(r"[^A-Za-z0-9+/=]", payload)
    if bad:
        return f"its base64 data does not decode (a character {bad[0]!r} that is not base64)"
    if len(payload) % 4:
        return (f"its base64 data does not decode (cut short: {len(payload)} characters, "
                "not a multiple of 4)")
    return "its base64 data does not decode (padding in the wrong place)"


def _rtf(note_id: str, text: str, folder: Path, start: int) -> NoteImages:
    images: list[InlineImage] = []
    out, pos = [], 0
    while True:
        m = _RTF_PICT.search(text, pos)
        twin = _RTF_NONSHP.search(text, pos)
        if twin is not None and (m is None or twin.start() < m.start()):
            end = _group_end(text, twin.start())
            out.append(text[pos:twin.start()])
            pos = end if end is not None else len(text)
            continue
        if m is None:
            break
        end = _group_end(text, m.start())
        n = start + len(images)
        out.append(text[pos:m.start()])
        if end is None:
            image = _broken(note_id, n, "unknown", "its RTF picture group is not closed (the note is cut short)")
            end = len(text)
        else:
            image = _rtf_picture(note_id, n, text[m.start():end], folder)
        images.append(image)
        out.append(_rtf_text(_marker(image)))
        pos = end
    out.append(text[pos:])
    return NoteImages("".join(out), images)


def _rtf_picture(note_id: str, n: int, group: str, folder: Path) -> InlineImage:
    blip = _RTF_BLIP.search(group)
    if blip is None:
        return _broken(note_id, n, "unknown", "its RTF picture declares no image type")
    kind = {"pngblip": "png", "jpegblip": "jpeg"}.get(blip[1], blip[1])
    if kind not in IMAGE_TYPES:
        return _broken(note_id, n, kind, f"RTF pictures of type {blip[1]} are not carried (only PNG and JPEG)")
    if "\\bin" in group:
        return _broken(note_id, n, kind, "its RTF picture holds raw binary data, not hex")
    # The hex is what is left of the innermost \pict group once nested groups ({\*\blipuid ..})
    # and control words are gone.
    inner = group[group.index("\\pict"):]
    hexdigits = _RTF_WORD.sub("", _strip_groups(inner))
    hexdigits = re.sub(r"[\s{}]+", "", hexdigits)
    if not hexdigits:
        return _broken(note_id, n, kind, "its RTF picture holds no data")
    try:
        data = bytes.fromhex(hexdigits)
    except ValueError:
        bad = next((c for c in hexdigits if c not in "0123456789abcdefABCDEF"), None)
        why = f"a character {bad!r} that is not hex" if bad else f"an odd number of hex digits ({len(hexdigits)})"
        return _broken(note_id, n, kind, f"its RTF hex data does not decode ({why})")
    return _save(note_id, n, kind, data, folder)


def _group_end(text: str, at: int) -> int | None:
    """The index just past the group opening at ``at`` (escaped braces do not count), or None."""
    depth, i = 0, at
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _strip_groups(group: str) -> str:
    """``group`` without the nested groups inside its outermost one."""
    body = group[1:] if group.startswith("{") else group
    out, i = [], 0
    while i < len(body):
        if body[i] == "{":
            end = _group_end(body, i)
            i = end if end is not None else len(body)
            continue
        out.append(body[i])
        i += 1
    return "".join(out)


def _save(note_id: str, n: int, kind: str, data: bytes, folder: Path) -> InlineImage:
    ext, magics = IMAGE_TYPES.get(kind, (None, ()))
    if ext is None:
        return _broken(note_id, n, kind, f"image/{kind} is not a type the toolkit carries (PNG, JPEG, GIF)")
    if not data:
        return _broken(note_id, n, kind, "it holds no data")
    if not any(data.startswith(m) for m in magics):
        return _broken(note_id, n, kind, f"it is declared {kind.upper()} but its bytes are not one "
                                         f"(they start {data[:4].hex(' ')})")
    name = f"{_SAFE.sub('_', note_id).strip('_') or 'note'}-{n}.{ext}"
    path = folder / name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Same bytes already there: leave the file alone, so a rerun changes nothing on disk.
    if not (path.is_file() and path.read_bytes() == data):
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # clinical images: owner only
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    return InlineImage(n, name, path, kind, len(data))


def _broken(note_id: str, n: int, kind: str, why: str) -> InlineImage:
    return InlineImage(n, "", None, kind, 0, why, f"inline image {n} of note {note_id} cannot be attached: {why}")


def _marker(image: InlineImage) -> str:
    if image.reason:
        return f"[image {image.n}: not attached, {image.reason}]"
    return f"[image {image.n}: {image.name} attached]"


def _rtf_text(marker: str) -> str:
    """``marker`` as RTF text: backslashes and braces would otherwise be read as markup."""
    return marker.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
