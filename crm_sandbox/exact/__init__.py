"""EXACT sandbox: a local Exact Online REST API serving a generated dental-practice division.

The EXACT limits (60 calls a minute, 5,000 a day) are Exact Online's (../shared/research/exact.md §0), so this
imitates Exact Online: OAuth2 code grant with rotating refresh tokens, OData paging, sync
endpoints with rowversion deltas and ``sync/Deleted``, the minutely and daily rate limits with
their real header names, and the error budget that blocks a key. It serves the dataset written
by ``crm-migrate generate exact`` (pass that folder as ``seed``). Start it with
``crm_sandbox.start("exact", seed=DIR)``; :func:`build` is the registry hook.

The handle's ``token`` is the app's client secret (an Exact app has no static bearer token);
``options`` carries ``client_id``, ``redirect_uri`` and ``division``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from toolkit.errors import ConfigError
from .._server import FaultPlan, RateWindow, RequestLog, SandboxMiddleware, VirtualClock
from .app import Context, create_app
from .state import ExactState

__all__ = ["build", "Built", "DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "DEFAULT_REDIRECT_URI",
           "MINUTELY", "DAILY"]

#: clearly fake app registration (an Exact client id is a GUID)
DEFAULT_CLIENT_ID = "00000000-5a4d-4b00-8000-00000000e8ac"
DEFAULT_CLIENT_SECRET = "sbx-exact-secret-not-real"
DEFAULT_REDIRECT_URI = "http://127.0.0.1/exact-callback"
#: 60 calls a minute and 5,000 a day per app and division (exact.md §3)
MINUTELY, DAILY = 60, 5000


@dataclass
class Built:
    app: object
    state: ExactState
    token: str
    location_id: str
    options: dict = field(default_factory=dict)
    window: RateWindow | None = None


def build(*, token: str | None = None, location_id: str | None = None, seed: dict | str | None = None,
          time_scale: float = 1.0, faults: str | None = None, request_log: str | None = None,
          burst: int | None = None, daily: int | None = None, retry_after: bool = True,
          client_id: str | None = None, redirect_uri: str | None = None, rng_seed: int = 0) -> Built:
    """Assemble the sandbox app (not yet serving). Options as :func:`crm_sandbox.start`.

    Args:
        token: the client secret to accept (default a fixed fake one).
        location_id: ignored; the division comes from the dataset.
        seed: the folder ``crm-migrate generate exact`` wrote (required).
        burst: calls per minute (default 60); daily: calls per day (default 5,000).
        retry_after: ignored; Exact sends reset times, not ``Retry-After``.
        client_id / redirect_uri: the app registration (defaults are fixed fake ones).

    Raises:
        ConfigError: no dataset folder was given, or it holds no dataset.
    """
    if not isinstance(seed, str) or not seed:
        raise ConfigError("the EXACT sandbox serves a generated division: run `crm-migrate generate exact "
                          "--patients N --seed S --out DIR` and pass DIR as --seed")
    clock = VirtualClock(time_scale)
    try:
        state = ExactState(dataset=seed, client_id=client_id or DEFAULT_CLIENT_ID,
                           client_secret=token or DEFAULT_CLIENT_SECRET,
                           redirect_uri=redirect_uri or DEFAULT_REDIRECT_URI, now=clock.now)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    window = RateWindow(burst or MINUTELY, 60.0, daily or DAILY, clock)
    plan = FaultPlan.parse(faults, seed=rng_seed) if faults else None
    app = SandboxMiddleware(create_app(Context(state=state, window=window, clock=clock)), faults=plan,
                            log=RequestLog(request_log) if request_log else None,
                            error_body=lambda status: {"error": {"code": "", "message": {
                                "lang": "", "value": "Service unavailable"}}}, admin_token=state.client.secret)
    options = {"client_id": state.client.client_id, "redirect_uri": state.client.redirect_uri,
               "division": state.division}
    return Built(app=app, state=state, token=state.client.secret, location_id=str(state.division),
                 options=options, window=window)
