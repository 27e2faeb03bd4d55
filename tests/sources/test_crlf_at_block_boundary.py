"""A CR LF inside a quoted value that falls on one of Arrow's block boundaries keeps its LF.

Arrow drops the LF of a CR LF split between two blocks, also inside a quoted value (apache/arrow
GH-51368): the note came back a byte short and every later line number was off by one. The
reader now chooses block sizes no boundary of which splits a pair; these files put the CR at the
last byte of the first block, in the bytes Arrow parses (the UTF-8 form of a cp1252 file)."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.sources import _arrow_blocks, _csv
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


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("encoding", ["cp1252", None])
def test_the_block_size_agrees_with_the_bytes_arrow_reads(tmp_path, seed, encoding):
    """Checked against the stream Arrow parses, made in full (the file's UTF-8 form): the size
    returned splits no CR LF inside quotes, and is the one asked for whenever that one splits no
    CR LF at all. A CR LF between records may be split: Arrow reads that one right."""
    import random

    from toolkit.sources._arrow_blocks import safe_block_size

    rng = random.Random(seed)
    alphabet = ["a", "b", ",", "\r\n", "\u00e9", "\u20ac", "\u0160", '"']
    text = "".join(rng.choice(alphabet) for _ in range(300_000))
    path = tmp_path / "x.csv"
    path.write_bytes(text.encode(encoding or "utf-8"))
    stream = text.encode("utf-8")
    quotes = np.cumsum(np.frombuffer(stream, np.uint8) == ord('"'))  # quotes up to each byte

    def splits(size: int, quoted_only: bool = True) -> bool:
        return any(stream[k - 1:k + 1] == b"\r\n" and (quotes[k - 1] % 2 == 1 or not quoted_only)
                   for k in range(size, len(stream), size))

    for asked in (16_384, 65_536):
        got = safe_block_size(path, asked, encoding)
        assert not splits(got)
        assert asked - 256 < got <= asked and (got == asked or splits(asked, quoted_only=False))
    # so many quoted line breaks that no size near the one asked keeps them whole: one block
    assert safe_block_size(path, 997, encoding) > len(stream) and not splits(len(stream) + 1)
    # ... unless the file is too large for one block (above 2 GB): then larger blocks
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_arrow_blocks, "_MAX_BLOCK", 50_000)
        got = safe_block_size(path, 997, encoding)
        assert 997 < got <= 50_000 and not splits(got)
