"""Generate a synthetic Exact Online division of a dental practice, with planted defects.

``generate(out, patients=N, seed=S)`` writes what the EXACT sandbox serves and what tests check
against:

* ``out/dataset/<Entity>.json``: one JSON list per entity, each record exactly as the API's JSON
  carries it (Exact field names, ``/Date(ms)/`` dates, GUID keys, every field present, ``null``
  when empty), in the order the division created them; ``out/dataset/manifest.json`` names the
  division, its country and currency and counts the records.
* ``out/ground_truth.json``: every planted defect (kind, entity, record id, field, value), the
  duplicate pairs, the users with no CRM user, and the expected counts.
* ``out/crm_users.json``: the practice's existing CRM users, for owner resolution.

The practice is in the UK by default (``country="AU"`` or ``"NZ"`` also work): UK postcodes,
``+44`` numbers, GBP, and staff who type dates into free-text fields as dd/mm/yyyy. The same seed
gives byte-identical files: all randomness comes from ``random.Random`` streams derived from the
seed, the export moment is a constant, and nothing iterates a set.

Planted defects (rates are of patients; counts are exact, ``max(1, round(rate * n))``):

* ``MISSING_EMAIL_RATE`` 12% no Email (``missing_email``); ``INVALID_EMAIL_RATE`` 2%
  (``invalid_email``); ``MALFORMED_PHONE_RATE`` 4% a Mobile that is no number (``malformed_phone``);
  ``MISSING_NAME_RATE`` 0.5% no LastName (``missing_name``).
* ``DUPLICATE_RATE`` 2%: a patient entered twice under a new ID (``duplicate_contact``).
* ``FREE_TEXT_DATE_RATE`` 5% of the "Next recall" free-text values in a layout other than
  dd/mm/yyyy (``free_text_date_layout``).
* One account that is its own parent (``circular_parent``) and one whose parent does not exist
  (``broken_reference``).
* ``UNMAPPED_STAGE_RATE`` 3% of opportunities in a stage the practice added later, "Awaiting
  Finance" (``unmapped_stage``); one opportunity with no contact (``opportunity_without_contact``);
  one probability typed as a percentage (``probability_out_of_range``).
* One attachment declaring more than 25 MB (``oversized_attachment``); one Exact user with no CRM
  user (``user_unmatched``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import uuid
from pathlib import Path

from . import _activity
from ._odata import to_odata_date
from ._people import ACCENTED, FEMALE, LAST, MALE, NICKNAMES, REGIONS, Region, ascii_fold, email_for, street_address

__all__ = ["generate", "AS_OF", "MISSING_EMAIL_RATE", "INVALID_EMAIL_RATE", "MALFORMED_PHONE_RATE",
           "MISSING_NAME_RATE", "DUPLICATE_RATE", "FREE_TEXT_DATE_RATE", "ENTITIES"]

#: the moment the division is "exported": fixed, never now, so the same seed gives the same bytes
AS_OF = dt.datetime(2025, 3, 14, 17, 45)
TODAY = AS_OF.date()
DIVISION = 2710114
MISSING_EMAIL_RATE = 0.12
INVALID_EMAIL_RATE = 0.02
MALFORMED_PHONE_RATE = 0.04
MISSING_NAME_RATE = 0.005
DUPLICATE_RATE = 0.02
FREE_TEXT_DATE_RATE = 0.05
#: entity files in the order the sandbox assigns their rowversions
ENTITIES = ("Users", "Accounts", "Contacts", "Opportunities", "Tasks", "Events", "CommunicationNotes",
            "Documents", "DocumentAttachments", "FreeFields", "Workflows", "EmailTemplates", "Deleted")
PRACTICES = ("Harbourside Dental Care", "Minster Dental Practice", "Kirkgate Smile Studio", "Abbey Road Dental")
STAFF = (("Dentist", 3), ("Hygienist", 2), ("Treatment Coordinator", 1), ("Practice Manager", 1))


def _k(rate: float, n: int) -> int:
    return max(1, round(rate * n)) if n else 0


class Ids:
    """Deterministic GUIDs from the seed (uuid4 layout, RNG bits)."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def __call__(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


class Truth:
    """Accumulates ``ground_truth.json``."""

    def __init__(self):
        self.defects: list[dict] = []
        self.extra: dict = {}

    def plant(self, kind: str, entity: str, record_id: str, field: str | None, value, **more) -> None:
        self.defects.append({"kind": kind, "entity": entity, "id": record_id, "field": field, "value": value, **more})


def rand_dt(rng: random.Random, lo: dt.date, hi: dt.date) -> dt.datetime:
    """A business-hours moment on a day in [lo, hi], never after the export moment."""
    span = max(0, (hi - lo).days)
    day = lo + dt.timedelta(days=rng.randrange(span + 1))
    minute = rng.randrange(8 * 60, 18 * 60)
    return min(dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60), AS_OF)


def code18(n: int) -> str:
    """Exact's account code: numeric, left-padded with spaces to 18 characters (exact.md §5)."""
    return f"{n:>18d}"


def _users(rng: random.Random, ids: Ids, domain: str, truth: Truth) -> tuple[list[dict], list[dict]]:
    rows, crm = [], []
    for role, n in STAFF:
        for _ in range(n):
            first, last = rng.choice(FEMALE + MALE), rng.choice(LAST)
            email = f"{ascii_fold(first)}.{ascii_fold(last)}@{domain}"
            created = rand_dt(rng, TODAY - dt.timedelta(days=6 * 365), TODAY - dt.timedelta(days=400))
            rows.append({"UserID": ids(), "UserName": email, "FullName": f"{first} {last}", "FirstName": first,
                         "LastName": last, "Email": email, "Title": "Dr" if role == "Dentist" else None,
                         "JobTitle": role, "StartDate": to_odata_date(created.date()), "EndDate": None,
                         "Created": to_odata_date(created), "Modified": to_odata_date(created)})
    # the second dentist left: no CRM user will ever exist for them (owner fallback case)
    left = rows[1]
    left["EndDate"] = to_odata_date(TODAY - dt.timedelta(days=200))
    truth.plant("user_unmatched", "Users", left["UserID"], "Email", left["Email"])
    for r in rows:
        if r is not left:
            crm.append({"email": r["Email"], "firstName": r["FirstName"], "lastName": r["LastName"],
                        "role": "admin" if r["JobTitle"] == "Practice Manager" else "user"})
    # the CRM also has the practice's shared front-desk login, which owns unmatched records
    crm.append({"email": f"office@{domain}", "firstName": "Front", "lastName": "Desk", "role": "admin"})
    for n, u in enumerate(crm, start=1):
        u["id"] = f"SbxUserExact{n:08d}"  # HighLevel-shaped 20-character user ids
    return rows, crm


def _account(ids: Ids, seq: int, name: str, addr, region: Region, manager: dict, created: dt.datetime,
             **fields) -> dict:
    rec = {"ID": ids(), "Code": code18(seq), "Name": name, "Parent": None, "MainContact": None,
           "AccountManager": manager["UserID"], "AccountManagerFullName": manager["FullName"], "Email": None,
           "Phone": None, "Website": None, "AddressLine1": addr[0], "City": addr[1], "State": addr[2],
           "Postcode": addr[3], "Country": region.country, "Status": "C", "IsSupplier": False,
           "ChamberOfCommerce": None, "Remarks": None, "SectorDescription": None, "CompanySizeDescription": None,
           "Created": to_odata_date(created), "Modified": to_odata_date(created)}
    rec.update(fields)
    return rec


_SECTORS = ("Manufacturing", "Logistics", "Public administration", "Engineering", "Retail")
_SIZES = ("1-10", "11-50", "51-200", "201-500")


def _business(name: str) -> dict:
    """A business account's sector (industry) and size band, read off its name so that adding them
    draws nothing from the random stream (every other generated value stays as it was)."""
    n = sum(map(ord, name))
    sector = "Dental practice" if "Dental" in name else _SECTORS[n % len(_SECTORS)]
    return {"SectorDescription": sector, "CompanySizeDescription": _SIZES[n % len(_SIZES)]}


def _contact(ids: Ids, account: dict, first: str, last: str, birth: dt.date, gender: str, created: dt.datetime,
             **fields) -> dict:
    rec = {"ID": ids(), "Account": account["ID"], "AccountName": account["Name"], "Title": None,
           "FirstName": first, "MiddleName": None, "LastName": last, "FullName": f"{first} {last}",
           "Email": None, "Phone": None, "Mobile": None, "BusinessPhone": None,
           "BirthDate": to_odata_date(birth), "Gender": gender, "JobTitleDescription": None,
           "IsMainContact": False, "Notes": None, "FreeTextField_01": None, "FreeTextField_02": None,
           "FreeTextField_03": None, "FreeDateField_01": None, "FreeNumberField_01": None,
           "FreeBoolField_01": None, "Created": to_odata_date(created), "Modified": to_odata_date(created)}
    rec.update(fields)
    return rec


def _birth(rng: random.Random, lo_age: int, hi_age: int) -> dt.date:
    return TODAY - dt.timedelta(days=rng.randrange(lo_age * 365, hi_age * 365))


def _patient_fields(rng: random.Random, region: Region, birth: dt.date, referrers: list[str]) -> dict:
    """Free fields a practice keeps on a patient: referrer, recall, payment plan, SMS consent."""
    last_recall = rand_dt(rng, TODAY - dt.timedelta(days=420), TODAY - dt.timedelta(days=10)).date()
    interval = rng.choice((6, 6, 6, 12, 3))
    nxt = last_recall + dt.timedelta(days=interval * 30)
    return {
        "FreeTextField_01": rng.choice(referrers) if rng.random() < 0.3 else None,
        "FreeTextField_02": nxt.strftime("%d/%m/%Y"),
        "FreeTextField_03": rng.choice(("Private", "Denplan", "Practice Plan", "NHS", "Private")),
        "FreeDateField_01": to_odata_date(last_recall),
        "FreeNumberField_01": interval,
        "FreeBoolField_01": rng.random() < 0.8,
    }


def _households(rng: random.Random, ids: Ids, n: int, region: Region, dentists: list[dict], referrers: list[str],
                start_seq: int) -> tuple[list[dict], list[dict]]:
    accounts, contacts = [], []
    seq = start_seq
    accented = list(ACCENTED)
    while len(contacts) < n:
        size = min(rng.choices((1, 2, 3, 4, 5), weights=(45, 25, 15, 11, 4))[0], n - len(contacts))
        last = rng.choice(LAST)
        first_head = rng.choice(FEMALE + MALE)
        if accented and rng.random() < 0.5:
            first_head, last = accented.pop(0)
        addr = street_address(rng, region)
        home = region.landline(rng)
        created = rand_dt(rng, TODAY - dt.timedelta(days=12 * 365), TODAY - dt.timedelta(days=2))
        seq += 1
        name = f"{first_head} {last}" if size == 1 else f"{last} Family"
        acc = _account(ids, seq, name, addr, region, rng.choice(dentists), created, Phone=home,
                       Remarks="Private patient household")
        accounts.append(acc)
        for i in range(size):
            adult = i < 2
            gender = rng.choice("MF")
            first = first_head if i == 0 else rng.choice(FEMALE if gender == "F" else MALE)
            if i == 0:
                gender = "F" if first in FEMALE or first in ("Zoë", "Siobhán", "Chloé") else "M"
            birth = _birth(rng, 24, 80) if adult else _birth(rng, 3, 17)
            c_created = created + dt.timedelta(minutes=5 * i)
            email = email_for(rng, first, last, birth.year) if adult or rng.random() < 0.3 else None
            if email is None:
                email = contacts[-i]["Email"]  # a child reached through the parent's inbox
            modified = rand_dt(rng, c_created.date(), TODAY)
            rec = _contact(ids, acc, first, last, birth, gender, c_created,
                           Title=("Mr" if gender == "M" else rng.choice(("Mrs", "Ms", "Miss"))) if adult else None,
                           Email=email, Phone=home,
                           Mobile=region.mobile(rng) if adult or birth < TODAY - dt.timedelta(days=13 * 365) else None,
                           IsMainContact=i == 0, Modified=to_odata_date(max(modified, c_created)),
                           **_patient_fields(rng, region, birth, referrers))
            rec["_patient"] = True
            contacts.append(rec)
            if i == 0:
                acc["MainContact"] = rec["ID"]
                acc["Email"] = email
    return accounts, contacts


def _businesses(rng: random.Random, ids: Ids, n_patients: int, region: Region, users: list[dict], start_seq: int,
                truth: Truth) -> tuple[list[dict], list[dict], list[str]]:
    """Employers with corporate dental plans and referring practices, in groups with parents."""
    accounts, contacts = [], []
    seq = start_seq
    manager = next(u for u in users if u["JobTitle"] == "Practice Manager")
    groups = (("Northgate Holdings plc", ("Northgate Logistics Ltd", "Northgate Foods Ltd")),
              ("Smile Group Dental Ltd", ("Smile Group Dental Leeds", "Smile Group Dental York")),
              ("Aire Valley Council", ()), ("Ridings Engineering Ltd", ()))
    referrers = []
    for parent_name, children in groups[: max(2, min(len(groups), n_patients // 25))]:
        created = rand_dt(rng, TODAY - dt.timedelta(days=8 * 365), TODAY - dt.timedelta(days=300))
        seq += 1
        slug = ascii_fold(parent_name.split()[0])
        parent = _account(ids, seq, parent_name, street_address(rng, region), region, manager, created,
                          Website=f"https://www.{slug}.example", Phone=region.landline(rng),
                          ChamberOfCommerce=f"{rng.randrange(10**7):08d}", Status=rng.choice(("C", "P")),
                          **_business(parent_name))
        accounts.append(parent)
        for child in children:
            seq += 1
            acc = _account(ids, seq, child, street_address(rng, region), region, manager, created,
                           Parent=parent["ID"], Phone=region.landline(rng), Status=rng.choice(("C", "P", "S")),
                           **_business(child))
            accounts.append(acc)
        for acc in [a for a in accounts if a is parent or a["Parent"] == parent["ID"]]:
            first, last = rng.choice(FEMALE + MALE), rng.choice(LAST)
            dental = "Dental" in acc["Name"]
            rec = _contact(ids, acc, first, last, _birth(rng, 28, 62), rng.choice("MF"), created,
                           Title="Dr" if dental else None,
                           Email=f"{ascii_fold(first)}.{ascii_fold(last)}@{slug}.example",
                           BusinessPhone=acc["Phone"], IsMainContact=True,
                           JobTitleDescription="Referring dentist" if dental else "HR Manager")
            contacts.append(rec)
            acc["MainContact"] = rec["ID"]
            if dental:
                referrers.append(f"Dr {first} {last}, {acc['Name']}")
    # defects: an account that is its own parent, one whose parent is gone
    own = accounts[-1]
    own["Parent"] = own["ID"]
    truth.plant("circular_parent", "Accounts", own["ID"], "Parent", own["ID"])
    ghost = ids()
    orphan = accounts[0]
    orphan["Parent"] = ghost
    truth.plant("broken_reference", "Accounts", orphan["ID"], "Parent", ghost)
    return accounts, contacts, referrers or ["Dr A Referrer, Smile Group Dental"]


def _duplicate(rng: random.Random, ids: Ids, orig: dict, how: str) -> dict:
    dup = dict(orig, ID=ids())
    first = orig["FirstName"]
    if how == "nickname" and first in NICKNAMES:
        dup["FirstName"] = NICKNAMES[first]
    elif how == "case":
        dup["FirstName"], dup["LastName"] = first.upper(), orig["LastName"].upper()
    else:
        dup["FirstName"] = f" {first}  "
    dup["FullName"] = f"{dup['FirstName'].strip()} {dup['LastName']}"
    dup["IsMainContact"] = False
    return dup


def _plant_contact_defects(rng: random.Random, ids: Ids, contacts: list[dict], n_patients: int,
                           truth: Truth) -> list[dict]:
    patients = [c for c in contacts if c.get("_patient")]
    adults = [c for c in patients if c["Email"] and c["Mobile"] and c["Title"]]
    n_dup = _k(DUPLICATE_RATE, n_patients)
    originals = rng.sample(adults, min(n_dup, len(adults)))
    protected = {c["ID"] for c in originals}
    out = list(contacts)
    for j, orig in enumerate(originals):
        dup = _duplicate(rng, ids, orig, ("nickname", "case", "whitespace")[j % 3])
        pos = out.index(orig) + 1 + rng.randrange(len(out) - out.index(orig))
        out.insert(pos, dup)
        protected.add(dup["ID"])
        truth.plant("duplicate_contact", "Contacts", dup["ID"], "FirstName", dup["FirstName"], duplicate_of=orig["ID"])
        truth.extra.setdefault("duplicate_pairs", []).append({"kept": orig["ID"], "duplicate": dup["ID"]})
    free = [c for c in patients if c["ID"] not in protected]
    picks = rng.sample(free, min(len(free), _k(MISSING_EMAIL_RATE, n_patients) + _k(INVALID_EMAIL_RATE, n_patients)
                                 + _k(MALFORMED_PHONE_RATE, n_patients) + _k(MISSING_NAME_RATE, n_patients)))
    n_missing, n_invalid = _k(MISSING_EMAIL_RATE, n_patients), _k(INVALID_EMAIL_RATE, n_patients)
    n_phone = _k(MALFORMED_PHONE_RATE, n_patients)
    for i, c in enumerate(picks):
        if i < n_missing:
            truth.plant("missing_email", "Contacts", c["ID"], "Email", c["Email"])
            c["Email"] = None
        elif i < n_missing + n_invalid:
            bad = c["Email"] or email_for(rng, c["FirstName"], c["LastName"] or "x", 1990)
            bad = bad.replace("@", "", 1) if i % 2 else bad.replace(".", "..", 1)
            c["Email"] = bad
            truth.plant("invalid_email", "Contacts", c["ID"], "Email", bad)
        elif i < n_missing + n_invalid + n_phone:
            c["Mobile"] = rng.choice(("07700 9001", "n/a", "ring after 5pm", "+44 7700"))
            truth.plant("malformed_phone", "Contacts", c["ID"], "Mobile", c["Mobile"])
        else:
            truth.plant("missing_name", "Contacts", c["ID"], "LastName", c["LastName"])
            c["LastName"] = None
            c["FullName"] = c["FirstName"]
    recall = [c for c in patients if c["FreeTextField_02"] and c["ID"] not in protected]
    for c in rng.sample(recall, min(len(recall), _k(FREE_TEXT_DATE_RATE, n_patients))):
        day = dt.datetime.strptime(c["FreeTextField_02"], "%d/%m/%Y")
        c["FreeTextField_02"] = rng.choice((day.strftime("%Y-%m-%d"), day.strftime("%d.%m.%y"),
                                            day.strftime("%B %Y"), f"{day.month}/{day.day}/{day.year}"))
        truth.plant("free_text_date_layout", "Contacts", c["ID"], "FreeTextField_02", c["FreeTextField_02"])
    return out


def _write_json(path: Path, data) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=0, sort_keys=False)
        fh.write("\n")


def generate(out: str | Path, *, patients: int, seed: int, country: str = "GB") -> Path:
    """Write a synthetic Exact Online division (see the module docstring).

    Args:
        out: the folder to write (created if missing; existing files are overwritten).
        patients: patient contacts (duplicates included); other entities scale with it.
        seed: the random seed; the same seed gives byte-identical files.
        country: ``GB``, ``AU`` or ``NZ``.

    Returns:
        The folder written.
    """
    if patients < 20:
        raise ValueError("generate at least 20 patients so every defect kind can be planted")
    if country not in REGIONS:
        raise ValueError(f"country must be one of {', '.join(REGIONS)}")
    region = REGIONS[country]
    out = Path(out)
    (out / "dataset").mkdir(parents=True, exist_ok=True)
    master = random.Random(seed)
    streams = {n: random.Random(master.getrandbits(64)) for n in ("ids", "users", "people", "defects", "activity")}
    ids = Ids(streams["ids"])
    truth = Truth()
    practice = PRACTICES[master.randrange(len(PRACTICES))]
    domain = ascii_fold(practice.split()[0]) + "-dental.example"

    users, crm_users = _users(streams["users"], ids, domain, truth)
    dentists = [u for u in users if u["JobTitle"] == "Dentist"]
    biz_accounts, biz_contacts, referrers = _businesses(streams["people"], ids, patients, region, users, 0, truth)
    n_dup = _k(DUPLICATE_RATE, patients)
    hh_accounts, hh_contacts = _households(streams["people"], ids, patients - n_dup, region, dentists, referrers,
                                           len(biz_accounts))
    accounts = biz_accounts + hh_accounts
    contacts = _plant_contact_defects(streams["defects"], ids, biz_contacts + hh_contacts, patients, truth)
    data = _activity.generate(streams["activity"], ids, truth, users=users, accounts=accounts, contacts=contacts,
                              region=region, as_of=AS_OF, domain=domain, practice=practice)
    data.update(Users=users, Accounts=accounts, Contacts=contacts)
    for c in contacts:
        c.pop("_patient", None)

    counts = {}
    for name in ENTITIES:
        _write_json(out / "dataset" / f"{name}.json", data[name])
        counts[name] = len(data[name])
    _write_json(out / "dataset" / "manifest.json", {
        "format": "exact-online-sandbox/1", "division": DIVISION, "company": practice, "country": country,
        "currency": region.currency, "exported_at": AS_OF.isoformat(), "counts": counts})
    _write_json(out / "ground_truth.json", {"seed": seed, "patients": patients, "counts": counts,
                                            "defects": truth.defects, **truth.extra})
    _write_json(out / "crm_users.json", crm_users)
    return out
