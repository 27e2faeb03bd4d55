"""Every redacted artefact of a demo run (pages, figures, tables, executed notebooks) holds none of
the generated patients' names, emails, phones, dates of birth or street addresses: each is
looked for as the export writes it and in the forms a report may show it in."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd


def _forms(value: str, kind: str) -> set[str]:
    value = value.strip()
    out = {value}
    if kind == "dob":
        for layout in ("%m/%d/%Y", "%Y-%m-%d"):
            day = pd.to_datetime(value, format=layout, errors="coerce")
            if pd.notna(day):
                out |= {day.strftime("%Y-%m-%d"), day.strftime("%m/%d/%Y")}
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 10:
            out |= {digits[-10:], "+1" + digits[-10:]}
    return {v for v in out if len(v) >= 4}


def _read(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")  # the export's legacy code page
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def _patient_values(export: Path, staff: set[str]) -> dict[str, set[str]]:
    df = _read(export / "patients.csv")
    values: dict[str, set[str]] = {}
    for col, kind in (("FirstName", "name"), ("LastName", "name"), ("Email", "email"), ("MobilePhone", "phone"),
                      ("HomePhone", "phone"), ("WorkPhone", "phone"), ("BirthDate", "dob"), ("Address1", "address")):
        for v in df[col]:
            if not v.strip():
                continue
            if kind == "name" and (len(v.strip()) < 4 or v.strip().casefold() in staff):
                continue  # short names match ordinary words; staff names are not patient data
            for form in _forms(v, kind):
                values.setdefault(form, set()).add(kind)
    return values


def test_no_redacted_artefact_holds_a_generated_patient_value(demo):
    hits = leaks(demo.ws)
    assert hits == [], f"{len(hits)} patient values in redacted copies, e.g. {hits[:15]}"


def leaks(ws) -> list[str]:
    export = Path(ws.export)
    users = json.loads((export / "crm_users.json").read_text(encoding="utf-8"))
    staff = {w.casefold() for u in users for w in re.findall(r"\w+", u.get("name", ""))}
    providers = _read(export / "providers.csv")
    staff |= {w.casefold() for col in ("FirstName", "LastName") if col in providers for v in providers[col]
              for w in re.findall(r"\w+", v)}
    values = _patient_values(export, staff)
    artefacts = [p for root in (ws.root / "reports" / "redacted", ws.root / "runs" / "redacted")
                 for p in root.rglob("*") if p.is_file()]
    assert len(artefacts) >= 10
    hits = []
    for path in artefacts:
        text = path.read_text(encoding="utf-8", errors="replace")
        for value, kinds in values.items():
            pattern = re.escape(value)
            if "name" in kinds:  # a name is a word of its own, written as a name is
                pattern = rf"(?<![\w]){pattern}(?![\w])"
            if re.search(pattern, text):
                hits.append(f"{path.relative_to(ws.root)}: {sorted(kinds)} {value!r}")
    return hits


def test_every_artefact_under_the_workspace_is_owner_only(demo):
    import stat

    loose = [str(p.relative_to(demo.ws.root)) for p in demo.ws.root.rglob("*")
             if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert loose == []
