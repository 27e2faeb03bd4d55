"""The dental/CRM vocabulary the proposer reads column names with.

A *concept* is what a column means, independent of any system: ``first_name``, ``postal_code``,
``insurance_carrier``. Each has the phrases exports use for it and the kinds of values it holds
(see :mod:`._profiling`). Concepts that some destination has a standard field for are
*standard*; the rest still matter, because they name the custom field and its type well.

Column names are read by splitting camelCase, snake_case and run-together words
(``BIRTHDATE`` → birth date), and by expanding the abbreviations exports use (``hm`` → home).
The word lists were written from general knowledge of practice-management and CRM exports and
from the project's own source layouts; the accuracy benchmark's layouts are kept out of them
(see benchmarks/mapping_accuracy/README.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = ["Concept", "CONCEPTS", "SENSITIVE", "SENSITIVE_WORDS", "OTHER_PARTY", "OTHER_PLACE", "AMBIGUOUS_ON_PERSON",
           "OTHER_PERSON", "PERSONAL", "CARD_WORDS", "BANK_WORDS", "ADDRESS_PARTS", "ambiguous_phrases", "words",
           "phrase", "word_weights", "block_rank", "address_blocks"]


@dataclass(frozen=True)
class Concept:
    """One meaning a column can have.

    Attributes:
        name: the concept's name.
        phrases: how column names say it, as space-separated normalised words.
        kinds: value kinds (from profiling) that agree with it; empty = any.
        custom_type: the custom-field type to create when no standard field carries it.
        transform: the transform its values need.
        sensitive: never migrated (the reason is given instead).
    """

    name: str
    phrases: tuple[str, ...]
    kinds: frozenset[str] = field(default_factory=frozenset)
    custom_type: str = "text"
    transform: str | None = None
    sensitive: bool = False


def _c(name, phrases, kinds=(), custom_type="text", transform=None, sensitive=False) -> Concept:
    return Concept(name, tuple(phrases), frozenset(kinds), custom_type, transform, sensitive)


PERSON_NAME = ("name",)
CONCEPTS: dict[str, Concept] = {c.name: c for c in [
    # --- people ---------------------------------------------------------------------------
    _c("first_name", ["first name", "given name", "forename", "first", "fname", "christian name"], PERSON_NAME, transform="title"),
    _c("last_name", ["last name", "surname", "family name", "last", "lname"], PERSON_NAME, transform="title"),
    _c("middle_name", ["middle name", "middle initial", "middle", "mi", "initial"], PERSON_NAME),
    _c("full_name", ["full name", "name", "display name", "patient name", "contact name", "person name"], ("name", "text")),
    _c("preferred_name", ["preferred name", "nickname", "nick name", "goes by", "preferred"], PERSON_NAME),
    _c("salutation", ["salutation", "title prefix", "name prefix", "prefix", "honorific"], ("picklist", "name")),
    _c("name_suffix", ["suffix", "name suffix", "generation"], ("picklist", "name")),
    _c("email", ["email", "email address", "e mail", "mail", "primary email", "email 1"], ("email",), "email", "email"),
    _c("phone", ["phone", "phone number", "telephone", "tel", "contact number", "primary phone", "main phone", "number"],
       ("phone",), "phone", "phone_e164"),
    _c("mobile_phone", ["mobile phone", "mobile", "cell phone", "cell", "cellular", "mobile number", "cell number",
                        "wireless phone", "sms number", "text number"], ("phone",), "phone", "phone_e164"),
    _c("home_phone", ["home phone", "home number", "home telephone", "residence phone", "evening phone"], ("phone",),
       "phone", "phone_e164"),
    _c("work_phone", ["work phone", "work number", "office phone", "business phone", "daytime phone", "work telephone"],
       ("phone",), "phone", "phone_e164"),
    _c("fax", ["fax", "fax number", "facsimile"], ("phone",), "phone", "phone_e164"),
    _c("birth_date", ["birth date", "date of birth", "birthday", "born", "dob", "birth"], ("date",), "date", "date"),
    _c("gender", ["gender", "sex", "gender identity"], ("gender", "picklist"), "single_option"),
    _c("address_line1", ["address", "address 1", "address line 1", "street", "street address", "address line",
                         "mailing address", "street 1", "addr"], ("address", "text"), transform="strip"),
    _c("address_line2", ["address 2", "address line 2", "street 2", "suite", "apartment", "unit"], ("text", "address")),
    _c("city", ["city", "town", "locality", "municipality"], ("name", "text"), transform="title"),
    _c("state", ["state", "province", "region", "state code", "state province", "county state"], ("state", "picklist"),
       transform="state"),
    _c("postal_code", ["postal code", "zip", "zip code", "postcode", "post code", "zipcode", "postal"], ("zip",)),
    _c("country", ["country", "country code", "nation"], ("country", "picklist")),
    # a county is part of an address no CRM has a field for; its name is one letter from "country"
    _c("county", ["county", "county name", "parish", "borough"], ("text", "name", "picklist")),
    _c("company_name", ["company", "company name", "organization", "organisation", "employer", "business name",
                        "account name", "practice name", "office name", "clinic name", "organization name"], ("text", "name")),
    _c("job_title", ["job title", "title", "position", "occupation", "role", "designation"], ("text", "picklist", "name")),
    _c("website", ["website", "web site", "url", "homepage", "web", "domain", "web address"], ("url",)),
    _c("timezone", ["timezone", "time zone", "tz"], ("picklist", "text")),
    _c("do_not_contact", ["do not contact", "do not disturb", "dnd", "no correspondence", "opt out", "opted out",
                          "unsubscribed", "do not call", "do not email", "no contact", "no mail", "email opt out"],
       ("flag",), "checkbox", "yn_bool"),
    _c("lead_source", ["lead source", "source", "origin", "channel", "how heard", "heard about us", "acquisition source",
                       "original source"], ("picklist", "text")),
    _c("tags", ["tags", "tag", "labels", "label", "segments", "lists"], ("multi", "picklist", "text"), "multiple_options"),
    _c("marketing_status", ["marketing status", "subscription status", "email consent", "marketing consent"], ("picklist",),
       "single_option"),
    _c("owner", ["owner", "owner email", "assigned to", "assigned user", "account owner", "contact owner", "sales rep",
                 "rep", "assigned staff", "staff"], ("email", "id", "name")),
    _c("record_id", ["id", "record id", "external id", "key", "uid", "uuid", "identifier", "number"], ("id",)),
    _c("created_at", ["created", "created date", "create date", "created at", "date created", "creation date",
                      "created on", "date added", "added", "entry date", "create time", "created time", "add time"],
       ("datetime", "date"), "datetime", "datetime"),
    _c("updated_at", ["modified", "modified date", "last modified", "updated", "updated at", "date modified",
                      "last updated", "modified on", "changed", "last changed", "update time", "modify date",
                      "modified time", "last modified date", "timestamp", "sec date t edit"],
       ("datetime", "date"), "datetime", "datetime"),
    _c("description", ["description", "notes", "note", "comments", "comment", "remarks", "memo", "details", "about",
                       "background"], ("text",), "large_text"),
    _c("industry", ["industry", "sector", "vertical", "business type"], ("picklist", "text")),
    _c("employee_count", ["employees", "employee count", "number of employees", "headcount", "staff count", "size"],
       ("integer", "number"), "number", "number"),
    _c("annual_revenue", ["annual revenue", "revenue", "turnover", "annual sales"], ("money", "number"), "monetary", "money"),
    _c("parent_company", ["parent", "parent id", "parent company", "parent account", "parent organization", "head office",
                          "parent organisation"], ("id", "text")),
    # --- deals, activities, notes ---------------------------------------------------------
    _c("deal_name", ["deal name", "opportunity name", "deal", "opportunity", "case name", "deal title", "case title"],
       ("text",)),
    _c("amount", ["amount", "value", "deal value", "case value", "total", "price", "opportunity amount", "deal amount",
                  "estimated fee", "estimate", "fee"], ("money", "number"), "monetary", "money"),
    _c("deal_status", ["status", "deal status", "outcome", "won lost", "case status", "opportunity status"], ("picklist",),
       "single_option"),
    _c("stage", ["stage", "deal stage", "pipeline stage", "sales stage", "phase", "step"], ("picklist",), "single_option"),
    _c("pipeline", ["pipeline", "pipeline name", "board", "funnel", "case type", "treatment type"], ("picklist",),
       "single_option"),
    _c("probability", ["probability", "win probability", "likelihood", "chance", "probability percent", "stage probability"],
       ("percent", "number"), "number", "percent"),
    _c("close_date", ["close date", "expected close", "expected close date", "closing date", "closed date", "close"],
       ("date", "datetime"), "date", "date"),
    _c("lost_reason", ["lost reason", "loss reason", "reason lost", "decline reason"], ("text", "picklist")),
    _c("subject", ["subject", "title", "summary", "activity subject", "task name", "headline"], ("text",)),
    _c("activity_type", ["activity type", "type", "appointment type", "task type", "kind", "category"], ("picklist",),
       "single_option"),
    _c("due_date", ["due date", "due", "deadline", "due on", "appointment date", "date"], ("date", "datetime"), "date", "date"),
    _c("start_time", ["start time", "start", "begins", "from", "start date time", "appointment time", "time"],
       ("datetime", "time"), "datetime", "datetime"),
    _c("end_time", ["end time", "end", "ends", "to", "finish"], ("datetime", "time"), "datetime", "datetime"),
    _c("duration", ["duration", "length", "minutes", "duration minutes", "length minutes"], ("integer", "number"),
       "number", "number"),
    _c("done", ["done", "completed", "complete", "is done", "finished"], ("flag",), "checkbox", "yn_bool"),
    _c("location", ["location", "venue", "place", "operatory", "room", "chair"], ("text", "picklist")),
    _c("note_body", ["note", "note text", "body", "content", "text", "clinical note", "note body"], ("text",), "large_text"),
    _c("activity_status", ["appointment status", "activity status", "event status", "visit status"], ("picklist",),
       "single_option"),
    _c("file_name", ["file name", "filename", "document name", "attachment name"], ("text", "id")),
    _c("file_path", ["file path", "path", "file location", "document path"], ("text", "id")),
    _c("file_size", ["file size", "size bytes", "bytes", "size kb"], ("integer", "number"), "number", "number"),
    # --- dental, no standard field anywhere (good keys and types for custom fields) --------
    _c("chart_number", ["chart number", "chart", "chart no", "chart id", "account number", "mrn",
                        "medical record number"], ("id", "text")),
    _c("patient_status", ["patient status", "status", "account status", "active status"], ("picklist",), "single_option"),
    _c("marital_status", ["marital status", "marital", "position"], ("picklist",), "single_option"),
    _c("language", ["language", "preferred language", "primary language"], ("picklist",), "single_option"),
    _c("provider", ["provider", "primary provider", "dentist", "doctor", "hygienist", "clinician", "practitioner",
                    "provider id", "secondary provider"], ("id", "name", "picklist")),
    _c("guarantor", ["guarantor", "guarantor id", "responsible party", "head of household", "family id"], ("id",)),
    _c("first_visit", ["first visit", "first visit date", "date first visit", "new patient date"], ("date",), "date", "date"),
    _c("last_visit", ["last visit", "last visit date", "date last visit", "last seen", "last appointment"], ("date",),
       "date", "date"),
    _c("next_appointment", ["next appointment", "next visit", "next appt"], ("date", "datetime"), "date", "date"),
    _c("recall_date", ["recall date", "recall due", "due date recall", "recall"], ("date",), "date", "date"),
    _c("balance", ["balance", "account balance", "amount due", "outstanding", "balance due", "estimated balance",
                   "bal total", "total balance"], ("money", "number"), "monetary", "money"),
    _c("insurance_carrier", ["carrier", "insurance carrier", "insurance", "insurer", "payer", "insurance company",
                             "plan name", "dental plan", "insurance provider"], ("text", "picklist")),
    _c("group_number", ["group number", "group", "group no", "group id", "policy group"], ("id", "text")),
    _c("subscriber_id", ["subscriber id", "member id", "subscriber", "policy number", "insured id", "policy id"],
       ("id", "text")),
    _c("npi", ["npi", "national provider identifier", "npi number"], ("npi", "id"), "text"),
    _c("procedure_code", ["procedure code", "cdt", "cdt code", "ada code", "procedure", "proc code", "code"], ("cdt", "picklist")),
    _c("tooth", ["tooth", "tooth number", "tooth num", "surface"], ("integer", "picklist", "text")),
    _c("referral_source", ["referral source", "referred by", "referral", "referrer", "referring"], ("picklist", "text", "id")),
    _c("premedicate", ["premedicate", "premed", "pre medicate"], ("flag",), "checkbox", "yn_bool"),
    # --- never migrated ---------------------------------------------------------------------
    _c("ssn", ["ssn", "social security", "social security number", "soc sec", "sin", "national insurance number",
               "tax id", "tin"], ("ssn",), sensitive=True),
    _c("card_number", ["card number", "credit card", "card no", "cc number", "credit card number", "pan", "cvv", "cvc",
                       "card expiry", "card security code"], ("card",), sensitive=True),
    _c("password", ["password", "passwd", "pwd", "pin", "secret", "security answer", "security question", "passcode",
                    "password hash"], (), sensitive=True),
    _c("bank_account", ["bank account", "account routing", "routing number", "iban", "bank account number"], (),
       sensitive=True),
    # a bare "license number" is as often a provider's public professional licence as a driver's
    # licence, so it is not a name of this concept on its own
    _c("drivers_license", ["drivers license", "driver license", "drivers license number", "dl number", "passport number"], (),
       sensitive=True),
]}

SENSITIVE = {name for name, c in CONCEPTS.items() if c.sensitive}

#: abbreviations and spellings exports use, expanded before matching
ABBREVIATIONS = {
    "fname": "first name", "lname": "last name", "fn": "first", "ln": "last", "fst": "first", "lst": "last",
    "nm": "name", "nme": "name", "mname": "middle name", "pref": "preferred", "nick": "nickname",
    "dob": "date of birth", "bdate": "birth date", "bday": "birthday", "birthdt": "birth date",
    "addr": "address", "add1": "address 1", "add2": "address 2", "address1": "address 1", "address2": "address 2",
    "addr1": "address 1", "addr2": "address 2", "street1": "street 1", "street2": "street 2", "zip5": "zip",
    "zipcode": "zip code", "postcode": "post code", "cty": "city", "st": "state", "prov": "provider",
    "tel": "telephone", "ph": "phone", "phn": "phone", "mob": "mobile", "cel": "cell", "cellphone": "cell phone",
    "hm": "home", "hme": "home", "wk": "work", "wrk": "work", "bus": "business", "biz": "business", "ofc": "office",
    "eml": "email", "emailaddress": "email address", "mail": "mail", "url": "url", "www": "website",
    "dt": "date", "dte": "date", "tm": "time", "ts": "timestamp", "datetime": "date time", "crt": "created",
    "mod": "modified", "upd": "updated", "lastmod": "last modified", "chg": "changed",
    "num": "number", "nbr": "number", "no": "number", "nr": "number", "cnt": "count", "qty": "quantity",
    "amt": "amount", "bal": "balance", "est": "estimated", "desc": "description", "descr": "description",
    "cmt": "comment", "cmts": "comments", "txt": "text", "ref": "referral", "refby": "referred by",
    "ins": "insurance", "carr": "carrier", "grp": "group", "sub": "subscriber", "subscr": "subscriber",
    "mbr": "member", "pol": "policy", "emp": "employer", "empl": "employer", "org": "organization",
    "co": "company", "comp": "company", "acct": "account", "prac": "practice", "appt": "appointment",
    "apt": "appointment", "proc": "procedure", "dx": "diagnosis", "tx": "treatment", "pt": "patient",
    "pat": "patient", "guar": "guarantor", "prim": "primary", "pri": "primary", "sec": "secondary",
    "hyg": "hygienist", "doc": "doctor", "dr": "doctor", "dds": "dentist", "rdh": "hygienist",
    "stat": "status", "sts": "status", "typ": "type", "cat": "category", "lang": "language", "gndr": "gender",
    "mi": "mi", "ssn": "ssn", "ssnum": "ssn", "socsec": "social security", "pwd": "pwd", "pw": "password",
    "cc": "credit card", "ccnum": "credit card number", "prob": "probability", "pct": "percent", "perc": "percent",
    "dur": "duration", "mins": "minutes", "min": "minutes", "loc": "location", "op": "operatory", "opt": "opt",
    "optout": "opt out", "nocorr": "no correspondence", "dnc": "do not call", "tz": "tz", "id": "id",
    "uid": "uid", "guid": "uuid", "ext": "extension", "mrn": "mrn", "npi": "npi", "cdt": "cdt", "ada": "ada",
    "yr": "year", "yrs": "years", "mo": "month", "mos": "months", "addl": "additional", "alt": "alternate",
    "int": "interval", "lvl": "level", "pri1": "primary", "owner": "owner",
}

#: words that carry no meaning for matching (an entity's own name inside its column names)
NOISE = {"patient", "patients", "contact", "contacts", "person", "customer", "client", "member", "the", "of", "a", "c",
         "field", "value", "val", "info", "data", "hs", "x", "col", "column", "cf", "custom", "pbn", "fld", "txt",
         "primary"}

#: words the splitter knows, for run-together names (``birthdate``, ``homephone``)
_KNOWN = sorted({w for c in CONCEPTS.values() for p in c.phrases for w in p.split()} |
                {w for v in ABBREVIATIONS.values() for w in v.split()} |
                {"date", "time", "number", "id", "code", "type", "line", "primary", "secondary", "patient", "contact",
                 "person", "customer", "client", "first", "last", "name", "phone", "home", "work", "mobile", "cell",
                 "email", "address", "zip", "state", "city", "birth", "created", "modified", "updated", "status",
                 "provider", "insurance", "carrier", "group", "subscriber", "referral", "source", "account", "owner",
                 "visit", "appointment", "recall", "balance", "chart", "company", "deal", "stage", "amount", "close",
                 "due", "note", "gender", "country", "postal", "street", "middle", "initial", "preferred", "title",
                 "interval", "months", "flag", "is", "has", "on", "at", "by", "to", "from", "est", "total", "fee",
                 "plan", "treatment", "procedure", "tooth", "lab", "case", "pipeline", "probability", "opportunity"},
               key=len, reverse=True)


@lru_cache(maxsize=4096)
def _segment(token: str) -> tuple[str, ...]:
    """Split a run-together lower-case token into known words (``homephone`` → home phone)."""
    if token in ABBREVIATIONS or len(token) <= 3:
        return (token,)
    n = len(token)
    best: list[tuple[int, tuple[str, ...]] | None] = [None] * (n + 1)
    best[0] = (0, ())
    for i in range(n):
        if best[i] is None:
            continue
        cost, words_so_far = best[i]
        for w in _KNOWN:
            if token.startswith(w, i) and len(w) >= 2:
                j = i + len(w)
                cand = (cost + 1, words_so_far + (w,))
                if best[j] is None or cand[0] < best[j][0]:
                    best[j] = cand
    return best[n][1] if best[n] is not None and len(best[n][1]) <= 4 else (token,)


@lru_cache(maxsize=4096)
def words(column: str) -> tuple[str, ...]:
    """A column name as normalised words: split, abbreviations expanded, run-together words split."""
    s = re.sub(r"__c$", "", column)                      # Salesforce custom-field suffix
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", s)        # camelCase
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", s)     # HTMLParser -> HTML Parser
    s = re.sub(r"([A-Za-z])(\d)", r"\1 \2", s)
    s = s.replace("#", " number ").replace("%", " percent ").replace("&", " and ")
    out: list[str] = []
    raws = [r for r in re.split(r"[^A-Za-z0-9]+", s.lower()) if r]
    for i, raw in enumerate(raws):
        if raw == "no" and i == 0 and len(raws) > 1:  # "NoCorrespondence" is a negation, "ChartNo" a number
            out.append("no")
            continue
        expanded = ABBREVIATIONS.get(raw)
        if expanded:
            out.extend(expanded.split())
            continue
        out.extend(_segment(raw))
    return tuple(out)


def phrase(column: str) -> str:
    """The column's words without noise, as one string (what synonyms are compared with)."""
    ws = [w for w in words(column) if w not in NOISE]
    return " ".join(ws) if ws else " ".join(words(column))


#: single words that make a column sensitive wherever they appear in its name ("license" is not
#: one: a dentist's state licence number is public, a driver's licence is not)
SENSITIVE_WORDS = {"ssn", "password", "passwd", "passport", "cvv", "cvc", "iban", "drivers", "pin",
                   "secret", "passcode", "routing", "swift", "bic"}
#: words that, beside "card", make a column payment-card data (its number, expiry or security code);
#: "card id" or "card brand" alone are not secrets
CARD_WORDS = {"number", "exp", "expiry", "expiration", "expires", "month", "year", "cvv", "cvc", "security", "pan",
              "last4", "last", "4", "digits"}
#: words that, before "number"/"no", make a column a bank account or card number (not a patient's
#: "account number", which is a chart number)
BANK_WORDS = {"bank", "iban", "routing", "card", "credit", "debit"}

#: words that put a column on another party or another role than the record's own person:
#: "Emergency Contact Phone", "Guarantor Address", "Employer City", "Alt Address Street"
OTHER_PARTY = {"emergency", "guarantor", "responsible", "spouse", "spouses", "parent", "guardian", "mother", "father",
               "employer", "referring", "referrer", "subscriber", "insured", "assistant", "kin", "relative",
               "previous", "former", "prior", "alternate", "alt", "secondary", "other", "provider", "contact"}
#: the other-party words that name another *person* (not another place or an earlier value): a
#: column they qualify is that person's detail and never the record's own standard field
OTHER_PERSON = OTHER_PARTY - {"previous", "former", "prior", "alternate", "alt", "secondary", "other", "provider"}
#: concepts a leading "contact" turns into another person's ("contactname", "contact_mobile_phone"
#: beside a patient's own name and phones: the emergency contact's); "Contact Owner" or
#: "Contact ID" stay the record's own
PERSONAL = {"full_name", "first_name", "last_name", "middle_name", "preferred_name", "phone", "mobile_phone",
            "home_phone", "work_phone"}
#: names of the company field that, on a person's record, as often name another party's company as
#: the person's own ("employer" beside a patient: the employer's name, not the patient's business)
AMBIGUOUS_ON_PERSON = {"employer", "company", "organization", "organisation"}

#: words that put an address or a phone on another place than the person's own (harmless on a
#: company, whose billing or office address is its own)
OTHER_PLACE = {"billing", "shipping", "mailing", "business", "work", "office", "practice"}


@lru_cache(maxsize=1)
def word_weights() -> dict[str, float]:
    """How much a shared word says: words in many phrases ("phone", "number") say less than rare ones."""
    import math

    counts: dict[str, int] = {}
    for ph, _c, _own in synonym_phrases():
        for w in set(ph.split()):
            counts[w] = counts.get(w, 0) + 1
    return {w: 1.0 / math.log(2 + n) for w, n in counts.items()}


@lru_cache(maxsize=1)
def synonym_phrases() -> list[tuple[str, str, bool]]:
    """(normalised phrase, concept, is the concept's own name) for every synonym of every concept."""
    out = []
    for c in CONCEPTS.values():
        own = c.name.replace("_", " ")
        for p in c.phrases:
            ws = [w for w in p.split() if w not in NOISE or len(p.split()) == 1]
            out.append((" ".join(ws), c.name, p == own))
    return out


@lru_cache(maxsize=1)
def ambiguous_phrases() -> frozenset[str]:
    """Phrases the vocabulary lists under more than one concept ("status", "position", "title",
    "number"): a whole-name match on one of them does not say which concept the column carries."""
    seen: dict[str, set[str]] = {}
    for ph, concept, _own in synonym_phrases():
        seen.setdefault(ph, set()).add(concept)
    return frozenset(ph for ph, concepts in seen.items() if len(concepts) > 1)


#: concepts that make up one postal address: a block of them ("BillAddr.*", "address1_*") is one address
ADDRESS_PARTS = {"address_line1", "address_line2", "city", "state", "postal_code", "country"}
#: words that mark an address block as the record's first or own address ...
FIRST_BLOCK = {"1", "one", "primary", "main", "p", "mailing", "mail", "home", "residence", "residential", "bill",
               "billing", "po", "postal", "physical", "default"}
#: ... and words that mark it as a second one (another place, a later or another party's address)
SECOND_BLOCK = {"2", "3", "two", "secondary", "other", "alternate", "alt", "ship", "shipping", "s", "sa", "delivery",
                "previous", "former", "prior", "work", "business", "office", "visiting"}


def block_rank(prefix: tuple[str, ...], kind: str) -> int:
    """How much an address block, named by the words its columns share beside the address part
    ("bill", "address 1"), reads as the record's own address: 0 for an unqualified block, 1 for
    a first/primary/mailing/billing one, 2 for one that says neither, 4 for a second, shipping
    or other one, 5 for another party's. On a company, work/office/business is its own address.
    """
    ws = set(prefix)
    second = SECOND_BLOCK - ({"work", "business", "office"} if kind != "person" else set())
    if not ws:
        return 0
    if ws & OTHER_PERSON:
        return 5
    if ws & second:
        return 4
    if ws & FIRST_BLOCK:
        return 1
    return 2


def address_blocks(decided: list, kind: str, skip: set) -> tuple[dict[str, str], set[str]]:
    """Competing address blocks ("BillAddr.*" and "ShipAddr.*", "address1_*" and "address2_*"):
    the block that reads most as the record's own address keeps the standard fields as a whole,
    the others go to custom fields, so a city never comes from one block and a street from another.

    A block is the address-part columns sharing the words beside the part ("bill", "address 1");
    blocks of a single column are not blocks. Returns (column -> the kept block's first column,
    for the columns set apart; the kept block's columns when the choice is decisive: a first,
    primary, mailing or billing block against a second, shipping or other one).

    Args:
        decided: the proposer's (column, value profile, candidates best first) per column.
        kind: the destination object's kind (``person``, ``company``, ...).
        skip: columns already decided (the key, links).
    """
    blocks: dict[tuple[str, ...], list[str]] = {}
    for col, _prof, cands in decided:
        if col in skip or not cands or cands[0].score < 0.6 or cands[0].concept not in ADDRESS_PARTS:
            continue
        part = set(cands[0].phrase.split())
        prefix = tuple(sorted({w for w in words(col) if w not in part} - {"address", "addresses", "addr", "line"}
                              - {"patient", "patients", "person", "customer", "client", "c"}))
        blocks.setdefault(prefix, []).append(col)
    blocks = {p: cols for p, cols in blocks.items() if len(cols) >= 2}
    if len(blocks) < 2:
        return {}, set()
    ranked = sorted(blocks, key=lambda p: (block_rank(p, kind), min(i for i, (c, _p, _c) in enumerate(decided)
                                                                      if c in blocks[p])))
    kept = ranked[0]
    apart = {col: blocks[kept][0] for p in ranked[1:] for col in blocks[p]}
    decisive = block_rank(kept, kind) <= 1 and all(block_rank(p, kind) >= 4 for p in ranked[1:])
    return apart, set(blocks[kept]) if decisive else set()
