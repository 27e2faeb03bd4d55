"""The Freshsales API sandbox: a Starlette app over :class:`~.state.State`.

Every vendor route passes the same gate: the ``Authorization: Token token=<key>`` header (401,
research freshsales.md §1; ``Token <key>`` is accepted too, as the vendor's own import script
sends it), the account's per-hour and per-minute limits (429, §2), the project's schemas in
:mod:`.schemas` (404 for unknown paths, 400 for invalid requests, unknown attributes
included), then the handler's business rules. Errors are ``{"errors": {"code", "message"}}``
(§9). The API is served under ``/api`` (Classic layout) and ``/crm/sales/api`` (Suite bundle
alias, §1).
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._server import STATE_PREFIX, FaultPlan, VirtualClock
from . import bulk, schemas
from .fields import ApiError
from .state import State

__all__ = ["create_app", "Context", "RateWindows", "API_PREFIXES"]

API_PREFIXES = ("/crm/sales/api", "/api")


class RateWindows:
    """Fixed windows per account - (limit, seconds) pairs - all of which a request must fit.

    A refused request counts against none of them. The windows are fixed like the shared
    :class:`~crm_sandbox._server.RateWindow` (a client pacing with a sliding log stays inside).

    Args:
        limits: e.g. ``[(400, 60.0), (5000, 3600.0)]``; the last one is the one the headers report.
        clock: virtual time.
        enforce: limits actually enforced when a fault makes them stricter (same order).
    """

    def __init__(self, limits: list[tuple[int, float]], clock: VirtualClock,
                 enforce: list[int] | None = None):
        self.limits, self.clock = limits, clock
        self.enforce = enforce or [n for n, _ in limits]
        self._starts = [-math.inf] * len(limits)
        self._counts = [0] * len(limits)
        self._lock = threading.Lock()

    def hit(self) -> tuple[bool, float, int, int]:
        """Count one request: (allowed, virtual seconds until the refusing window rolls over,
        hourly limit, hourly remaining)."""
        with self._lock:
            now = self.clock.now()
            for i, (_, seconds) in enumerate(self.limits):
                if now - self._starts[i] >= seconds:
                    self._starts[i], self._counts[i] = now, 0
            retry = 0.0
            for i, (_, seconds) in enumerate(self.limits):
                if self._counts[i] >= self.enforce[i]:
                    retry = max(retry, self._starts[i] + seconds - now)
            allowed = retry == 0.0
            if allowed:
                self._counts = [c + 1 for c in self._counts]
            total = self.limits[-1][0]
            return allowed, retry, total, max(0, total - self._counts[-1])


@dataclass
class Context:
    """What the app needs besides its routes."""

    state: State
    token: str
    windows: RateWindows
    clock: VirtualClock
    faults: FaultPlan | None = None
    retry_after: bool = True


Handler = Callable[[Request, Any, dict], Awaitable[tuple[int, Any]]]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    if status == 204:
        return Response(status_code=204, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def _token_of(header: str) -> str | None:
    # `Token token=<key>` is documented (§1); `Token <key>` is what Freshworks' own script sends
    if not header.startswith("Token "):
        return None
    rest = header[6:].strip()
    return rest[6:].strip().strip('"') if rest.startswith("token=") else rest


def create_app(ctx: Context) -> Starlette:
    """Build the Starlette app serving ``ctx.state``."""
    state = ctx.state
    handlers = _handlers(state)

    async def api(request: Request) -> Response:
        path = "/" + request.path_params["rest"]
        # 1. auth (§1): one key per user; anything else is 401 (§9 shape)
        supplied = _token_of(request.headers.get("authorization", ""))
        if supplied is None:
            return _json(401, ApiError(401, "You must be logged in to access this resource; send "
                                            "'Authorization: Token token=<API key>'").body())
        if supplied != ctx.token:
            return _json(401, ApiError(401, "Incorrect or expired API key").body())
        # 2. the account's hourly and per-minute limits (§2)
        allowed, retry, total, remaining = ctx.windows.hit()
        if allowed and ctx.faults is not None and ctx.faults.draw(ctx.faults.p429):
            allowed, retry = False, 1.0
        # §2: Freshsales documents no headers; its sister products send these, so clients may read them
        headers = {"X-RateLimit-Total": str(total), "X-RateLimit-Remaining": str(remaining),
                   "X-RateLimit-Used-CurrentRequest": "1" if allowed else "0"}
        if not allowed:
            if ctx.retry_after:
                real = ctx.clock.to_real(retry)
                headers["Retry-After"] = str(max(1, math.ceil(real))) if ctx.clock.time_scale == 1 else f"{real:.3f}"
            return _json(429, ApiError(429, "Too many requests: the account's API request limit is reached").body(), headers)
        try:
            raw = await request.body()
            found = schemas.match(request.method, path)
            if found is None:
                raise ApiError(404, f"The requested URL {request.method} {request.url.path} was not found")
            route, params = found
            ctype = request.headers.get("content-type", "")
            body = None
            if raw and not route.multipart:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise ApiError(400, "Request body is not valid JSON") from None
            query = request.query_params.multi_items()
            errors = schemas.request_errors(request.method, path, query, body, content_type=ctype, raw=raw)
            if errors:
                raise ApiError(400, errors)
            if route.multipart:
                body = schemas.multipart_fields(ctype, raw)
            bulk.run_due_jobs(state)
            status, payload = await handlers[(route.method, route.template)](request, body, params)
        except ApiError as e:
            return _json(e.status, e.body(), headers)
        return _json(status, payload, headers)

    async def dump(request):
        return JSONResponse(state.dump())

    async def reset(request):
        state.reset()
        return JSONResponse({"reset": True})

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    routes = [Route(STATE_PREFIX + "state", dump, methods=["GET"]),
              Route(STATE_PREFIX + "reset", reset, methods=["POST"])]
    routes += [Route(prefix + "/{rest:path}", api, methods=methods) for prefix in API_PREFIXES]

    async def not_api(request: Request) -> Response:
        return _json(404, ApiError(404, f"The requested URL {request.url.path} was not found").body())

    routes.append(Route("/{rest:path}", not_api, methods=methods))
    return Starlette(routes=routes)


def _handlers(state: State) -> dict[tuple[str, str], Handler]:
    """(method, route template) -> handler(request, body, path params) -> (status, payload)."""
    h: dict[tuple[str, str], Handler] = {}

    def on(method: str, template: str):
        def deco(fn):
            h[(method, template)] = fn
            return fn
        return deco

    def q(request: Request) -> dict:
        return dict(request.query_params)

    def includes(request: Request) -> set[str]:
        return {p.strip() for p in request.query_params.get("include", "").split(",") if p.strip()}

    for plural, one in schemas.ENTITIES.items():
        def bind(plural=plural, one=one):
            async def create(request, body, p):
                return 201, {one: state.create(plural, body[one])}

            async def read(request, body, p):
                return 200, state.get(plural, p["id"], includes(request))

            async def update(request, body, p):
                return 200, {one: state.update(plural, p["id"], body[one])}

            async def delete(request, body, p):
                state.delete(plural, p["id"], associated=request.query_params.get("delete_associated_contacts_deals") == "true")
                return 204, None

            for method, template, fn in (("POST", f"/{plural}", create), ("GET", f"/{plural}/{{id}}", read),
                                         ("PUT", f"/{plural}/{{id}}", update), ("DELETE", f"/{plural}/{{id}}", delete)):
                if schemas.match(method, template.replace("{id}", "1")) is not None:
                    h[(method, template)] = fn

            async def forget(request, body, p):
                # §7 "hard delete ... and all the associated data"
                state.delete(plural, p["id"], associated=True)
                return 204, None

            async def filters(request, body, p):
                return 200, {"filters": bulk.views(state, plural)}

            async def view(request, body, p):
                return 200, bulk.list_view(state, plural, p["view_id"], q(request))

            async def upsert(request, body, p):
                created, rec = bulk.upsert(state, plural, body)
                return (201 if created else 200), {one: rec}

            async def bulk_upsert(request, body, p):
                job = bulk.submit_bulk_upsert(state, plural, body)
                return 200, {"job_status_url": f"{request.url.scheme}://{request.url.netloc}"
                                               f"{_prefix(request)}/job_statuses/{job}"}

            async def bulk_destroy(request, body, p):
                job = bulk.submit_bulk_destroy(state, plural, body)
                return 202, {"job_status_url": f"{request.url.scheme}://{request.url.netloc}"
                                               f"{_prefix(request)}/job_statuses/{job}"}

            async def documents(request, body, p):
                docs = state.documents_of(plural, p["id"])
                page, per = int(request.query_params.get("page", 1)), int(request.query_params.get("per_page", 25))
                return 200, {"document_associations": docs[(page - 1) * per: page * per],
                             "meta": {"total": len(docs), "total_pages": max(1, math.ceil(len(docs) / per))}}

            async def fields(request, body, p):
                return 200, {"fields": state.fields.listing(plural)}

            async def forms(request, body, p):
                return 200, {"forms": [state.fields.forms[plural]]}

            async def field_create(request, body, p):
                with state.lock:
                    state.fields.check_form(plural, p["form_id"])
                    return 201, {"field": state.fields.create(plural, body)}

            async def field_delete(request, body, p):
                with state.lock:
                    state.fields.check_form(plural, p["form_id"])
                    name = state.fields.delete(plural, p["id"])
                    for rec in state.records[plural].values():
                        rec.get("custom", {}).pop(name, None)
                return 204, None

            async def search(request, body, p):
                return 200, bulk.filtered_search(state, one, body)

            table = {("DELETE", f"/{plural}/{{id}}/forget"): forget, ("GET", f"/{plural}/filters"): filters,
                     ("GET", f"/{plural}/view/{{view_id}}"): view, ("POST", f"/{plural}/upsert"): upsert,
                     ("POST", f"/{plural}/bulk_upsert"): bulk_upsert, ("POST", f"/{plural}/bulk_destroy"): bulk_destroy,
                     ("GET", f"/{plural}/{{id}}/document_associations"): documents,
                     ("GET", f"/settings/{plural}/fields"): fields, ("GET", f"/settings/{plural}/forms"): forms,
                     ("POST", f"/settings/{plural}/forms/{{form_id}}/fields"): field_create,
                     ("DELETE", f"/settings/{plural}/forms/{{form_id}}/fields/{{id}}"): field_delete,
                     ("POST", f"/filtered_search/{one}"): search}
            for key, fn in table.items():
                if any(r.method == key[0] and r.template == key[1] for r in schemas.ROUTES):
                    h[key] = fn

            async def activities(request, body, p):
                return 200, bulk.list_activities(state, plural, q(request))

            if plural in ("tasks", "appointments"):
                h[("GET", f"/{plural}")] = activities
        bind()

    @on("POST", "/documents")
    async def document_create(request, body, p):
        return 201, {"document": state.create_document(body)}

    @on("GET", "/job_statuses/{id}")
    async def job(request, body, p):
        return 200, bulk.job_status(state, p["id"])

    @on("GET", "/lookup")
    async def lookup(request, body, p):
        qp = request.query_params
        return 200, bulk.lookup(state, qp["q"], qp["f"], qp["entities"])

    @on("GET", "/selector/owners")
    async def owners(request, body, p):
        return 200, {"users": [{k: v for k, v in u.items() if k != "role"} for u in state.users]}

    @on("GET", "/selector/deal_pipelines/{id}/deal_stages")
    async def pipeline_stages(request, body, p):
        if not any(str(x["id"]) == p["id"] for x in state.pipelines):
            raise ApiError(404, f"Deal pipeline {p['id']} not found")
        return 200, {"deal_stages": [s for s in state.stages if str(s["deal_pipeline_id"]) == p["id"]]}

    @on("GET", "/selector/{name}")
    async def selector(request, body, p):
        return 200, {p["name"]: state.selector(p["name"])}

    missing = {(r.method, r.template) for r in schemas.ROUTES} - set(h)
    if missing:  # every route in the schema table is served, and nothing else
        raise RuntimeError(f"routes without a handler: {sorted(missing)}")
    return h


def _prefix(request: Request) -> str:
    return next(p for p in API_PREFIXES if request.url.path.startswith(p + "/"))
