"""HighLevel (LeadConnector) API v2 adapter: contacts and opportunities of one location.

Facts come from ``shared/research/highlevel.md`` ("§n") and the vendor specs in
``shared/specs/highlevel/apps/`` (contacts.json, opportunities.json, locations.json,
users.json). Every request carries ``Authorization: Bearer <token>`` and ``Version: 2021-07-28``
(§1) and passes the location's shared :class:`~toolkit.ratelimit.RateLimiter` first (§2). The
adapter never retries: it maps each outcome to a typed error and the engine retries by type.

Records cross the seam with HighLevel's own field names in ``Record.fields``; custom values are
keyed by *our* key (``source_id``), which the adapter maps to and from HighLevel field ids using
a cached copy of the location's custom fields (fieldKey ``contact.<key>`` /
``opportunity.<key>``).
"""

from __future__ import annotations

import email.utils
import logging
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Iterator
from urllib.parse import urlsplit

import httpx

from ..errors import (AuthError, ConfigError, DestinationError, FatalError, MappingError, NotFoundError,
                      QuotaExhaustedError, RateLimitedError, RetriableError)
from ..ratelimit import RateLimiter, limiter_for
from ._base import SOURCE_ID_FIELD, CustomField, Destination, DestinationConfig, Pipeline, Record, Stage, User

__all__ = ["HighLevel", "DEFAULT_BASE_URL", "API_VERSION"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://services.leadconnectorhq.com"
API_VERSION = "2021-07-28"

#: contact fields we read back (CreateContactDto/GetContectByIdSchema names)
CONTACT_FIELDS = ("firstName", "lastName", "email", "phone", "dateOfBirth", "address1", "city", "state",
                  "postalCode", "country", "companyName", "source", "gender", "website", "timezone", "dnd")
#: opportunity fields we read back (CreateDto / SearchOpportunitiesResponseSchema)
OPPORTUNITY_FIELDS = ("name", "monetaryValue", "status", "pipelineId", "pipelineStageId", "source")
#: fields the create DTO accepts but the update DTO does not (UpdateContactDto lacks companyName
#: and gender; UpdateOpportunityDto lacks contactId). Sending them on PUT is a 422 (§1), so
#: update() leaves them out and logs it; a diff then shows any value that could not be changed.
NOT_UPDATABLE = {"contact": {"companyName", "gender", "locationId"},
                 "opportunity": {"contactId", "locationId"}}

#: our field type -> HighLevel dataType (§4 "Custom fields")
TYPE_TO_HL = {
    "text": "TEXT", "large_text": "LARGE_TEXT", "number": "NUMERICAL", "monetary": "MONETORY",
    "date": "DATE",
    # datetime -> TEXT: a HighLevel DATE field holds a calendar date only, so a date-time stored
    # there would lose its time of day. As ISO-8601 text it round-trips exactly (the diff can
    # compare it) and still sorts correctly. The placeholder marks it so read-back knows.
    "datetime": "TEXT",
    # checkbox -> CHECKBOX with one option: HighLevel's CHECKBOX is a list of ticked options
    # (string[], §4), not a boolean; one option "Yes" ticked/unticked is our boolean.
    "checkbox": "CHECKBOX",
    "single_option": "SINGLE_OPTIONS", "multiple_options": "MULTIPLE_OPTIONS",
    "phone": "PHONE", "email": "EMAIL",
}
HL_TO_TYPE = {v: k for k, v in TYPE_TO_HL.items() if k != "datetime"} | {"RADIO": "single_option",
                                                                       "TEXTBOX_LIST": "text"}
DATETIME_PLACEHOLDER = "ISO 8601 date-time, e.g. 2024-05-01T14:30:00Z"
CHECKBOX_OPTION = "Yes"


class HighLevel(Destination):
    """A HighLevel sub-account (location).

    Config options:
        location_id: the location (sub-account) id; required.
        page_size: records per page when listing (default: the vendor maxima, 500 for contact
            search and 100 for opportunity search).

    Args:
        config: base URL (default the vendor's), token variable, options.
        client: an httpx client (tests inject a MockTransport); one with TLS verification on
            is built when none is given.
        limiter: the rate limiter to use; default the process-wide one for this location.
    """

    name = "highlevel"
    objects = ("contact", "opportunity")
    has_owners = True

    def __init__(self, config: DestinationConfig, client: httpx.Client | None = None, *,
                 limiter: RateLimiter | None = None):
        super().__init__(config, client)
        self.location_id = config.options.get("location_id")
        if not self.location_id:
            raise ConfigError("HighLevel needs options.location_id (the sub-account id)")
        self.base_url = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._token = config.token()
        if self.client is None:
            self.client = httpx.Client(verify=True, timeout=httpx.Timeout(30.0, connect=10.0))
        host = urlsplit(self.base_url).netloc
        self.limiter = limiter or limiter_for("highlevel", f"{host}/{self.location_id}")
        self.page_size = int(config.options.get("page_size", 0)) or None
        self._fields: dict[str, dict[str, CustomField]] = {}
        self._opp_index: dict[str, str] | None = None

    def __repr__(self) -> str:  # never the token
        return f"<HighLevel {self.base_url} location={self.location_id}>"

    # --- HTTP ---------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> Any:
        """One API call through the limiter; returns the decoded JSON body or raises typed errors."""
        self.limiter.acquire()
        where = f"{method} {path}"
        headers = {"Authorization": f"Bearer {self._token}", "Version": API_VERSION,
                   "Accept": "application/json"}
        try:
            resp = self.client.request(method, self.base_url + path, params=params, json=json, headers=headers)
        except httpx.TimeoutException:
            raise RetriableError(f"{where}: timed out") from None
        except httpx.TransportError as e:  # refused, reset, dropped mid-body
            raise RetriableError(f"{where}: connection failed ({type(e).__name__})") from None
        self.limiter.update(resp.headers)
        if resp.status_code < 400:
            try:
                return resp.json() if resp.content else {}
            except ValueError:
                raise RetriableError(f"{where}: response is not JSON", status=resp.status_code) from None
        raise self._error(where, resp)

    def _error(self, where: str, resp: httpx.Response) -> DestinationError:
        status = resp.status_code
        try:
            body: Any = resp.json()
        except ValueError:
            body = resp.text[:500]
        msg = body.get("message", body) if isinstance(body, dict) else body
        msg = "; ".join(map(str, msg)) if isinstance(msg, list) else str(msg)
        text = f"{where}: {msg}"
        if status == 429:
            if self.limiter.daily_exhausted():
                return QuotaExhaustedError(text, status=status, body=body,
                                           resume_at=_next_utc_midnight())
            retry = _retry_after(resp.headers)
            self.limiter.penalize(retry)
            return RateLimitedError(text, retry_after=retry, status=status, body=body)
        if status >= 500:
            return RetriableError(text, status=status, body=body)
        if status in (401, 403):
            return AuthError(text, status=status, body=body)
        # The spec lists no 404 for these operations; some public clients report a 400 whose
        # message says "not found" for a missing record, so treat that as not found too.
        if status == 404 or (status == 400 and "not found" in msg.lower()):
            return NotFoundError(text, status=status, body=body)
        return FatalError(text, status=status, body=body)

    # --- schema -------------------------------------------------------------------------
    def list_users(self) -> list[User]:
        """Users of the location (``GET /users/?locationId``, §4 "Users")."""
        data = self._request("GET", "/users/", params={"locationId": self.location_id})
        return [User(id=u["id"], email=u.get("email", ""), name=u.get("name") or
                     f"{u.get('firstName', '')} {u.get('lastName', '')}".strip()) for u in data.get("users", [])]

    def list_pipelines(self) -> list[Pipeline]:
        """Pipelines with stages in board order (``GET /opportunities/pipelines``)."""
        data = self._request("GET", "/opportunities/pipelines", params={"locationId": self.location_id})
        return [Pipeline(id=p["id"], name=p["name"],
                         stages=[Stage(id=s["id"], name=s["name"])
                                 for s in sorted(p.get("stages", []), key=lambda s: s.get("position", 0))])
                for p in data.get("pipelines", [])]

    def list_custom_fields(self, object: str) -> list[CustomField]:
        """The location's custom fields for ``object``; refreshes the key <-> id cache."""
        self._check_object(object)
        data = self._request("GET", f"/locations/{self.location_id}/customFields", params={"model": object})
        fields = [self._from_hl_field(f) for f in data.get("customFields", []) if f.get("model", object) == object]
        self._fields[object] = {f.key: f for f in fields}
        return fields

    def create_custom_field(self, spec: CustomField) -> CustomField:
        """Create ``spec`` as a location custom field (``POST /locations/{id}/customFields``)."""
        self._check_object(spec.object)
        if spec.type not in TYPE_TO_HL:
            raise MappingError(f"custom field {spec.key}: unknown type {spec.type!r} (known: {', '.join(TYPE_TO_HL)})")
        body: dict[str, Any] = {"name": spec.name, "dataType": TYPE_TO_HL[spec.type], "model": spec.object,
                                # fieldKey is accepted though undocumented (§4, issue #300)
                                "fieldKey": f"{spec.object}.{spec.key}"}
        if spec.type == "datetime":
            body["placeholder"] = DATETIME_PLACEHOLDER
        if spec.type == "checkbox":
            body["options"] = [CHECKBOX_OPTION]
        elif spec.type in ("single_option", "multiple_options"):
            if not spec.options:
                raise MappingError(f"custom field {spec.key}: a {spec.type} field needs options")
            # how options are passed here is a documented gap (§10); `options` is the name the
            # v2 custom-fields API uses (apps/custom-fields.json)
            body["options"] = list(spec.options)
        data = self._request("POST", f"/locations/{self.location_id}/customFields", json=body)
        made = self._from_hl_field(data["customField"])
        self._fields.setdefault(spec.object, {})[made.key] = made
        return made

    def delete_custom_field(self, spec: CustomField) -> None:
        """Delete a custom field (by id, or looked up by key); a missing one is not an error."""
        fid = spec.id or getattr(self._field_map(spec.object).get(spec.key), "id", None)
        if fid is None:
            return
        try:
            self._request("DELETE", f"/locations/{self.location_id}/customFields/{fid}")
        except NotFoundError:
            pass
        self._fields.get(spec.object, {}).pop(spec.key, None)

    def _from_hl_field(self, f: dict) -> CustomField:
        model = f.get("model", "contact")
        key = f.get("fieldKey", "")
        key = key.split(".", 1)[1] if key.startswith(model + ".") else key
        dtype = f.get("dataType", "TEXT")
        ftype = HL_TO_TYPE.get(dtype, "text")
        options = list(f.get("picklistOptions") or [])
        if dtype == "TEXT" and f.get("placeholder") == DATETIME_PLACEHOLDER:
            ftype = "datetime"
        if dtype == "CHECKBOX" and options == [CHECKBOX_OPTION]:
            ftype, options = "checkbox", []
        elif dtype == "CHECKBOX":
            ftype = "multiple_options"
        return CustomField(key=key, name=f.get("name", key), type=ftype, object=model, options=options, id=f.get("id"))

    def _field_map(self, object: str) -> dict[str, CustomField]:
        if object not in self._fields:
            self.list_custom_fields(object)
        return self._fields[object]

    def _check_object(self, object: str) -> None:
        if object not in self.objects:
            raise MappingError(f"HighLevel adapter has no object {object!r} (has: {', '.join(self.objects)})")

    # --- records ------------------------------------------------------------------------
    def _payload(self, record: Record, *, create: bool) -> dict[str, Any]:
        self._check_object(record.object)
        body = {k: _plain(v) for k, v in record.fields.items()}
        body.update(record.links)
        if record.tags:
            if record.object == "opportunity":
                raise MappingError("HighLevel opportunities have no tags (apps/opportunities.json CreateDto)")
            body["tags"] = list(record.tags)
        if record.owner_id is not None:
            body["assignedTo"] = record.owner_id
        if record.custom:
            fields = self._field_map(record.object)
            items = []
            for key, value in record.custom.items():
                f = fields.get(key)
                if f is None or f.id is None:
                    raise MappingError(f"{record.object} custom field {key!r} does not exist in the location; "
                                       "provision it first")
                # always send `id` (the typed schemas require it) and `field_value` (§4)
                items.append({"id": f.id, "field_value": _to_hl(f, value)})
            body["customFields"] = items
        if create:
            body["locationId"] = self.location_id
            if record.object == "opportunity":
                body.setdefault("status", "open")  # required by CreateDto; a new deal is open
        else:
            dropped = sorted(k for k in body if k in NOT_UPDATABLE[record.object])
            if dropped:
                log.warning("HighLevel %s update cannot change %s (not in the update DTO); left as is",
                            record.object, ", ".join(dropped))
            body = {k: v for k, v in body.items() if k not in NOT_UPDATABLE[record.object]}
        return body

    def _path(self, object: str) -> str:
        self._check_object(object)
        return "/contacts" if object == "contact" else "/opportunities"

    def create(self, record: Record) -> str:
        """Create a contact (``POST /contacts/``) or opportunity (``POST /opportunities/``)."""
        data = self._request("POST", self._path(record.object) + "/", json=self._payload(record, create=True))
        new_id = data[record.object]["id"]
        if record.object == "opportunity" and self._opp_index is not None and SOURCE_ID_FIELD in record.custom:
            self._opp_index[str(record.custom[SOURCE_ID_FIELD])] = new_id
        return new_id

    def update(self, record: Record) -> None:
        """Overwrite the fields present in ``record`` (``PUT …/{id}``)."""
        if not record.id:
            raise MappingError("update needs record.id")
        self._request("PUT", f"{self._path(record.object)}/{record.id}", json=self._payload(record, create=False))

    def get(self, object: str, id: str) -> Record | None:
        """Read one record back, or None when HighLevel does not have it."""
        try:
            data = self._request("GET", f"{self._path(object)}/{id}")
        except NotFoundError:
            return None
        return self._record(object, data[object])

    def delete(self, object: str, id: str) -> None:
        """Delete a record; one already gone is not an error (rollback may replay)."""
        try:
            self._request("DELETE", f"{self._path(object)}/{id}")
        except NotFoundError:
            pass
        if object == "opportunity" and self._opp_index:
            for sid in [s for s, i in self._opp_index.items() if i == id]:
                del self._opp_index[sid]

    def find_by_source_id(self, object: str, source_id: str) -> str | None:
        """The id of the record whose ``source_id`` custom field equals ``source_id``.

        Contacts: ``POST /contacts/search`` filtered on ``customFields.<fieldId>`` (§3). The
        GET opportunity search offers no custom-field filter, so opportunities are indexed by
        one paged scan, kept current by this adapter's own creates and deletes.
        """
        field = self._field_map(object).get(SOURCE_ID_FIELD)
        if field is None:  # never provisioned: nothing can carry it
            return None
        if object == "contact":
            body = {"locationId": self.location_id, "page": 1, "pageLimit": 20,
                    "filters": [{"field": f"customFields.{field.id}", "operator": "eq", "value": source_id}]}
            data = self._request("POST", "/contacts/search", json=body)
            for c in data.get("contacts", []):
                # the search compares case-insensitively; source ids are exact
                if any(cf.get("id") == field.id and str(cf.get("value")) == str(source_id)
                       for cf in c.get("customFields", [])):
                    return c["id"]
            return None
        if self._opp_index is None:
            self._opp_index = {}
            for rec in self.iter_records("opportunity"):
                sid = rec.custom.get(SOURCE_ID_FIELD)
                if sid is not None:
                    self._opp_index.setdefault(str(sid), rec.id)
        return self._opp_index.get(str(source_id))

    def iter_records(self, object: str) -> Iterator[Record]:
        """Every record of ``object``, following the vendor's pagination (§3)."""
        if object == "contact":
            yield from self._iter_contacts()
        else:
            self._check_object(object)
            yield from self._iter_opportunities()

    def _iter_contacts(self) -> Iterator[Record]:
        # searchAfter cursors pass the 10,000-record cap of page-based search (§3)
        limit = min(self.page_size or 500, 500)
        page, after = 1, None
        while True:
            body: dict[str, Any] = {"locationId": self.location_id, "pageLimit": limit}
            if after is not None:
                body["searchAfter"] = after
            else:
                body["page"] = page
            items = self._request("POST", "/contacts/search", json=body).get("contacts", [])
            for c in items:
                yield self._record("contact", c)
            if len(items) < limit:
                return
            after = items[-1].get("searchAfter")
            page += 1

    def _iter_opportunities(self) -> Iterator[Record]:
        limit = min(self.page_size or 100, 100)
        page = 1
        while True:
            data = self._request("GET", "/opportunities/search",
                                 params={"location_id": self.location_id, "page": page, "limit": limit})
            items = data.get("opportunities", [])
            for o in items:
                yield self._record("opportunity", o)
            total = data.get("meta", {}).get("total")
            if not items or len(items) < limit or (total is not None and page * limit >= total):
                return
            page += 1

    def _record(self, object: str, data: dict) -> Record:
        """A vendor body as a Record in the same shape we write (custom values by our key)."""
        names = CONTACT_FIELDS if object == "contact" else OPPORTUNITY_FIELDS
        fields = {k: data[k] for k in names if data.get(k) is not None}
        if fields.get("dateOfBirth"):
            fields["dateOfBirth"] = str(fields["dateOfBirth"])[:10]  # returned as …T00:00:00.000Z (§7)
        custom: dict[str, Any] = {}
        for item in data.get("customFields") or []:
            f = self._field_by_id(object, item.get("id"))
            value = _read_value(item)
            if f is None:
                custom[f"id:{item.get('id')}"] = value  # a field we do not know: keep, never drop
            else:
                custom[f.key] = _from_hl(f, value)
        links = {"contactId": data["contactId"]} if object == "opportunity" and data.get("contactId") else {}
        return Record(object=object, fields=fields, custom=custom,
                      tags=list(data.get("tags") or []) if object == "contact" else [],
                      owner_id=data.get("assignedTo") or None, links=links, id=data.get("id"))

    def _field_by_id(self, object: str, fid: str | None) -> CustomField | None:
        def find() -> CustomField | None:
            return next((f for f in self._field_map(object).values() if f.id == fid), None)
        found = find()
        if found is None and fid:  # created since we cached: refresh once
            self.list_custom_fields(object)
            found = find()
        return found


# --- value conversion -------------------------------------------------------------------------


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    return v


def _to_hl(f: CustomField, value: Any) -> Any:
    """Our value -> HighLevel's for field ``f`` (§4 value types)."""
    if value is None:
        return None
    t = f.type
    if t in ("number", "monetary"):
        return float(value) if isinstance(value, (Decimal, str)) else value
    if t == "date":
        return value.date().isoformat() if isinstance(value, datetime) else _plain(value)
    if t == "datetime":
        return _plain(value)
    if t == "checkbox":
        return [CHECKBOX_OPTION] if value else []
    if t == "multiple_options":
        return list(value) if isinstance(value, (list, tuple, set)) else [value]
    return str(value)


def _from_hl(f: CustomField, value: Any) -> Any:
    """HighLevel's value -> ours, so a read-back compares equal to what we wrote."""
    t = f.type
    if value is None:
        return None
    if t == "checkbox":
        return CHECKBOX_OPTION in (value if isinstance(value, list) else [value])
    if t == "date":
        if isinstance(value, (int, float)):  # epoch milliseconds
            return datetime.fromtimestamp(value / 1000, timezone.utc).date().isoformat()
        return str(value)[:10]
    if t == "multiple_options" and not isinstance(value, list):
        return [value]
    return value


def _read_value(item: dict) -> Any:
    # contacts read back {id, value}; opportunities {id, fieldValue} - and per issue #87 also
    # typed variants such as fieldValueString / fieldValueNumber (§4)
    for k in ("value", "fieldValue", "field_value"):
        if k in item:
            return item[k]
    return next((v for k, v in item.items() if k.startswith("fieldValue")), None)


def _retry_after(headers: httpx.Headers) -> float | None:
    raw = headers.get("Retry-After")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(0.0, when.timestamp() - time.time())
    interval = headers.get("X-RateLimit-Interval-Milliseconds")
    try:
        return float(interval) / 1000.0 if interval else None
    except ValueError:
        return None


def _next_utc_midnight() -> str:
    now = datetime.now(timezone.utc)
    nxt = now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() + 86_400
    return datetime.fromtimestamp(nxt, timezone.utc).isoformat().replace("+00:00", "Z")
