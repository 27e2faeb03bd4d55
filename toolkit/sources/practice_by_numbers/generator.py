"""Generate a realistic synthetic Practice by Numbers export with planted defects and their truth.

``generate(out, patients=N, seed=S)`` writes into ``out`` one UTF-8/LF CSV per object of the
declared layout (``layout.yaml``, ``pbn-2``), ``campaigns.csv`` (engagement campaigns, read as
automation definitions), ``crm_users.json`` (the destination's users, for owner resolution) and
``ground_truth.json`` (every planted defect: kind, file, 1-based line, column, id, value). The
same seed gives byte-identical files.

Defects typical of an analytics layer that syncs from the practice's PMS (rates are of patients
unless stated; counts are ``max(1, round(rate * n))``):

* ``DUPLICATE_RATE`` 2%: the same person synced twice under two patient ids (name varied by a
  nickname, case or whitespace; same birth date and mobile/e-mail) — ``duplicate_patient``.
* ``MISSING_EMAIL_RATE`` 10% (``missing_email``), ``INVALID_EMAIL_RATE`` 2% (``invalid_email``).
* ``MALFORMED_PHONE_RATE`` 3% (``malformed_phone``), ``MISSING_NAME_RATE`` 0.5% (``missing_name``).
* ``MIXED_DATE_RATE`` 3% of birth dates in a US or other layout instead of ISO
  (``mixed_date_format``): what a PMS sync leaves behind.
* ``ORPHAN_APPOINTMENTS`` (2) appointments whose patient was deleted in the PMS
  (``broken_reference``).
* ``BAD_CDT_RATE`` 1% of procedure-log rows with a code that is not ``D`` + four digits
  (``invalid_cdt_code``).
* ``CARRIER_VARIANT_RATE`` 6% of insurance rows with a misspelt or variant carrier
  (``carrier_variant``, with ``canonical``).
* ``BAD_PROBABILITY`` (2) cases with a probability over 100 (``probability_out_of_range``).
* Staff: one without an e-mail (``staff_missing_email``) and one whose e-mail matches no CRM user
  (``staff_unmatched_user``, found by owner resolution, not the audit).
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from .._synth_defects import bad_email, bad_phone, variant_date
from .._synth_export import (TODAY, ExportFiles, Truth, at_least_one, export_folder, rand_date, random_streams,
                             write_ground_truth, write_json)
from .._synth_households import Human, duplicate_pairs, households, insert_duplicates
from .._synth_people import FEMALE, LAST, MALE, ascii_fold, npi, phone, pick_region, street_address
from ._activity import generate_activity
from ._campaigns import write_campaigns
from ._layout import load_layout

__all__ = ["generate", "DUPLICATE_RATE", "MISSING_EMAIL_RATE", "INVALID_EMAIL_RATE",
           "MALFORMED_PHONE_RATE", "MISSING_NAME_RATE", "MIXED_DATE_RATE", "ORPHAN_APPOINTMENTS",
           "BAD_CDT_RATE", "CARRIER_VARIANT_RATE", "BAD_PROBABILITY"]

DUPLICATE_RATE = 0.02
MISSING_EMAIL_RATE = 0.10
INVALID_EMAIL_RATE = 0.02
MALFORMED_PHONE_RATE = 0.03
MISSING_NAME_RATE = 0.005
MIXED_DATE_RATE = 0.03
ORPHAN_APPOINTMENTS = 2
BAD_CDT_RATE = 0.01
CARRIER_VARIANT_RATE = 0.06
BAD_PROBABILITY = 2

_GROUPS = ("Bright Smiles Dental", "Harbor Family Dentistry", "Summit Dental Group", "Maple Grove Dental")
_PMS = ("Open Dental", "Dentrix", "Eaglesoft", "Dentrix Ascend")
_TZ = {"MA": "America/New_York", "NJ": "America/New_York", "CT": "America/New_York",
       "RI": "America/New_York"}


def ts(t: dt.datetime) -> str:
    """PbN's timestamp layout (UTC): YYYY-MM-DD HH:MM:SS."""
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _offices(rng: random.Random, n_patients: int, region) -> tuple[list[dict], str]:
    group = rng.choice(_GROUPS)
    pms = rng.choice(_PMS)
    rows = []
    for i in range(min(4, 1 + n_patients // 400)):
        a1, _a2, city, zip5 = street_address(rng, region)
        rows.append({"office_id": str(101 + i), "office_name": f"{group} – {city}",
                     "address_line1": a1, "city": city, "state": region.state, "zip": zip5,
                     "phone": phone(rng, region), "timezone": _TZ.get(region.state, "America/New_York"),
                     "pms_system": pms})
    domain = ascii_fold(group).replace("–", "") + ".com"
    return rows, domain


def _staff(rng: random.Random, offices: list[dict], domain: str, truth: Truth):
    rows = []
    taken: set[str] = set()
    for o in offices:
        for role, n in (("Dentist", rng.choice((1, 2))), ("Hygienist", rng.choice((1, 2, 3))),
                        ("Assistant", 1), ("Front Desk", 1)):
            for _ in range(n):
                gender = rng.choice("MF")
                first, last = rng.choice(MALE if gender == "M" else FEMALE), rng.choice(LAST)
                local = f"{ascii_fold(first)[0]}{ascii_fold(last)}"
                while local in taken:
                    local += str(len(taken) % 10)
                taken.add(local)
                rows.append({"staff_id": f"ST{len(rows) + 1:03d}", "office_id": o["office_id"],
                             "first_name": first, "last_name": last, "role": role,
                             "email": f"{local}@{domain}",
                             "npi": npi(rng) if role in ("Dentist", "Hygienist") else "",
                             "active": "true"})
    rows.append({"staff_id": f"ST{len(rows) + 1:03d}", "office_id": offices[0]["office_id"],
                 "first_name": rng.choice(FEMALE), "last_name": rng.choice(LAST),
                 "role": "Office Manager", "email": f"office@{domain}", "npi": "", "active": "true"})
    no_email = [i for i, r in enumerate(rows) if r["role"] == "Front Desk"][-1]
    unmatched = [i for i, r in enumerate(rows) if r["role"] == "Hygienist"][-1]
    truth.plant("staff_missing_email", "staff.csv", no_email, "email", rows[no_email]["staff_id"], "",
                original=rows[no_email]["email"])
    rows[no_email]["email"] = ""
    truth.plant("staff_unmatched_user", "staff.csv", unmatched, "email", rows[unmatched]["staff_id"],
                rows[unmatched]["email"], detected_by="owner_resolution")
    users = [{"email": r["email"], "firstName": r["first_name"], "lastName": r["last_name"],
              "role": "admin" if r["role"] == "Office Manager" else "user"}
             for i, r in enumerate(rows) if r["email"] and i != unmatched]
    return rows, users


def _status(h: Human, rng: random.Random) -> str:
    if h.extra.get("prospect"):
        return "New"
    if h.extra.get("active"):
        return "Active"
    return "Archived" if rng.random() < 0.1 else "Inactive"


def _patient_rows(rng: random.Random, people: list[Human], offices, staff) -> list[dict]:
    rows = []
    dentists = {o["office_id"]: [s["staff_id"] for s in staff if s["office_id"] == o["office_id"]
                                 and s["role"] == "Dentist"] for o in offices}
    office_of: dict[int, str] = {}
    for seq, h in enumerate(people, start=1):
        office = office_of.setdefault(h.household, offices[h.household % len(offices)]["office_id"])
        if h.duplicate_of is not None:  # synced again from the other office's PMS
            office = offices[(h.household + 1) % len(offices)]["office_id"]
        created = dt.datetime.combine(h.created, dt.time(rng.randrange(8, 18), rng.randrange(60), rng.randrange(60)))
        updated = dt.datetime.combine(rand_date(rng, h.last_visit or h.created, TODAY),
                                      dt.time(rng.randrange(8, 20), rng.randrange(60), rng.randrange(60)))
        rows.append({
            "patient_id": str(200000 + seq), "office_id": office,
            "pms_patient_id": f"{rng.randrange(1000, 99999)}",
            "first_name": h.first, "last_name": h.last,
            "preferred_name": "", "birth_date": h.birth.isoformat(),
            "gender": {"M": "Male", "F": "Female"}[h.gender] if rng.random() > 0.01 else "Unknown",
            "email": h.email, "mobile_phone": h.mobile, "home_phone": h.home,
            "address_line1": h.address1, "address_line2": h.address2, "city": h.city,
            "state": h.state, "zip": h.zip, "status": _status(h, rng),
            "preferred_contact": rng.choice(("SMS", "SMS", "Email", "Phone", "None")),
            "household_id": f"HH{h.household:06d}",
            "assigned_staff_id": rng.choice(dentists[office]) if rng.random() < 0.85 else "",
            "first_visit_date": h.first_visit.isoformat() if h.first_visit else "",
            "last_visit_date": h.last_visit.isoformat() if h.last_visit else "",
            "created_at": ts(created), "updated_at": ts(max(created, updated)),
        })
    return rows


def _plant_patient_defects(rng: random.Random, rows: list[dict], people: list[Human], truth: Truth) -> None:
    f, n = "patients.csv", len(rows)
    free = [i for i, h in enumerate(people) if h.duplicate_of is None and not h.extra.get("has_dup")]
    order = free[:]
    rng.shuffle(order)
    with_email = [i for i in order if rows[i]["email"]]
    k_missing = min(at_least_one(MISSING_EMAIL_RATE, n), len(with_email))
    k_invalid = min(at_least_one(INVALID_EMAIL_RATE, n), len(with_email) - k_missing)
    for i in sorted(with_email[:k_missing]):
        truth.plant("missing_email", f, i, "email", rows[i]["patient_id"], "", original=rows[i]["email"])
        rows[i]["email"] = ""
    for i in sorted(with_email[k_missing:k_missing + k_invalid]):
        bad = bad_email(rng, rows[i]["email"])
        truth.plant("invalid_email", f, i, "email", rows[i]["patient_id"], bad)
        rows[i]["email"] = bad
    for j, i in enumerate(sorted(rng.sample(free, min(at_least_one(MISSING_NAME_RATE, n), len(free))))):
        col = ("first_name", "last_name")[j % 2]
        truth.plant("missing_name", f, i, col, rows[i]["patient_id"], "", original=rows[i][col])
        rows[i][col] = ""
    for i in sorted(rng.sample(free, min(at_least_one(MALFORMED_PHONE_RATE, n), len(free)))):
        col = "mobile_phone" if rows[i]["mobile_phone"] or not rows[i]["home_phone"] else "home_phone"
        bad = bad_phone(rng, rows[i][col])
        truth.plant("malformed_phone", f, i, col, rows[i]["patient_id"], bad)
        rows[i][col] = bad
    for i in sorted(rng.sample(free, min(at_least_one(MIXED_DATE_RATE, n), len(free)))):
        style = rng.choice(("us", "short_year", "dotted"))
        value = variant_date(people[i].birth, style)
        truth.plant("mixed_date_format", f, i, "birth_date", rows[i]["patient_id"], value, format=style,
                    original=rows[i]["birth_date"])
        rows[i]["birth_date"] = value


def generate(out: str | Path, *, patients: int, seed: int) -> Path:
    """Write a synthetic Practice by Numbers export.

    Args:
        out: the folder to write (created if missing; files are overwritten).
        patients: rows in patients.csv (duplicates included); other files scale with it.
        seed: the random seed; the same seed gives byte-identical files.

    Returns:
        The export folder.
    """
    out = export_folder(out, patients)
    layout = load_layout()
    master = random.Random(seed)
    rng = random_streams(master, ("org", "people", "defects", "activity"))
    region = pick_region(master)
    truth = Truth()
    emit = ExportFiles(out, layout, truth, encoding="utf-8", line_terminator="\n")

    offices, domain = _offices(rng["org"], patients, region)
    emit("offices", offices)
    staff, users = _staff(rng["org"], offices, domain, truth)
    emit("staff", staff)

    r = rng["people"]
    n_dup = at_least_one(DUPLICATE_RATE, patients)
    people = households(r, patients - n_dup, region)
    insert_duplicates(r, people, n_dup)
    rows = _patient_rows(r, people, offices, staff)
    _plant_patient_defects(rng["defects"], rows, people, truth)
    lines = emit("patients", rows)
    pairs = duplicate_pairs(people, rows, lines, key="patient_id", file="patients.csv", kind="duplicate_patient",
                            truth=truth)

    generate_activity(rng["activity"], emit, people, rows, offices, staff, truth,
                      orphans=ORPHAN_APPOINTMENTS, bad_cdt_rate=BAD_CDT_RATE,
                      carrier_rate=CARRIER_VARIANT_RATE, bad_probability=BAD_PROBABILITY)
    definitions = write_campaigns(out)
    write_json(out / "crm_users.json", users)
    write_ground_truth(out, source="practice-by-numbers", layout=layout, seed=seed, patients=patients,
                       truth=truth, rates={
                           "duplicate_patient": DUPLICATE_RATE, "missing_email": MISSING_EMAIL_RATE,
                           "invalid_email": INVALID_EMAIL_RATE, "malformed_phone": MALFORMED_PHONE_RATE,
                           "missing_name": MISSING_NAME_RATE, "mixed_date_format": MIXED_DATE_RATE,
                           "broken_reference": {"appointments.patient_id": ORPHAN_APPOINTMENTS},
                           "invalid_cdt_code": BAD_CDT_RATE, "carrier_variant": CARRIER_VARIANT_RATE,
                           "probability_out_of_range": BAD_PROBABILITY},
                       duplicate_pairs=pairs, crm_users_file="crm_users.json",
                       definition_files=definitions)
    return out
