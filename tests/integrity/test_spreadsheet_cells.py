"""Every CSV and XLSX the toolkit writes stores text that starts a formula as text: the sign-off
sheet (both kinds) and the reports' tables; each is owner-only."""

import stat

import pandas as pd
import pytest
from openpyxl import load_workbook

from toolkit.mapping import MappingSpec, export_mapping, import_mapping
from toolkit.spreadsheet_cells import neutralise, restore, write_csv

HOSTILE = ['=HYPERLINK("http://evil.example","click")', "=1+2", "+1+2", "-2+3", "@SUM(1,2)", "\t=1", "\r=1"]


def _spec_with(values) -> MappingSpec:
    return MappingSpec.from_dict({
        "version": 1, "source": "generic-csv", "destination": "highlevel",
        "objects": [{"source": "patients", "target": "contact", "key": "id",
                     "fields": [{"source": v, "target": f"custom:c{i}", "type": "text", "name": v, "status": "proposed",
                                 "confidence": 0.5, "reason": v} for i, v in enumerate(values)],
                     "values": {values[0]: {values[1]: values[4]}}}]})


@pytest.mark.parametrize("value", HOSTILE)
def test_a_trigger_is_neutralised_and_restored(value):
    assert neutralise(value)[0] == "'" and restore(neutralise(value)) == value
    assert neutralise("Smith") == "Smith" and neutralise(-5) == -5 and restore("'plain") == "'plain"


def test_the_xlsx_signoff_sheet_holds_no_formula_and_round_trips(tmp_path):
    path = export_mapping(_spec_with(HOSTILE), tmp_path / "signoff.xlsx")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    book = load_workbook(path)
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    # XML keeps no bare carriage return: a workbook reads "\r" back as "\n" (never a formula either way)
    as_read = [v.replace("\r", "\n") for v in HOSTILE]
    assert {c.value for c in cells} >= set(as_read)
    back = import_mapping(_spec_with(as_read), path)
    assert [f.source for f in back.objects[0].fields] == as_read


def test_the_csv_signoff_sheet_neutralises_and_round_trips(tmp_path):
    path = export_mapping(_spec_with(HOSTILE), tmp_path / "signoff.csv")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    cells = [v for col in raw.columns for v in raw[col]]
    assert not [v for v in cells if v.startswith(("=", "+", "-", "@", "\t", "\r"))]
    back = import_mapping(_spec_with(HOSTILE), path)
    assert [f.source for f in back.objects[0].fields] == HOSTILE


def test_report_tables_neutralise_headers_and_cells(tmp_path):
    path = write_csv(pd.DataFrame({"=cmd|' /C calc'!A0": HOSTILE, "n": range(len(HOSTILE))}), tmp_path / "t.csv")
    text = path.read_text(encoding="utf-8")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert not [v for col in raw.columns for v in [col, *raw[col]] if v.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert "'=HYPERLINK" in text and stat.S_IMODE(path.stat().st_mode) == 0o600
