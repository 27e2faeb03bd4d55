"""Businesses (CRM companies) in the HighLevel sandbox (apps/businesses.json, research §4).

A business carries its standard fields (written through ``/businesses/``) and, separately, the
values of its Custom Fields V2 (objectKey ``business``), written and read through the objects
API as ``/objects/business/records/{id}`` (research §4: "schemaKey may also be business"). The
businesses API itself takes no custom fields (issue #329).
"""

from __future__ import annotations

from .common import ApiError, now_iso

__all__ = ["BusinessStore"]

_STANDARD = ("name", "phone", "email", "website", "address", "city", "state", "postalCode", "country", "description")


class BusinessStore:
    """Mixin of :class:`~.state.State`: businesses."""

    businesses: dict[str, dict]

    def create_business(self, body: dict) -> dict:
        with self.lock:
            self.check_location(body["locationId"])
            now = now_iso()
            b = {"id": self.new_hex_id(), "locationId": self.location_id, "createdAt": now, "updatedAt": now,
                 "createdBy": {"source": "INTEGRATION", "channel": "OAUTH"}, "properties": {}}
            b.update({k: body[k] for k in _STANDARD if k in body})
            self.businesses[b["id"]] = b
            return self.render_business(b)

    def business(self, bid: str) -> dict:
        b = self.businesses.get(bid)
        if b is None:
            raise ApiError(404, "Business not found")
        return b

    def get_business(self, bid: str) -> dict:
        with self.lock:
            return self.render_business(self.business(bid))

    def update_business(self, bid: str, body: dict) -> dict:
        with self.lock:
            b = self.business(bid)
            if "name" in body and not str(body["name"]).strip():
                raise ApiError(422, ["name should not be empty"])
            b.update({k: body[k] for k in _STANDARD if k in body})
            b["updatedAt"] = now_iso()
            b["updatedBy"] = {"source": "INTEGRATION", "channel": "OAUTH"}
            return self.render_business(b)

    def delete_business(self, bid: str) -> None:
        with self.lock:
            self.business(bid)
            del self.businesses[bid]
            for c in self.contacts.values():  # its contacts stay, unlinked
                if c.get("businessId") == bid:
                    c.pop("businessId")

    def list_businesses(self, location_id: str, skip: int, limit: int) -> list[dict]:
        with self.lock:
            self.check_location(location_id)
            items = sorted(self.businesses.values(), key=lambda b: (b["createdAt"], b["id"]))
            return [self.render_business(b) for b in items[skip: skip + limit]]

    def render_business(self, b: dict) -> dict:
        return {k: v for k, v in b.items() if k != "properties" and v is not None}
