"""Owner resolution: every source owner matched by email to a destination user.

Emails compare case- and whitespace-insensitively. Owners that match no user — and records
whose owner has no email at all — go to the workspace's fallback user, which a load requires:
without one it refuses to start and says which owners and how many records are concerned.
:meth:`OwnerResolution.rows` is the listing shown before any load (``crm-migrate owners WS``,
and the first table of the sample and migrate reports), with the recommended action per owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..destinations import User
from ..errors import ConfigError

__all__ = ["OwnerResolution", "resolve_owners"]


def _norm(email: str | None) -> str:
    return (email or "").strip().lower()


@dataclass
class OwnerResolution:
    """The outcome of matching source owners to destination users.

    Attributes:
        matched: source owner email -> destination user.
        unmatched: source owner email -> records it owns (``""`` = owners with no email).
        counts: source owner email -> records it owns, for every owner.
        fallback: the user who receives the unmatched owners' records, if named.
    """

    matched: dict[str, User]
    unmatched: dict[str, int]
    counts: dict[str, int]
    fallback: User | None = None
    users: list[User] = field(default_factory=list)

    def owner_id(self, email: str | None) -> str | None:
        """The destination user id that owns a record whose source owner is ``email``."""
        user = self.matched.get(_norm(email))
        if user:
            return user.id
        return self.fallback.id if self.fallback else None

    def rows(self) -> list[dict]:
        """One row per source owner, with the recommended action, for the report."""
        out = []
        for email, n in sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0])):
            user = self.matched.get(email)
            if user:
                action = "none: matched by email"
            elif self.fallback and not email:
                action = (f"records go to the fallback user {self.fallback.email}; give the provider an email "
                          "in the source to match them to a user")
            elif self.fallback:
                action = (f"records go to the fallback user {self.fallback.email}; to reassign them, create a "
                          f"user with email {email}, then run a delta (only the reassigned records are written)")
            else:
                action = "name a fallback user or create a destination user with this email"
            out.append({"source_owner": email or "(no email in source)", "records": n,
                        "destination_user": user.email if user else "", "matched": bool(user), "action": action})
        return out

    def check(self) -> None:
        """Refuse a load that could leave a record without a valid owner.

        The fallback user is required even when every owner matches today: a later delta may
        bring an owner the destination does not know, and it must not land ownerless.

        Raises:
            ConfigError: no (valid) fallback user is named; the message lists the unmatched
                owners and their record counts.
        """
        if self.fallback is None:
            listing = ", ".join(f"{e or '(no email)'} ({n} records)" for e, n in sorted(self.unmatched.items()))
            what = f"owners match no destination user: {listing}" if listing else "no fallback user is named"
            raise ConfigError(f"{what}; name a fallback user in workspace.yaml (owner_resolution.fallback_user_email, "
                              "or `crm-migrate init --fallback-owner`)")


def resolve_owners(owner_counts: dict[str, int], users: list[User], fallback_email: str | None = None) -> OwnerResolution:
    """Match source owner emails to destination users.

    Args:
        owner_counts: source owner email -> records it owns (from :meth:`Plan.owner_emails`).
        users: the destination's users.
        fallback_email: the workspace's fallback user.

    Raises:
        ConfigError: the fallback email is given but matches no destination user.
    """
    by_email = {_norm(u.email): u for u in users if u.email}
    counts: dict[str, int] = {}
    for email, n in owner_counts.items():
        counts[_norm(email)] = counts.get(_norm(email), 0) + n
    matched = {e: by_email[e] for e in counts if e and e in by_email}
    unmatched = {e: n for e, n in counts.items() if e not in matched}
    fallback = None
    if fallback_email:
        fallback = by_email.get(_norm(fallback_email))
        if fallback is None:
            raise ConfigError(f"fallback user {fallback_email} is not a user of the destination account "
                              f"(users: {', '.join(sorted(by_email)) or 'none'})")
    return OwnerResolution(matched, unmatched, counts, fallback, list(users))
