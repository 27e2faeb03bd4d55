"""A CR LF inside a quoted value that falls on one of Arrow's block boundaries keeps its LF.

Arrow drops the LF of a CR LF split between two blocks, also inside a quoted value (apache/arrow
GH-51368): the note came back a byte short and every later line number was off by one. The
reader now chooses block sizes no boundary of which splits a pair; these files put the CR at the
last byte of the first block, in the bytes Arrow parses (the UTF-8 form of a cp1252 file)."""

from __future__ import annotations

import pytest

from toolkit.sources import _csv
from toolkit.sources._csv import read_strict_csv

BLOCK = 1 << 16


def _export(tmp_path, encoding: str, bom: bytes, filler: str):
    head = "NoteID,NoteText,Tooth\r\n"
    opening = head + 'N1,"'
    before = len(bom) + len(opening.encode("utf-8"))  # Arrow's blocks count UTF-8 bytes
    room = BLOCK - 1 - before
    text = filler * (room // len(filler.encode("utf-8"))) + "z" * (room % len(filler.encode("utf-8")))
    note = text + "\r\nSecond line of the note"
    body = opening + note + '",14\r\nN2,"short, quoted",3\r\nN3,plain,5\r\n'
    assert len(bom) + len(body[:body.index("\r\nSecond")].encode("utf-8")) == BLOCK - 1
    path = tmp_path / "clinical_notes.csv"
    path.write_bytes(bom + body.encode(encoding))
    return path, note


@pytest.mark.parametrize("encoding, bom, filler", [
    ("ascii", b"", "z"),                       # read as it is
    ("utf-8", b"\xef\xbb\xbf", "\u00e9"),      # UTF-8 with a byte order mark, read as it is
    ("cp1252", b"", "\u00e9"),                 # transcoded by Arrow: its blocks are UTF-8 bytes
    ("cp1252", b"", "\u20ac"),                 # the euro sign: three UTF-8 bytes from one
])
def test_a_quoted_crlf_on_a_block_boundary_is_kept(tmp_path, monkeypatch, encoding, bom, filler):
    monkeypatch.setattr(_csv, "BLOCK", BLOCK)
    path, note = _export(tmp_path, encoding, bom, filler)
    table = read_strict_csv(path, fallback_encoding="cp1252")
    assert table.frame["NoteText"].tolist() == [note, "short, quoted", "plain"]
    assert list(table.lines) == [2, 4, 5]  # N1 spans lines 2-3
