"""Merge fields: recognising a source template's placeholders and writing them in a destination's
syntax. All translation tables are here.

A source's merge field (``[FirstName]``, ``<<PatientName>>``, ``{{first_name}}``, ``%DueDate%``)
is first read as a *concept* (``contact.first_name``), by its name with case and separators
ignored, then written as the destination's placeholder. Each destination entry says how sure we
are of it:

* ``translated`` — the destination's documented placeholder;
* ``check`` — the placeholder we expect, to confirm in the destination's field picker before the
  template goes live (the vendor does not publish the token in a form we could verify);
* ``custom`` — a custom field the mapping creates (the placeholder exists only if the mapping
  migrates that field; otherwise the merge field is untranslatable);
* anything not in a destination's table is **untranslatable**: the guide marks it and says what
  to do instead (type the text, or use a link from the destination).

Sources of the destination syntax:

* HighLevel: ``{{contact.first_name}}``-style contact fields and ``{{location.*}}`` /
  ``{{appointment.*}}`` custom values, as HighLevel's custom-values picker inserts them (the
  issue's own example is ``{{contact.first_name}}``); a contact custom field's placeholder is its
  field key, ``{{contact.<key>}}`` (the key the adapter creates: research/highlevel.md §4,
  custom fields). Appointment, user and opportunity values are marked ``check``.
* Freshsales: placeholders are contact (and owner) fields in curly braces, chosen from the
  placeholder list; custom fields can be used and are named ``cf_<name>``
  (https://crmsupport.freshworks.com/support/solutions/articles/50000002609 ;
  research/freshsales.md §5). No appointment or company values: those are untranslatable.
  Every Freshsales token is ``check``: the article shows the picker, not the stored token.
* Pipedrive: email templates insert person, organisation and deal fields from the editor's
  field list; we found no published token syntax, so the guide names the field to pick
  (``[Person: First name]``), always ``check``. Pipedrive has no built-in SMS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..destinations import registry as destinations
from ..destinations.knowledge import MergeEntry

__all__ = ["SOURCE_NAMES", "Token", "find_tokens", "concept_of", "translate", "Entry", "entries"]

# --- source side ------------------------------------------------------------------------------
#: placeholder syntaxes seen in practice systems' templates; the name is group 1
_SYNTAXES = (re.compile(r"\{\{\s*([A-Za-z][\w. ]{0,40}?)\s*\}\}"), re.compile(r"<<\s*([A-Za-z][\w. ]{0,40}?)\s*>>"),
             re.compile(r"«\s*([A-Za-z][\w. ]{0,40}?)\s*»"), re.compile(r"\[\s*([A-Za-z][\w. ]{0,40}?)\s*\]"),
             re.compile(r"%([A-Za-z][\w.]{0,40}?)%"))

#: concept -> the names sources give it (compared lower-case, letters and digits only)
SOURCE_NAMES: dict[str, tuple[str, ...]] = {
    "contact.first_name": ("firstname", "fname", "patientfirstname", "patfname", "givenname", "first",
                           "contactfirstname", "personfirstname"),
    "contact.last_name": ("lastname", "lname", "patientlastname", "patlname", "surname", "familyname"),
    "contact.full_name": ("fullname", "patientname", "name", "contactname", "personname", "patient"),
    "contact.preferred_name": ("preferredname", "nickname", "salutationname"),
    "contact.email": ("email", "emailaddress", "patientemail"),
    "contact.phone": ("phone", "mobilephone", "mobile", "cellphone", "phonenumber", "patientphone"),
    "contact.date_of_birth": ("birthdate", "dob", "dateofbirth"),
    "contact.address": ("address", "address1", "streetaddress", "patientaddress"),
    "contact.balance": ("balance", "accountbalance", "patientbalance", "amountdue"),
    "appointment.date": ("aptdate", "apptdate", "appointmentdate", "visitdate"),
    "appointment.time": ("apttime", "appttime", "appointmenttime", "visittime"),
    "appointment.provider": ("providername", "provider", "dentistname", "doctorname", "doctor", "hygienistname"),
    "appointment.operatory": ("operatory", "chair", "room"),
    "practice.name": ("practicename", "officename", "clinicname", "businessname", "companyname", "practice"),
    "practice.phone": ("practicephone", "officephone", "clinicphone", "businessphone"),
    "practice.address": ("practiceaddress", "officeaddress", "clinicaddress"),
    "recall.type": ("recalltype", "recallname"),
    "recall.due_date": ("duedate", "recalldate", "recallduedate", "recalldue"),
    "guarantor.name": ("guarantorname", "guarantor", "responsibleparty"),
    "insurance.carrier": ("insurancecarrier", "carrier", "insurancename"),
    "insurance.remaining": ("insuranceremaining", "remainingbenefits", "benefitsremaining"),
    "link.portal": ("portallink", "patientportal", "onlinebookinglink", "bookinglink"),
    "link.forms": ("formslink", "formlink", "medicalhistorylink", "intakeformlink"),
    "procedure.description": ("proceduredescription", "procedure", "treatment", "proceduredesc"),
}
_BY_NAME = {name: concept for concept, names in SOURCE_NAMES.items() for name in names}


@dataclass
class Token:
    """One merge field found in a source text: exactly as written, its name, and its concept."""

    text: str
    name: str
    concept: str | None


def concept_of(name: str) -> str | None:
    """The concept a source merge field called ``name`` stands for, if we know it."""
    return _BY_NAME.get(re.sub(r"[^a-z0-9]", "", name.lower()))


def find_tokens(text: str) -> list[Token]:
    """Every merge field in ``text``, in order of appearance, each once."""
    found: dict[str, Token] = {}
    spans = []
    for syntax in _SYNTAXES:
        for m in syntax.finditer(text or ""):
            if any(a <= m.start() < b for a, b in spans):
                continue  # ``{{x}}`` also looks like ``[x]``-free text; first syntax wins
            spans.append((m.start(), m.end()))
            found.setdefault(m.group(0), Token(m.group(0), m.group(1).strip(), concept_of(m.group(1))))
    return sorted(found.values(), key=lambda t: (text or "").find(t.text))


# --- destination side ---------------------------------------------------------------------------
#: how a destination writes a concept (each CRM's package holds its own table)
Entry = MergeEntry


def entries(destination: str) -> dict[str, MergeEntry]:
    """Concept -> how ``destination``'s templates write it (its package's ``MERGE_FIELDS``)."""
    return dict(destinations.get(destination).merge_fields)


#: why a concept cannot be translated, when the destination's table has no entry for it
_WHY_NOT = {
    "appointment": "this destination's templates cannot read appointment values; write the date and time in "
                   "the message by hand or send it from the calendar's own reminder",
    "appointment.operatory": "operatories are not migrated and no CRM has them",
    "practice": "no placeholder for the practice's own details here: type the text into the template",
    "guarantor": "CRMs have no guarantor link; the mapping keeps only the guarantor's id",
    "insurance": "insurance benefits are not migrated to the CRM",
    "link": "a link into the practice system's portal: replace it with a booking or form link of the destination",
    "procedure": "procedures are not migrated as fields a template can read",
}


@dataclass
class Translated:
    """One merge field, as the guide reports it."""

    source: str
    concept: str | None
    destination: str | None
    status: str
    note: str = ""


def _why_not(concept: str | None) -> str:
    if concept is None:
        return "not a merge field we recognise: check what it shows in the source system"
    return _WHY_NOT.get(concept) or _WHY_NOT.get(concept.split(".")[0], "no equivalent field in this destination")


def translate_token(token: Token, destination: str, custom: dict[str, str]) -> Translated:
    """How ``destination`` writes ``token``.

    Args:
        custom: the mapping's custom-field keys in this workspace -> their display names.
    """
    entry = entries(destination).get(token.concept or "")
    if entry is None:
        return Translated(token.text, token.concept, None, "untranslatable", _why_not(token.concept))
    if entry.status == "custom":
        if entry.custom_key not in custom:
            return Translated(token.text, token.concept, None, "untranslatable",
                              f"the mapping does not migrate it: add custom field {entry.custom_key!r} to the mapping, "
                              "or type the value by hand")
        text = entry.token.replace("{key}", entry.custom_key).replace("{name}", custom[entry.custom_key])
        return Translated(token.text, token.concept, text, "custom", entry.note or
                          f"custom field {custom[entry.custom_key]!r} created by the mapping")
    return Translated(token.text, token.concept, entry.token, entry.status, entry.note)


def translate(text: str, destination: str, custom: dict[str, str] | None = None,
              mark: str = "⟦{token} — untranslatable⟧") -> tuple[str, list[Translated]]:
    """``text`` with each merge field in ``destination``'s syntax; untranslatable ones marked.

    Returns:
        The translated text and one :class:`Translated` per distinct merge field.
    """
    custom = custom or {}
    tokens = [translate_token(t, destination, custom) for t in find_tokens(text)]
    out = text or ""
    for t in tokens:
        out = out.replace(t.source, t.destination if t.destination else mark.format(token=t.source))
    return out, tokens
