"""HighLevel (LeadConnector) API v2 adapter: every object a practice migration moves into a location.

Facts come from ``shared/research/highlevel.md`` ("§n") and the vendor specs in
``shared/specs/highlevel/apps/``. The object kinds live in their own modules; this class holds
the connection, the schema calls (users, pipelines, custom fields, custom objects) and routes
record calls to the kind named by ``Record.object``:

=========================  ===========================================================
``company``                businesses, parent in ``links["parentId"]`` (:mod:`._crm`)
``contact``                contacts, company in ``links["businessId"]`` (:mod:`._crm`)
``opportunity``            opportunities, ``links["contactId"]`` (:mod:`._crm`)
``event``                  calendar appointments (:mod:`._events`)
``task`` / ``note``        under a contact, ids ``contactId/id`` (:mod:`._activities`)
``file``                   upload + attachment note (:mod:`._activities`)
``availability``           a weekday rule of a user's availability schedule (:mod:`._availability`)
``custom_object:<name>``   custom object records (:mod:`._custom_objects`)
=========================  ===========================================================
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable, Iterator, Sequence
from urllib.parse import urlsplit

import httpx

from ...errors import ConfigError, MappingError
from ..ratelimit import RateLimiter, limiter_for
from .._base import ByKind, CustomField, Destination, DestinationConfig, Pipeline, Record, Stage, User
from . import knowledge
from ._activities import MAX_UPLOAD_BYTES, Files, Notes, Tasks
from ._api import DEFAULT_BASE_URL, Api
from ._availability import Availability
from ._bulk_reads import BulkReads
from ._crm import Companies, Contacts, Opportunities
from ._custom_objects import CustomObjects, ensure_schema
from ._events import Events
from ._fields import CUSTOM_PREFIX, FieldCatalog
from ._kinds import Context, Kind

__all__ = ["HighLevel"]


class HighLevel(ByKind, Destination):
    """A HighLevel sub-account (location).

    Config options:
        location_id: the location (sub-account) id; required.
        page_size: records per page when listing (default: each endpoint's maximum).
        calendar_id: the calendar events go to when a record names none (default: the
            location's first calendar).

    Args:
        config: base URL (default the vendor's), token variable, options.
        client: an httpx client (tests inject a MockTransport); one with TLS verification on
            is built when none is given.
        limiter: the rate limiter to use; default the process-wide one for this location.
    """

    name = "highlevel"
    #: load order: companies before the contacts that link to them, contacts before everything
    #: that hangs off a contact; custom objects (``custom_object:<name>``) follow, per instance
    objects = ("company", "contact", "opportunity", "event", "task", "note", "file", "availability")
    has_owners = True
    #: businesses have no owner field (apps/businesses.json); a file is an upload and its note
    ownerless = frozenset({"company", "file"})
    #: a schedule rule has no field to hold it (see :mod:`._availability`)
    without_source_id = frozenset({"availability"})
    features = frozenset({"custom_objects"})
    display_name = knowledge.DISPLAY_NAME
    default_base_url = knowledge.DEFAULT_BASE_URL
    default_token_env = knowledge.DEFAULT_TOKEN_ENV
    sends_sms = knowledge.SENDS_SMS
    merge_fields = knowledge.MERGE_FIELDS
    rebuild_where = knowledge.REBUILD_WHERE
    quota = staticmethod(knowledge.quota)
    #: no DELETE in the API for pipelines (nor a create, in the spec we hold) or custom object
    #: schemas (research §5): rollback leaves them, and the reports list them
    undeletable = frozenset({"pipeline", "custom_object_schema"})
    #: the largest file ``create(Record("file", …))`` uploads; larger ones raise FileTooLargeError
    #: before any request, so the engine can keep them as links (apps/medias.json: 25 MB)
    max_file_bytes = MAX_UPLOAD_BYTES

    def __init__(self, config: DestinationConfig, client: httpx.Client | None = None, *,
                 limiter: RateLimiter | None = None):
        super().__init__(config, client)
        self.location_id = config.options.get("location_id")
        if not self.location_id:
            raise ConfigError("HighLevel needs options.location_id (the sub-account id)")
        self.base_url = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        if self.client is None:
            self.client = httpx.Client(verify=True, timeout=httpx.Timeout(30.0, connect=10.0))
        host = urlsplit(self.base_url).netloc
        self.limiter = limiter or limiter_for("highlevel", f"{host}/{self.location_id}")
        api = Api(self.base_url, config.token(), self.client, self.limiter)
        self.fields = FieldCatalog(api, self.location_id)
        self.ctx = Context(api, self.fields, self.location_id, dict(config.options))
        contacts = Contacts(self.ctx)
        self._schemas = threading.Lock()  # custom objects are ensured side by side
        self._kinds: dict[str, Kind] = {
            "company": Companies(self.ctx), "contact": contacts, "opportunity": Opportunities(self.ctx),
            "event": Events(self.ctx), "task": Tasks(self.ctx), "note": Notes(self.ctx, contacts),
            "file": Files(self.ctx, contacts), "availability": Availability(self.ctx, self._timezone, self.list_users)}
        self.objects = type(self).objects  # grows by the custom objects this instance ensures
        self._company_id: str | None = None
        self._loc: dict | None = None

    def __repr__(self) -> str:  # never the token
        return f"<HighLevel {self.base_url} location={self.location_id}>"

    def _kind(self, object: str) -> Kind:
        kind = self._kinds.get(object)
        if kind is None and object.startswith(CUSTOM_PREFIX) and len(object) > len(CUSTOM_PREFIX):
            kind = self._kinds[object] = CustomObjects(self.ctx, object[len(CUSTOM_PREFIX):])
        if kind is None:
            raise MappingError(f"HighLevel adapter has no object {object!r} "
                               f"(has: {', '.join(self.objects)}, custom_object:<name>)")
        return kind

    # --- schema -------------------------------------------------------------------------
    def _location(self) -> dict:
        if self._loc is None:
            self._loc = self.ctx.api.request("GET", f"/locations/{self.location_id}")["location"]
        return self._loc

    def _timezone(self) -> str:
        """The location's time zone (availability schedules are written in it)."""
        return str(self.config.options.get("timezone") or self._location().get("timezone") or "Etc/UTC")

    def list_users(self) -> list[User]:
        """The location's users: ``GET /users/search`` (``skip``/``limit``) with the agency id
        from ``GET /locations/{id}``; ``GET /users/`` is deprecated (research §4 "Users")."""
        if self._company_id is None:
            self._company_id = self._location().get("companyId") or ""
        users, skip, limit = [], 0, self.ctx.page(100)
        while True:
            data = self.ctx.api.request("GET", "/users/search", params={
                "companyId": self._company_id, "locationId": self.location_id, "skip": str(skip), "limit": str(limit)})
            page = data.get("users", [])
            users += [User(id=u["id"], email=u.get("email", ""), name=u.get("name") or
                           f"{u.get('firstName', '')} {u.get('lastName', '')}".strip()) for u in page]
            if len(page) < limit:
                return users
            skip += limit

    def list_pipelines(self) -> list[Pipeline]:
        """Pipelines with stages in board order (``GET /opportunities/pipelines``)."""
        data = self.ctx.api.request("GET", "/opportunities/pipelines", params={"locationId": self.location_id})
        return [Pipeline(id=p["id"], name=p["name"],
                         stages=[Stage(id=s["id"], name=s["name"])
                                 for s in sorted(p.get("stages", []), key=lambda s: s.get("position", 0))])
                for p in data.get("pipelines", [])]

    def list_custom_fields(self, object: str) -> list[CustomField]:
        """The custom fields of ``object`` (location fields, or Custom Fields V2 for companies and
        custom objects; tasks, notes, events and files report only their text-borne source_id)."""
        self._kind(object)
        return self.fields.list(object)

    def create_custom_field(self, spec: CustomField) -> CustomField:
        """Create ``spec`` with options for pick-lists (see :mod:`._fields` for which API)."""
        self._kind(spec.object)
        return self.fields.create(spec)

    def delete_custom_field(self, spec: CustomField) -> None:
        """Delete a custom field (by id, or looked up by key); a missing one is not an error."""
        self._kind(spec.object)
        self.fields.delete(spec)

    def ensure_custom_object(self, key: str, singular: str, plural: str, primary_field: str) -> str:
        """Make sure ``custom_objects.<key>`` exists (``POST /objects/`` when it does not); returns
        its HighLevel key. Its records are then ``Record(object="custom_object:<key>")``."""
        schema = ensure_schema(self.ctx, key, singular, plural, primary_field)
        name = f"{CUSTOM_PREFIX}{key}"
        with self._schemas:
            kind = self._kind(name)
            kind._schema = schema
            if name not in self.objects:
                self.objects = self.objects + (name,)
            self.fields.forget(name)  # the schema came with its primary field
        return schema["key"]

    # --- records ------------------------------------------------------------------------
    def settle_lost_create(self, object: str, source_id: str) -> None:
        """A file whose upload landed but whose attachment note was never made: its upload goes."""
        if object == "file":
            self._kinds["file"].drop_unattached(source_id)

    def delete(self, object: str, id: str) -> None:
        """Delete a record; one already gone is not an error (rollback may replay)."""
        self._kind(object).delete(id)

    def find_by_source_id(self, object: str, source_id: str) -> str | None:
        """The id of the record whose ``source_id`` equals ``source_id`` (contacts: a filtered
        search; custom objects and companies: records search; others: one indexed scan)."""
        return self._kind(object).find(source_id)

    def iter_records(self, object: str) -> Iterator[Record]:
        """Every record of ``object``, following each endpoint's own pagination (§3)."""
        return self._kind(object).iter()

    @contextlib.contextmanager
    def reading(self, objects: Sequence[str] = (), workers: int = 1,
                call: Callable | None = None) -> Iterator[None]:
        """A read-back: each contact asked once for its notes (notes and files) and once for its
        relations (every custom object in ``objects``), from ``workers`` threads on the
        location's limiter."""
        if self.ctx.reads is not None:  # already inside one
            yield
            return
        custom = sum(1 for o in objects if o.startswith(CUSTOM_PREFIX))
        self.ctx.reads = BulkReads(self.ctx, self._kinds["contact"], workers, call, custom_objects=custom)
        try:
            yield
        finally:
            self.ctx.reads = None
