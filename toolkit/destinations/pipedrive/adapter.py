"""Pipedrive adapter: persons, organizations, leads, deals with pipelines and stages, activities,
notes, files, person/organization/deal custom fields and users of one company.

Facts come from ``shared/research/pipedrive.md`` ("§n") and the vendor specs in
``shared/specs/pipedrive/``. The current API is split (§3): persons, organizations, deals,
activities, pipelines, stages, fields and search on ``/api/v2``; leads, notes, files, users and
activity types on ``/api/v1`` only. Each object is a kind in :mod:`._kinds` chosen from a table.
"""

from __future__ import annotations

import logging
from typing import Any, Iterator

import httpx

from ...errors import ConfigError, MappingError
from .._base import ByKind, CustomField, Destination, DestinationConfig, Pipeline, Record, Stage, User
from . import knowledge
from ._api import WINDOW_SECONDS, Api, Pacer
from ._fields import ENTITY_OF, FieldCatalog
from ._activities import ActivityKind, FileKind, NoteKind
from ._kinds import Context, DealKind, Kind, LeadKind, OrganizationKind, PersonKind, UserKind

__all__ = ["Pipedrive", "DEFAULT_BASE_URL"]

log = logging.getLogger(__name__)

#: the spec's server host (both versions); a company's own ``https://<domain>.pipedrive.com``
#: is "faster" (§1) and is used when ``company_domain`` is given and no base URL is
DEFAULT_BASE_URL = "https://api.pipedrive.com"

#: object name -> the kind that serves it (a table, never a chain of ifs)
KINDS: dict[str, type[Kind]] = {k.object: k for k in (UserKind, OrganizationKind, PersonKind, LeadKind, DealKind,
                                                      ActivityKind, NoteKind, FileKind)}


class Pipedrive(ByKind, Destination):
    """A Pipedrive company.

    Config options:
        company_domain: the ``<domain>`` of ``<domain>.pipedrive.com`` (used to build the base URL
            when none is configured).
        auth: ``api_token`` (default; ``x-api-token`` header) or ``oauth`` (the token variable
            holds an OAuth access token, sent as ``Authorization: Bearer``).
        currency: the currency monetary values are written in (default USD).
        page_size: records per page when listing (default the vendor maximum, 500; files 100).
        burst_window: the burst window in seconds (default 2; a sped-up sandbox says less).

    Args:
        config: base URL, token variable, options.
        client: an httpx client (tests inject a MockTransport); one with TLS verification on is
            built when none is given.
        pacer: the pacing to use; default the process-wide one for this host and token.
    """

    name = "pipedrive"
    # Users are not a load target: POST /v1/users adds a paid seat and there is no DELETE for
    # them (§3), so providers are matched to existing users by email instead (list_users). The
    # "user" kind still creates, reads and deactivates users when called on purpose.
    objects = ("organization", "person", "lead", "deal", "activity", "note", "file")
    has_owners = True
    features = frozenset({"create_pipelines"})
    #: a file's user is whoever uploaded it (the API token's user): it takes no owner
    ownerless = frozenset({"file"})
    display_name = knowledge.DISPLAY_NAME
    default_base_url = knowledge.DEFAULT_BASE_URL
    default_token_env = knowledge.DEFAULT_TOKEN_ENV
    sends_sms = knowledge.SENDS_SMS
    merge_fields = knowledge.MERGE_FIELDS
    rebuild_where = knowledge.REBUILD_WHERE
    quota = staticmethod(knowledge.quota)
    #: users cannot be deleted through the API (no DELETE /v1/users/{id}); every object listed
    #: can (persons, organizations, deals, activities and files are marked deleted and purged
    #: after 30 days, §6)
    undeletable = frozenset({"user"})
    #: Pipedrive documents no upload size limit we could cite (§5 Files): none is assumed
    max_file_bytes: int | None = None

    def __init__(self, config: DestinationConfig, client: httpx.Client | None = None, *, pacer: Pacer | None = None):
        super().__init__(config, client)
        opts = dict(config.options)
        domain = opts.get("company_domain")
        base = config.base_url or (f"https://{domain}.pipedrive.com" if domain else DEFAULT_BASE_URL)
        auth = opts.get("auth", "api_token")
        if auth not in ("api_token", "oauth"):
            raise ConfigError(f"Pipedrive options.auth must be api_token or oauth, not {auth!r}")
        token = config.token()
        if self.client is None:
            self.client = httpx.Client(verify=True, timeout=httpx.Timeout(30.0, connect=10.0))
        self.base_url = base.rstrip("/")
        self.api = Api(self.base_url, token, self.client, oauth=auth == "oauth", pacer=pacer,
                       window=float(opts.get("burst_window") or WINDOW_SECONDS))
        self.limiter = self.api.pacer  # the engine shows its wait reason and may set its pace
        self.fields = FieldCatalog(self.api, currency=opts.get("currency", "USD"))
        ctx = Context(self.api, self.fields, opts)
        self._kinds: dict[str, Kind] = {name: cls(ctx) for name, cls in KINDS.items()}

    def __repr__(self) -> str:  # never the token
        return f"<Pipedrive {self.base_url}>"

    def _kind(self, object: str) -> Kind:
        try:
            return self._kinds[object]
        except KeyError:
            raise MappingError(f"Pipedrive adapter has no object {object!r} (has: {', '.join(self.objects)})") from None

    # --- schema -------------------------------------------------------------------------
    def list_users(self) -> list[User]:
        """Users of the company (``GET /v1/users``; no pagination, §3)."""
        data = self.api.call("GET", "v1", "/users").get("data") or []
        return [User(id=str(u["id"]), email=u.get("email", ""), name=u.get("name", "")) for u in data
                if u.get("active_flag", True)]

    def list_pipelines(self) -> list[Pipeline]:
        """Pipelines with their stages in board order (``GET /v2/pipelines``, ``GET /v2/stages``)."""
        stages: dict[int, list[dict]] = {}
        for s in self.api.pages_v2("/stages"):
            stages.setdefault(s["pipeline_id"], []).append(s)
        return [Pipeline(id=str(p["id"]), name=p["name"],
                         stages=[Stage(id=str(s["id"]), name=s["name"])
                                 for s in sorted(stages.get(p["id"], []), key=lambda s: s.get("order_nr", 0))])
                for p in sorted(self.api.pages_v2("/pipelines"), key=lambda p: p.get("order_nr", 0))]

    def ensure_pipeline(self, name: str, stages: list[str]) -> Pipeline:
        """The pipeline called ``name`` with at least ``stages`` (in that order), created as needed.

        Pipedrive creates pipelines and stages through the API (``POST /v2/pipelines``,
        ``POST /v2/stages``, §3); existing ones are matched by name, case-insensitively, and
        stages already there are left as they are.
        """
        have = next((p for p in self.list_pipelines() if p.name.strip().lower() == name.strip().lower()), None)
        if have is None:
            data = self.api.call("POST", "v2", "/pipelines", json={"name": name})["data"]
            have = Pipeline(id=str(data["id"]), name=data["name"], stages=[])
            log.info("Pipedrive: created pipeline %s", name)
        for stage in stages:
            if have.stage(stage) is None:
                data = self.api.call("POST", "v2", "/stages", json={"name": stage, "pipeline_id": int(have.id)})["data"]
                have.stages.append(Stage(id=str(data["id"]), name=data["name"]))
        return have

    def list_activity_types(self) -> dict[str, str]:
        """Active activity types, ``key_string`` -> name (``GET /v1/activityTypes``)."""
        data = self.api.call("GET", "v1", "/activityTypes").get("data") or []
        return {t["key_string"]: t["name"] for t in data if t.get("active_flag", True)}

    def ensure_activity_type(self, name: str, icon_key: str = "task") -> str:
        """The ``key_string`` of the activity type called ``name``, created when missing (v1 only, §3)."""
        for key, label in self.list_activity_types().items():
            if label.strip().lower() == name.strip().lower():
                return key
        data = self.api.call("POST", "v1", "/activityTypes", json={"name": name, "icon_key": icon_key})["data"]
        return data["key_string"]

    def _entity(self, object: str) -> str:
        entity = ENTITY_OF.get(object)
        if entity is None:
            if object in self._kinds:
                raise MappingError(f"Pipedrive {object}s have no custom fields")
            self._kind(object)
        return entity

    def list_custom_fields(self, object: str) -> list[CustomField]:
        """Custom fields of ``object`` (a lead's are the deal fields, §4); refreshes the key cache.

        Activities, notes and files have none; they carry their source id in their own text
        (see :mod:`._kinds`), so the ``source_id`` field is reported as present for them.
        """
        if object in ("activity", "note", "file"):
            return [CustomField(key="source_id", name="Source ID", type="text", object=object, id=f"marker:{object}")]
        return self.fields.list(self._entity(object), object)

    def create_custom_field(self, spec: CustomField) -> CustomField:
        """Create ``spec`` (``POST /v2/{person,organization,deal}Fields``; leads get a deal field)."""
        if spec.object in ("activity", "note", "file") and spec.key == "source_id":
            return self.list_custom_fields(spec.object)[0]
        return self.fields.create(self._entity(spec.object), spec)

    def delete_custom_field(self, spec: CustomField) -> None:
        """Delete a custom field (by its key or looked up by ours); a missing one is not an error."""
        if spec.object in ("activity", "note", "file"):
            return
        self.fields.delete(self._entity(spec.object), spec)

    # --- records ------------------------------------------------------------------------
    def delete(self, object: str, id: str) -> None:
        """Delete a record; one already gone is not an error (rollback may replay). Persons,
        organizations, deals, activities and files are marked deleted and purged after 30 days
        (§6); notes and leads go at once."""
        self._kind(object).delete(id)

    def find_by_source_id(self, object: str, source_id: str) -> str | None:
        """The id of the record carrying ``source_id``: the v2 search on custom fields for persons,
        organizations, deals and leads; a scan of our own markers for activities, notes and files."""
        return self._kind(object).find(source_id)

    def iter_records(self, object: str) -> Iterator[Record]:
        """Every record of ``object``: cursor pages on v2, start/limit pages on v1 (§7)."""
        yield from self._kind(object).iter()

    def company(self) -> dict[str, Any]:
        """``GET /v1/users/me``: the token's user and its company (domain, id, name)."""
        return self.api.call("GET", "v1", "/users/me")["data"]
