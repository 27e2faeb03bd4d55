"""The rebuild guide: the source's workflows, reminders, recall rules and message templates, laid
out for the person who recreates them in the destination — no CRM imports another system's
automations.

Input: ``Snapshot.meta["automations"]``, a list of ``{kind, name, trigger, steps, body,
channel}`` with ``kind`` one of workflow, reminder, recall_rule, email_template, sms_template
(every source that has such definitions fills it). Output, per destination: each item with where
to rebuild it, the steps in plain English, and its message with every merge field written in the
destination's syntax (:mod:`toolkit.reports.merge_fields`); untranslatable ones are marked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..destinations import registry as destinations
from .merge_fields import translate

__all__ = ["RebuildGuide", "GuideItem", "build_guide", "where", "KINDS"]

KINDS = ("workflow", "reminder", "recall_rule", "email_template", "sms_template")

def where(destination: str, kind: str) -> str:
    """Where in ``destination`` an automation of ``kind`` is rebuilt (its package's ``REBUILD_WHERE``)."""
    return destinations.get(destination).rebuild_where.get(kind, "rebuild by hand")


def sends_sms(destination: str) -> bool:
    return destinations.get(destination).sends_sms


@dataclass
class GuideItem:
    """One automation or template, for one destination."""

    kind: str
    name: str
    trigger: str | None
    channel: str | None
    steps: list[str]
    body: str
    translated: str
    tokens: list[dict]
    where: str
    status: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class RebuildGuide:
    """The guide for one workspace: items per destination, the workspace's destination first."""

    source: str
    destination: str
    items: dict[str, list[GuideItem]] = field(default_factory=dict)

    @property
    def here(self) -> list[GuideItem]:
        return self.items.get(self.destination, [])

    def summary(self) -> dict:
        tokens = [t for i in self.here for t in i.tokens]
        return {"automations": len([i for i in self.here if i.kind in {"workflow", "reminder", "recall_rule"}]),
                "templates": len([i for i in self.here if i.kind.endswith("_template")]),
                "merge fields": len(tokens),
                "translated": sum(t["status"] in {"translated", "custom"} for t in tokens),
                "to check": sum(t["status"] == "check" for t in tokens),
                "untranslatable": sum(t["status"] == "untranslatable" for t in tokens),
                "items needing work": sum(i.status == "needs work" for i in self.here)}

    def to_dict(self) -> dict:
        return {"summary": self.summary(), "source": self.source, "destination": self.destination,
                "destinations": {d: [i.to_dict() for i in items] for d, items in self.items.items()}}

    def markdown(self, destination: str | None = None) -> str:
        """The plain-English guide for one destination, as Markdown (a file the practice can edit)."""
        dest = destination or self.destination
        lines = [f"# Rebuilding {self.source} automations in {dest}", ""]
        for kind in KINDS:
            items = [i for i in self.items.get(dest, []) if i.kind == kind]
            if not items:
                continue
            lines += [f"## {kind.replace('_', ' ').capitalize()}s", ""]
            for i in items:
                lines += [f"### {i.name} ({i.status})", "", f"Where: {i.where}", ""]
                if i.trigger:
                    lines += [f"Trigger: {i.trigger}", ""]
                lines += [f"{n}. {s}" for n, s in enumerate(i.steps, 1)] + ([""] if i.steps else [])
                if i.translated:
                    lines += ["Message:", "", *("    " + ln for ln in i.translated.splitlines()), ""]
                for t in i.tokens:
                    if t["status"] != "translated":
                        lines.append(f"- `{t['source']}` → {t['destination'] or 'untranslatable'}: {t['note']}")
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"


def _status(tokens: list[dict], channel: str | None, destination: str, kind: str) -> str:
    sms = (channel or "").lower() == "sms" or kind == "sms_template"
    if any(t["status"] == "untranslatable" for t in tokens) or (sms and not sends_sms(destination)):
        return "needs work"
    if any(t["status"] == "check" for t in tokens):
        return "check"
    return "ready"


def build_guide(automations: list[dict], source: str, destination: str,
                custom_fields: dict[str, str] | None = None) -> RebuildGuide:
    """Lay out ``automations`` for every destination we know, ``destination`` first.

    Args:
        custom_fields: the mapping's custom-field keys -> display names (merge fields that need a
            custom field translate only when the mapping creates it).
    """
    guide = RebuildGuide(source, destination)
    order = [destination] + sorted(d for d in destinations.names() if d != destination)
    for dest in order:
        items = []
        for a in automations:
            kind = a.get("kind") or "workflow"
            body = a.get("body") or ""
            text, tokens = translate(body, dest, custom_fields)
            rows = [t.__dict__ for t in tokens]
            channel = a.get("channel")
            steps = [str(s) for s in (a.get("steps") or [])]
            if (channel or "").lower() == "sms" and not sends_sms(dest) and kind != "sms_template":
                steps.append(f"{dest} cannot send the SMS itself: {where(dest, 'sms_template')}")
            items.append(GuideItem(kind=kind, name=str(a.get("name") or "(unnamed)"), trigger=a.get("trigger"),
                                   channel=channel, steps=steps, body=body, translated=text, tokens=rows,
                                   where=where(dest, kind),
                                   status=_status(rows, channel, dest, kind)))
        guide.items[dest] = items
    return guide
