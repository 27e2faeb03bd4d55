"""The review grid: confirming a proposed mapping in JupyterLab with ipywidgets.

Each route (source object → destination object) opens with its own row: its target, its
``where`` rule (which records take this route; checked as it is typed, and kept only once it
parses) and whether the route loads at all — excluding one asks for a reason, and its records
are reported as skipped with it. Then one row per field: the source column with a few of its
values, the proposed target with its confidence and reason, and the person's choice — accept,
override (any field of the destination object, or a new custom field of a chosen type and
key), or exclude. Value maps (pick-lists, stages, carrier spellings) are edited value by value
below the fields. Proposals under the
confirmation threshold are marked and listed first when ``low_first`` is set.

The widgets only change the mapping in memory; **Save** writes the confirmed mapping file, and
nothing else. Headless runs never show the grid: they read that file (see ``workflow.plan``).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import ipywidgets as w
import pandas as pd

from ..errors import MappingError
from ._catalog import destination_object
from ._proposer import CONFIRM_THRESHOLD
from ._rules import rule_problem
from ._spec import CUSTOM_TYPES, FieldMap, MappingSpec, ObjectMap

__all__ = ["ReviewGrid", "review_grid", "mapping_table"]

CUSTOM = "__custom__"
NOT_MIGRATED = "__none__"


def _route(om: ObjectMap) -> str:
    return f"{om.source} → {om.target}"


class FieldRow:
    """The widgets of one field; changes go straight into its FieldMap."""

    def __init__(self, fm: FieldMap, options: list[tuple[str, str]], samples: str, on_change):
        self.fm = fm
        self.object = self.route = ""
        self._on_change = on_change
        current = NOT_MIGRATED if fm.target is None else (CUSTOM if fm.custom_key else fm.target)
        if current not in {v for _, v in options}:
            options = options + [(fm.target, fm.target)]
        warn = "⚠ " if fm.confidence < CONFIRM_THRESHOLD and fm.status == "proposed" else ""
        src = fm.source if isinstance(fm.source, str) else (" + ".join(fm.source) if fm.source else (fm.template or "(rule)"))
        self.label = w.HTML(f"<b>{warn}{src}</b><br><small>{samples}</small>", layout=w.Layout(width="22%"))
        self.target = w.Dropdown(options=options, value=current, layout=w.Layout(width="20%"))
        self.key = w.Text(value=fm.custom_key or "", placeholder="custom field key", layout=w.Layout(width="14%"))
        self.type = w.Dropdown(options=[""] + sorted(CUSTOM_TYPES), value=fm.type or "", layout=w.Layout(width="11%"))
        # buttons as wide as their words: a fixed width cut "exclude" and "undecided" short
        self.status = w.ToggleButtons(options=[("accept", "confirmed"), ("exclude", "excluded"), ("undecided", "proposed")],
                                      value=fm.status, style={"button_width": "auto"})
        self.shared = w.HTML()
        self.reason = w.HTML(f"<small>{fm.confidence:.2f} · {fm.reason}</small>", layout=w.Layout(width="25%"))
        self._sync_custom()
        self.target.observe(self._target_changed, "value")
        self.key.observe(self._custom_changed, "value")
        self.type.observe(self._custom_changed, "value")
        self.status.observe(self._status_changed, "value")
        self.box = w.VBox([w.HBox([self.label, self.target, self.key, self.type, self.reason]),
                           w.HBox([self.status, self.shared])],
                          layout=w.Layout(border="1px solid #ddd", padding="4px", margin="2px 0"))

    def _sync_custom(self) -> None:
        shown = self.target.value == CUSTOM
        self.key.layout.visibility = self.type.layout.visibility = "visible" if shown else "hidden"

    def _target_changed(self, change) -> None:
        v = change["new"]
        if v == NOT_MIGRATED:
            self.fm.target, self.fm.type = None, None
            self.status.value = "excluded"
        elif v == CUSTOM:
            if not self.key.value:
                self.key.value = (self.fm.source if isinstance(self.fm.source, str) else "field").lower()
            self.type.value = self.type.value or "text"
            self.fm.target, self.fm.type = f"custom:{self.key.value}", self.type.value
            self.status.value = "confirmed"  # choosing a target is deciding it
        else:
            self.fm.target, self.fm.type = v, None
            self.status.value = "confirmed"
        self._sync_custom()
        self._on_change()

    def _custom_changed(self, _change) -> None:
        if self.target.value == CUSTOM:
            self.fm.target, self.fm.type = f"custom:{self.key.value.strip()}", self.type.value or None
            self._on_change()

    def _status_changed(self, change) -> None:
        self.fm.status = change["new"]
        self._on_change()

    # the same actions a click makes, for scripts and tests
    def accept(self) -> None:
        self.status.value = "confirmed"

    def exclude(self) -> None:
        self.status.value = "excluded"

    def override(self, target: str, *, type: str | None = None, key: str | None = None) -> None:
        """Point the field at ``target`` (an API field name) or, with ``type``, a new custom field."""
        if type is not None:
            self.key.value = key or self.key.value
            self.type.value = type
            self.target.value = CUSTOM
            self._custom_changed(None)
        else:
            self.target.value = target
        self.status.value = "confirmed"


class RouteRow:
    """The widgets of one route: its ``where`` rule and include/exclude; changes go into its ObjectMap.

    A rule that does not parse (or names a column the export lacks, when the export is at hand)
    is shown with the problem and not written into the mapping; **Save** refuses while one is.
    """

    def __init__(self, om: ObjectMap, params: dict, columns: list[str] | None, on_change):
        self.om, self.params, self.columns = om, params, columns
        self._on_change = on_change
        self.problem: str | None = None
        self.label = w.HTML(f"<b>Route</b> {om.source} → <b>{om.target}</b> <small>(key {om.key})</small>",
                            layout=w.Layout(width="30%"))
        self.where = w.Text(value=om.where or "", placeholder="every record (no routing rule)",
                            description="where", layout=w.Layout(width="60%"))
        self.status = w.ToggleButtons(options=[("include", "included"), ("exclude", "excluded")],
                                      value="included" if om.included else "excluded", style={"button_width": "auto"})
        self.reason = w.Text(value="" if om.included else om.extra.get("reason", ""),
                             placeholder="why this route is left out", layout=w.Layout(width="60%"))
        self.message = w.HTML()
        self._sync()
        self.where.observe(self._where_changed, "value")
        self.status.observe(self._status_changed, "value")
        self.reason.observe(self._status_changed, "value")
        self.box = w.VBox([w.HBox([self.label, self.where]), w.HBox([self.status, self.reason]), self.message],
                          layout=w.Layout(border="2px solid #bbb", padding="4px", margin="2px 0 8px 0"))

    def _sync(self) -> None:
        self.reason.layout.visibility = "hidden" if self.status.value == "included" else "visible"
        self.message.value = f"<span style='color:#b00'>⚠ {self.problem}</span>" if self.problem else ""

    def _where_changed(self, change) -> None:
        text = change["new"].strip()
        self.problem = rule_problem(text, self.params, self.columns) if text else None
        if self.problem is None:
            self.om.where = text or None
        self._sync()
        self._on_change()

    def _status_changed(self, _change) -> None:
        self.om.set_included(self.status.value == "included", self.reason.value)
        self._sync()
        self._on_change()

    # the same actions typing and clicking make, for scripts and tests
    def set_where(self, text: str) -> None:
        self.where.value = text

    def include(self) -> None:
        self.status.value = "included"

    def exclude(self, reason: str) -> None:
        self.reason.value = reason
        self.status.value = "excluded"


class ReviewGrid:
    """The grid for one mapping; ``widget`` is what a notebook displays.

    Args:
        spec: the mapping to review (changed in place as the person works).
        path: where **Save** writes it (the workspace's ``mapping.yaml``).
        snapshot: the source data, to show a few values per column.
        who: the reviewer's name, stamped on what they confirm (the grid's "reviewer" box starts
            with it, else with ``$CRM_MIGRATE_REVIEWER`` or ``$JUPYTERHUB_USER``; **Save** asks
            for a name when it is empty).
        low_first: list each object's least confident proposals first.

    Attributes:
        on_save: called after each save (the field table below the grid redraws itself).
    """

    def __init__(self, spec: MappingSpec, path: str | Path, *, snapshot=None, who: str | None = None,
                 low_first: bool = True):
        self.spec, self.path = spec, Path(path)
        self.rows: list[FieldRow] = []
        self.on_save: list = []
        self.routes: list[RouteRow] = []
        self.value_boxes: dict[tuple[int, str], dict[str, w.Text]] = {}
        self.status = w.HTML()
        sections = []
        for i, om in enumerate(spec.objects):
            options = self._targets(spec.destination, om.target)
            df = snapshot.tables.get(om.source) if snapshot is not None else None
            columns = list(df.columns) + list(om.extra.get("derive") or {}) if df is not None else None
            route = RouteRow(om, {**spec.params, "as_of": None}, columns, self._refresh)
            self.routes.append(route)
            fields = sorted(om.fields, key=lambda f: f.confidence) if low_first else om.fields
            rows = [FieldRow(fm, options, self._samples(df, fm), self._refresh) for fm in fields]
            for r in rows:
                r.object, r.route = om.source, _route(om)
            self.rows.extend(rows)
            parts = [route.box] + [r.box for r in rows] + [self._value_editor(i, om)]
            sections.append(w.VBox(parts))
        self.tabs = w.Accordion(children=sections)
        self._titles()
        self.accept_sure = w.Button(description=f"Accept all ≥ {CONFIRM_THRESHOLD:.2f}", button_style="info")
        self.accept_sure.on_click(lambda _b: self.accept_confident())
        self.save_button = w.Button(description="Save mapping", button_style="success", icon="check")
        self.save_button.on_click(lambda _b: self._save_clicked())
        self.reviewer = w.Text(value=who or os.environ.get("CRM_MIGRATE_REVIEWER") or os.environ.get("JUPYTERHUB_USER")
                               or "", description="reviewer", placeholder="your name, stamped on what you confirm")
        self.warnings = w.HTML()
        self.widget = w.VBox([w.HBox([self.reviewer, self.accept_sure, self.save_button, self.status]),
                              self.warnings, self.tabs])
        self._refresh()

    @property
    def who(self) -> str:
        return self.reviewer.value.strip()

    @staticmethod
    def _targets(destination: str, target: str) -> list[tuple[str, str]]:
        options = [("— not migrated —", NOT_MIGRATED)]
        try:
            obj = destination_object(destination, target)
        except Exception:  # a destination without a field list still gets custom fields
            obj = None
        if obj is not None:
            options += [(f"{name} ({f.get('concept', '').replace('_', ' ')})", name) for name, f in obj.fields.items()]
        options += [("tags", "tags")] if obj is not None and "tags" not in obj.fields else []
        options.append(("＋ custom field…", CUSTOM))
        return options

    @staticmethod
    def _samples(df: pd.DataFrame | None, fm: FieldMap) -> str:
        if df is None or not isinstance(fm.source, str) or fm.source not in df.columns:
            return ""
        vals = df[fm.source].dropna().astype(str).unique()[:3]
        return ", ".join(v[:24] for v in vals)

    def _value_editor(self, i: int, om) -> w.Widget:
        boxes = []
        for column, vmap in om.values.items():
            texts = {src: w.Text(value=str(dst), description=str(src)[:20], layout=w.Layout(width="48%"))
                     for src, dst in vmap.items()}
            for src, t in texts.items():
                t.observe(lambda ch, c=column, s=src: self._value_changed(i, c, s, ch["new"]), "value")
            self.value_boxes[(i, column)] = texts
            boxes.append(w.VBox([w.HTML(f"<b>Values of {column}</b>"), w.GridBox(
                list(texts.values()), layout=w.Layout(grid_template_columns="repeat(2, 50%)"))]))
        return w.VBox(boxes)

    def _value_changed(self, i: int, column: str, src: str, new: str) -> None:
        self.spec.objects[i].values[column][src] = new
        self._refresh()

    def _titles(self) -> None:
        for i, om in enumerate(self.spec.objects):
            self.tabs.set_title(i, f"{om.source} → {om.target}" + ("" if om.included else " (excluded)"))

    def shared_targets(self) -> dict[tuple[str, str], list[str]]:
        """Targets that more than one column of a route fills: ``{(route, target): [columns]}``, in
        the mapping's order. The load takes the first of them with a value for each record: a
        fallback when meant (a lead's company: its practice, else its referrer's), a column lost
        when not. Tags take several columns by design and are left out."""
        out: dict[tuple[str, str], list[str]] = {}
        for om in self.spec.objects:
            by_target: dict[str, list[str]] = {}
            for fm in om.fields:
                if fm.target and fm.status != "excluded" and fm.target != "tags" and isinstance(fm.source, str):
                    by_target.setdefault(fm.target, []).append(fm.source)
            out |= {(_route(om), t): cols for t, cols in by_target.items() if len(cols) > 1}
        return out

    def _refresh(self) -> None:
        pending = len(self.spec.unconfirmed())
        self.status.value = f"&nbsp;{pending} field(s) still undecided" if pending else "&nbsp;every field decided"
        if not hasattr(self, "tabs"):
            return
        self._titles()
        shared = self.shared_targets()
        for r in self.rows:
            cols = shared.get((r.route, r.fm.target)) if r.fm.status != "excluded" else None
            r.shared.value = (f"<span style='color:#b00'>⚠ {r.fm.target} is also the target of "
                              f"{', '.join(c for c in cols if c != r.fm.source)}</span>") if cols else ""
        self.warnings.value = "" if not shared else (
            "<div style='color:#b00'>⚠ " + "; ".join(f"{route}: {t} is the target of {', '.join(cols)}"
                                                     for (route, t), cols in shared.items())
            + " — each record gets the first of them that has a value and the others are dropped: "
              "keep it only as a fallback, else retarget or exclude the others</div>")

    def route(self, object_source: str, target: str | None = None) -> RouteRow:
        """The route row of ``object_source`` (the one to ``target``, when it has several)."""
        for r in self.routes:
            if r.om.source == object_source and (target is None or r.om.target == target):
                return r
        raise KeyError(f"no route from {object_source!r}" + (f" to {target!r}" if target else ""))

    def row(self, object_source: str, column: str, target: str | None = None) -> FieldRow:
        """The row of ``column`` in ``object_source`` (its first, or the one pointing at ``target``)."""
        for r in self.rows:
            if r.object == object_source and r.fm.source == column and (target is None or r.fm.target == target):
                return r
        raise KeyError(f"no field {column!r} in {object_source!r}")

    def accept_confident(self) -> int:
        """Accept every undecided proposal at or above the confirmation threshold."""
        n = 0
        for r in self.rows:
            if r.fm.status == "proposed" and r.fm.confidence >= CONFIRM_THRESHOLD:
                r.accept()
                n += 1
        return n

    def _save_clicked(self) -> None:
        try:
            self.save()
        except MappingError:
            pass  # the status line says why; a click has nowhere else to show it

    def save(self) -> Path:
        """Write the mapping as the person left it, stamping who confirmed what and when.

        Raises:
            MappingError: no reviewer's name, or a route's ``where`` rule, as typed, is not valid
                (nothing is written).
        """
        bad = [f"{r.om.label}: {r.problem}" for r in self.routes if r.problem]
        if bad:
            self.status.value = f"&nbsp;not saved: fix the routing rule of {len(bad)} route(s)"
            raise MappingError(f"{self.path.name} not saved: " + "; ".join(bad))
        if not self.who:
            self.status.value = "&nbsp;not saved: type your name in the reviewer box first"
            raise MappingError(f"{self.path.name} not saved: no reviewer's name to stamp on what is confirmed")
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        for r in self.rows:
            if r.fm.status == "confirmed" and "confirmed_at" not in r.fm.extra:
                r.fm.extra.update(confirmed_by=self.who, confirmed_at=now)
        self.spec.save(self.path)
        shared = len(self.shared_targets())
        self.status.value = (f"&nbsp;saved {self.path.name} by {self.who} ({len(self.spec.unconfirmed())} undecided"
                             + (f"; {shared} target(s) filled by more than one column" if shared else "") + ")")
        for call in self.on_save:
            call()
        return self.path


def review_grid(spec: MappingSpec, path: str | Path, *, snapshot=None, who: str | None = None) -> ReviewGrid:
    """Build the review grid for ``spec``; display ``.widget`` in a notebook."""
    return ReviewGrid(spec, path, snapshot=snapshot, who=who)


def mapping_table(spec: MappingSpec) -> pd.DataFrame:
    """Every field of the mapping as one table row, for review."""
    rows = [{"object": f"{o.source} -> {o.target}", "source": f.source if isinstance(f.source, str) else
             (" | ".join(f.source) if f.source else f.template or repr(f.value)), "target": f.target,
             "type": f.type, "transform": f.transform, "status": f.status, "confidence": f.confidence, "reason": f.reason,
             "confirmed_by": f.extra.get("confirmed_by")}
            for o in spec.objects for f in o.fields]
    return pd.DataFrame(rows)
