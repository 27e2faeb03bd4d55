"""Generate a folder of exports "from some other system", written every way real ones are.

``generate(out, patients=N, seed=S)`` writes:

* ``contacts.csv``: UTF-8 with BOM, comma-separated, US dates (MM/DD/YYYY);
* ``appointments.txt``: Excel's "Unicode text" — UTF-16 with BOM, tab-separated;
* ``companies.csv``: cp1252, semicolon-separated, with a two-line report title above the header;
* ``crm_export.xlsx``: two sheets, ``Deals`` (real Excel dates, a title row) and ``Notes``;
* ``crm_users.json`` and ``ground_truth.json``, which also records, per table, the encoding,
  delimiter, header row and kind the reader should detect.

Planted defects in ``contacts.csv`` (rates of contacts; counts ``max(1, round(rate * n))``):
``invalid_email`` 2%, ``malformed_phone`` 3%, ``missing_name`` 0.5% (last name),
``mixed_date_format`` 4% (a birth date written YYYY-MM-DD or DD.MM.YYYY), ``duplicate_contact`` 2%.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from .._synth_defects import bad_email, bad_phone, variant_date
from .._synth_dental import PROCEDURES
from .._synth_export import TODAY, Truth, at_least_one, rand_date, write_csv, write_ground_truth, write_json
from .._synth_households import households, insert_duplicates
from .._synth_people import FEMALE, LAST, ascii_fold, phone, pick_region, street_address

__all__ = ["generate", "CONTACT_COLUMNS"]

INVALID_EMAIL_RATE, MALFORMED_PHONE_RATE, MISSING_NAME_RATE = 0.02, 0.03, 0.005
MIXED_DATE_RATE, DUPLICATE_RATE = 0.04, 0.02
CONTACT_COLUMNS = ("Contact ID", "First Name", "Last Name", "E-mail Address", "Mobile Phone", "Home Phone",
                   "Date of Birth", "Street", "City", "State", "ZIP", "Owner Email", "Created")
_APPT = ("Appt ID", "Contact ID", "Start", "Duration (min)", "Provider", "Type", "Status")
_COMPANY = ("Company Name", "Industry", "Phone", "Website", "City")
_DEALS = ("Deal ID", "Deal Name", "Contact ID", "Amount", "Stage", "Close Date")
_NOTES = ("Note ID", "Contact ID", "Created", "Note")
_STAGES = ("Proposed", "Accepted", "In Progress", "Completed", "Declined")


def _us(d: dt.date) -> str:
    return f"{d.month:02d}/{d.day:02d}/{d.year:04d}"


def _contacts(rng, region, n: int, owners: list[str], truth: Truth) -> tuple[list[dict], list[dict]]:
    n_dup = at_least_one(DUPLICATE_RATE, n)
    people = households(rng, n - n_dup, region)
    insert_duplicates(rng, people, n_dup, visited=False)
    rows = [{"Contact ID": f"CT-{1000 + k}", "First Name": h.first, "Last Name": h.last, "E-mail Address": h.email,
             "Mobile Phone": h.mobile, "Home Phone": h.home, "Date of Birth": _us(h.birth),
             "Street": h.address1, "City": h.city, "State": h.state, "ZIP": h.zip, "Owner Email": rng.choice(owners),
             "Created": _us(h.created)} for k, h in enumerate(people)]
    free = [i for i, h in enumerate(people) if h.duplicate_of is None and not h.extra.get("has_dup")]
    f = "contacts.csv"
    emailed = [i for i in free if rows[i]["E-mail Address"]]
    for i in sorted(rng.sample(emailed, min(at_least_one(INVALID_EMAIL_RATE, n), len(emailed)))):
        rows[i]["E-mail Address"] = bad_email(rng, rows[i]["E-mail Address"])
        truth.plant("invalid_email", f, i, "E-mail Address", rows[i]["Contact ID"], rows[i]["E-mail Address"])
    for i in sorted(rng.sample(free, min(at_least_one(MALFORMED_PHONE_RATE, n), len(free)))):
        col = "Mobile Phone" if rows[i]["Mobile Phone"] or not rows[i]["Home Phone"] else "Home Phone"
        rows[i][col] = bad_phone(rng, rows[i][col])
        truth.plant("malformed_phone", f, i, col, rows[i]["Contact ID"], rows[i][col])
    for i in sorted(rng.sample(free, min(at_least_one(MISSING_NAME_RATE, n), len(free)))):
        truth.plant("missing_name", f, i, "Last Name", rows[i]["Contact ID"], "", original=rows[i]["Last Name"])
        rows[i]["Last Name"] = ""
    for i in sorted(rng.sample(free, min(at_least_one(MIXED_DATE_RATE, n), len(free)))):
        style = rng.choice(("iso", "dotted"))
        value = variant_date(people[i].birth, style)
        truth.plant("mixed_date_format", f, i, "Date of Birth", rows[i]["Contact ID"], value, format=style,
                    original=rows[i]["Date of Birth"])
        rows[i]["Date of Birth"] = value
    return rows, [{"original": rows[people.index(h.duplicate_of)]["Contact ID"], "duplicate": rows[k]["Contact ID"],
                   "_index": k, "variation": h.variation} for k, h in enumerate(people) if h.duplicate_of is not None]


def _workbook(path: Path, rng, contacts: list[dict]) -> dict:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Deals"
    ws.append(["Open deals, exported 03/14/2025"])
    ws.append(list(_DEALS))
    deals = 0
    for c in contacts:
        if rng.random() < 0.35:
            deals += 1
            code = rng.choice(tuple(PROCEDURES))
            close = rand_date(rng, TODAY - dt.timedelta(days=200), TODAY + dt.timedelta(days=90))
            ws.append([f"DL-{deals:05d}", f"{PROCEDURES[code][0]} – {c['Last Name'] or c['First Name']}", c["Contact ID"],
                       round(rng.uniform(*PROCEDURES[code][1:3]), 2), rng.choice(_STAGES),
                       dt.datetime(close.year, close.month, close.day)])
    notes = wb.create_sheet("Notes")
    notes.append(list(_NOTES))
    n_notes = 0
    for c in contacts:
        if rng.random() < 0.25:
            n_notes += 1
            when = rand_date(rng, TODAY - dt.timedelta(days=400), TODAY)
            notes.append([f"NT-{n_notes:05d}", c["Contact ID"], dt.datetime(when.year, when.month, when.day, rng.randrange(8, 18)),
                          rng.choice(("Called, left voicemail", "Asked about financing, sent brochure",
                                      "Prefers text messages; do not call at work"))])
    wb.save(path)
    return {"crm_export.deals": deals, "crm_export.notes": n_notes}


def generate(out: str | Path, *, patients: int, seed: int) -> Path:
    """Write the folder; see the module docstring.

    Raises:
        ValueError: fewer than 20 contacts asked for.
    """
    if patients < 20:
        raise ValueError("generate at least 20 contacts so every defect kind can be planted")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    master = random.Random(seed)
    rng = random.Random(master.getrandbits(64))
    region = pick_region(master)
    truth = Truth()
    domain = "frontdeskpro.com"
    users = [{"email": f"{ascii_fold(rng.choice(FEMALE))}.{ascii_fold(rng.choice(LAST))}{i}@{domain}",
              "firstName": "Staff", "lastName": str(i + 1), "role": "admin" if i == 0 else "user"} for i in range(3)]
    contacts, pairs = _contacts(rng, region, patients, [u["email"] for u in users], truth)
    lines = write_csv(out / "contacts.csv", CONTACT_COLUMNS, contacts, encoding="utf-8-sig", line_terminator="\r\n")
    truth.resolve("contacts.csv", lines)
    for p in pairs:
        k = p.pop("_index")
        truth.defects.append({"kind": "duplicate_contact", "file": "contacts.csv", "row": lines[k], "column": "Contact ID",
                              "id": p["duplicate"], "value": p["duplicate"], "duplicate_of": p["original"],
                              "variation": p["variation"]})
    appts = []
    for c in contacts:
        for _ in range(rng.choice((0, 1, 1, 2))):
            d = rand_date(rng, TODAY - dt.timedelta(days=300), TODAY + dt.timedelta(days=60))
            appts.append({"Appt ID": str(50000 + len(appts)), "Contact ID": c["Contact ID"],
                          "Start": f"{d.isoformat()} {rng.randrange(8, 17):02d}:{rng.choice((0, 30)):02d}:00",
                          "Duration (min)": str(rng.choice((30, 60))),
                          "Provider": f"Dr. {rng.choice(LAST)}", "Type": rng.choice(("Cleaning", "Exam", "Filling")),
                          "Status": "Completed" if d <= TODAY else "Booked"})
    write_csv(out / "appointments.txt", _APPT, appts, encoding="utf-16", line_terminator="\r\n", delimiter="\t")
    companies = []
    for _ in range(max(3, patients // 50)):
        _a1, _a2, city, _z = street_address(rng, region)
        name = f"{rng.choice(LAST)} {rng.choice(('Dental Lab', 'Orthodontics', 'Family Dentistry', 'Imaging'))}"
        companies.append({"Company Name": name, "Industry": "Healthcare / Dental", "Phone": phone(rng, region),
                          "Website": f"www.{ascii_fold(name).replace(' ', '')}.com", "City": city})
    with open(out / "companies.csv", "w", encoding="cp1252", newline="") as fh:
        fh.write("Companies report – all locations\r\nExported 03/14/2025 17:45\r\n")
    body = out / "companies.tmp"
    write_csv(body, _COMPANY, companies, encoding="cp1252", delimiter=";")
    with open(out / "companies.csv", "ab") as fh:
        fh.write(body.read_bytes())
    body.unlink()
    counts = {"contacts": len(contacts), "appointments": len(appts), "companies": len(companies)}
    counts.update(_workbook(out / "crm_export.xlsx", rng, contacts))
    truth.counts.update(counts)
    write_json(out / "crm_users.json", users)
    expected = {
        "contacts": {"file": "contacts.csv", "encoding": "utf-8-sig", "delimiter": ",", "header_row": 1, "kind": "contacts"},
        "appointments": {"file": "appointments.txt", "encoding": "utf-16", "delimiter": "\t", "header_row": 1,
                         "kind": "appointments"},
        "companies": {"file": "companies.csv", "encoding": "cp1252", "delimiter": ";", "header_row": 3, "kind": "companies"},
        "crm_export.deals": {"file": "crm_export.xlsx[Deals]", "encoding": "xlsx", "header_row": 2, "kind": "deals"},
        "crm_export.notes": {"file": "crm_export.xlsx[Notes]", "encoding": "xlsx", "header_row": 1, "kind": "notes"},
    }

    class _Layout:  # what write_ground_truth reads off a layout
        version, encoding = "generic", "mixed"

    write_ground_truth(out, source="generic-csv", layout=_Layout, seed=seed, patients=patients, truth=truth, rates={
        "invalid_email": INVALID_EMAIL_RATE, "malformed_phone": MALFORMED_PHONE_RATE, "missing_name": MISSING_NAME_RATE,
        "mixed_date_format": MIXED_DATE_RATE, "duplicate_contact": DUPLICATE_RATE},
        expected_detection=expected, date_formats={"contacts": {"Date of Birth": "%m/%d/%Y", "Created": "%m/%d/%Y"}},
        crm_users_file="crm_users.json")
    return out
