"""Exact Online OAuth tokens: kept in the workspace, refreshed once per 570 s, one refresher at a time.

Facts from ../shared/research/exact.md §2: an access token lives 600 s; a new one may be asked for
no sooner than 570 s after the previous one; every refresh returns a new refresh token and kills the
old one (reusing it is ``401 "Old refresh token used."``, curable only by a new consent); concurrent
refreshers are the usual cause; a refresh that fails on a rate limit may still return a new refresh
token, which must be kept. So:

* ``token.json`` in the state folder holds access token, refresh token and when we got them. It is
  written atomically (temporary file, fsync, rename) and readable by its owner only, *before* the
  new access token is used.
* Refreshing happens under an exclusive ``flock`` on ``token.lock``; after taking the lock the file is
  read again, so a process that waited behind another one uses that one's fresh token instead of
  spending the (now dead) refresh token it read earlier.
* We refresh proactively once the token is 570 s old and never on a 401 alone (a 401 counts against
  the error budget, and refreshing early is refused).

The first token comes from a one-time authorization code (URL-decoded as the note says) or a refresh
token obtained elsewhere, each read from an environment variable whose name is configured.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable
from urllib.parse import unquote

import httpx

from ...errors import SourceError
from ...file_lock import FileLock

__all__ = ["TokenKeeper", "Credentials", "REFRESH_AFTER", "LIFETIME"]

LIFETIME = 600.0
REFRESH_AFTER = 570.0


class Credentials:
    """The app's credentials and bootstrap grants, read from environment variables by NAME.

    Args:
        options: the source options (``client_id_env``, ``client_secret_env``, ``auth_code_env``,
            ``refresh_token_env``, ``redirect_uri``).
        environ: the environment (tests pass a dict).
    """

    DEFAULTS = {"client_id_env": "EXACT_CLIENT_ID", "client_secret_env": "EXACT_CLIENT_SECRET",
                "auth_code_env": "EXACT_AUTH_CODE", "refresh_token_env": "EXACT_REFRESH_TOKEN"}

    def __init__(self, options: dict, environ: dict | None = None):
        env = os.environ if environ is None else environ
        names = {k: options.get(k) or v for k, v in self.DEFAULTS.items()}
        self.names = names
        self.client_id = env.get(names["client_id_env"], "")
        self.client_secret = env.get(names["client_secret_env"], "")
        self.auth_code = env.get(names["auth_code_env"], "")
        self.refresh_token = env.get(names["refresh_token_env"], "")
        self.redirect_uri = options.get("redirect_uri", "")
        missing = [names[k] for k, v in (("client_id_env", self.client_id), ("client_secret_env", self.client_secret))
                   if not v]
        if missing:
            raise SourceError(f"environment variable {' and '.join(missing)} is not set (the Exact Online app's "
                              "client id and secret; their names are in workspace.yaml source.options)")

    def __repr__(self) -> str:  # never the secrets
        return f"<Credentials from ${self.names['client_id_env']} / ${self.names['client_secret_env']}>"


class TokenKeeper:
    """Hands out a valid access token, refreshing it as the rules allow.

    Args:
        state_dir: the workspace folder for ``token.json`` and ``token.lock``.
        base_url: the Exact host (``https://start.exactonline.co.uk``) or a sandbox.
        credentials: see :class:`Credentials`.
        client: the httpx client for the token endpoint.
        wall: epoch seconds (tests inject a clock).
        time_scale: how much faster than real time the server's clock runs (sandboxes only).
    """

    def __init__(self, state_dir: Path, base_url: str, credentials: Credentials, client: httpx.Client, *,
                 wall: Callable[[], float] = time.time, time_scale: float = 1.0):
        self.path = Path(state_dir) / "token.json"
        self.lock_path = Path(state_dir) / "token.lock"
        self.token_url = base_url.rstrip("/") + "/api/oauth2/token"
        self.creds, self.client, self.wall, self.time_scale = credentials, client, wall, time_scale
        self.refreshes = 0

    # --- the file ------------------------------------------------------------------------------
    def _read(self) -> dict | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError:
            raise SourceError(f"{self.path} is not valid JSON; delete it and authorise again") from None

    def _write(self, data: dict) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        if os.name == "nt":  # NTFS journals the rename itself; a folder cannot be opened to fsync
            return
        dfd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)  # the rename itself must survive a crash: the old refresh token is dead
        finally:
            os.close(dfd)

    def _locked(self):
        return FileLock(self.lock_path)

    def age(self, data: dict) -> float:
        """Seconds (server time) since ``data``'s access token was issued."""
        return (self.wall() - data["obtained_at"]) * self.time_scale

    # --- what callers use --------------------------------------------------------------------------
    def access_token(self) -> str:
        """A usable access token: the stored one, or a fresh one once it is 570 s old.

        Raises:
            SourceError: no token and no way to get one, or Exact refused the grant.
        """
        data = self._read()
        if data is None or self.age(data) >= REFRESH_AFTER:
            with self._locked():
                data = self._read()  # another process may have done it while we waited
                if data is None:
                    data = self._bootstrap()
                elif self.age(data) >= REFRESH_AFTER:
                    data = self._refresh(data)
        return data["access_token"]

    def may_refresh(self) -> bool:
        """Whether a refresh would be allowed now (the stored token is at least 570 s old)."""
        data = self._read()
        return data is not None and self.age(data) >= REFRESH_AFTER

    # --- grants -------------------------------------------------------------------------------------
    def _bootstrap(self) -> dict:
        c = self.creds
        if c.auth_code:
            form = {"grant_type": "authorization_code", "code": unquote(c.auth_code),
                    "redirect_uri": c.redirect_uri, "client_id": c.client_id, "client_secret": c.client_secret}
            return self._grant(form, "authorization code from $" + c.names["auth_code_env"])
        if c.refresh_token:
            form = {"grant_type": "refresh_token", "refresh_token": c.refresh_token,
                    "client_id": c.client_id, "client_secret": c.client_secret}
            return self._grant(form, "refresh token from $" + c.names["refresh_token_env"])
        raise SourceError(
            f"no Exact Online token yet: open {self.token_url.replace('/token', '/auth')}?client_id=<client id>"
            f"&redirect_uri=<redirect uri>&response_type=code, consent, and put the code from the redirect in "
            f"${c.names['auth_code_env']} (it is valid for 3 minutes and used once)")

    def _refresh(self, data: dict) -> dict:
        c = self.creds
        form = {"grant_type": "refresh_token", "refresh_token": data["refresh_token"],
                "client_id": c.client_id, "client_secret": c.client_secret}
        return self._grant(form, f"stored refresh token in {self.path}")

    def _grant(self, form: dict, what: str) -> dict:
        try:
            resp = self.client.post(self.token_url, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as e:
            raise SourceError(f"Exact Online token endpoint unreachable ({type(e).__name__}); nothing was spent, "
                              "run again") from None
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code != 200 or "access_token" not in body:
            if body.get("refresh_token"):  # §2: a failed refresh may still rotate the token; keep it
                old = self._read() or {}
                self._write({**old, "refresh_token": body["refresh_token"]})
            desc = body.get("error_description") or body.get("error") or resp.text[:200]
            hint = (" - the refresh token was already spent (another process or a copied token); authorise again "
                    f"and set ${self.creds.names['auth_code_env']}" if "Old refresh token" in str(desc) else "")
            raise SourceError(f"Exact Online refused the {what}: HTTP {resp.status_code} {desc}{hint}")
        if str(body.get("token_type", "")).lower() != "bearer":  # docs say "Bearer", clients see "bearer" (§2)
            raise SourceError(f"Exact Online returned token_type {body.get('token_type')!r}, expected bearer")
        data = {"access_token": body["access_token"], "refresh_token": body["refresh_token"],
                "expires_in": float(body.get("expires_in") or LIFETIME),  # a string in Exact's answer (§2)
                "obtained_at": self.wall()}
        self._write(data)  # before anyone uses the new access token: the old refresh token is dead
        self.refreshes += 1
        return data
