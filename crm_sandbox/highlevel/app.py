"""The HighLevel API v2 sandbox: a Starlette app over :class:`~.state.State`.

Every vendor route passes the same gate, in the order the real API appears to apply them:
bearer token (401), rate limits (429, counted per location, §2), ``Version`` header (400, §1;
``2021-04-15`` for calendars, ``2021-07-28`` elsewhere), the vendor OpenAPI spec (404 for
unknown paths, 422 for invalid requests), undeclared body properties (422, §1/issue #262), then
the handler's business rules. Every response carries the five ``X-RateLimit-*`` headers (§2)
and JSON bodies carry a ``traceId`` (§1). The routes themselves are in :mod:`.routes`.
"""

from __future__ import annotations

import io
import json
import math
import re
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from werkzeug.formparser import parse_form_data

from .._server import STATE_PREFIX, FaultPlan, RateDecision, RateWindow, VirtualClock
from . import validation
from .routes import Handler, Upload, routes_for
from .state import ApiError, State

__all__ = ["create_app", "VERSION", "Context"]

VERSION = validation.DEFAULT_VERSION  # every endpoint but calendars (research §1)
_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


@dataclass
class Context:
    """What the app needs besides its routes."""

    state: State
    token: str
    window: RateWindow
    clock: VirtualClock
    faults: FaultPlan | None = None
    retry_after: bool = True  # whether 429s carry Retry-After (undocumented upstream, §2)


def _rate_headers(ctx: Context, d: RateDecision) -> dict[str, str]:
    # The interval is reported in real milliseconds so a client pacing from it keeps pace with
    # a sped-up (time_scale) sandbox; at time_scale 1 it is the vendor's 10000.
    return {
        "X-RateLimit-Limit-Daily": str(d.daily_limit),
        "X-RateLimit-Daily-Remaining": str(d.daily_remaining),
        "X-RateLimit-Interval-Milliseconds": str(int(round(ctx.clock.to_real(ctx.window.window) * 1000))),
        "X-RateLimit-Max": str(d.burst_max),
        "X-RateLimit-Remaining": str(d.burst_remaining),
    }


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    if isinstance(body, dict):
        body = {**body, "traceId": str(uuid.uuid4())}
    return JSONResponse(body, status_code=status, headers=headers)


def _multipart(raw: bytes, content_type: str) -> Upload:
    """Parse a multipart body with werkzeug (already a dependency through openapi-core)."""
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(raw)),
               "wsgi.input": io.BytesIO(raw)}
    _, form, files = parse_form_data(environ, max_form_memory_size=None)
    part = files.get("file")
    file = (part.filename or "upload", part.mimetype or "application/octet-stream", part.read()) if part else None
    return Upload(form={k: form[k] for k in form}, file=file)


def _stand_in(upload: Upload) -> tuple[bytes, str]:
    """The same multipart parts with the file cut to one byte: what the spec checks is which
    parts there are and their types, and parsing a 25 MB body in openapi-core takes seconds."""
    parts: list[tuple[str, Any]] = [(k, (None, v)) for k, v in upload.form.items()]
    if upload.file:
        parts.append(("file", (upload.file[0], upload.file[2][:1], upload.file[1])))
    if not parts:
        return b"", "multipart/form-data"
    req = httpx.Request("POST", "http://sandbox/", files=parts)
    return req.read(), req.headers["content-type"]


def create_app(ctx: Context) -> Starlette:
    """Build the Starlette app serving ``ctx.state``."""
    state = ctx.state

    def endpoint(handler: Handler | None, pattern: str, method: str, *, strict_body: bool = False):
        own = _path_regex(pattern) if pattern else None

        async def run(request: Request) -> Response:
            if own is not None and (m := own.match(request.url.path)):
                # one Route serves paths the spec names differently per method
                # (/associations/relations/{recordId} vs …/{relationId}): use this method's names
                request.scope["path_params"] = m.groupdict()
            # 1. auth: the configured bearer token or 401 (UnauthorizedDTO shape)
            auth = request.headers.get("authorization", "")
            if not auth.startswith("Bearer ") or auth[7:].strip() != ctx.token:
                msg = "Invalid token: access token is invalid" if auth else "Unauthorized: no bearer token"
                return _json(401, ApiError(401, msg).body())
            # 2. rate limits, per location
            d = ctx.window.hit()
            if d.allowed and ctx.faults is not None and ctx.faults.draw(ctx.faults.p429):
                d = RateDecision(False, d.burst_max, d.burst_remaining, d.daily_limit, d.daily_remaining,
                                 ctx.window.window / 10, "fault")
            headers = _rate_headers(ctx, d)
            if not d.allowed:
                if ctx.retry_after:
                    real = ctx.clock.to_real(d.retry_after)
                    # integer seconds in real time (HTTP), fractional only when sped up for tests
                    headers["Retry-After"] = str(max(1, math.ceil(real))) if ctx.clock.time_scale == 1 else f"{real:.3f}"
                msg = "Daily request limit reached" if d.reason == "daily" else "Too many requests"
                return _json(429, ApiError(429, msg).body(), headers)
            try:
                # 3. Version header (§1: required on every call, an enum per spec)
                version, wanted = request.headers.get("version"), validation.version_for(request.url.path)
                if version is None:
                    raise ApiError(400, "Version header was not found")
                if version != wanted:
                    raise ApiError(400, f"Version header {version!r} is not supported; this endpoint requires {wanted}")
                raw = await request.body()
                ctype = request.headers.get("content-type", "application/json")
                multipart = ctype.startswith("multipart/form-data")
                # 4. the vendor spec
                if handler is None:
                    raise ApiError(404, f"Cannot {request.method} {request.url.path}")
                checked, checked_type = raw, "application/json"
                if multipart:
                    body: Any = _multipart(raw, ctype)
                    checked, checked_type = _stand_in(body)
                errors = validation.request_errors(request.method, request.url.path, request.query_params.multi_items(),
                                                   dict(request.headers), checked, checked_type)
                if errors is None:
                    raise ApiError(404, f"Cannot {request.method} {request.url.path}")
                if not multipart:
                    try:
                        body = json.loads(raw) if raw else None
                    except ValueError:
                        raise ApiError(400, "Request body is not valid JSON") from None
                # 5. undeclared properties: openapi-core allows them, the vendor does not
                unknown = validation.unknown_properties(pattern, method, body) if strict_body else []
                if errors or unknown:
                    raise ApiError(422, unknown + errors)
                status, payload = await handler(request, body)
            except ApiError as e:
                return _json(e.status, e.body(), headers)
            return _json(status, payload, headers)

        return run

    # --- sandbox control: no auth, no rate limit, no faults --------------------------------
    async def dump(request):
        return JSONResponse(state.dump())

    async def reset(request):
        state.reset()
        return JSONResponse({"reset": True})

    async def media(request):
        try:
            meta, data = state.media_content(request.path_params["id"])
        except ApiError as e:
            return _json(e.status, e.body())
        return Response(data, media_type=meta["contentType"] or "application/octet-stream",
                        headers={"Content-Disposition": f'inline; filename="{meta["name"]}"'})

    async def clock(request):
        """``POST /__sandbox/clock {"time_scale": s}``: rate windows this much faster from now on;
        ``{"advance": seconds}``: jump ahead, as if that much of the vendor's time had passed (a
        test reaching tomorrow's quota without waiting for it)."""
        try:
            body = await request.json()
            if "advance" in body:
                ctx.clock.advance(float(body["advance"]))
            if "time_scale" in body or "advance" not in body:
                ctx.clock.rescale(float(body["time_scale"]))
        except (KeyError, TypeError, ValueError) as e:
            return _json(400, {"statusCode": 400, "message": f"clock: {e}"})
        return JSONResponse({"time_scale": ctx.clock.time_scale, "now": ctx.clock.now()})

    routes = [Route(STATE_PREFIX + "state", dump, methods=["GET"]),
              Route(STATE_PREFIX + "reset", reset, methods=["POST"]),
              Route(STATE_PREFIX + "clock", clock, methods=["POST"]),
              Route(STATE_PREFIX + "media/{id}", media, methods=["GET"])]
    by_shape: dict[str, list[tuple[str, str, Handler, bool]]] = {}
    for method, pattern, handler, strict in routes_for(state):
        by_shape.setdefault(re.sub(r"\{[^}]+\}", "{}", pattern), []).append((method, pattern, handler, strict))
    for ops in by_shape.values():
        first = ops[0][1]
        routes.append(Route(first, _dispatch({m: endpoint(h, pat, m, strict_body=s) for m, pat, h, s in ops},
                                             endpoint(None, first, "GET")), methods=_METHODS))
    # Anything else still passes auth and rate limits, then gets the vendor's NestJS-style 404.
    routes.append(Route("/{rest:path}", endpoint(None, "", "GET"), methods=_METHODS))
    return Starlette(routes=routes)


def _path_regex(pattern: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern)) + "$")


def _dispatch(by_method: dict[str, Callable], fallback: Callable):
    async def run(request: Request) -> Response:
        return await by_method.get(request.method, fallback)(request)
    return run
