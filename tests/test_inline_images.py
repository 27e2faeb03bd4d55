"""Pictures inside notes: found in HTML and RTF, decoded, checked, written under stable names, and
replaced by a marker; a broken picture is reported, never dropped; build_plan turns them into file
records of the note's parent."""

import base64
import struct
import zlib

import pandas as pd
import pytest

from toolkit.mapping.inline_images import extract_inline_images, is_note_object
from toolkit.mapping import MappingSpec, build_plan
from toolkit.shapes import ObjectSchema, Snapshot


def _png(seed: int = 1) -> bytes:
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    raw = b"".join(b"\x00" + bytes([seed, 2 * seed % 256, 3 * seed % 256]) * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(40)) + b"\xff\xd9"


def _html_img(data: bytes, mime: str = "image/png") -> str:
    return f'<img alt="x-ray" src="data:{mime};base64,{base64.b64encode(data).decode()}">'


def test_html_png_is_written_and_replaced_by_a_marker_with_the_text_around_it_kept(tmp_path):
    png = _png()
    got = extract_inline_images("N0000007", f"<p>Before the image.</p>{_html_img(png)}<p>After it.</p>", tmp_path)
    assert got.text == "<p>Before the image.</p>[image 1: N0000007-1.png attached]<p>After it.</p>"
    [img] = got.images
    assert img.problem is None and img.path == tmp_path / "N0000007-1.png" and img.path.read_bytes() == png


def test_html_jpeg_with_single_quotes_and_two_pictures_are_numbered_in_order(tmp_path):
    text = f"a {_html_img(JPEG, 'image/jpeg')} b " + _html_img(_png(2)).replace('"', "'") + " c"
    got = extract_inline_images("N1", text, tmp_path)
    assert got.text == "a [image 1: N1-1.jpg attached] b [image 2: N1-2.png attached] c"
    assert [i.path.read_bytes() for i in got.images] == [JPEG, _png(2)]


def test_rtf_png_and_jpeg_pictures_with_word_wrappers_and_old_format_twins(tmp_path):
    rtf = (r"{\rtf1\ansi\deff0 Pre-op photo\par {\*\shppict{\pict{\*\picprop{\sp}}\picw10\pich10\pngblip "
           + _png().hex() + r"}}{\nonshppict{\pict\wmetafile8\picw10 0100090000}}\par between "
           + r"{\pict\jpegblip" + "\r\n" + JPEG.hex()[:40] + "\r\n" + JPEG.hex()[40:] + r"} post-op\par}")
    got = extract_inline_images("N2", rtf, tmp_path)
    assert got.text == (r"{\rtf1\ansi\deff0 Pre-op photo\par [image 1: N2-1.png attached]\par between "
                        r"[image 2: N2-2.jpg attached] post-op\par}")
    assert [i.path.read_bytes() for i in got.images] == [_png(), JPEG]


@pytest.mark.parametrize("text, reason", [
    ('<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAD">',
     "its base64 data does not decode (cut short: 49 characters, not a multiple of 4)"),
    ('<img src="data:image/png;base64,iVBO*w0K">', "a character '*' that is not base64"),
    (_html_img(JPEG, "image/png"), "it is declared PNG but its bytes are not one (they start ff d8 ff e0)"),
    (_html_img(b"BM" + bytes(20), "image/bmp"), "image/bmp is not a type the toolkit carries"),
    (r"{\rtf1 {\pict\pngblip 89504e470}}", "an odd number of hex digits (9)"),
    (r"{\rtf1 {\pict\jpegblip ffd8ffzz}}", "a character 'z' that is not hex"),
    (r"{\rtf1 {\pict\emfblip 0100}}", "RTF pictures of type emfblip are not carried"),
    (r"{\rtf1 {\pict\pngblip 89504e47", "its RTF picture group is not closed"),
])
def test_a_broken_picture_is_reported_with_the_note_and_the_reason(tmp_path, text, reason):
    got = extract_inline_images("N0000099", f"Pt seen. {text} Done.", tmp_path)
    [img] = got.images
    assert img.path is None and reason in img.reason
    assert img.problem.startswith("inline image 1 of note N0000099 cannot be attached: ")
    assert f"[image 1: not attached, {img.reason}]" in got.text and got.text.startswith("Pt seen. ")
    # the text after the picture stays, unless the picture's group never closes (then it is the picture)
    assert ("Done." in got.text) == ("not closed" not in reason)
    assert "base64," not in got.text and "pngblip" not in got.text and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", ["Plain note, no picture.", "<p>An <img src='https://x.org/a.png'> link</p>",
                                  r"{\rtf1 just text \b bold\b0}", "", None])
def test_a_note_without_pictures_comes_back_unchanged(tmp_path, text):
    got = extract_inline_images("N3", text, tmp_path)
    assert got.text == text and got.images == [] and list(tmp_path.iterdir()) == []


def test_a_rerun_rewrites_nothing_and_names_stay_the_same(tmp_path):
    text = f"x {_html_img(_png())} y"
    first = extract_inline_images("N/4 7", text, tmp_path)
    stamp = first.images[0].path.stat().st_mtime_ns
    again = extract_inline_images("N/4 7", text, tmp_path)
    assert again.text == first.text and again.images[0].path == first.images[0].path
    assert first.images[0].path.name == "N_4_7-1.png"  # the note id made safe for a file name
    assert again.images[0].path.stat().st_mtime_ns == stamp and len(list(tmp_path.iterdir())) == 1


def test_note_objects():
    assert is_note_object("note") and is_note_object("custom_object:clinical_note")
    assert not is_note_object("contact") and not is_note_object("file")


def _snapshot(notes: list[dict]) -> Snapshot:
    tables = {"patients": pd.DataFrame({"PatientID": ["P1", "P2"], "LastName": ["Ames", "Bell"]}, dtype="string"),
              "notes": pd.DataFrame(notes, dtype="string")}
    schema = {"patients": ObjectSchema("patients", "patients.csv", "PatientID", {"PatientID": "id", "LastName": "text"}),
              "notes": ObjectSchema("notes", "notes.csv", "NoteID", {"NoteID": "id", "PatientID": "id", "Text": "text"})}
    return Snapshot("test", tables, schema, location="/nowhere/export")


SPEC = {"source": "test", "destination": "highlevel", "objects": [
    {"source": "patients", "target": "contact", "key": "PatientID",
     "fields": [{"source": "LastName", "target": "lastName", "status": "confirmed"}]},
    {"source": "notes", "target": "note", "key": "NoteID", "links": {"contactId": {"column": "PatientID", "object": "patients"}},
     "fields": [{"source": "Text", "target": "body", "status": "confirmed"}]}]}


def test_build_plan_carries_the_cleaned_note_and_one_file_record_per_picture(tmp_path):
    snap = _snapshot([{"NoteID": "N1", "PatientID": "P2", "Text": f"Scan {_html_img(_png())} then {_html_img(JPEG, 'image/jpeg')}"},
                      {"NoteID": "N2", "PatientID": "P1", "Text": 'Cut <img src="data:image/png;base64,iVBORw0KG">'},
                      {"NoteID": "N3", "PatientID": "P1", "Text": "No picture"}])
    plan = build_plan(snap, MappingSpec.from_dict(SPEC), ("contact", "note", "file"), inline_dir=tmp_path / "inline")
    notes = {pr.source_key: pr for op in plan.objects if op.target == "note" for pr in op.records}
    assert notes["N1"].record.fields["body"] == "Scan [image 1: N1-1.png attached] then [image 2: N1-2.jpg attached]"
    assert notes["N3"].record.fields["body"] == "No picture"
    assert any("inline image 1 of note N2" in f for f in notes["N2"].flags)
    [files] = [op for op in plan.objects if op.target == "file"]
    assert [op.target for op in plan.objects] == ["contact", "note", "file"]
    got = {pr.source_key: pr for pr in files.records}
    assert set(got) == {"N1#image-1", "N1#image-2", "N2#image-1"}
    for key in ("N1#image-1", "N1#image-2"):
        assert got[key].links == {"contactId": ("patients", "P2")} and got[key].skip_reason is None
        assert got[key].record.custom == {"source_id": key}
    assert got["N1#image-2"].record.fields == {"path": str(tmp_path / "inline" / "N1-2.jpg"), "name": "N1-2.jpg"}
    assert "inline image 1 of note N2 cannot be attached" in got["N2#image-1"].skip_reason
    # built again: same records, same hashes, no new files
    again = build_plan(snap, MappingSpec.from_dict(SPEC), ("contact", "note", "file"), inline_dir=tmp_path / "inline")
    hashes = {pr.source_key: pr.content_hash for op in again.objects for pr in op.records}
    assert all(hashes[k] == pr.content_hash for k, pr in {**got, **notes}.items())
    assert sorted(p.name for p in (tmp_path / "inline").iterdir()) == ["N1-1.png", "N1-2.jpg"]
