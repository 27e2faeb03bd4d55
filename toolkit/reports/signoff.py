"""The mapping sign-off sheet: every object route, field and value map of the workspace's mapping,
with its status and who confirmed it and when — the page the practice signs before any record
moves.

Who and when come from each field's ``confirmed_by`` / ``confirmed_at`` (written by the review
grid and the spreadsheet import); a field confirmed without them (an unattended
``--accept-proposals`` run) says so. A route's status is its fields' weakest: proposed if any
field still is, else confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["SignoffSheet", "signoff_sheet"]

_UNSTAMPED = "not recorded"


def _source_label(f) -> str:
    if f.template:
        return f.template
    if isinstance(f.source, list):
        return " | ".join(f.source)
    if f.source:
        return str(f.source)
    return f"constant {f.value!r}" if f.value is not None else ""


def _who(f) -> tuple[str, str]:
    extra = getattr(f, "extra", {}) or {}
    by = getattr(f, "confirmed_by", None) or extra.get("confirmed_by") or ""
    at = getattr(f, "confirmed_at", None) or extra.get("confirmed_at") or ""
    if f.status == "confirmed" and not by:
        by = _UNSTAMPED
    return str(by), str(at)


@dataclass
class SignoffSheet:
    """The sheet's three tables and its totals."""

    source: str
    destination: str
    routes: pd.DataFrame
    fields: pd.DataFrame
    values: pd.DataFrame

    def summary(self) -> dict:
        f = self.fields
        counts = f["status"].value_counts().to_dict() if len(f) else {}
        return {"object routes": len(self.routes), "fields": len(f), "confirmed": int(counts.get("confirmed", 0)),
                "proposed": int(counts.get("proposed", 0)), "excluded": int(counts.get("excluded", 0)),
                "value maps": len(self.values), "confirmed without a name":
                int((f["confirmed by"] == _UNSTAMPED).sum()) if len(f) else 0}

    @property
    def ready(self) -> bool:
        """Whether nothing is left to confirm."""
        return self.summary()["proposed"] == 0

    def to_dict(self) -> dict:
        return {"summary": self.summary(), "ready": self.ready, "routes": self.routes.to_dict("records"),
                "fields": self.fields.to_dict("records"), "values": self.values.to_dict("records")}


def signoff_sheet(spec) -> SignoffSheet:
    """The sign-off sheet of a :class:`~toolkit.mapping.MappingSpec`."""
    routes, fields, values = [], [], []
    for o in spec.objects:
        route = f"{o.source} → {o.target}"
        stamps = [_who(f) for f in o.fields]
        statuses = {f.status for f in o.fields if f.status != "excluded"}
        status = "proposed" if "proposed" in statuses else "confirmed" if statuses else "excluded"
        rules = "; ".join(s.get("reason", s.get("where", "")) for s in o.skip) if o.skip else ""
        latest = max((at for _, at in stamps if at), default="")
        routes.append({"route": route, "records where": o.where or "all", "left out": rules or "none",
                       "fields": len(o.fields), "status": status,
                       "confirmed by": ", ".join(sorted({by for by, _ in stamps if by})) if status == "confirmed" else "",
                       "confirmed at": latest if status == "confirmed" else ""})
        by_column: dict[str, object] = {}
        for f in o.fields:
            by, at = _who(f)
            if isinstance(f.source, str):
                by_column.setdefault(f.source, f)
            fields.append({"route": route, "source": _source_label(f),
                           "target": f.target if f.active else "not migrated",
                           "type": f.type or "", "transform": f.transform or "", "confidence": f.confidence,
                           "reason": f.reason, "status": f.status, "confirmed by": by, "confirmed at": at})
        for column, mapping in (o.values or {}).items():
            owner = by_column.get(column)
            by, at = _who(owner) if owner else ("", "")
            for src, dst in (mapping or {}).items():
                values.append({"route": route, "column": column, "source value": src, "destination value": dst,
                               "status": owner.status if owner else status, "confirmed by": by, "confirmed at": at})
        stage = (o.pipeline or {}).get("stage") or {}
        for src, dst in (stage.get("map") or {}).items():
            values.append({"route": route, "column": f"{stage.get('column', '')} (pipeline stage)",
                           "source value": src, "destination value": dst, "status": status,
                           "confirmed by": "", "confirmed at": ""})
        if stage.get("fallback"):
            values.append({"route": route, "column": f"{stage.get('column', '')} (pipeline stage)",
                           "source value": "any other value", "destination value": stage["fallback"],
                           "status": status, "confirmed by": "", "confirmed at": ""})
    return SignoffSheet(spec.source, spec.destination, pd.DataFrame(routes), pd.DataFrame(fields),
                        pd.DataFrame(values))
