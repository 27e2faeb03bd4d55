"""Local stand-ins for the CRMs' APIs: same paths, bodies, errors, pagination and rate limits.

A product of its own beside ``toolkit`` (installed with the ``[sandbox]`` extra): the CLI, the
demo and the tests start one; the library's core never imports this package. Each vendor lives
in its own subpackage and registers itself here in one line; a third party's sandbox is found
by an entry point in the ``dental_crm_toolkit.sandboxes`` group.

Example::

    import crm_sandbox as sandbox
    with sandbox.start("highlevel") as sb:
        print(sb.url, sb.location_id)   # give these (and sb.token) to the adapter
        ...
        sb.state()["contacts"]
"""

from __future__ import annotations

import importlib
from typing import Any

from ._server import SandboxHandle, run_foreground, run_in_thread

__all__ = ["start", "serve", "names", "SandboxHandle"]

#: vendor name -> "module:builder". A builder takes the options of :func:`start` and returns
#: an object with ``app``, ``state``, ``token`` and ``location_id``.
_REGISTRY: dict[str, str] = {}
_REGISTRY["highlevel"] = "crm_sandbox.highlevel:build"
_REGISTRY["freshsales"] = "crm_sandbox.freshsales:build"
_REGISTRY["exact"] = "crm_sandbox.exact:build"
_REGISTRY["pipedrive"] = "crm_sandbox.pipedrive:build"


def _discover() -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group="dental_crm_toolkit.sandboxes"):
        _REGISTRY.setdefault(ep.name, ep.value)


def names() -> list[str]:
    """Vendors that have a sandbox."""
    _discover()
    return sorted(_REGISTRY)


def _build(name: str, options: dict[str, Any]):
    if name not in _REGISTRY:
        _discover()
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"no sandbox called {name!r} (known: {', '.join(names())})") from None
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)(**options)


def start(name: str, *, port: int = 0, token: str | None = None, location_id: str | None = None,
          seed: dict | str | None = None, time_scale: float = 1.0, faults: str | None = None,
          request_log: str | None = None, burst: int | None = None,
          daily: int | None = None, retry_after: bool = True) -> SandboxHandle:
    """Start the ``name`` sandbox on 127.0.0.1 in a daemon thread.

    Returns once the server accepts connections.

    Args:
        name: the vendor (``"highlevel"``).
        port: TCP port; 0 picks a free one (read it from ``handle.url``).
        token: the bearer token to accept; default a fixed, clearly fake one.
        location_id: the account id to serve; default a fixed fake one.
        seed: users, pipelines and account settings, as a dict or a JSON file path; merged onto
            the built-in default seed (users are added to the defaults).
        time_scale: run rate windows this many times faster than real time (tests).
        faults: e.g. ``"5xx=0.05,latency=50ms,reset=0.01,429=burst"``.
        request_log: a file to append one JSON line per request to (token redacted).
        burst: requests per burst window (default: the vendor's documented figure).
        daily: requests per day (default: the vendor's documented figure).
        retry_after: whether 429 responses carry ``Retry-After`` (switch off to test clients
            that must fall back on the interval header).

    Returns:
        A :class:`SandboxHandle` with ``url``, ``token``, ``location_id``, ``state()``,
        ``reset()`` and ``stop()``.
    """
    built = _build(name, dict(token=token, location_id=location_id, seed=seed, time_scale=time_scale,
                              faults=faults, request_log=request_log, burst=burst, daily=daily,
                              retry_after=retry_after))
    server, thread, real_port = run_in_thread(built.app, port)
    return SandboxHandle(name, f"http://127.0.0.1:{real_port}", built.token, built.location_id,
                         built.state, server, thread, getattr(built, "options", None))


def serve(name: str, *, port: int = 0, token_file: str | None = None, **options: Any) -> None:
    """Run the ``name`` sandbox in the foreground until interrupted (``crm-migrate sandbox``).

    Prints one line with the URL and the account id first, never the token: the token is the
    one given, or a random one written to ``token_file`` (owner-only), whose path is printed.
    Takes the same options as :func:`start`.
    """
    import os
    import secrets

    token = options.pop("token", None)
    if not token:
        token = secrets.token_urlsafe(24)
        token_file = token_file or f"sandbox-{name}.token"
    if token_file:
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(token + "\n")
    built = _build(name, {"token": token, "location_id": None, **options})

    def banner(real_port: int) -> str:
        extra = getattr(built, "options", None)  # e.g. an OAuth app's client id and redirect URI
        where = f"token in {os.path.abspath(token_file)}" if token_file else "token as given"
        return (f"{name} sandbox: url=http://127.0.0.1:{real_port} location_id={built.location_id} {where}"
                + "".join(f" {k}={v}" for k, v in (extra or {}).items()))

    run_foreground(built.app, port, banner)
