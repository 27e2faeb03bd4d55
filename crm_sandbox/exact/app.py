"""The EXACT (Exact Online REST API) sandbox: a Starlette app over :class:`~.state.ExactState`.

Behaviour follows ../shared/research/exact.md ("§n"):

* OAuth2 authorization code and refresh (§2): ``GET /api/oauth2/auth`` redirects with a one-time
  code; ``POST /api/oauth2/token`` exchanges it, or a refresh token, for a 600 s access token
  (``expires_in`` is the *string* ``"600"``). Every refresh rotates the refresh token; reusing an
  old one is ``401 unauthorized_client "Old refresh token used."``; a refresh sooner than 570 s
  after the previous token is refused and leaves the refresh token valid.
* ``GET /api/v1/current/Me`` needs no division and counts toward no limit (§1, §3).
* Division routes, gated in this order: ``Accept: application/json`` (§1), the bearer token,
  the key block, the rate limits, the division, the endpoint, the OData options.
* Rate limits per app and division (§3): 60 a minute and 5,000 a day, reported on every
  division call as ``X-RateLimit-Minutely-Limit/-Remaining/-Reset`` and the *unprefixed* daily
  ``X-RateLimit-Limit/-Remaining/-Reset``, resets in epoch **milliseconds**. A 429 for the
  minute carries only the minutely headers.
* The error budget (§2): 400, 401, 403 and 404 answers on division routes count per key and
  endpoint; more than 10 in an hour blocks the key for an hour (403 on every call until then).
* Paging (§4) as in :mod:`.odata`; attachments download from ``/docs/SysAttachment.aspx?ID=``
  and count as calls (§5).

Sandbox-only routes under ``/__sandbox/`` change records as a practice's user would (so tests can
check delta extraction), start a new rate-limit day, or move the clock forward
(``POST /__sandbox/advance?seconds=N``: tokens age, windows roll over, blocks end).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .._server import STATE_PREFIX, RateDecision, RateWindow, VirtualClock
from .odata import QueryError, page, parse_query
from .state import KEYS, ExactState, OAuthError

__all__ = ["create_app", "Context", "ENDPOINTS", "odata_error"]

#: endpoint path (after /api/v1/{division}/, matched case-insensitively) -> (entity, kind).
#: Paths from exact.md §5. The three ``read/crm/...`` definition endpoints are this sandbox's
#: stand-ins: the research found no REST endpoint for free-field labels, workflows or email
#: templates, so a real division answers 404 there (the extractor then records them as absent).
ENDPOINTS: dict[str, tuple[str, str]] = {
    "crm/Accounts": ("Accounts", "regular"), "bulk/CRM/Accounts": ("Accounts", "bulk"),
    "sync/CRM/Accounts": ("Accounts", "sync"),
    "crm/Contacts": ("Contacts", "regular"), "bulk/CRM/Contacts": ("Contacts", "bulk"),
    "sync/CRM/Contacts": ("Contacts", "sync"),
    "crm/Opportunities": ("Opportunities", "regular"),
    "activities/Tasks": ("Tasks", "regular"), "activities/Events": ("Events", "regular"),
    "activities/CommunicationNotes": ("CommunicationNotes", "regular"),
    "documents/Documents": ("Documents", "regular"), "bulk/Documents/Documents": ("Documents", "bulk"),
    "sync/Documents/Documents": ("Documents", "sync"),
    "documents/DocumentAttachments": ("DocumentAttachments", "regular"),
    "bulk/Documents/DocumentAttachments": ("DocumentAttachments", "bulk"),
    "sync/Documents/DocumentAttachments": ("DocumentAttachments", "sync"),
    "users/Users": ("Users", "regular"), "system/Users": ("Users", "regular"),
    "sync/Deleted": ("Deleted", "sync"),
    "read/crm/FreeFields": ("FreeFields", "regular"), "read/crm/Workflows": ("Workflows", "regular"),
    "read/crm/EmailTemplates": ("EmailTemplates", "regular"),
}
_LOOKUP = {k.lower(): (k, v) for k, v in ENDPOINTS.items()}
COUNTED_ERRORS = {400, 401, 403, 404}


@dataclass
class Context:
    state: ExactState
    window: RateWindow
    clock: VirtualClock


def odata_error(status: int, message: str, headers: dict | None = None) -> Response:
    """Exact's OData error envelope."""
    return JSONResponse({"error": {"code": "", "message": {"lang": "", "value": message}}},
                        status_code=status, headers=headers)


def _reset_ms(ctx: Context, virtual_seconds: float) -> str:
    # epoch milliseconds (§3), in real time so a client sleeping until then keeps pace with a
    # sandbox sped up by time_scale
    return str(int((ctx.clock.epoch() + ctx.clock.to_real(virtual_seconds)) * 1000))


def rate_headers(ctx: Context, d: RateDecision) -> dict[str, str]:
    minutely = {"X-RateLimit-Minutely-Limit": str(d.burst_max),
                "X-RateLimit-Minutely-Remaining": str(d.burst_remaining),
                "X-RateLimit-Minutely-Reset": _reset_ms(ctx, d.burst_resets_in)}
    if not d.allowed and d.reason == "burst":
        return minutely  # §3: on a minutely 429 only the minutely headers come back
    return minutely | {"X-RateLimit-Limit": str(d.daily_limit), "X-RateLimit-Remaining": str(d.daily_remaining),
                       "X-RateLimit-Reset": _reset_ms(ctx, d.daily_resets_in)}


def create_app(ctx: Context) -> Starlette:
    state = ctx.state

    def bearer(request: Request) -> str:
        auth = request.headers.get("authorization", "")
        return auth[7:].strip() if auth[:7].lower() == "bearer " else ""

    async def oauth_auth(request: Request) -> Response:
        q = request.query_params
        if q.get("response_type") != "code":
            return JSONResponse({"error": "unsupported_response_type",
                                 "error_description": "only response_type=code is offered"}, status_code=400)
        try:
            code = state.authorize(q.get("client_id", ""), q.get("redirect_uri", ""))
        except OAuthError as e:
            return JSONResponse(e.body(), status_code=e.status)
        params = {"code": code} | ({"state": q["state"]} if q.get("state") else {})
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode(params)}", status_code=302)

    async def oauth_token(request: Request) -> Response:
        # form-encoded (§2); parsed here rather than with request.form(), which needs an extra package
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8"), keep_blank_values=True).items()}
        grant = form.get("grant_type")
        try:
            if grant == "authorization_code":
                body = state.exchange_code(form.get("client_id", ""), form.get("client_secret", ""),
                                           form.get("code", ""), form.get("redirect_uri", ""))
            elif grant == "refresh_token":
                body = state.refresh(form.get("client_id", ""), form.get("client_secret", ""),
                                     form.get("refresh_token", ""))
            else:
                raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")
        except OAuthError as e:
            return JSONResponse(e.body(), status_code=e.status)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def me(request: Request) -> Response:
        why = state.check_access(bearer(request))
        if why:
            return odata_error(401, why)
        user = state.rows("Users")[-1]
        return JSONResponse({"d": {"results": [{"CurrentDivision": state.division, "UserID": user["UserID"],
                                                "UserName": user["UserName"], "FullName": user["FullName"],
                                                "Email": user["Email"]}]}})

    def gate(request: Request, endpoint: str) -> tuple[Response | None, dict]:
        """Auth, key block and rate limits; (an error response or None, the rate headers)."""
        why = state.check_access(bearer(request))
        if why:
            state.note_error(endpoint)
            return odata_error(401, why), {}
        blocked = state.block_remaining()
        if blocked > 0:
            return odata_error(403, f"This API key is blocked for another {blocked:.0f} s: more than 10 errors "
                                    "on one endpoint within an hour"), {}
        d = ctx.window.hit()
        headers = rate_headers(ctx, d)
        if not d.allowed:
            msg = ("API rate limit exceeded: daily limit reached" if d.reason == "daily"
                   else "API rate limit exceeded: minutely limit reached")
            return odata_error(429, msg, headers), headers
        return None, headers

    async def division_route(request: Request) -> Response:
        if "application/json" not in request.headers.get("accept", ""):
            return odata_error(406, "Send 'Accept: application/json': this API answers Atom XML otherwise")
        path = request.path_params["path"]
        found = _LOOKUP.get(path.lower())
        endpoint = found[0] if found else path
        refused, headers = gate(request, endpoint)
        if refused is not None:
            return refused

        def fail(status: int, message: str) -> Response:
            state.note_error(endpoint)
            return odata_error(status, message, headers)

        try:
            division = int(request.path_params["division"])
        except ValueError:
            return fail(400, "The division in the URL is not a number")
        if division != state.division:
            return fail(403, f"You have no access to division {division}")
        if found is None:
            return fail(404, f"Resource not found: {path}")
        entity, kind = found[1]
        records = state.rows(entity)
        fields = [k for k in (records[0] if records else {}) if k != "Timestamp"]
        try:
            q = parse_query(dict(request.query_params), fields, sync=kind == "sync", bulk=kind == "bulk")
            base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
            rows, nxt = page(records, q, key=KEYS.get(entity, "ID"), by_timestamp=kind == "sync",
                             size=60 if kind == "regular" else 1000, next_base=base)
        except QueryError as e:
            return fail(400, str(e))
        host = f"{request.url.scheme}://{request.url.netloc}"
        for r in rows:
            if isinstance(r.get("Url"), str) and r["Url"].startswith("/docs/"):
                r["Url"] = host + r["Url"]  # attachment links are absolute, as Exact sends them
            r["__metadata"] = {"uri": f"{base}(guid'{r.get(KEYS.get(entity, 'ID'))}')",
                               "type": f"Exact.Web.Api.Models.{entity}"}
        d: dict = {"results": rows}
        if nxt:
            d["__next"] = nxt
        return JSONResponse({"d": d}, headers=headers)

    async def attachment(request: Request) -> Response:
        endpoint = "docs/SysAttachment.aspx"
        refused, headers = gate(request, endpoint)
        if refused is not None:
            return refused
        fid = (request.query_params.get("ID") or "").lower()
        rec = next((r for r in state.rows("DocumentAttachments") if r["ID"].lower() == fid), None)
        if rec is None:
            state.note_error(endpoint)
            return odata_error(404, "Attachment not found", headers)
        # small, deterministic bytes: the declared FileSize may be far larger (oversize defects)
        content = f"%PDF-1.4\n% sandbox attachment {rec['ID']} {rec['FileName']}\n".encode()
        return Response(content, media_type="application/octet-stream",
                        headers=headers | {"Content-Disposition": f'attachment; filename="{rec["FileName"]}"'})

    # --- the sandbox's own routes ---------------------------------------------------------------
    async def dump(request: Request) -> Response:
        return JSONResponse(state.dump())

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"reset": True})

    async def upsert(request: Request) -> Response:
        entity = request.path_params["entity"]
        if entity not in state.records:
            return JSONResponse({"error": f"unknown entity {entity}"}, status_code=404)
        return JSONResponse(state.upsert(entity, await request.json()))

    async def delete(request: Request) -> Response:
        entity, key = request.path_params["entity"], request.path_params["key"]
        if entity not in state.records or not state.delete(entity, key):
            return JSONResponse({"error": f"no {entity} {key}"}, status_code=404)
        return JSONResponse({"deleted": key})

    async def new_day(request: Request) -> Response:
        ctx.window.new_day()
        return JSONResponse({"new_day": True})

    async def advance(request: Request) -> Response:
        seconds = float(request.query_params.get("seconds", "0"))
        ctx.clock.advance(seconds)  # tokens age, windows and blocks roll over, as if time had passed
        return JSONResponse({"advanced": seconds, "now": ctx.clock.now()})

    routes = [
        Route("/api/oauth2/auth", oauth_auth, methods=["GET"]),
        Route("/api/oauth2/token", oauth_token, methods=["POST"]),
        Route("/api/v1/current/Me", me, methods=["GET"]),
        Route("/api/v1/{division}/{path:path}", division_route, methods=["GET"]),
        Route("/docs/SysAttachment.aspx", attachment, methods=["GET"]),
        Route(STATE_PREFIX + "state", dump, methods=["GET"]),
        Route(STATE_PREFIX + "reset", reset, methods=["POST"]),
        Route(STATE_PREFIX + "records/{entity}", upsert, methods=["POST"]),
        Route(STATE_PREFIX + "records/{entity}/{key}", delete, methods=["DELETE"]),
        Route(STATE_PREFIX + "new-day", new_day, methods=["POST"]),
        Route(STATE_PREFIX + "advance", advance, methods=["POST"]),
    ]
    return Starlette(routes=routes)
