"""Generate a realistic synthetic Dent-O-Soft export with planted defects and their ground truth.

``generate(out, patients=N, seed=S)`` writes into ``out``: one cp1252/CRLF CSV per object of the
declared layout (``layout.yaml``), the automation rules and message templates
(``automation_rules.csv``, ``message_templates.csv``), a ``documents/`` folder of small files,
``crm_users.json`` (the
practice's existing CRM users, for owner resolution) and ``ground_truth.json`` (every planted
defect with kind, file, 1-based line, column, record id and value). The same seed gives
byte-identical files: all randomness comes from ``random.Random`` instances derived from the seed,
the export moment is a fixed constant, and nothing iterates a set or depends on hashing.

Planted defects (rates are of patients unless stated; counts are exact, ``max(1, round(rate*n))``):

* ``MISSING_EMAIL_RATE`` 12%: Email empty (kind ``missing_email``).
* ``DUPLICATE_RATE`` 2%: the same person entered again under a new PatientID with a small
  variation (case, whitespace or nickname), same BirthDate and MobilePhone/Email
  (``duplicate_patient``, and ``duplicate_pairs``).
* Families (not defects, but a dedup trap): members share Address and HomePhone (and sometimes
  the guarantor's email) yet differ in FirstName and BirthDate (``family_groups``).
* ``MIXED_DATE_RATE`` 5% of BirthDate, FirstVisitDate and LastVisitDate values each: written as
  YYYY-MM-DD, M/D/YY or DD.MM.YYYY (``mixed_date_format``).
* ``MALFORMED_PHONE_RATE`` 4%: too few digits, letters, or "N/A" (``malformed_phone``).
* ``INVALID_EMAIL_RATE`` 2%: missing @ or double dots (``invalid_email``).
* ``MISSING_NAME_RATE`` 0.5%: FirstName or LastName empty (``missing_name``).
* cp1252 text: José, Zoë, O’Brien (U+2019), Müller always appear (``encoding_samples``).
* Providers: ``PROVIDERS_WITHOUT_EMAIL`` (1) with no email (``provider_missing_email``) and 1-2
  whose email matches no CRM user in ``crm_users.json`` (``provider_unmatched_user``).
* ``CARRIER_VARIANT_RATE`` 8% of insurance rows: misspelt/variant carrier (``carrier_variant``,
  with ``canonical``); canonical UnitedHealthcare Dental and United Concordia both appear.
* ``BROKEN_APPOINTMENT_REFS`` (2) appointments whose PatientID does not exist and
  ``BROKEN_CLAIM_REFS`` (1) claim whose InsuranceID does not exist (``broken_reference``).
* 1-2 documents whose SizeBytes declares more than 25 MB (``oversized_document``); the files on
  disk are small.
* ``INLINE_IMAGE_RATE`` 5% of clinical notes (at least 2) carry a picture inline, the way
  charting software stores them: alternately an HTML note with a ``data:image/png;base64`` image
  and an RTF note with a ``\\jpegblip`` picture; one more note carries a deliberately broken
  image (its base64 cut short). Not an audit defect (the text is valid); listed under
  ``inline_images`` in the ground truth with the note, patient, line, markup, type and the
  image's SHA-256 (``broken`` says why for the broken one).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import json
import random
import struct
import zlib
from pathlib import Path

from . import _activity
from ._automations import write_definitions
from ._extras import generate_extras
from ._catalog import REFERRAL_SOURCES
from .._synth_export import AS_OF, TODAY, Person, Truth, fmt_date, fmt_dt, money, rand_date, rand_dt, \
    weighted, write_csv
from ._layout import load_layout
from .._synth_defects import DATE_VARIANTS, bad_email, bad_phone, variant_date
from .._synth_people import ACCENTED, FEMALE, LAST, MALE, NICKNAMES, ascii_fold, email_for, npi, \
    phone, pick_region, street_address

__all__ = ["generate", "MISSING_EMAIL_RATE", "DUPLICATE_RATE", "MIXED_DATE_RATE",
           "MALFORMED_PHONE_RATE", "INVALID_EMAIL_RATE", "MISSING_NAME_RATE",
           "CARRIER_VARIANT_RATE", "BROKEN_APPOINTMENT_REFS", "BROKEN_CLAIM_REFS",
           "PROVIDERS_WITHOUT_EMAIL", "INLINE_IMAGE_RATE"]

MISSING_EMAIL_RATE = 0.12
DUPLICATE_RATE = 0.02
MIXED_DATE_RATE = 0.05
MALFORMED_PHONE_RATE = 0.04
INVALID_EMAIL_RATE = 0.02
MISSING_NAME_RATE = 0.005
CARRIER_VARIANT_RATE = 0.08
BROKEN_APPOINTMENT_REFS = 2
BROKEN_CLAIM_REFS = 1
PROVIDERS_WITHOUT_EMAIL = 1
OVERSIZE_THRESHOLD = 25 * 1024 * 1024
INLINE_IMAGE_RATE = 0.05
#: an 8x8 grey baseline JPEG, as charting software embeds a thumbnail; each note's copy gets its
#: own comment segment so no two pictures are the same file
_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hn"
    "Pk1xeXBkeFxlZ2P/wAALCAAIAAgBAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9"
    "AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZn"
    "aGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP0"
    "9fb3+Pn6/9oACAEBAAA/ACv/2Q==")

PRACTICES = ("brightsmiles", "harborview", "maplewood", "riverside", "summitfamily", "elmstreet")
HOUSEHOLD_SIZES = {"1": 45, "2": 25, "3": 15, "4": 11, "5": 4}
STATUSES = {"Active": 70, "Inactive": 14, "Archived": 5, "Deceased": 2, "Prospective": 9}


def _k(rate: float, n: int) -> int:
    return max(1, round(rate * n)) if n else 0


def _providers(rng: random.Random, n_patients: int, domain: str, truth: Truth):
    n = max(4, n_patients // 150)
    n_dent = max(1, round(0.35 * n))
    n_hyg = max(1, round(0.4 * n))
    n_asst = max(1, n - n_dent - n_hyg)
    rows, users = [], []
    specs = ([("DR", "Dentist")] * n_dent + [("HY", "Hygienist")] * n_hyg
             + [("DA", "Assistant")] * n_asst)
    seq = {"DR": 0, "HY": 0, "DA": 0}
    taken: set[str] = set()  # membership only; never iterated, so order cannot leak into output
    for prefix, ptype in specs:
        seq[prefix] += 1
        gender = rng.choice("MF")
        first = rng.choice(MALE if gender == "M" else FEMALE)
        last = rng.choice(LAST)
        title = {"Dentist": rng.choice(("DDS", "DMD")), "Hygienist": "RDH", "Assistant": "DA"}[ptype]
        local = f"{ascii_fold(first)}.{ascii_fold(last)}"
        local += str(seq[prefix]) if local in taken else ""
        taken.add(local)
        rows.append({
            "ProviderID": f"{prefix}{seq[prefix]:02d}", "Abbrev": (first[0] + last[:3]).upper(),
            "LastName": last, "FirstName": first, "Title": title, "ProviderType": ptype,
            "Email": f"{local}@{domain}", "NPI": npi(rng), "Active": "Y",
        })
    if len(rows) > 4:
        rows[-1]["Active"] = "N"  # someone who left the practice
    # Defects: the last assistant has no email; 1-2 clinicians have no CRM user (never DR01).
    no_email = [len(rows) - 1]
    candidates = [i for i in range(1, len(rows) - n_asst)]
    unmatched = rng.sample(candidates, 1 if n < 6 else 2)
    unmatched.sort()
    for i in no_email:
        truth.plant("provider_missing_email", "providers.csv", i, "Email", rows[i]["ProviderID"], "")
        rows[i]["Email"] = ""
    for i in unmatched:
        truth.plant("provider_unmatched_user", "providers.csv", i, "Email",
                    rows[i]["ProviderID"], rows[i]["Email"], detected_by="owner_resolution")
    for i, r in enumerate(rows):
        if r["Email"] and i not in unmatched:
            users.append({"email": r["Email"], "firstName": r["FirstName"],
                          "lastName": r["LastName"], "role": "admin" if i == 0 else "user"})
    om_first, om_last = rng.choice(FEMALE), rng.choice(LAST)
    users.append({"email": f"office@{domain}", "firstName": om_first, "lastName": om_last,
                  "role": "admin"})
    return rows, users, [rows[i]["ProviderID"] for i in unmatched], \
        [rows[i]["ProviderID"] for i in no_email]


def _person(rng, first_pool, gender, last, birth, household, home, addr, region, status,
            dentists, hygienists, shared_email=None):
    first = rng.choice(first_pool)
    age = (TODAY - birth).days // 365
    if status == "Prospective":
        fv = lv = None
        created = rand_date(rng, TODAY - dt.timedelta(days=180), TODAY - dt.timedelta(days=1))
    else:
        fv = rand_date(rng, max(birth + dt.timedelta(days=730), TODAY - dt.timedelta(days=15 * 365)),
                       TODAY - dt.timedelta(days=40))
        if status == "Active":
            lo = max(fv, TODAY - dt.timedelta(days=540 if rng.random() < 0.2 else 365))
        else:
            lo = max(fv, TODAY - dt.timedelta(days=6 * 365))
        hi = TODAY - dt.timedelta(days=14) if status == "Active" else max(lo, TODAY - dt.timedelta(days=550))
        lv = rand_date(rng, lo, hi)
        created = fv
    created_at = rand_dt(rng, created)
    modified_at = rand_dt(rng, rand_date(rng, max(created, lv or created), TODAY))
    if modified_at < created_at:
        modified_at = created_at
    email = shared_email or email_for(rng, first, last, birth.year)
    return {
        "LastName": last, "FirstName": first,
        "MiddleInitial": rng.choice("ABCDEFGHJKLMNPRSTW") if rng.random() < 0.4 else "",
        "PreferredName": NICKNAMES.get(first, "") if rng.random() < 0.25 else "",
        "BirthDate": fmt_date(birth), "Gender": "U" if rng.random() < 0.01 else gender,
        "Address1": addr[0], "Address2": addr[1], "City": addr[2], "State": region.state,
        "Zip": addr[3], "HomePhone": home,
        "MobilePhone": phone(rng, region) if age >= 13 and rng.random() < 0.85 else "",
        "WorkPhone": phone(rng, region) if age >= 22 and rng.random() < 0.2 else "",
        "Email": email, "Status": status,
        "PrimaryProviderID": rng.choice(dentists),
        "HygienistID": rng.choice(hygienists) if rng.random() < 0.85 else "",
        "FirstVisitDate": fmt_date(fv) if fv else "", "LastVisitDate": fmt_date(lv) if lv else "",
        "ReferralSourceID": rng.choice(REFERRAL_SOURCES)[0] if rng.random() < 0.7 else "",
        "SecondaryReferralSourceID": rng.choice(REFERRAL_SOURCES)[0] if rng.random() < 0.15 else "",
        "NoCorrespondence": "Y" if rng.random() < 0.05 else "N",
        "SSN": f"***-**-{rng.randrange(10000):04d}" if rng.random() < 0.6 else "",
        "Balance": "0.00", "CreatedDate": fmt_dt(created_at), "ModifiedDate": fmt_dt(modified_at),
        "_birth": birth, "_fv": fv, "_lv": lv, "_hh": household, "_created": created_at,
    }


def _households(rng: random.Random, n_people: int, region, dentists, hygienists) -> list[dict]:
    people: list[dict] = []
    hh = 0
    while len(people) < n_people:
        size = min(int(weighted(rng, HOUSEHOLD_SIZES)), n_people - len(people))
        hh += 1
        last = rng.choice(LAST)
        addr = street_address(rng, region)
        home = phone(rng, region) if size > 1 or rng.random() < 0.5 else ""
        members: list[dict] = []
        g1 = rng.choice("MF")
        head_birth = rand_date(rng, TODAY - dt.timedelta(days=80 * 365),
                               TODAY - dt.timedelta(days=(26 if size > 2 else 18) * 365))
        births = [head_birth]
        if size >= 2:
            births.append(rand_date(rng, head_birth - dt.timedelta(days=5 * 365),
                                    min(head_birth + dt.timedelta(days=5 * 365),
                                        TODAY - dt.timedelta(days=19 * 365))))
        for _ in range(size - len(births)):
            births.append(rand_date(rng, max(head_birth + dt.timedelta(days=20 * 365),
                                             TODAY - dt.timedelta(days=24 * 365)),
                                    TODAY - dt.timedelta(days=365)))
        status_hh = weighted(rng, STATUSES)
        used_first: set[str] = set()
        used_birth: set[dt.date] = set()
        for i, birth in enumerate(births):
            while birth in used_birth:  # twins would still be different people; keep DOBs apart
                birth += dt.timedelta(days=1)
            used_birth.add(birth)
            gender = g1 if i == 0 else ("F" if g1 == "M" else "M") if i == 1 else rng.choice("MF")
            pool = MALE if gender == "M" else FEMALE
            member_last = last if i != 1 or rng.random() > 0.15 else rng.choice(LAST)
            status = status_hh if status_hh != "Deceased" or i == 0 else "Active"
            shared = members[0]["Email"] if i >= 2 and (TODAY - birth).days < 13 * 365 else None
            for _try in range(20):
                p = _person(rng, pool, gender, member_last, birth, hh, home, addr, region, status,
                            dentists, hygienists, shared)
                if p["FirstName"] not in used_first:
                    break
            used_first.add(p["FirstName"])
            p["_guarantor_of"] = 0
            members.append(p)
        if rng.random() < 0.3:
            members[0]["Balance"] = money(rng.uniform(10, 900) if rng.random() < 0.85
                                          else -rng.uniform(5, 120))
        for m in members:
            m["_head"] = members[0]
        people.extend(members)
    return people


def _duplicate(rng: random.Random, orig: dict, variation: str) -> dict:
    dup = dict(orig)
    first = orig["FirstName"]
    if variation == "nickname" and first in NICKNAMES:
        dup["FirstName"] = NICKNAMES[first]
    elif variation == "whitespace":
        dup["FirstName"], dup["LastName"] = f" {first}", f"{orig['LastName']} "
    else:
        variation = "case"
        dup["LastName"], dup["FirstName"] = orig["LastName"].upper(), first.lower()
        dup["Email"] = orig["Email"].upper()
    created = rand_dt(rng, rand_date(rng, orig["_created"].date(), TODAY - dt.timedelta(days=3)))
    dup.update(HomePhone="", WorkPhone="", Status="Active", Balance="0.00", SSN="",
               MiddleInitial="", PreferredName="", CreatedDate=fmt_dt(created),
               ModifiedDate=fmt_dt(created), FirstVisitDate="", LastVisitDate="",
               _fv=None, _lv=None, _created=created, _dup_of=orig, _variation=variation)
    dup["_head"] = dup
    return dup


def _plant_patient_defects(rng: random.Random, rows: list[dict], truth: Truth) -> list[dict]:
    """Ensure the cp1252 samples and plant per-patient defects; returns the encoding samples."""
    f = "patients.csv"
    n = len(rows)
    free = [i for i, r in enumerate(rows) if not r.get("_protected")]
    singles = [i for i in free if rows[i]["_solo"]]
    samples, showcase = [], set()
    for value, gender in ACCENTED:
        pool = [i for i in singles if i not in showcase
                and (gender is None or rows[i]["Gender"] == gender)] or [i for i in free if i not in showcase]
        i = pool[rng.randrange(len(pool))]
        col = "FirstName" if gender else "LastName"
        rows[i][col] = value
        showcase.add(i)
        samples.append({"file": f, "index": i, "column": col, "id": rows[i]["PatientID"],
                        "value": value})
    order = free[:]
    rng.shuffle(order)
    with_email = [i for i in order if rows[i]["Email"]]
    k_missing = min(_k(MISSING_EMAIL_RATE, n), len(with_email))
    k_invalid = min(_k(INVALID_EMAIL_RATE, n), len(with_email) - k_missing)
    for i in sorted(with_email[:k_missing]):
        truth.plant("missing_email", f, i, "Email", rows[i]["PatientID"], "", original=rows[i]["Email"])
        rows[i]["Email"] = ""
    for i in sorted(with_email[k_missing:k_missing + k_invalid]):
        bad = bad_email(rng, rows[i]["Email"])
        truth.plant("invalid_email", f, i, "Email", rows[i]["PatientID"], bad)
        rows[i]["Email"] = bad
    named = [i for i in free if i not in showcase]
    for j, i in enumerate(sorted(rng.sample(named, min(_k(MISSING_NAME_RATE, n), len(named))))):
        col = ("FirstName", "LastName")[j % 2]
        truth.plant("missing_name", f, i, col, rows[i]["PatientID"], "", original=rows[i][col])
        rows[i][col] = ""
    for i in sorted(rng.sample(free, min(_k(MALFORMED_PHONE_RATE, n), len(free)))):
        cols = [c for c in ("MobilePhone", "WorkPhone") if rows[i][c]]
        if rows[i]["_solo"] and rows[i]["HomePhone"]:
            cols.append("HomePhone")  # family home phones stay intact: they are the family link
        col = cols[rng.randrange(len(cols))] if cols else "MobilePhone"
        bad = bad_phone(rng, rows[i][col])
        truth.plant("malformed_phone", f, i, col, rows[i]["PatientID"], bad)
        rows[i][col] = bad
    for col, key in (("BirthDate", "_birth"), ("FirstVisitDate", "_fv"), ("LastVisitDate", "_lv")):
        pool = [i for i in free if rows[i][key] is not None]
        for i in sorted(rng.sample(pool, min(_k(MIXED_DATE_RATE, n), len(pool)))):
            style = DATE_VARIANTS[rng.randrange(3)]
            value = variant_date(rows[i][key], style)
            truth.plant("mixed_date_format", f, i, col, rows[i]["PatientID"], value, format=style,
                        original=rows[i][col])
            rows[i][col] = value
    return samples


def generate(out: str | Path, *, patients: int, seed: int) -> Path:
    """Write a synthetic Dent-O-Soft export.

    Args:
        out: the folder to write (created if missing; existing export files are overwritten).
        patients: rows in patients.csv (duplicates included); other files scale with it.
        seed: the random seed; the same seed gives byte-identical files.

    Returns:
        The export folder.
    """
    if patients < 20:
        raise ValueError("generate at least 20 patients so every defect kind can be planted")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    layout = load_layout()
    cols = {name: o.columns for name, o in layout.objects.items()}
    master = random.Random(seed)
    sub = {name: random.Random(master.getrandbits(64)) for name in (
        "providers", "patients", "defects", "activity")}
    truth = Truth()
    region = pick_region(master)
    domain = f"{PRACTICES[master.randrange(len(PRACTICES))]}dental.com"

    lines = write_csv(out / "referral_sources.csv", cols["referral_sources"],
                      [dict(zip(cols["referral_sources"], r)) for r in REFERRAL_SOURCES])
    truth.counts["referral_sources.csv"] = len(lines)
    prov_rows, users, unmatched, no_email = _providers(sub["providers"], patients, domain, truth)
    truth.resolve("providers.csv", write_csv(out / "providers.csv", cols["providers"], prov_rows))
    truth.counts["providers.csv"] = len(prov_rows)
    dentists = [r["ProviderID"] for r in prov_rows if r["ProviderType"] == "Dentist"]
    hygienists = [r["ProviderID"] for r in prov_rows if r["ProviderType"] == "Hygienist"]

    rng = sub["patients"]
    n_dup = _k(DUPLICATE_RATE, patients)
    rows = _households(rng, patients - n_dup, region, dentists, hygienists)
    by_hh: dict[int, int] = {}
    for r in rows:
        by_hh[r["_hh"]] = by_hh.get(r["_hh"], 0) + 1
    eligible = [i for i, r in enumerate(rows) if r["Email"] and r["MobilePhone"]
                and r["_head"] is r and by_hh[r["_hh"]] == 1]
    originals = sorted(rng.sample(eligible, n_dup))
    variations = ("nickname", "case", "whitespace")
    # A duplicate is entered later, so it lands after its original at a random later position.
    inserts = sorted(((rng.randrange(i + 1, len(rows) + 1), j) for j, i in enumerate(originals)),
                     reverse=True)
    dups = [_duplicate(rng, rows[i], variations[j % 3]) for j, i in enumerate(originals)]
    for i in originals:
        rows[i]["_protected"] = True
    for pos, j in inserts:
        dups[j]["_protected"] = True
        rows.insert(pos, dups[j])
    for seq, r in enumerate(rows, start=1):
        r["PatientID"] = f"P{seq:06d}"
        r["ChartNo"] = str(10000 + seq)
        r["_solo"] = by_hh[r["_hh"]] == 1 or r.get("_dup_of") is not None
    for r in rows:
        r["GuarantorID"] = r["_head"]["PatientID"]
    samples = _plant_patient_defects(sub["defects"], rows, truth)
    pat_lines = write_csv(out / "patients.csv", cols["patients"], rows)
    truth.resolve("patients.csv", pat_lines)
    truth.counts["patients.csv"] = len(rows)

    index = {id(r): i for i, r in enumerate(rows)}
    pairs = []
    for r in rows:
        if r.get("_dup_of") is not None:
            o = r["_dup_of"]
            pairs.append({"original": o["PatientID"], "duplicate": r["PatientID"],
                          "variation": r["_variation"], "BirthDate": r["BirthDate"]})
            truth.defects.append({"kind": "duplicate_patient", "file": "patients.csv",
                                  "row": pat_lines[index[id(r)]], "column": "PatientID",
                                  "id": r["PatientID"], "value": r["PatientID"],
                                  "duplicate_of": o["PatientID"], "variation": r["_variation"]})
    families: dict[int, list[dict]] = {}
    for r in rows:
        if r.get("_dup_of") is None and by_hh[r["_hh"]] > 1:
            families.setdefault(r["_hh"], []).append(r)
    family_groups = [{"guarantor": m[0]["GuarantorID"], "members": [x["PatientID"] for x in m],
                      "Address1": m[0]["Address1"], "HomePhone": m[0]["HomePhone"]}
                     for m in families.values()]
    for s in samples:
        s["row"] = pat_lines[s.pop("index")]

    people = [Person(pid=r["PatientID"], birth=r["_birth"], status=r["Status"],
                     first_visit=r["_fv"], last_visit=r["_lv"], dentist=r["PrimaryProviderID"],
                     hygienist=r["HygienistID"] or hygienists[0], guarantor=r["GuarantorID"],
                     household=r["_hh"], protected=bool(r.get("_protected"))) for r in rows]
    last_names = {r["PatientID"]: r["LastName"] for r in rows}
    del rows, dups
    act = _activity.generate_activity(sub["activity"], out, cols, people, prov_rows, truth,
                                      variant_rate=CARRIER_VARIANT_RATE,
                                      broken_appointments=BROKEN_APPOINTMENT_REFS,
                                      broken_claims=BROKEN_CLAIM_REFS,
                                      oversize_threshold=OVERSIZE_THRESHOLD)

    # Added after the files above existed: own random streams, so their bytes did not change.
    truth.counts.update(generate_extras(random.Random(f"{seed}/extras"), out, cols, people,
                                        prov_rows, last_names))
    inline = _plant_inline_images(random.Random(f"{seed}/inline-images"), out, cols["clinical_notes"], people)
    definitions = write_definitions(out)
    (out / "crm_users.json").write_text(json.dumps(users, indent=2, ensure_ascii=False) + "\n",
                                        encoding="utf-8", newline="\n")
    kinds: dict[str, int] = {}
    for d in truth.defects:
        kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
    ground = {
        "source": "dent-o-soft", "layout_version": layout.version, "seed": seed,
        "patients": patients, "encoding": layout.encoding, "as_of": AS_OF.isoformat(),
        "row_numbering": "1-based physical line in the file, header is line 1; a multi-line "
                         "record is numbered by the line it starts on",
        "defect_rates": {
            "missing_email": MISSING_EMAIL_RATE, "duplicate_patient": DUPLICATE_RATE,
            "mixed_date_format": MIXED_DATE_RATE, "malformed_phone": MALFORMED_PHONE_RATE,
            "invalid_email": INVALID_EMAIL_RATE, "missing_name": MISSING_NAME_RATE,
            "carrier_variant": CARRIER_VARIANT_RATE,
            "broken_reference": {"appointments.PatientID": BROKEN_APPOINTMENT_REFS,
                                 "claims.InsuranceID": BROKEN_CLAIM_REFS},
            "provider_missing_email": PROVIDERS_WITHOUT_EMAIL,
        },
        "counts": truth.counts, "defect_counts": dict(sorted(kinds.items())),
        "defects": truth.defects, "duplicate_pairs": pairs, "family_groups": family_groups,
        "oversized_documents": act["oversized"], "unmatched_provider_ids": unmatched,
        "providers_without_email": no_email, "encoding_samples": samples,
        "crm_users_file": "crm_users.json", "definition_files": definitions,
        "inline_images": {"rate": INLINE_IMAGE_RATE, "notes": inline},
    }
    (out / "ground_truth.json").write_text(json.dumps(ground, indent=1, ensure_ascii=False) + "\n",
                                           encoding="utf-8", newline="\n")
    return out


def _png(rng: random.Random) -> bytes:
    """A small valid PNG (8x8 RGB, a two-colour pattern from ``rng``)."""
    a, b = bytes(rng.randrange(256) for _ in range(3)), bytes(rng.randrange(256) for _ in range(3))
    raw = b"".join(b"\x00" + b"".join(a if (x + y) % 2 else b for x in range(8)) for y in range(8))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _jpeg(label: str) -> bytes:
    """The stock JPEG with a comment segment naming ``label`` (still a valid JPEG)."""
    text = label.encode("ascii")
    return _JPEG[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + _JPEG[2:]


def _plant_inline_images(rng: random.Random, out: Path, columns: tuple[str, ...], people: list[Person]) -> list[dict]:
    """Put pictures inline in some clinical notes (``INLINE_IMAGE_RATE``, plus one broken one).

    The notes file is rewritten with the same rows; only the chosen notes' text changes and every
    value stays on one line, so no other row moves. Patients who are deceased or part of a
    duplicate pair are passed over, so every picture belongs to a contact that migrates.
    """
    path = out / "clinical_notes.csv"
    with open(path, encoding="cp1252", newline="") as fh:
        rows = list(csv.DictReader(fh))
    live = {p.pid for p in people if p.status != "Deceased" and not p.protected}
    eligible = [i for i, r in enumerate(rows) if r["PatientID"] in live]
    k = min(len(eligible), max(2, round(INLINE_IMAGE_RATE * len(rows))) + 1)
    chosen = sorted(rng.sample(eligible, k))
    broken_at = chosen[rng.randrange(k)]
    planted = []
    for j, i in enumerate(i for i in chosen if i != broken_at):
        row = rows[i]
        html = j % 2 == 0
        data = _png(rng) if html else _jpeg(f"{row['NoteID']} intraoral photo")
        if html:
            encoded = base64.b64encode(data).decode("ascii")
            row["NoteText"] = (f'<p>{row["NoteText"]}</p><p><img alt="intraoral photo" '
                               f'src="data:image/png;base64,{encoded}"></p><p>Reviewed with patient.</p>')
        else:
            row["NoteText"] = ("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Arial;}}\\f0\\fs20 " + row["NoteText"]
                               + "\\par {\\*\\shppict{\\pict\\picw8\\pich8\\jpegblip " + data.hex()
                               + "}}\\par Reviewed with patient.\\par}")
        planted.append({"index": i, "markup": "html" if html else "rtf", "type": "png" if html else "jpeg",
                        "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "broken": None})
    row = rows[broken_at]
    cut = base64.b64encode(_png(rng)).decode("ascii")[:-7]  # the field was cut short mid-image
    row["NoteText"] = f'<p>{row["NoteText"]}</p><p><img src="data:image/png;base64,{cut}"></p>'
    planted.append({"index": broken_at, "markup": "html", "type": "png", "size": 0, "sha256": None,
                    "broken": "base64 data cut short"})
    lines = write_csv(path, columns, rows)
    return [{"note_id": rows[i]["NoteID"], "patient_id": rows[i]["PatientID"], "row": lines[i], "column": "NoteText",
             **entry} for entry in sorted(planted, key=lambda e: e["index"]) if (i := entry.pop("index")) is not None]
