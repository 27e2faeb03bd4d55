"""Contacts in the HighLevel sandbox (apps/contacts.json): CRUD, upsert, duplicates, tags, DND,
and the link to a business (company)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .common import ApiError, now_iso

__all__ = ["ContactStore", "normalize_phone"]

_DOB_FORMATS = ["%Y/%m/%d", "%m/%d/%Y", "%Y-%m-%d", "%m-%d-%Y", "%Y.%m.%d", "%m.%d.%Y", "%Y_%m_%d", "%m_%d_%Y"]
_NOT_STORED = ("customFields", "locationId", "createNewIfDuplicateAllowed")


def normalize_phone(phone: str) -> str:
    """Store phones as E.164 like HighLevel does for a US location (§7)."""
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+"):
        return "+" + digits
    if len(digits) == 10:
        return "+1" + digits
    if len(digits) == 11 and digits.startswith("1"):
        return "+" + digits
    return "+" + digits if digits else phone


def _normalize_dob(value: str) -> str:
    """Accept the formats the spec lists for dateOfBirth; return YYYY-MM-DDT00:00:00.000Z (§7)."""
    for fmt in _DOB_FORMATS:
        try:
            d = datetime.strptime(str(value)[:10], fmt)
            return d.strftime("%Y-%m-%dT00:00:00.000Z")
        except ValueError:
            continue
    raise ApiError(422, ["dateOfBirth must be a valid date"])


class ContactStore:
    """Mixin of :class:`~.state.State`: contacts."""

    contacts: dict[str, dict]

    def find_duplicate(self, email: str | None, phone: str | None) -> tuple[dict | None, str | None]:
        """The contact matching by email first, then phone (§4, duplicate lookup)."""
        with self.lock:
            if email:
                for c in self.contacts.values():
                    if (c.get("email") or "").lower() == email.lower():
                        return c, "email"
            if phone:
                p = normalize_phone(phone)
                for c in self.contacts.values():
                    if c.get("phone") == p:
                        return c, "phone"
            return None, None

    def _apply_contact(self, c: dict, body: dict) -> None:
        self.check_owner(body.get("assignedTo"))
        fields = {k: v for k, v in body.items() if k not in _NOT_STORED}
        if fields.get("phone"):
            fields["phone"] = normalize_phone(fields["phone"])
        if fields.get("dateOfBirth"):
            fields["dateOfBirth"] = _normalize_dob(fields["dateOfBirth"])
        if "tags" in fields:  # de-duplicated, in order
            fields["tags"] = list(dict.fromkeys(str(t).strip() for t in fields["tags"] if str(t).strip()))
        values = self.custom_values(body.get("customFields") or [], "contact", c.get("customFields", {}))
        c.update(fields)
        c["customFields"] = values
        if "firstName" in body or "lastName" in body:
            c["name"] = " ".join(x for x in (c.get("firstName"), c.get("lastName")) if x) or None
        c["dateUpdated"] = now_iso()

    def _new_contact(self, body: dict) -> dict:
        c = {"id": self.new_id(), "locationId": self.location_id, "tags": [], "customFields": {},
             "dateAdded": now_iso(), "type": "lead", "source": None}
        self._apply_contact(c, body)
        self.contacts[c["id"]] = c
        return c

    def create_contact(self, body: dict) -> dict:
        with self.lock:
            self.check_location(body.get("locationId"))
            if not self.location["settings"].get("allowDuplicateContact", False):
                dup, how = self.find_duplicate(body.get("email"), body.get("phone"))
                if dup is not None:  # shape from public clients, not the spec (§4, unverified)
                    raise ApiError(400, "This location does not allow duplicated contacts.",
                                   meta={"contactId": dup["id"], "matchingField": how})
            return self.render_contact(self._new_contact(body))

    def upsert_contact(self, body: dict) -> tuple[bool, dict]:
        """Update the duplicate if one matches, else create (§4, upsert)."""
        with self.lock:
            self.check_location(body.get("locationId"))
            if not body.get("email") and not body.get("phone"):
                raise ApiError(400, "Pass at least one of number, email")
            dup, _ = self.find_duplicate(body.get("email"), body.get("phone"))
            allow = self.location["settings"].get("allowDuplicateContact", False)
            if dup is None or (allow and body.get("createNewIfDuplicateAllowed")):
                return True, self.render_contact(self._new_contact(body))
            self._apply_contact(dup, body)
            return False, self.render_contact(dup)

    def contact(self, cid: str) -> dict:
        """The stored contact (not rendered), or the vendor's 404."""
        c = self.contacts.get(cid)
        if c is None:
            raise ApiError(404, "Contact not found")
        return c

    def get_contact(self, cid: str) -> dict:
        with self.lock:
            return self.render_contact(self.contact(cid))

    def update_contact(self, cid: str, body: dict) -> dict:
        with self.lock:
            c = self.contact(cid)
            if not self.location["settings"].get("allowDuplicateContact", False):
                # the create rule applied to a changed email/phone (unverified, §4)
                dup, how = self.find_duplicate(body.get("email"), body.get("phone"))
                if dup is not None and dup["id"] != cid:
                    raise ApiError(400, "This location does not allow duplicated contacts.",
                                   meta={"contactId": dup["id"], "matchingField": how})
            self._apply_contact(c, body)
            return self.render_contact(c)

    def delete_contact(self, cid: str) -> None:
        with self.lock:
            self.contact(cid)
            del self.contacts[cid]
            # Deleting a contact removes its opportunities too (observed UI behaviour; unverified).
            for oid in [o["id"] for o in self.opportunities.values() if o["contactId"] == cid]:
                del self.opportunities[oid]
            # Tasks and notes exist only under their contact (addressed as /contacts/{id}/…),
            # and a relation cannot point at a record that is gone.
            for store in (self.tasks, self.notes):
                for k in [k for k, v in store.items() if v["contactId"] == cid]:
                    del store[k]
            self.drop_relations(cid)

    def change_tags(self, cid: str, tags: list[str], *, add: bool) -> list[str]:
        """``POST`` (add) / ``DELETE`` (remove) ``/contacts/{id}/tags``; returns the contact's tags."""
        with self.lock:
            c = self.contact(cid)
            given = [str(t).strip() for t in tags if str(t).strip()]
            c["tags"] = list(dict.fromkeys(c["tags"] + given)) if add else [t for t in c["tags"] if t not in given]
            c["dateUpdated"] = now_iso()
            return list(c["tags"])

    def link_business(self, body: dict) -> dict:
        """``POST /contacts/bulk/business``: link (or, with ``businessId: null``, unlink) contacts (§4)."""
        with self.lock:
            self.check_location(body["locationId"])
            bid = body.get("businessId")
            if bid is not None and bid not in self.businesses:
                raise ApiError(400, f"Business with id {bid} not found")
            missing = [i for i in body["ids"] if i not in self.contacts]
            if missing:
                raise ApiError(400, f"Contacts not found: {', '.join(missing)}")
            for i in body["ids"]:
                c = self.contacts[i]
                if bid is None:
                    c.pop("businessId", None)
                else:
                    c["businessId"] = bid
                c["dateUpdated"] = now_iso()
            return {"success": True, "ids": list(body["ids"])}

    def contacts_of_business(self, bid: str, skip: int, limit: int) -> dict:
        with self.lock:
            hits = [c for c in self.contacts.values() if c.get("businessId") == bid]
            return {"contacts": [self.render_contact(c) for c in hits[skip: skip + limit]], "count": len(hits)}

    def render_contact(self, c: dict) -> dict:
        """A contact as the API returns it: custom fields as ``[{id, value}]`` (§4)."""
        out: dict[str, Any] = {k: v for k, v in c.items() if k != "customFields" and v is not None}
        out["customFields"] = [{"id": k, "value": v} for k, v in c["customFields"].items()]
        for f in ("firstName", "lastName", "email"):
            if c.get(f):
                out[f + "LowerCase"] = c[f].lower()
        if c.get("name"):
            out["fullNameLowerCase"] = c["name"].lower()
        return out
