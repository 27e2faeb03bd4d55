"""The sign-off sheet, the migration summary's figures and throughput, and the page renderer."""

from __future__ import annotations

import nbformat
import pandas as pd
import pytest

from toolkit import Ledger, MappingSpec
from toolkit.reports.migration_summary import summarize_runs, throughput
from toolkit.reports.render import render_notebook
from toolkit.reports.signoff import signoff_sheet
from toolkit.workflow import template_path


@pytest.fixture()
def spec() -> MappingSpec:
    return MappingSpec.load(template_path("dent-o-soft", "highlevel"))


def test_signoff_sheet_lists_routes_fields_values_and_who_confirmed(spec):
    first = spec.objects[0].fields[0]
    first.status = "confirmed"
    first.extra.update(confirmed_by="Dr. Reyes", confirmed_at="2025-03-01T10:00:00Z")
    sheet = signoff_sheet(spec)
    assert len(sheet.routes) == len(spec.objects)
    assert len(sheet.fields) == sum(len(o.fields) for o in spec.objects)
    row = sheet.fields.iloc[0]
    assert (row["status"], row["confirmed by"], row["confirmed at"]) == ("confirmed", "Dr. Reyes", "2025-03-01T10:00:00Z")
    assert not sheet.ready and set(sheet.routes["status"]) == {"proposed"}
    stages = sheet.values[sheet.values["column"].str.contains("pipeline stage")]
    assert "Unmapped — Review Required" in set(stages["destination value"])
    gender = sheet.values[sheet.values["column"] == "Gender"]
    assert dict(zip(gender["source value"], gender["destination value"])) == {"M": "Male", "F": "Female", "U": "Unknown"}
    excluded = sheet.fields[sheet.fields["status"] == "excluded"]
    assert set(excluded["target"]) == {"not migrated"}

    spec.accept_proposals()
    ready = signoff_sheet(spec)
    assert ready.ready and ready.summary()["confirmed without a name"] == ready.summary()["confirmed"] - 1


def test_throughput_buckets_fit_the_span():
    stamps = pd.Series(pd.date_range("2025-01-01 10:00", periods=600, freq="1s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.000+00:00"))
    series, bucket = throughput(stamps)
    assert bucket == "15 seconds" and series.iloc[:-1].sum() == 600 and series.iloc[-1] == 0
    assert series.iloc[0] == 15


def test_summary_from_a_ledger(tmp_path, spec):
    from toolkit.sources import registry

    src = registry.get("dent-o-soft")()
    snapshot = src.read(src.generate(tmp_path / "export", patients=20, seed=6))
    keys = list(snapshot.tables["patients"]["PatientID"][:3])
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        run = ledger.start_run("full")
        for k in keys[:2]:
            seq = ledger.intent(run, "create", source_object="patients", source_key=k, dest_object="contact")
            ledger.outcome(seq, dest_id=f"c-{k}")
        seq = ledger.intent(run, "create", source_object="patients", source_key=keys[2], dest_object="contact")
        ledger.outcome(seq, state="failed", reason="422: email must be an email")
        ledger.finish_run(run, "finished", info={"seconds": 1.5})
        summary = summarize_runs(ledger, snapshot, spec)
    s = summary.summary()
    assert (s["created"], s["errors"], s["writes"], s["runs"]) == (2, 1, 2, 1)
    assert summary.errors.iloc[0]["reason"] == "422: email must be an email"
    not_migrated = summary.not_migrated
    assert {"SSN", "MiddleInitial"} <= set(not_migrated[not_migrated["object"] == "patients"]["field"])
    unrouted = set(snapshot.tables) - {o.source for o in spec.objects}
    assert unrouted and unrouted == set(not_migrated[not_migrated["field"] == "(every field)"]["object"])
    assert summary.to_dict()["throughput"]["points"]


def _executed_notebook(path):
    params = nbformat.v4.new_code_cell('workspace = "x"')
    params.metadata["tags"] = ["parameters"]
    view = nbformat.v4.new_code_cell("show()", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/html": '<div class="cm-cards"><div class="cm-card">7</div></div>', "text/plain": "7"},
        metadata={"crm_migrate": {"role": "summary"}})])
    code = nbformat.v4.new_code_cell("secret_looking_code = 1", outputs=[
        nbformat.v4.new_output("stream", name="stderr", text="progress 50%|#####\n"),
        nbformat.v4.new_output("stream", name="stdout", text="hello reader\n")])
    cells = [nbformat.v4.new_markdown_cell("# 07 · Test report\n\nWhat this page is for."),
             nbformat.v4.new_markdown_cell("## Parameters\nPARAMETERS-SECTION"), params, view,
             nbformat.v4.new_markdown_cell("## First part"), code, nbformat.v4.new_markdown_cell("## Second part")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    return path


def test_page_has_title_block_summary_first_and_no_code(tmp_path):
    out = render_notebook(_executed_notebook(tmp_path / "nb.ipynb"), tmp_path / "page.html", route="A → B",
                          practice="Smile Dental", files=["x.json"])
    page = out.read_text(encoding="utf-8")
    assert '<h1 class="cm-title">Test report</h1>' in page and "What this page is for." in page
    assert "Smile Dental" in page and "A → B" in page and 'href="x.json"' in page
    assert page.index('id="summary"') < page.index("First part")
    assert page.index('class="cm-card">7<') < page.index("First part")
    assert "secret_looking_code" not in page and "workspace =" not in page and "PARAMETERS-SECTION" not in page
    assert "hello reader" in page and "progress 50%" not in page
    assert 'href="#First-part"' in page  # contents list
    assert oct(out.stat().st_mode & 0o777) == "0o600"
