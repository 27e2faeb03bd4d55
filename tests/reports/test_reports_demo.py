"""Every report of a small demo: standalone pages with their figures beside them, no token anywhere,
no patient name or email in the redacted set, and each page opened in headless Chromium."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPORTS = ["estimate", "audit", "map", "signoff", "owners", "migrate", "reconcile", "summary", "rebuild_guide", "sample"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def _patients(demo) -> list[dict]:
    with open(demo.out / "export" / "patients.csv", encoding="cp1252", newline="") as fh:
        return list(csv.DictReader(fh))


def _texts(*folders: Path):
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                yield path, path.read_bytes()


def test_every_report_has_its_page_figures_and_redacted_copy(demo):
    reports = demo.ws.reports_dir
    for step in REPORTS:
        page = (reports / f"{step}.html").read_text(encoding="utf-8")
        assert "<pre class=\"cm-text-output\">import" not in page and "toolkit.begin_report" not in page, step
        assert 'class="cm-summary"' in page and 'class="cm-card' in page, f"{step}: no summary figures"
        assert (reports / "redacted" / f"{step}.html").is_file(), step
        if step != "sample":
            json.loads((reports / f"{step}.json").read_text(encoding="utf-8"))
            json.loads((reports / "redacted" / f"{step}.json").read_text(encoding="utf-8"))
    # the tables each page shows are beside it as CSV, masked in the redacted copy
    for step, table in (("audit", "failing_rows"), ("signoff", "fields"), ("estimate", "records_and_calls"),
                        ("summary", "per_object"), ("sample", "sample_diff"), ("owners", "owner_resolution")):
        assert (reports / step / f"{table}.csv").is_file(), (step, table)
        assert (reports / "redacted" / step / f"{table}.csv").is_file(), (step, table)
    for step in REPORTS:  # whatever views a step's notebook uses, its tables are kept
        assert any((reports / step).glob("*.csv")), step
    assert (reports / "rebuild_guide.highlevel.md").read_text(encoding="utf-8").startswith("# Rebuilding")


def test_pages_are_standalone(demo):
    for path in sorted(demo.ws.reports_dir.rglob("*.html")):
        page = path.read_text(encoding="utf-8")
        # nothing fetched from the network: every script and style is inline
        assert not re.search(r"<(script|img|link)[^>]+(src|href)=[\"']https?://", page), path
        assert "cdnjs" not in page and "unpkg.com" not in page, path


def test_no_token_in_any_report_notebook_or_log(demo):
    token = demo.token.encode()
    assert len(token) >= 16
    scanned = 0
    for path, data in _texts(demo.ws.reports_dir, demo.ws.runs_dir, demo.out):
        if path.suffix in {".html", ".ipynb", ".json", ".csv", ".md", ".log", ".jsonl", ".yaml"}:
            scanned += 1
            assert token not in data, f"the token is in {path}"
    assert scanned > 30
    executed = json.loads((demo.ws.runs_dir / "04_migrate.ipynb").read_text(encoding="utf-8"))
    assert set(executed["metadata"]["papermill"]["parameters"]) <= {"workspace", "accept_proposals"}


def test_redacted_set_has_no_patient_name_or_email(demo):
    patients = _patients(demo)
    emails = {p["Email"].strip().lower() for p in patients if "@" in p["Email"]}
    names = {f"{p['FirstName'].strip()} {p['LastName'].strip()}" for p in patients if p["FirstName"].strip()
             and p["LastName"].strip()}
    assert emails and names
    plain = "\n".join(d.decode("utf-8", "replace") for p, d in _texts(demo.ws.reports_dir)
                      if "redacted" not in p.parts).lower()
    assert any(e in plain for e in emails), "the unredacted reports should show patient data (else this test proves nothing)"
    for path, data in _texts(demo.ws.reports_dir / "redacted", demo.ws.runs_dir / "redacted"):
        text = data.decode("utf-8", "replace")
        low = text.lower()
        leaked = [e for e in emails if e in low] + [n for n in names if n in text]
        assert not leaked, f"{path} shows {leaked[:3]}"
    assert "‹email›" in (demo.ws.reports_dir / "redacted" / "audit.html").read_text(encoding="utf-8")


def test_sample_diff_lists_mismatches_first(demo):
    rows = list(csv.DictReader(open(demo.ws.reports_dir / "sample" / "sample_diff.csv", encoding="utf-8")))
    verdicts = [r["verdict"] for r in rows]
    assert verdicts[0] == "mismatch", verdicts[:5]
    assert "Tampered City" in {r["read_back"] for r in rows if r["verdict"] == "mismatch"}
    first_equal = verdicts.index("equal")
    assert "mismatch" not in verdicts[first_equal:]
    masked = list(csv.DictReader(open(demo.ws.reports_dir / "redacted" / "sample" / "sample_diff.csv", encoding="utf-8")))
    names = [r for r in masked if r["field"] in {"firstName", "lastName"} and r["source_value"]]
    assert names and all(r["source_value"] == "‹name›" and r["read_back"] == "‹name›" for r in names)


def test_reconciliation_view_puts_records_not_loaded_first(demo, capsys):
    import pandas as pd

    import toolkit
    from toolkit.reports.context import end_report

    data = json.loads((demo.ws.reports_dir / "reconcile.json").read_text(encoding="utf-8"))
    rec = toolkit.Reconciliation(pd.DataFrame(data["fates"]), pd.DataFrame(data["objects"]), data["integrity"],
                                 pd.DataFrame(data.get("field_totals") or []), pd.DataFrame(data.get("population") or []))
    toolkit.begin_report(demo.ws, "reconcile_view")
    try:
        toolkit.show_reconciliation(rec)
    finally:
        end_report()
    folder = demo.ws.reports_dir / "reconcile_view"
    fates = list(csv.DictReader(open(folder / "record_fates.csv", encoding="utf-8")))
    assert len(fates) == len(data["fates"])
    loaded = [i for i, r in enumerate(fates) if r["fate"] in {"created", "updated"}]
    assert loaded and all(r["fate"] not in {"created", "updated"} for r in fates[:loaded[0]])
    assert fates[0]["fate"] != "created"
    assert (demo.ws.reports_dir / "redacted" / "reconcile_view" / "record_fates.csv").is_file()
    assert "unaccounted" in capsys.readouterr().out  # the summary figures reach a plain-text front end too


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("redacted", [False, True], ids=["plain", "redacted"])
def test_each_report_opens_in_chromium(demo, redacted):
    from playwright.sync_api import sync_playwright

    folder = demo.ws.reports_dir / ("redacted" if redacted else "")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            for step in REPORTS:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                problems: list[str] = []
                page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
                page.on("request", lambda r: problems.append(f"network: {r.url}")
                        if not r.url.startswith(("file:", "data:", "blob:", "about:")) else None)
                page.goto((folder / f"{step}.html").as_uri())
                page.wait_for_load_state("load")
                summary = page.locator("#summary")
                assert summary.is_visible(), step
                assert summary.locator(".cm-card").first.is_visible(), step
                assert page.locator("h1.cm-title").inner_text().strip(), step
                if page.locator("table.dataTable").count():  # interactive tables drew themselves
                    page.wait_for_selector("div.dt-container", timeout=10_000)
                page.screenshot(path=str(ARTIFACTS / f"{step}{'-redacted' if redacted else ''}.png"), full_page=True)
                assert not problems, f"{step}: {problems}"
                page.close()
        finally:
            browser.close()
