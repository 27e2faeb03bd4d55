"""What the EXACT (Exact Online) sandbox holds: one division's records, OAuth grants, error counts.

Records come from a dataset written by ``crm-migrate generate exact`` (``DIR/dataset/*.json``,
each record as the API's JSON carries it). On load every record gets a ``Timestamp``: Exact's
sync endpoints expose an Int64 rowversion that grows with every change (research note exact.md
§6), and so does ours, across all entities of the division. Changes made through the control
routes bump it and ``Modified``; deleting a record of an entity that ``sync/Deleted`` covers adds a
deletion entry with the next rowversion.

Nothing here knows HTTP; :mod:`.app` maps requests onto these methods.
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import json
import secrets
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ExactState", "OAuthError", "load_dataset", "KEYS", "DELETED_TYPES", "odata_now"]

#: the key field of each entity (users are keyed by UserID, the rest by ID; exact.md §5)
KEYS = {"Users": "UserID", "Deleted": "EntityKey"}
#: sync/Deleted EntityType codes (exact.md §6, from picqer's SyncDeleted)
DELETED_TYPES = {"Accounts": 2, "DocumentAttachments": 4, "Contacts": 5, "Documents": 6}

ACCESS_TOKEN_SECONDS = 600  # the access token lives 10 minutes, used or not (§2)
REFRESH_NOT_BEFORE = 570  # no new access token sooner than 570 s after the previous one (§2)
AUTH_CODE_SECONDS = 180  # an authorization code is valid 3 minutes and only once (§2)
ERROR_BUDGET = 10  # more than 10 errors per key, endpoint and hour blocks the key (§2)
BLOCK_SECONDS = 3600


class OAuthError(Exception):
    """An OAuth failure with the status and body Exact answers with (``error``, ``error_description``)."""

    def __init__(self, status: int, error: str, description: str):
        self.status, self.error, self.description = status, error, description
        super().__init__(description)

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


def odata_now(virtual_now: dt.datetime) -> str:
    return f"/Date({calendar.timegm(virtual_now.timetuple()) * 1000})/"


def load_dataset(path: str | Path) -> tuple[dict, dict[str, list[dict]]]:
    """Read ``(manifest, {entity: records})`` from a generated folder or its ``dataset/`` subfolder.

    Raises:
        ValueError: no dataset there (says how to make one).
    """
    folder = Path(path)
    if (folder / "dataset" / "manifest.json").is_file():
        folder = folder / "dataset"
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise ValueError(f"{path} holds no EXACT dataset (no manifest.json); make one with "
                         "`crm-migrate generate exact --patients N --seed S --out DIR` and pass DIR")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    data = {}
    for name in manifest["counts"]:
        data[name] = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    return manifest, data


@dataclass
class Client:
    client_id: str
    secret: str
    redirect_uri: str
    last_issued: float = float("-inf")  # virtual time the last access token was issued


@dataclass
class ExactState:
    """One division, its OAuth app and its error counters.

    Args:
        dataset: the folder ``generate exact`` wrote.
        client_id / client_secret / redirect_uri: the one registered app.
        now: virtual seconds since the sandbox started (the sandbox's clock).
        start: the virtual wall time at ``now() == 0``, for ``Modified`` stamps.
    """

    dataset: str
    client_id: str
    client_secret: str
    redirect_uri: str
    now: object
    start: dt.datetime = field(default_factory=lambda: dt.datetime(2025, 3, 14, 18, 0))

    def __post_init__(self):
        self._lock = threading.RLock()
        self.client = Client(self.client_id, self.client_secret, self.redirect_uri)
        self._codes: dict[str, tuple[str, float]] = {}
        self._access: dict[str, float] = {}  # token -> issued at
        self._refresh: dict[str, str] = {}  # token -> "live" | "used"
        self._errors: dict[tuple[str, str], deque] = {}
        self.blocked_until = float("-inf")
        self.load()

    # --- records ----------------------------------------------------------------------------
    def load(self) -> None:
        """(Re)load the dataset and give every record a rowversion; forgets error counts."""
        with self._lock:
            self.manifest, data = load_dataset(self.dataset)
            self.division = int(self.manifest["division"])
            self._rowversion = 100_000
            self.records: dict[str, dict[str, dict]] = {}
            for name, rows in data.items():
                key = KEYS.get(name, "ID")
                table = self.records[name] = {}
                for rec in rows:
                    rec = dict(rec)
                    if name == "Deleted":
                        rec["Division"] = self.division
                    table[rec[key]] = rec
                    rec["Timestamp"] = self._next_rowversion()
            self._errors.clear()
            self.blocked_until = float("-inf")

    def _next_rowversion(self) -> int:
        self._rowversion += 1
        return self._rowversion

    def _wall(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.now())

    def rows(self, entity: str) -> list[dict]:
        with self._lock:
            return list(self.records.get(entity, {}).values())

    def upsert(self, entity: str, values: dict) -> dict:
        """Create or change a record as a user of the division would; returns it.

        Raises:
            KeyError: unknown entity.
        """
        with self._lock:
            table = self.records[entity]
            key = KEYS.get(entity, "ID")
            rec = table.get(values.get(key)) if values.get(key) else None
            if rec is None:
                template = next(iter(table.values()), {})
                rec = {k: None for k in template}
                rec[key] = values.get(key) or str(uuid.uuid4())
                rec["Created"] = odata_now(self._wall())
                table[rec[key]] = rec
            rec.update({k: v for k, v in values.items() if k not in ("Timestamp",)})
            if "Modified" in rec:
                rec["Modified"] = odata_now(self._wall())
            rec["Timestamp"] = self._next_rowversion()
            return copy.deepcopy(rec)

    def delete(self, entity: str, key: str) -> bool:
        """Delete a record; entities covered by ``sync/Deleted`` get a deletion entry."""
        with self._lock:
            rec = self.records[entity].pop(key, None)
            if rec is None:
                return False
            if entity in DELETED_TYPES:
                entry = {"EntityKey": key, "EntityType": DELETED_TYPES[entity], "DeletedBy": None,
                         "DeletedDate": odata_now(self._wall()), "Division": self.division,
                         "Timestamp": self._next_rowversion()}
                self.records["Deleted"][f"{key}"] = entry
            return True

    # --- OAuth (exact.md §2) -------------------------------------------------------------------
    def authorize(self, client_id: str, redirect_uri: str) -> str:
        """A one-time authorization code for the app (the user's consent is implied)."""
        if client_id != self.client.client_id:
            raise OAuthError(400, "invalid_client", "Unknown client_id")
        if redirect_uri != self.client.redirect_uri:
            raise OAuthError(400, "invalid_request", "redirect_uri does not match the app's registration")
        code = "sbx!" + secrets.token_urlsafe(24)  # a "!" as real codes have, so decoding matters
        with self._lock:
            self._codes[code] = (redirect_uri, self.now())
        return code

    def _check_client(self, client_id: str, secret: str) -> None:
        if client_id != self.client.client_id or secret != self.client.secret:
            raise OAuthError(401, "invalid_client", "Client authentication failed")

    def exchange_code(self, client_id: str, secret: str, code: str, redirect_uri: str) -> dict:
        with self._lock:
            self._check_client(client_id, secret)
            got = self._codes.pop(code, None)
            if got is None:
                raise OAuthError(400, "invalid_grant", "Authorization code is invalid or was already used")
            if got[0] != redirect_uri:
                raise OAuthError(400, "invalid_grant", "redirect_uri differs from the authorization request")
            if self.now() - got[1] > AUTH_CODE_SECONDS:
                raise OAuthError(400, "invalid_grant", "Authorization code expired (valid 3 minutes)")
            return self._issue()

    def refresh(self, client_id: str, secret: str, refresh_token: str) -> dict:
        with self._lock:
            self._check_client(client_id, secret)
            status = self._refresh.get(refresh_token)
            if status is None:
                raise OAuthError(400, "invalid_grant", "Unknown refresh token")
            if status == "used":
                raise OAuthError(401, "unauthorized_client", "Old refresh token used.")
            waited = self.now() - self.client.last_issued
            if waited < REFRESH_NOT_BEFORE:
                raise OAuthError(400, "invalid_request",
                                 f"Access token requested too early: {waited:.0f} s after the previous one; "
                                 f"the minimum is {REFRESH_NOT_BEFORE} s")
            self._refresh[refresh_token] = "used"  # rotation: the old one dies now
            return self._issue()

    def _issue(self) -> dict:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.now()
        self._access[access] = now
        self._refresh[refresh] = "live"
        self.client.last_issued = now
        return {"access_token": access, "token_type": "bearer", "expires_in": str(ACCESS_TOKEN_SECONDS),
                "refresh_token": refresh}

    def check_access(self, token: str) -> str | None:
        """None when ``token`` is a live access token, else why not."""
        with self._lock:
            issued = self._access.get(token)
        if issued is None:
            return "Unknown access token"
        if self.now() - issued >= ACCESS_TOKEN_SECONDS:
            return "Access token expired"
        return None

    # --- the error budget (exact.md §2 "Error budget") ------------------------------------------
    def note_error(self, endpoint: str) -> None:
        """Count a 400/401/403/404 on ``endpoint``; more than the budget in an hour blocks the key."""
        with self._lock:
            now = self.now()
            log = self._errors.setdefault((self.client.client_id, endpoint), deque())
            log.append(now)
            while log and log[0] <= now - 3600:
                log.popleft()
            if len(log) > ERROR_BUDGET:
                self.blocked_until = max(self.blocked_until, now + BLOCK_SECONDS)

    def block_remaining(self) -> float:
        """Virtual seconds the key stays blocked (0 when it is not)."""
        return max(0.0, self.blocked_until - self.now())

    def errors(self) -> dict[str, int]:
        with self._lock:
            return {ep: len(log) for (_, ep), log in self._errors.items()}

    # --- the sandbox's own routes -------------------------------------------------------------------
    def dump(self) -> dict:
        with self._lock:
            return {"division": self.division, "records": {n: list(t.values()) for n, t in self.records.items()},
                    "errors": self.errors(), "blocked_for": self.block_remaining(),
                    "refresh_tokens": {"live": sum(1 for s in self._refresh.values() if s == "live"),
                                       "used": sum(1 for s in self._refresh.values() if s == "used")}}

    def reset(self) -> None:
        """Back to the dataset as generated (OAuth grants are kept, so clients stay signed in)."""
        self.load()
