"""Generate a realistic synthetic Dental-Exec export with planted defects and their ground truth.

``generate(out, patients=N, seed=S)`` writes into ``out`` one UTF-8-with-BOM/CRLF CSV per object
of the declared layout (``layout.yaml``, ``dx-4``), ``workflows.json`` and
``email_templates.csv`` (automation definitions), ``crm_users.json`` and ``ground_truth.json``.
``N`` counts patient contacts (duplicates and uncontacted prospects included); referring
dentists come on top. The same seed gives byte-identical files.

Planted defects (rates of patient contacts unless stated; counts ``max(1, round(rate * n))``):

* ``DUPLICATE_RATE`` 2%: a patient entered twice (``duplicate_contact``).
* ``INVALID_EMAIL_RATE`` 2%, ``MALFORMED_PHONE_RATE`` 3%, ``MISSING_NAME_RATE`` 0.5%.
* ``MIXED_DATE_RATE`` 4% of dates of birth in another layout (``mixed_date_format``).
* ``BAD_NPI`` (2) referring dentists whose NPI is not ten digits (``invalid_npi``).
* ``BAD_ADA_RATE`` 2% of treatment cases whose primary ADA code is not ``D`` + four digits
  (``invalid_ada_code``).
* ``CARRIER_VARIANT_RATE`` 6% of cases with a carrier misspelt (``carrier_variant``).
* ``CLAIM_STATUS_VARIANTS`` (2) cases with a claim status outside the pick-list
  (``picklist_variant``: "paid", "Denied - resubmit").
* ``CIRCULAR_PARENTS`` (2) loops of two practices that name each other as parent
  (``circular_parent``, one entry per practice on a loop).
* ``ORPHAN_TASKS`` (2) tasks whose contact no longer exists (``broken_reference``).
* ``OVERSIZED_DOCUMENTS`` (1) document declaring more than 25 MB (``oversized_document``).
* Users: one without an e-mail (``user_missing_email``) and one whose e-mail matches no CRM user
  (``user_unmatched``, found by owner resolution, not the audit).
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
from ._layout import load_layout
from ._workflows import write_definitions

__all__ = ["generate", "DUPLICATE_RATE", "INVALID_EMAIL_RATE", "MALFORMED_PHONE_RATE", "MISSING_NAME_RATE",
           "MIXED_DATE_RATE", "BAD_NPI", "BAD_ADA_RATE", "CARRIER_VARIANT_RATE", "CLAIM_STATUS_VARIANTS",
           "CIRCULAR_PARENTS", "ORPHAN_TASKS", "OVERSIZED_DOCUMENTS"]

DUPLICATE_RATE = 0.02
INVALID_EMAIL_RATE = 0.02
MALFORMED_PHONE_RATE = 0.03
MISSING_NAME_RATE = 0.005
MIXED_DATE_RATE = 0.04
BAD_NPI = 2
BAD_ADA_RATE = 0.02
CARRIER_VARIANT_RATE = 0.06
CLAIM_STATUS_VARIANTS = 2
CIRCULAR_PARENTS = 2
ORPHAN_TASKS = 2
OVERSIZED_DOCUMENTS = 1

_DSO = ("Crescent Dental Partners", "Northstar Dental Group", "Lighthouse Dental Alliance")
_SPECIALTY = ("General Dentistry", "Endodontics", "Periodontics", "Oral Surgery", "Orthodontics",
              "Prosthodontics", "Pediatric Dentistry")
_REFERRAL = (("RS1", "Referring dentist", "Referring Dentist"), ("RS2", "Google search", "Web"),
             ("RS3", "Practice website", "Web"), ("RS4", "Insurance directory", "Insurance"),
             ("RS5", "Friend or family", "Patient"), ("RS6", "Community health fair", "Event"))


def stamp(t: dt.datetime) -> str:
    """Dental-Exec's timestamp layout, MM/DD/YYYY HH:MM."""
    return t.strftime("%m/%d/%Y %H:%M")


def day(d: dt.date) -> str:
    """Dental-Exec's date layout, MM/DD/YYYY."""
    return d.strftime("%m/%d/%Y")


def _at(rng: random.Random, d: dt.date) -> dt.datetime:
    m = rng.randrange(8 * 60, 18 * 60)
    return dt.datetime(d.year, d.month, d.day, m // 60, m % 60)


def _users(rng: random.Random, domain: str, truth: Truth):
    roles = ("Administrator", "Dentist", "Dentist", "Hygienist", "Treatment Coordinator", "Treatment Coordinator",
             "Front Office", "Hygienist")
    rows = []
    for i, role in enumerate(roles):
        first = rng.choice(MALE if rng.random() < 0.5 else FEMALE)
        last = rng.choice(LAST)
        rows.append({"UserID": f"U{i + 1:02d}", "FullName": f"{first} {last}",
                     "Email": f"{ascii_fold(first)}.{ascii_fold(last)}{i}@{domain}", "Role": role, "Active": "Yes"})
    rows[-1]["Active"] = "No"
    truth.plant("user_missing_email", "users.csv", 6, "Email", rows[6]["UserID"], "", original=rows[6]["Email"])
    rows[6]["Email"] = ""
    truth.plant("user_unmatched", "users.csv", 3, "Email", rows[3]["UserID"], rows[3]["Email"],
                detected_by="owner_resolution")
    users = [{"email": r["Email"], "firstName": r["FullName"].split()[0], "lastName": r["FullName"].split()[-1],
              "role": "admin" if r["Role"] == "Administrator" else "user"}
             for i, r in enumerate(rows) if r["Email"] and i != 3]
    return rows, users


def _practices(rng: random.Random, n_patients: int, region, truth: Truth):
    dso = rng.choice(_DSO)
    now = dt.datetime.combine(TODAY, dt.time(9))
    rows = []

    def add(name, parent, ptype):
        a1, _a2, city, zip5 = street_address(rng, region)
        created = _at(rng, rand_date(rng, TODAY - dt.timedelta(days=2000), TODAY - dt.timedelta(days=200)))
        rows.append({"PracticeID": f"PR{len(rows) + 1:04d}", "PracticeName": name, "ParentPracticeID": parent,
                     "PracticeType": ptype, "Website": f"https://www.{ascii_fold(name.split(' –')[0])}.com",
                     "Phone": phone(rng, region), "Street": a1, "City": city, "State": region.state, "Zip": zip5,
                     "CreatedOn": stamp(created), "ModifiedOn": stamp(min(now, created + dt.timedelta(days=rng.randrange(400))))})
        return rows[-1]["PracticeID"]

    top = add(dso, "", "DSO")
    groups = [add(f"{dso.split()[0]} {region_name} Group", top, "Group")
              for region_name in ("North", "South", "East")[:2 + (n_patients > 600)]]
    locations = []
    for i in range(max(2, min(8, 1 + n_patients // 250))):
        locations.append(add(f"{dso.split()[0]} Dental – {rng.choice(region.cities)[0]} {i + 1}", groups[i % len(groups)],
                             "Location"))
    referring = [add(f"{rng.choice(LAST)} Family Dentistry", "", "Referring Office")
                 for _ in range(max(5, n_patients // 60))]
    # Loops: two referring offices that each record the other as their parent organisation.
    pool = list(range(len(rows) - len(referring), len(rows)))
    picked = rng.sample(pool, 2 * CIRCULAR_PARENTS)
    for a, b in zip(picked[::2], picked[1::2]):
        rows[a]["ParentPracticeID"], rows[b]["ParentPracticeID"] = rows[b]["PracticeID"], rows[a]["PracticeID"]
        for i, j in ((a, b), (b, a)):
            truth.plant("circular_parent", "practices.csv", i, "ParentPracticeID", rows[i]["PracticeID"],
                        rows[j]["PracticeID"], cycle=[rows[i]["PracticeID"], rows[j]["PracticeID"]])
    return rows, locations, [rows[i]["PracticeID"] for i in pool]


def _contact(h: Human, cid: str, role: str, status: str, practice: str, owner: str, rng, **more) -> dict:
    created = _at(rng, h.created)
    modified = _at(rng, rand_date(rng, h.last_visit or h.created, TODAY))
    return {"ContactID": cid, "LifecycleRole": role, "Status": status, "FirstName": h.first, "LastName": h.last,
            "Email": h.email, "Phone": h.home, "Mobile": h.mobile, "DateOfBirth": day(h.birth) if role != "Referring Dentist" else "",
            "Street": h.address1 + (f" {h.address2}" if h.address2 else ""), "City": h.city, "State": h.state,
            "Zip": h.zip, "JobTitle": "", "PracticeID": practice, "ReferringContactID": "", "ReferralSourceID": "",
            "NPI": "", "Specialty": "", "OwnerUserID": owner, "CreatedOn": stamp(created),
            "ModifiedOn": stamp(max(created, modified)), **more}


def _plant(rng: random.Random, rows: list[dict], people: list[Human], n: int, truth: Truth) -> None:
    f = "contacts.csv"
    free = [i for i, h in enumerate(people) if h.duplicate_of is None and not h.extra.get("has_dup")]
    emailed = [i for i in free if rows[i]["Email"]]
    for i in sorted(rng.sample(emailed, min(at_least_one(INVALID_EMAIL_RATE, n), len(emailed)))):
        bad = bad_email(rng, rows[i]["Email"])
        truth.plant("invalid_email", f, i, "Email", rows[i]["ContactID"], bad)
        rows[i]["Email"] = bad
    for i in sorted(rng.sample(free, min(at_least_one(MALFORMED_PHONE_RATE, n), len(free)))):
        col = "Mobile" if rows[i]["Mobile"] or not rows[i]["Phone"] else "Phone"
        bad = bad_phone(rng, rows[i][col])
        truth.plant("malformed_phone", f, i, col, rows[i]["ContactID"], bad)
        rows[i][col] = bad
    for j, i in enumerate(sorted(rng.sample(free, min(at_least_one(MISSING_NAME_RATE, n), len(free))))):
        col = ("FirstName", "LastName")[j % 2]
        truth.plant("missing_name", f, i, col, rows[i]["ContactID"], "", original=rows[i][col])
        rows[i][col] = ""
    for i in sorted(rng.sample(free, min(at_least_one(MIXED_DATE_RATE, n), len(free)))):
        style = rng.choice(("iso", "short_year", "dotted"))
        value = variant_date(people[i].birth, style)
        truth.plant("mixed_date_format", f, i, "DateOfBirth", rows[i]["ContactID"], value, format=style,
                    original=rows[i]["DateOfBirth"])
        rows[i]["DateOfBirth"] = value


def generate(out: str | Path, *, patients: int, seed: int) -> Path:
    """Write a synthetic Dental-Exec export.

    Args:
        out: the folder to write (created if missing; files are overwritten).
        patients: patient and prospect contacts (duplicates included); other files scale with it.
        seed: the random seed; the same seed gives byte-identical files.

    Returns:
        The export folder.
    """
    out = export_folder(out, patients)
    layout = load_layout()
    cols = {name: o.columns for name, o in layout.objects.items()}
    master = random.Random(seed)
    rng = random_streams(master, ("org", "people", "defects", "activity"))
    region = pick_region(master)
    truth = Truth()
    emit = ExportFiles(out, layout, truth, encoding="utf-8-sig", line_terminator="\r\n")

    r = rng["org"]
    users, crm_users = _users(r, f"{ascii_fold(rng['org'].choice(_DSO).split()[0])}dental.com", truth)
    emit("users", users)
    practices, locations, referring = _practices(r, patients, region, truth)
    emit("practices", practices)
    emit("referral_sources", [dict(zip(cols["referral_sources"], x)) for x in _REFERRAL])
    owners = [u["UserID"] for u in users if u["Role"] in ("Treatment Coordinator", "Front Office", "Dentist")]

    r = rng["people"]
    n_dup = at_least_one(DUPLICATE_RATE, patients)
    people = households(r, patients - n_dup, region, new_share=0.1)
    insert_duplicates(r, people, n_dup)
    dentists = []
    for k in range(max(5, patients // 40)):
        g = r.choice("MF")
        first, last = r.choice(MALE if g == "M" else FEMALE), r.choice(LAST)
        dentists.append(Human(first=first, last=last, gender=g, birth=TODAY, email=f"dr.{ascii_fold(last)}{k}@{ascii_fold(last)}dentistry.com",
                              mobile="", home=phone(r, region), address1="", address2="", city="", state=region.state,
                              zip="", household=-1, head=True, created=rand_date(r, TODAY - dt.timedelta(days=1500), TODAY)))
    rows = []
    practice_of: dict[int, str] = {}
    for h in people:
        cid = f"C{len(rows) + 1:06d}"
        practice = practice_of.setdefault(h.household, locations[h.household % len(locations)])
        if h.extra.get("prospect"):
            role, status = "Prospect", r.choice(("Cold Prospect", "Cold Prospect", "Referral Only", "Scheduled Prospect"))
        else:
            role, status = "Patient", "Active" if h.extra.get("active") else "Inactive"
        rows.append(_contact(h, cid, role, status, practice, r.choice(owners), r,
                             ReferralSourceID=r.choice(_REFERRAL)[0] if r.random() < 0.7 else ""))
    n_patients = len(rows)
    dentist_ids = []
    for h in dentists:
        cid = f"C{len(rows) + 1:06d}"
        dentist_ids.append(cid)
        rows.append(_contact(h, cid, "Referring Dentist", "Active", r.choice(referring), r.choice(owners), r,
                             JobTitle="DDS", NPI=npi(r), Specialty=r.choice(_SPECIALTY), DateOfBirth=""))
    for row in rows[:n_patients]:
        if row["ReferralSourceID"] == "RS1" or (row["LifecycleRole"] == "Prospect" and row["Status"] == "Referral Only"):
            row["ReferringContactID"] = r.choice(dentist_ids)
    _plant(rng["defects"], rows, people, n_patients, truth)
    for i in sorted(rng["defects"].sample(range(n_patients, len(rows)), BAD_NPI)):
        bad = rng["defects"].choice((rows[i]["NPI"][:9], f"{rows[i]['NPI'][:4]}-{rows[i]['NPI'][4:]}", "NPI pending"))
        truth.plant("invalid_npi", "contacts.csv", i, "NPI", rows[i]["ContactID"], bad, original=rows[i]["NPI"])
        rows[i]["NPI"] = bad
    lines = emit("contacts", rows)
    pairs = duplicate_pairs(people, rows, lines, key="ContactID", file="contacts.csv", kind="duplicate_contact",
                            truth=truth)
    generate_activity(rng["activity"], out, emit, people, rows[:n_patients], users, truth,
                      bad_ada_rate=BAD_ADA_RATE, carrier_rate=CARRIER_VARIANT_RATE,
                      claim_variants=CLAIM_STATUS_VARIANTS, orphan_tasks=ORPHAN_TASKS,
                      oversized=OVERSIZED_DOCUMENTS)
    definitions = write_definitions(out)
    write_json(out / "crm_users.json", crm_users)
    write_ground_truth(out, source="dental-exec", layout=layout, seed=seed, patients=patients, truth=truth, rates={
        "duplicate_contact": DUPLICATE_RATE, "invalid_email": INVALID_EMAIL_RATE,
        "malformed_phone": MALFORMED_PHONE_RATE, "missing_name": MISSING_NAME_RATE,
        "mixed_date_format": MIXED_DATE_RATE, "invalid_npi": BAD_NPI, "invalid_ada_code": BAD_ADA_RATE,
        "carrier_variant": CARRIER_VARIANT_RATE, "picklist_variant": CLAIM_STATUS_VARIANTS,
        "circular_parent": CIRCULAR_PARENTS, "broken_reference": {"tasks.ContactID": ORPHAN_TASKS},
        "oversized_document": OVERSIZED_DOCUMENTS},
        duplicate_pairs=pairs, prospects=sum(1 for x in rows if x["LifecycleRole"] == "Prospect"),
        referring_dentists=len(dentist_ids), crm_users_file="crm_users.json", definition_files=definitions)
    return out
