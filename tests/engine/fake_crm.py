"""A small CRM behind httpx.MockTransport, and a Destination adapter for it.

It has what the HighLevel sandbox does not (yet): companies with parents, and file uploads
with a size limit, so the engine's ordering, link and attachment logic can be tested through
the Destination seam exactly as a vendor adapter would exercise it.

Faults: ``lose_response`` (source ids whose create is carried out but whose response is lost,
as when a connection drops after the server acted) and ``fail_next`` (that many 503s).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import httpx

from toolkit.destinations import CustomField, Destination, DestinationConfig, Pipeline, Record, Stage, User
from toolkit.errors import FatalError, NotFoundError, QuotaExhaustedError, RetriableError


class FakeCRM:
    def __init__(self):
        self.records: dict[str, dict[str, dict]] = {}
        self.fields: dict[str, dict] = {}
        self.users = [{"id": "u1", "email": "office@practice.example"}, {"id": "u2", "email": "dr@practice.example"}]
        self.pipelines = [{"id": "p1", "name": "Recall", "stages": [{"id": "s1", "name": "Due"},
                                                                   {"id": "s9", "name": "Unmapped — Review Required"}]}]
        self.lose_response: set[str] = set()
        self.fail_next = 0
        self.reject: set[str] = set()
        self.quota: int | None = None
        self.calls: list[tuple[str, str]] = []
        self._ids = itertools.count(1)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path))
        if self.fail_next:
            self.fail_next -= 1
            return httpx.Response(503, json={"message": "busy"})
        parts = request.url.path.strip("/").split("/")
        body = json.loads(request.content) if request.content else None
        m = request.method
        if parts == ["users"]:
            return httpx.Response(200, json=self.users)
        if parts == ["pipelines"]:
            return httpx.Response(200, json=self.pipelines)
        if parts[0] == "fields":
            if m == "GET":
                return httpx.Response(200, json=[f for f in self.fields.values() if f["object"] == parts[1]])
            if m == "POST":
                fid = f"f{next(self._ids)}"
                self.fields[fid] = {**body, "id": fid}
                return httpx.Response(201, json=self.fields[fid])
            self.fields.pop(parts[1], None)
            return httpx.Response(200, json={})
        obj = parts[1]
        table = self.records.setdefault(obj, {})
        if m == "POST":
            if body["custom"].get("source_id") in self.reject:
                return httpx.Response(422, json={"message": "rejected: invalid phone"})
            if obj == "opportunity" and body["links"].get("contactId") not in self.records.get("contact", {}):
                return httpx.Response(422, json={"message": "contactId does not exist"})
            rid = f"{obj[:2]}{next(self._ids)}"
            table[rid] = {**body, "id": rid}
            if body["custom"].get("source_id") in self.lose_response:
                self.lose_response.discard(body["custom"]["source_id"])
                raise httpx.ReadError("connection reset after the server acted")
            return httpx.Response(201, json={"id": rid})
        if len(parts) == 2 and m == "GET":
            sid = request.url.params.get("source_id")
            found = [r for r in table.values() if sid is None or r["custom"].get("source_id") == sid]
            return httpx.Response(200, json=found)
        rid = parts[2]
        if rid not in table:
            return httpx.Response(404, json={"message": "not found"})
        if m == "GET":
            return httpx.Response(200, json=table[rid])
        if m == "PUT":
            rec = table[rid]
            for part in ("fields", "custom", "links"):
                for k, v in (body.get(part) or {}).items():
                    if v is None:
                        rec[part].pop(k, None)
                    else:
                        rec[part][k] = v
            if body.get("tags"):
                rec["tags"] = body["tags"]
            if body.get("owner_id") is not None:
                rec["owner_id"] = body["owner_id"]
            return httpx.Response(200, json=rec)
        del table[rid]
        return httpx.Response(200, json={})


class FakeDestination(Destination):
    name = "fake"
    objects = ("company", "contact", "opportunity", "file")
    max_file_bytes = 10_000

    def __init__(self, crm: FakeCRM):
        super().__init__(DestinationConfig("http://fake.test", "FAKE_TOKEN"),
                         httpx.Client(transport=httpx.MockTransport(crm.handler), base_url="http://fake.test"))
        self.crm = crm

    def _req(self, method, path, **kw):
        try:
            resp = self.client.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise RetriableError(f"{method} {path}: {type(exc).__name__}") from None
        if resp.status_code >= 500:
            raise RetriableError(resp.json()["message"], status=resp.status_code)
        if resp.status_code == 404:
            raise NotFoundError(resp.json()["message"], status=404)
        if resp.status_code >= 400:
            raise FatalError(resp.json()["message"], status=resp.status_code)
        return resp.json()

    def list_users(self):
        return [User(u["id"], u["email"]) for u in self._req("GET", "/users")]

    def list_pipelines(self):
        return [Pipeline(p["id"], p["name"], [Stage(**s) for s in p["stages"]]) for p in self._req("GET", "/pipelines")]

    def list_custom_fields(self, object):
        return [CustomField(**f) for f in self._req("GET", f"/fields/{object}")]

    def create_custom_field(self, spec):
        body = {k: v for k, v in spec.__dict__.items() if k != "id"}
        return CustomField(**self._req("POST", "/fields", json=body))

    def delete_custom_field(self, spec):
        fid = spec.id or next((f.id for f in self.list_custom_fields(spec.object) if f.key == spec.key), None)
        if fid:
            self._req("DELETE", f"/fields/{fid}")

    def _body(self, record):
        fields = dict(record.fields)
        if record.object == "file":  # the upload: the file must be readable and within the limit
            data = Path(fields["path"]).read_bytes()
            if len(data) > self.max_file_bytes:
                raise FatalError("file too large", status=413)
            fields["bytes"] = len(data)
        return {"fields": fields, "custom": dict(record.custom), "links": dict(record.links),
                "tags": list(record.tags), "owner_id": record.owner_id}

    def create(self, record):
        if self.crm.quota is not None:
            if self.crm.quota <= 0:
                raise QuotaExhaustedError("daily quota spent", resume_at="2030-01-01T00:00:00Z")
            self.crm.quota -= 1
        return self._req("POST", f"/records/{record.object}", json=self._body(record))["id"]

    def update(self, record):
        self._req("PUT", f"/records/{record.object}/{record.id}", json=self._body(record))

    def get(self, object, id):
        try:
            r = self._req("GET", f"/records/{object}/{id}")
        except NotFoundError:
            return None
        return Record(object, r["fields"], r["custom"], r["tags"], r["owner_id"], r["links"], r["id"])

    def delete(self, object, id):
        try:
            self._req("DELETE", f"/records/{object}/{id}")
        except NotFoundError:
            pass

    def find_by_source_id(self, object, source_id):
        found = self._req("GET", f"/records/{object}", params={"source_id": source_id})
        return found[0]["id"] if found else None

    def iter_records(self, object):
        for r in self._req("GET", f"/records/{object}"):
            yield Record(object, r["fields"], r["custom"], r["tags"], r["owner_id"], r["links"], r["id"])
