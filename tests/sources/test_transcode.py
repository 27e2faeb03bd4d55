"""Legacy code pages to UTF-8 ahead of Arrow's parser: the same text as Python's codecs give."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from toolkit.sources._csv import read_strict_csv
from toolkit.sources._transcode import single_byte_table, utf8_stream


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "iso8859-15", "cp1250", "cp437", "mac_roman", "koi8-r"])
def test_single_byte_code_pages_have_a_table_matching_the_codec(encoding):
    table = single_byte_table(encoding)
    assert table is not None
    for b in range(256):
        try:
            expected = bytes([b]).decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            expected = None
        assert table[b] == expected


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "shift_jis", "gbk", "big5", "cp037", "no-such-codec"])
def test_anything_else_is_left_to_pyarrow(encoding):
    # multi-byte (joins bytes), Unicode, EBCDIC (not ASCII-compatible: quotes would move), unknown
    assert single_byte_table(encoding) is None


def _through(tmp_path, data: bytes, encoding: str) -> bytes:
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    with utf8_stream(str(path), encoding) as stream:
        return stream.read()


@pytest.mark.parametrize("share", [0.0, 0.001, 0.02, 0.5])  # none, sparse, near the switch, dense
def test_the_stream_gives_what_the_codec_gives(tmp_path, share):
    rng = random.Random(int(share * 1000))
    defined = [b for b in range(0x80, 0x100) if single_byte_table("cp1252")[b] is not None]
    data = bytes(rng.choice(defined) if rng.random() < share else rng.randrange(0x20, 0x7F)
                 for _ in range(300_000))
    assert _through(tmp_path, data, "cp1252") == data.decode("cp1252").encode("utf-8")


def test_an_undefined_byte_is_an_error_naming_its_offset(tmp_path):
    data = b"id,name\n1,Jos\xe9\n2,bad \x81 byte\n"
    with pytest.raises(UnicodeDecodeError, match=f"byte offset {data.index(bytes([0x81]))}"):
        _through(tmp_path, data, "cp1252")
    dense = b"\xe9" * 100 + b"\x81"
    with pytest.raises(UnicodeDecodeError, match="byte offset 100"):
        _through(tmp_path, dense, "cp1252")


def test_a_cp1252_export_reads_as_the_codec_decodes_it(tmp_path):
    rows = [("1", "Zoë Brontë", "café €5"), ("2", "Ana", "plain"), ("3", "Œdipe “quoted”", "naïve\nsecond line")]
    text = "id,name,note\n" + "".join(f'{i},{n},"{v}"\n' for i, n, v in rows)
    path = tmp_path / "patients.csv"
    path.write_bytes(text.encode("cp1252"))
    table = read_strict_csv(path)
    assert table.encoding == "cp1252"
    assert table.frame.values.tolist() == [list(r) for r in rows]
    assert table.lines.tolist() == [2, 3, 4]


def test_an_all_ascii_block_is_handed_on_without_a_copy(tmp_path):
    from toolkit.sources._transcode import _ToUtf8

    buf = pa.py_buffer(b"id,name\n1,Ann\n")
    assert _ToUtf8("cp1252", single_byte_table("cp1252"))(buf) is buf

