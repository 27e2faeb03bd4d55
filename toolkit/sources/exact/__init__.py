"""EXACT: a dental practice's Exact Online division, read over its rate-limited REST API.

The EXACT limits (60 calls a minute, 5,000 a day) are Exact Online's (../shared/research/exact.md §0); EXACT by
Software of Excellence is another product whose API is partner-only, so those practices come in
through file exports instead (README).

``ExactSource().read(base_url)`` extracts the division into a Snapshot without leaving any of
Exact's limits (see :mod:`.extractor`, :mod:`._pacing`, :mod:`._tokens`). It keeps its token and
checkpoints in a private folder - ``WS/source_state/`` when read through a workspace - and reads its
credentials from environment variables whose NAMES are source options:

=====================  =======================  ==========================================
option                 default                  meaning
=====================  =======================  ==========================================
client_id_env          EXACT_CLIENT_ID          variable holding the app's client id
client_secret_env      EXACT_CLIENT_SECRET      variable holding the app's client secret
auth_code_env          EXACT_AUTH_CODE          one-time code from the consent redirect
refresh_token_env      EXACT_REFRESH_TOKEN      or: a refresh token obtained elsewhere
redirect_uri           (none)                   the app's registered redirect URI
division               current/Me's division    the division (company) number
refresh_after          600                      a read this many seconds or more after the
                                                last finished one fetches the changes since
                                                (0: always; "never": serve the stored copy)
download_attachments   false                    fetch attachment files (one call each)
sweep_deletions        true                     a delta ends with an ID list of opportunities,
                                                tasks, events and notes (one call per 60) to
                                                find their deletions, which sync/Deleted omits
daily_reserve          0                        stop when this many calls are left today
time_scale             1.0                      sandboxes run faster than real time only
=====================  =======================  ==========================================

``generate`` writes a synthetic division for the ``exact`` sandbox (:mod:`.generator`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit

import httpx

from ...errors import ConfigError
from ...shapes import Snapshot
from .._base import ApiConnection, Source
from ._api import ExactApi
from ._checkpoints import Checkpoints
from ._pacing import ErrorBudget, ExtractionPaused, KeyBlocked, Pacer
from ...file_lock import FileLock
from ._tokens import Credentials, TokenKeeper
from .extractor import Extraction, snapshot_from

__all__ = ["ExactSource", "ExtractionPaused", "KeyBlocked", "generate", "STATE_FILE"]

STATE_FILE = "exact.sqlite"


def _flag(value, default: bool) -> bool:
    if value is None:
        return default
    return value if isinstance(value, bool) else str(value).strip().lower() in {"1", "true", "yes", "y"}


class ExactSource(Source):
    """The Exact Online source.

    Args:
        state_dir: folder for the token and checkpoints (a workspace sets it via :meth:`configure`).
        options: see the module docstring.
        client: the httpx client for every call (tests inject a MockTransport).
        environ: where credential variables are read (default ``os.environ``).
        wall / sleep: the clock and the wait (tests inject them).
    """

    name = "exact"
    display_name = "EXACT"
    sandbox = "exact"

    def __init__(self, *, state_dir: str | Path | None = None, options: dict | None = None,
                 client: httpx.Client | None = None, environ: dict | None = None,
                 wall: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        self.state_dir = Path(state_dir) if state_dir else None
        self.options = dict(options or {})
        self.client, self.environ, self.wall, self.sleep = client, environ, wall, sleep
        self.last_report = None

    def configure(self, *, state_dir: Path, options: dict) -> None:
        self.state_dir = Path(state_dir)
        self.options = {**(options or {}), **self.options}

    def read(self, location: str | Path) -> Snapshot:
        """Extract (or resume, or bring up to date) the division at ``location`` (the API base URL).

        Raises:
            ConfigError: no state folder, or ``location`` is not a URL.
            ExtractionPaused: today's calls are spent; run again after ``resume_at``.
            KeyBlocked: an endpoint has erred too often this hour.
            SourceError: Exact refused something (endpoint and Exact's message named).
        """
        base = str(location).rstrip("/")
        if "://" not in base:
            raise ConfigError(f"EXACT reads from an API: the location must be its base URL "
                              f"(e.g. https://start.exactonline.co.uk), not {base!r}")
        if self.state_dir is None:
            raise ConfigError("the EXACT source needs a folder for its token and checkpoints: read it through a "
                              "workspace, or pass state_dir")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.chmod(0o700)
        o = self.options
        scale = float(o.get("time_scale") or 1.0)
        client = self.client or httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0), verify=True)
        # one extraction per workspace at a time: Exact queues parallel requests in random order
        # (exact.md §3), and two runs would fetch the same pages; a second reader waits, then
        # resumes or serves what the first one stored
        with FileLock(self.state_dir / "extract.lock"), Checkpoints(self.state_dir / STATE_FILE) as store:
            tokens = TokenKeeper(self.state_dir, base, Credentials(o, self.environ), client, wall=self.wall,
                                 time_scale=scale)
            pacer = Pacer(minute=60.0 / scale, daily_reserve=int(o.get("daily_reserve") or 0), wall=self.wall,
                          sleep=self.sleep)
            pacer.restore(store.setting("pacer"))
            budget = ErrorBudget(store, hour=3600.0 / scale, wall=self.wall)
            api = ExactApi(base, client, tokens, pacer, budget, sleep=self.sleep)
            files = self.state_dir / "files" if _flag(o.get("download_attachments"), False) else None
            extraction = Extraction(api, store, division=int(o["division"]) if o.get("division") else None,
                                    delta=self._stale(store), files_dir=files,
                                    sweep_deletions=_flag(o.get("sweep_deletions"), True))
            self.last_report = extraction.run()
            return snapshot_from(store, base, self.last_report)

    def _stale(self, store: Checkpoints) -> bool:
        """Whether the stored copy is old enough to fetch changes (``refresh_after``).

        The steps of one session (audit, mapping, migrate, reconcile) each read the source; within
        ``refresh_after`` they share one copy, so the plan and the reconciliation see the same
        records and no call is spent twice. A later session picks up what changed (delta).
        """
        after = self.options.get("refresh_after", 600)
        if after is None or str(after).strip().lower() == "never":
            return False
        last = store.last_finished_run()
        return last is None or time.time() - last[2] >= float(after)

    def generate(self, out: str | Path, *, patients: int, seed: int) -> Path:
        """Write a synthetic division for the sandbox; see :func:`toolkit.sources.exact.generator.generate`."""
        from .generator import generate as _generate

        return _generate(out, patients=patients, seed=seed)

    def connect_demo(self, handle, client: httpx.Client | None = None) -> ApiConnection:
        """Sign in to a running ``exact`` sandbox as a practice user would: consent, take the code.

        The code goes into ``$EXACT_AUTH_CODE`` and the app's id and secret into their default
        variables; the workspace keeps only the URL and the redirect URI.
        """
        opts = handle.options
        c = client or httpx.Client()
        try:
            resp = c.get(f"{handle.url}/api/oauth2/auth", params={
                "client_id": opts["client_id"], "response_type": "code", "redirect_uri": opts["redirect_uri"]})
        finally:
            if client is None:
                c.close()
        code = parse_qs(urlsplit(resp.headers.get("location", "")).query).get("code", [""])[0]
        if resp.status_code != 302 or not code:
            raise ConfigError(f"the exact sandbox gave no authorization code (HTTP {resp.status_code})")
        names = Credentials.DEFAULTS
        return ApiConnection(location=handle.url, options={"redirect_uri": opts["redirect_uri"],
                                                           "download_attachments": "true"},
                             env={names["client_id_env"]: opts["client_id"],
                                  names["client_secret_env"]: handle.token, names["auth_code_env"]: code})


def generate(out: str | Path, patients: int, seed: int) -> Path:
    """Module-level shortcut for :meth:`ExactSource.generate`."""
    from .generator import generate as _generate

    return _generate(out, patients=patients, seed=seed)
