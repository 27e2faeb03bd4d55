"""The Freshsales (Freshworks CRM) adapter: one account, every object a practice migration moves.

Facts come from ``shared/research/freshsales.md`` ("§n"); the request shapes this adapter sends
are the ones written down in :mod:`crm_sandbox.freshsales.schemas`. Every request carries
``Authorization: Token token=<key>`` (§1) and passes the account's :class:`._pacing.Pacer`
(per-minute and per-hour windows, §2). The adapter never retries: each outcome becomes a typed
error and the engine retries by type.

Objects, in load order: ``sales_account`` (with ``parent_sales_account_id``), ``contact`` and
``lead`` (a lead is a contact in the lead lifecycle stage: the current product has no leads API,
§3 "Leads"), ``deal`` (pipeline and stage ids from :meth:`list_pipelines`), ``task``,
``appointment``, ``note`` and ``file`` (an upload of ``fields["path"]`` named ``fields["name"]``,
the seam's file convention, :mod:`toolkit.load.attachments`). Custom values are keyed by our key; the
account names the field ``cf_<key>`` (§5). Tasks, appointments, notes and files have no custom fields, so their source id
travels as a marker line in the description (file name) and reads back as ``custom["source_id"]``.
Note and file ids are ``<id>@<Type>/<parent id>``: the API reads them only through their parent.
Pipelines and stages are read-only through the API (§3), so there is no ``ensure_pipeline``.
Bulk paths (:meth:`create_many`, :meth:`destroy_many`) live in :mod:`._bulk`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from ...errors import ConfigError, FatalError, MappingError, NotFoundError, RateLimitedError
from .._base import SOURCE_ID_FIELD, CustomField, Destination, DestinationConfig, Record
from . import knowledge
from .._http import decode, error_for, send
from ._bulk import BulkOperations
from ._pacing import PER_MINUTE, PLAN_HOURLY, Pacer
from ._records import OBJECTS, TIMESTAMP_FIELDS, from_api_time, mark, plain, to_api_time, unmark
from ._schema import SchemaOperations

__all__ = ["Freshsales"]

#: times a read answered 429 is asked again in place (after the pacer's wait) before it is raised
READ_RETRIES_ON_429 = 3

log = logging.getLogger(__name__)


class Freshsales(SchemaOperations, BulkOperations, Destination):
    """A Freshsales account.

    Config:
        base_url: the bundle alias with its path, e.g. ``https://acme.myfreshworks.com/crm/sales``
            (Classic: ``https://acme.freshsales.io``); the adapter appends ``/api/...`` (§1).
        options: ``domain`` (the bundle alias, default the URL's host: keys the rate limits),
            ``time_zone`` (IANA name for naive timestamps, default UTC), ``plan`` (Blossom, Garden,
            Estate, Forest: the hourly limit until headers say otherwise, §2), ``hourly`` and
            ``per_minute`` (explicit limits), ``time_scale`` (sandboxes only: windows that run
            faster than real time), ``page_size`` (default 100, the maximum, §8), ``lead_stage``/``contact_stage`` (lifecycle stage
            names for leads and contacts, default "Lead"/"Customer"), ``form_ids`` (module ->
            form id for creating fields, when the account's forms cannot be listed),
            ``max_file_mb`` (largest upload, default 25).

    Args:
        config: where and how to reach the account.
        client: an httpx client (tests inject a MockTransport); one with TLS verification on
            is built when none is given.
        pacer: the rate limiting to use; default the process-wide one for this account.
    """

    name = "freshsales"
    objects = ("sales_account", "contact", "lead", "deal", "task", "appointment", "note", "file")
    has_owners = True
    features = frozenset({"bulk_create", "bulk_delete"})
    display_name = knowledge.DISPLAY_NAME
    default_base_url = knowledge.DEFAULT_BASE_URL
    default_token_env = knowledge.DEFAULT_TOKEN_ENV
    sends_sms = knowledge.SENDS_SMS
    merge_fields = knowledge.MERGE_FIELDS
    rebuild_where = knowledge.REBUILD_WHERE
    quota = staticmethod(knowledge.quota)
    #: the API documents no way to delete a file (§3 "Files": delete [?]); rollback leaves them
    undeletable = frozenset({"file"})

    def __init__(self, config: DestinationConfig, client: httpx.Client | None = None, *, pacer: Pacer | None = None):
        super().__init__(config, client)
        if not config.base_url:
            raise ConfigError("Freshsales needs base_url: https://<bundle alias>/crm/sales (see API settings)")
        self.base_url = config.base_url.rstrip("/")
        self.domain = config.options.get("domain") or urlsplit(self.base_url).netloc
        self._token = config.token()
        if self.client is None:
            self.client = httpx.Client(verify=True, timeout=httpx.Timeout(60.0, connect=10.0))
        plan = str(config.options.get("plan", "")).lower()
        if plan and plan not in PLAN_HOURLY:
            raise ConfigError(f"unknown Freshsales plan {plan!r} (known: {', '.join(sorted(PLAN_HOURLY))})")
        opts = config.options
        self.limiter = pacer or Pacer(f"{urlsplit(self.base_url).netloc}/{self.domain}",
                                      hourly=int(opts.get("hourly") or PLAN_HOURLY.get(plan, 1000)),
                                      per_minute=int(opts.get("per_minute") or PER_MINUTE),
                                      time_scale=float(opts.get("time_scale") or 1.0))
        self.zone = ZoneInfo(config.options.get("time_zone") or "UTC")
        self.page_size = min(int(config.options.get("page_size") or 100), 100)
        #: largest file uploaded; storage limits scale with the plan and no per-file figure is
        #: documented (§3 "Files" [?]), so 25 MB unless options.max_file_mb says otherwise
        self.max_file_bytes = int(float(config.options.get("max_file_mb") or 25) * 1024 * 1024)
        self.lead_stage = config.options.get("lead_stage", "Lead")
        self.contact_stage = config.options.get("contact_stage", "Customer")
        self._form_ids: dict[str, str] = dict(config.options.get("form_ids") or {})
        self._fields: dict[str, dict[str, tuple[CustomField, dict]]] = {}
        self._stages: dict[str, str] | None = None
        self._views: dict[str, str] = {}
        self._index: dict[str, dict[str, str]] = {}

    def __repr__(self) -> str:  # never the token
        return f"<Freshsales {self.base_url}>"

    # --- HTTP ---------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                 files: Any = None, data: dict | None = None) -> Any:
        """One API call (``path`` below ``/api``) through the pacer; decoded JSON or typed errors."""
        self.limiter.acquire()
        where = f"{method} /api{path}"
        headers = {"Authorization": f"Token token={self._token}", "Accept": "application/json"}
        resp = send(self.client, method, f"{self.base_url}/api{path}", where=where, params=params, json=json,
                    files=files, data=data, headers=headers)
        self.limiter.update(resp.headers)
        if resp.status_code < 400:
            return decode(resp, where)
        raise error_for(where, resp, message=_message, penalize=self.limiter.penalize)

    def _read(self, path: str, params: dict | None = None) -> Any:
        """A read inside a listing: answered 429, it is asked again here once the pacer has waited
        what the server said, so that a listing of many pages (notes under every contact) is not
        read again from its first page."""
        for attempt in range(READ_RETRIES_ON_429 + 1):
            try:
                return self._request("GET", path, params=params)
            except RateLimitedError:
                if attempt == READ_RETRIES_ON_429:
                    raise

    # --- lookups ------------------------------------------------------------------------
    def _info(self, object: str):
        try:
            return OBJECTS[object]
        except KeyError:
            raise MappingError(f"Freshsales adapter has no object {object!r} (has: {', '.join(self.objects)})") from None

    # --- records: payloads --------------------------------------------------------------
    def payload(self, record: Record, *, create: bool) -> dict[str, Any]:
        """The inner body (``{"first_name": ...}``) for ``record``, without the root key."""
        info = self._info(record.object)
        body: dict[str, Any] = {}
        for k, v in record.fields.items():
            v = plain(v)
            if k in TIMESTAMP_FIELDS and v is not None:
                v = to_api_time(v, self.zone)
            elif k.endswith("_id") and k != "external_id" and isinstance(v, str) and v.isdigit():
                v = int(v)
            body[k] = v
        for k, v in record.links.items():
            body[k] = [int(v)] if k == "contacts_added_list" else int(v)
        if record.tags:
            # §4 lists tags among the read-only contact fields (unverified); never drop them silently
            raise MappingError("Freshsales tags cannot be written through the API (research §4); map them to a field")
        if record.owner_id is not None:
            if record.object == "appointment":  # the owner attends as a user (§4, FdMultitenant::User)
                body["appointment_attendees_attributes"] = [{"attendee_type": "FdMultitenant::User",
                                                             "attendee_id": int(record.owner_id)}]
            elif record.object not in ("note", "file"):  # notes and files belong to the key's user
                body["owner_id"] = int(record.owner_id)
        if record.object == "note" and create and "targetable_id" in body and "targetable_type" not in body:
            body["targetable_type"] = "Contact"  # a note's link points at a person unless it says otherwise (§4)
        if record.object in ("contact", "lead") and create and "lifecycle_stage_id" not in body:
            body["lifecycle_stage_id"] = int(self._stage_for(record.object))
        if info.custom:
            if record.custom:
                fields = self._field_map(record.object)
                values = {}
                for key, value in record.custom.items():
                    if key not in fields:
                        raise MappingError(f"{record.object} custom field {key!r} does not exist in the account; "
                                           "provision it first")
                    values[f"cf_{key}"] = self._to_fs(fields[key][0], value)
                body["custom_field"] = values
        else:
            extra = set(record.custom) - {SOURCE_ID_FIELD}
            if extra:
                raise MappingError(f"Freshsales {record.object}s have no custom fields (§5): {', '.join(sorted(extra))}")
            sid = record.custom.get(SOURCE_ID_FIELD)
            if sid is not None and record.object != "file":
                body["description"] = mark(body.get("description"), str(sid))
        return body

    def _to_fs(self, f: CustomField, value: Any) -> Any:
        value = plain(value)
        if value is None:
            return None
        if f.type in ("number", "monetary"):
            return float(value) if isinstance(value, str) else value
        if f.type == "date":
            return str(value)[:10]
        if f.type == "datetime":
            return to_api_time(value, self.zone)
        if f.type == "checkbox":
            return bool(value)
        if f.type == "multiple_options":
            return list(value) if isinstance(value, (list, tuple, set)) else [value]
        return str(value)

    def _path(self, object: str) -> str:
        return "/" + self._info(object).module

    # --- records: writing ---------------------------------------------------------------
    def create(self, record: Record) -> str:
        """Create one record; returns its id (``<id>@<Type>/<parent>`` for notes and files)."""
        if record.object == "file":
            return self._upload(record)
        info = self._info(record.object)
        data = self._request("POST", self._path(record.object), json={info.root: self.payload(record, create=True)})
        made = data[info.root]
        rid = self._composite(record.object, made)
        sid = record.custom.get(SOURCE_ID_FIELD)
        if sid is not None and record.object in self._index:
            self._index[record.object][str(sid)] = rid
        return rid

    def _composite(self, object: str, made: dict) -> str:
        if object in ("note", "file"):
            return f"{made['id']}@{made['targetable_type']}/{made['targetable_id']}"
        return str(made["id"])

    def _upload(self, record: Record) -> str:
        """``POST /api/documents`` as multipart (§4 File): ``fields["path"]`` is the local file
        (or ``fields["content"]`` its bytes), ``fields["name"]`` the name it gets."""
        fields = dict(record.fields)
        path, content = fields.get("path"), fields.get("content")
        if content is None and not path:
            raise MappingError("a Freshsales file needs fields['path'] (the local file to upload)")
        if content is None:
            try:
                size = Path(path).stat().st_size
                if self.max_file_bytes is not None and size > self.max_file_bytes:
                    raise FatalError(f"file {path} is {size:,} bytes, over the {self.max_file_bytes:,} byte limit")
                content = Path(path).read_bytes()
            except OSError as e:
                raise MappingError(f"file {path}: cannot be read ({e.strerror or e})") from None
        name = str(fields.get("name") or (Path(path).name if path else "upload"))
        sid = record.custom.get(SOURCE_ID_FIELD)
        if set(record.custom) - {SOURCE_ID_FIELD}:
            raise MappingError("Freshsales files have no custom fields (§5)")
        stored = f"[{sid}] {name}" if sid is not None else name
        target = record.links.get("targetable_id")
        if not target:
            raise MappingError("a Freshsales file needs links['targetable_id'] (the record it belongs to)")
        form = {"file_name": stored, "targetable_id": str(int(target)),
                "targetable_type": str(fields.get("targetable_type", "Contact")),
                "is_shared": "true" if fields.get("is_shared") else "false"}
        data = self._request("POST", "/documents", data=form, files={"file": (stored, content)})
        rid = self._composite("file", data["document"])
        if sid is not None and "file" in self._index:
            self._index["file"][str(sid)] = rid
        return rid

    def update(self, record: Record) -> None:
        """Overwrite the fields present in ``record`` (``PUT /api/<module>/<id>``)."""
        if not record.id:
            raise MappingError("update needs record.id")
        if record.object == "file":
            wanted = {k for k in record.fields if k not in ("path", "size")} | set(record.links) | \
                (set(record.custom) - {SOURCE_ID_FIELD})
            if wanted:
                raise FatalError(f"Freshsales files cannot be changed through the API (§3): {', '.join(sorted(wanted))} "
                                 "left as uploaded; upload a new file instead")
            return  # nothing the API could change was asked for
        info = self._info(record.object)
        body = self.payload(record, create=False)
        if not info.custom and "description" in record.fields and SOURCE_ID_FIELD not in record.custom:
            current = self.get(record.object, record.id)  # keep the source-id marker the record carries
            sid = current.custom.get(SOURCE_ID_FIELD) if current else None
            if sid is not None:
                body["description"] = mark(body.get("description"), sid)
        if record.object == "note" and ({"targetable_type", "targetable_id"} & set(body)):
            # a note stays on its record: its id names the parent it is read through
            log.warning("Freshsales note %s: moving it to another record is not supported; left where it is", record.id)
            body.pop("targetable_type", None), body.pop("targetable_id", None)
        self._request("PUT", f"{self._path(record.object)}/{record.id.split('@')[0]}", json={info.root: body})

    def delete(self, object: str, id: str) -> None:
        """Delete one record; one already gone is not an error (rollback may replay).

        Raises:
            FatalError: for files, which the API cannot delete (:attr:`undeletable`).
        """
        if object == "file":
            raise FatalError("Freshsales files cannot be deleted through the API (§3); remove them in the app")
        try:
            self._request("DELETE", f"{self._path(object)}/{id.split('@')[0]}")
        except NotFoundError:
            pass
        for sid in [s for s, i in self._index.get(object, {}).items() if i == id]:
            del self._index[object][sid]

    # --- records: reading ---------------------------------------------------------------
    def get(self, object: str, id: str) -> Record | None:
        """Read one record back (notes and files through their parent), or None."""
        info = self._info(object)
        try:
            if object in ("note", "file"):
                return self._child(object, id)
            params = {"include": "appointment_attendees"} if object == "appointment" else None
            data = self._request("GET", f"/{info.module}/{id}", params=params)
        except NotFoundError:
            return None
        return self.record(object, data[info.root])

    def _child(self, object: str, id: str) -> Record | None:
        try:
            own, parent = id.split("@", 1)
            ttype, pid = parent.split("/", 1)
        except ValueError:
            raise MappingError(f"{object} id {id!r} is not <id>@<Type>/<parent id>") from None
        module = next(o.module for o in OBJECTS.values() if o.targetable == ttype)
        for item in self._children(object, module, pid):
            if str(item["id"]) == own:
                return self.record(object, item)
        return None

    def _children(self, object: str, module: str, parent_id: str) -> list[dict]:
        if object == "note":
            return self._read(f"/{module}/{parent_id}", params={"include": "notes"}).get("notes", [])
        return list(self._pages(f"/{module}/{parent_id}/document_associations", "document_associations"))

    def record(self, object: str, data: dict) -> Record:
        """A vendor body as a Record in the shape we write (custom values by our key)."""
        info = self._info(object)
        fields: dict[str, Any] = {}
        for k in info.fields:
            v = data.get(k)
            if v is None:
                continue
            if k in TIMESTAMP_FIELDS:
                v = from_api_time(v, self.zone)
            elif k.endswith("_id") and k != "external_id":
                v = str(v)
            fields[k] = v
        custom: dict[str, Any] = {}
        if info.custom:
            by_name = {f"cf_{key}": cf for key, (cf, _) in self._field_map(object).items()}
            for name, value in (data.get("custom_field") or {}).items():
                if value is None:
                    continue
                cf = by_name.get(name)
                if cf is None:  # a field we do not know: keep it, never drop
                    custom[name] = value
                else:
                    custom[cf.key] = from_api_time(value, self.zone) if cf.type == "datetime" else value
        elif object == "file":
            name = str(data.get("file_name") or "")
            m = re.match(r"^\[([^\]]+)\] (.*)$", name, re.S)
            if m:
                custom[SOURCE_ID_FIELD], name = m.group(1), m.group(2)
            fields["name"] = name
            if not fields.get("is_shared"):
                fields.pop("is_shared", None)  # false is the default; we only send it when set
        else:
            text, sid = unmark(fields.get("description"))
            if sid is not None:
                custom[SOURCE_ID_FIELD] = sid
                fields.pop("description")
                if text:
                    fields["description"] = text
        if object in ("contact", "lead") and fields.get("lifecycle_stage_id") == self._stage_for(object):
            fields.pop("lifecycle_stage_id")  # implied by the object; we add it on create
        links = {k: str(data[k]) for k in info.links if data.get(k) is not None and k != "contacts_added_list"}
        if "contacts_added_list" in info.links and data.get("contact_ids"):
            links["contacts_added_list"] = str(data["contact_ids"][0])
        owner = data.get("owner_id")
        if object == "appointment":
            owner = next((a["attendee_id"] for a in data.get("appointment_attendees") or []
                          if a.get("attendee_type") == "FdMultitenant::User"), None)
        rid = self._composite(object, data) if object in ("note", "file") else str(data["id"])
        return Record(object=object, fields=fields, custom=custom, owner_id=str(owner) if owner else None,
                      links=links, id=rid)

    def _pages(self, path: str, key: str, params: dict | None = None) -> Iterator[dict]:
        """Every item of a paged list (``page``/``per_page``, ``meta.total_pages``, §8)."""
        page = 1
        while True:
            data = self._read(path, params={**(params or {}), "page": page, "per_page": self.page_size})
            items = data.get(key, [])
            yield from items
            total_pages = (data.get("meta") or {}).get("total_pages")
            if not items or (total_pages is not None and page >= total_pages) or (total_pages is None and len(items) < self.page_size):
                return
            page += 1

    def _view(self, module: str) -> str:
        """The id of the module's "All ..." view (``GET /api/<module>/filters``, §8)."""
        if module not in self._views:
            filters = self._request("GET", f"/{module}/filters").get("filters", [])
            chosen = next((f for f in filters if f["name"].lower().startswith("all ") and "lead" not in f["name"].lower()),
                          next((f for f in filters if f.get("is_default")), None))
            if chosen is None:
                raise FatalError(f"the account has no 'All ...' view of {module} to list them by")
            self._views[module] = str(chosen["id"])
        return self._views[module]

    def iter_records(self, object: str) -> Iterator[Record]:
        """Every record of ``object``, following the vendor's pagination (§8)."""
        info = self._info(object)
        if info.bulk:  # saved views
            sort = {"sort": "created_at", "sort_type": "asc"}
            for item in self._pages(f"/{info.module}/view/{self._view(info.module)}", info.module, sort):
                if object in ("contact", "lead"):
                    is_lead = str(item.get("lifecycle_stage_id")) == self._stage_for("lead")
                    if is_lead != (object == "lead"):
                        continue
                yield self.record(object, item)
        elif object in ("task", "appointment"):
            filters = ("open", "completed") if object == "task" else ("upcoming", "past")
            extra = {"include": "appointment_attendees"} if object == "appointment" else {}
            for flt in filters:  # overdue tasks are a subset of open ones
                for item in self._pages(f"/{info.module}", info.module, {"filter": flt, **extra}):
                    yield self.record(object, item)
        else:  # notes and files: only through the records they hang off (§3)
            for parent in ("sales_account", "contact", "deal"):
                pinfo = OBJECTS[parent]
                for item in self._pages(f"/{pinfo.module}/view/{self._view(pinfo.module)}", pinfo.module):
                    for child in self._children(object, pinfo.module, str(item["id"])):
                        yield self.record(object, child)

    def find_by_source_id(self, object: str, source_id: str) -> str | None:
        """The id of the record carrying ``source_id``.

        Contacts, leads, accounts and deals: ``GET /api/lookup`` on ``cf_source_id`` (§3
        #lookup_search). The others have no searchable field, so they are indexed by one scan,
        kept current by this adapter's own creates and deletes.
        """
        info = self._info(object)
        if info.custom:
            if SOURCE_ID_FIELD not in self._field_map(object):
                return None  # never provisioned: nothing can carry it
            data = self._request("GET", "/lookup", params={"q": source_id, "f": f"cf_{SOURCE_ID_FIELD}",
                                                           "entities": info.root})
            hits = (data.get(info.module) or {}).get(info.module, [])
            for item in hits:  # the lookup may match loosely; source ids are exact
                if str((item.get("custom_field") or {}).get(f"cf_{SOURCE_ID_FIELD}")) == str(source_id):
                    return str(item["id"])
            return None
        if object not in self._index:
            self._index[object] = {}
            for rec in self.iter_records(object):
                sid = rec.custom.get(SOURCE_ID_FIELD)
                if sid is not None:
                    self._index[object].setdefault(str(sid), rec.id)
        return self._index[object].get(str(source_id))


def _message(body: Any) -> str:
    """Freshsales error bodies: ``{"errors": {"code", "message": [..] | ".."}}`` (§9); some
    answers carry a top-level message instead."""
    errs = body.get("errors", body) if isinstance(body, dict) else body
    msg = errs.get("message", errs) if isinstance(errs, dict) else errs
    return "; ".join(map(str, msg)) if isinstance(msg, list) else str(msg)
