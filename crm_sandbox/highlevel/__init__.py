"""HighLevel (LeadConnector) API v2 sandbox.

Serves one location: contacts (tags, DND, duplicates, company link), opportunities and the
seeded pipelines, businesses, tasks and notes, location custom fields and Custom Fields V2,
custom object schemas and records, associations and relations, calendars and appointments
(``Version: 2021-04-15``), the media library (25 MB uploads) and users - with the vendor's
paths, bodies, errors, pagination and rate-limit headers, every request validated against the
vendor's own OpenAPI files (vendored under ``specs/``, corrections in ``validation._PATCHES``).
Start it through :func:`crm_sandbox.start` (``start("highlevel")``); :func:`build` is the
registry hook. :func:`.validation.validate_request_log` checks a ``--request-log`` file.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._server import FaultPlan, RateWindow, RequestLog, SandboxMiddleware, VirtualClock
from .app import Context, create_app
from .state import State, load_seed

__all__ = ["build", "Built", "DEFAULT_TOKEN", "DEFAULT_LOCATION_ID", "BURST", "WINDOW_SECONDS", "DAILY"]

#: clearly fake defaults, shaped like a Private Integration Token and a 20-char location id (§1, §7)
DEFAULT_TOKEN = "pit-sandbox-00000000-0000-4000-8000-000000000000"
DEFAULT_LOCATION_ID = "SbxLocation000000001"

#: documented limits: 100 requests per 10 s and 200,000 per day per location (research §2)
BURST, WINDOW_SECONDS, DAILY = 100, 10.0, 200_000


@dataclass
class Built:
    app: object
    state: State
    token: str
    location_id: str


def build(*, token: str | None = None, location_id: str | None = None, seed: dict | str | None = None,
          time_scale: float = 1.0, faults: str | None = None, request_log: str | None = None,
          burst: int | None = None, daily: int | None = None, retry_after: bool = True,
          window: float | None = None, rng_seed: int = 0) -> Built:
    """Assemble the sandbox app (not yet serving). Options as :func:`crm_sandbox.start`.

    Args:
        retry_after: send ``Retry-After`` on 429s (HighLevel does not document whether it does).
        window: burst window length in seconds (default 10).
        rng_seed: seeds ids and fault draws, so runs are reproducible.
    """
    token = token or DEFAULT_TOKEN
    location_id = location_id or DEFAULT_LOCATION_ID
    state = State(location_id, load_seed(seed), rng_seed=rng_seed)
    clock = VirtualClock(time_scale)
    plan = FaultPlan.parse(faults, seed=rng_seed) if faults else None
    b = burst or BURST
    rate = RateWindow(b, window or WINDOW_SECONDS, daily or DAILY, clock,
                      enforce_burst=max(1, b // 2) if plan and plan.burst429 else None)
    ctx = Context(state=state, token=token, window=rate, clock=clock, faults=plan, retry_after=retry_after)
    app = SandboxMiddleware(create_app(ctx), faults=plan, log=RequestLog(request_log) if request_log else None,
                            error_body=lambda status: {"statusCode": status, "message": "Service Unavailable"},
                            admin_token=token)
    return Built(app=app, state=state, token=token, location_id=location_id)
