"""Account schema for the Freshsales adapter: users, pipelines, lifecycle stages, custom fields.

Mixed into :class:`~.adapter.Freshsales` (it uses the adapter's ``_request`` and ``_info``).
Facts from ``shared/research/freshsales.md`` ("§n"): users and pipelines come from the selector
endpoints (§3), custom fields are ``cf_<snake-cased label>`` on a module's form (§5).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from ...errors import AuthError, ConfigError, FatalError, MappingError, NotFoundError
from .._base import SOURCE_ID_FIELD, CustomField, Pipeline, Stage, User
from ._records import FIELD_TYPE_CODES, FS_TO_TYPE, TYPE_TO_FS

__all__ = ["SchemaOperations"]

log = logging.getLogger(__name__)


def _snake(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


class SchemaOperations:
    """Users, pipelines and custom fields of one account."""

    def list_users(self) -> list[User]:
        """Users (owners): ``GET /api/selector/owners``, the only way to list them (§3)."""
        data = self._request("GET", "/selector/owners")
        return [User(id=str(u["id"]), email=u.get("email", ""), name=u.get("display_name") or "")
                for u in data.get("users", [])]

    def list_pipelines(self) -> list[Pipeline]:
        """Deal pipelines with their stages in board order (selectors, §3)."""
        out = []
        for p in self._request("GET", "/selector/deal_pipelines").get("deal_pipelines", []):
            stages = self._request("GET", f"/selector/deal_pipelines/{p['id']}/deal_stages").get("deal_stages", [])
            out.append(Pipeline(id=str(p["id"]), name=p["name"],
                                stages=[Stage(id=str(s["id"]), name=s["name"])
                                        for s in sorted(stages, key=lambda s: s.get("position", 0))]))
        return out

    def _marker_field(self, object: str) -> CustomField:
        return CustomField(SOURCE_ID_FIELD, "Source ID", "text", object,
                           id="file_name" if object == "file" else "description")

    def list_custom_fields(self, object: str) -> list[CustomField]:
        """Custom fields of the object's module (``GET /api/settings/<module>/fields``, §5)."""
        info = self._info(object)
        if not info.custom:
            return [self._marker_field(object)]
        data = self._request("GET", f"/settings/{info.module}/fields")
        fields = {}
        for f in data.get("fields", []):
            name = f.get("name", "")
            if not name.startswith("cf_"):
                continue
            choices = [c.get("value") for c in f.get("choices") or []]
            ftype = FS_TO_TYPE.get(f.get("type", "text"), "text")
            cf = CustomField(key=name[3:], name=f.get("label", name), type=ftype, object=object,
                             options=choices if ftype in ("single_option", "multiple_options") else [],
                             id=str(f.get("id")))
            fields[cf.key] = (cf, f)
        self._fields[info.module] = fields
        return [cf for cf, _ in fields.values()]

    def _field_map(self, object: str) -> dict[str, tuple[CustomField, dict]]:
        module = self._info(object).module
        if module not in self._fields:
            self.list_custom_fields(object)
        return self._fields[module]

    def _form_id(self, module: str) -> str:
        if module not in self._form_ids:
            # listing forms is inferred (§5 documents only POST .../forms/:form_id/fields)
            forms = self._request("GET", f"/settings/{module}/forms").get("forms", [])
            chosen = next((f for f in forms if f.get("is_default")), forms[0] if forms else None)
            if chosen is None:
                raise FatalError(f"the account lists no {module} forms; set options.form_ids.{module}")
            self._form_ids[module] = str(chosen["id"])
        return self._form_ids[module]

    def create_custom_field(self, spec: CustomField) -> CustomField:
        """Create ``spec`` as ``cf_<key>`` (``POST /api/settings/<module>/forms/<form>/fields``, §5).

        The label decides the ``cf_`` name, so a label that does not snake-case to the key is
        replaced by the key in words (and logged): the name is how we find the field again.

        Raises:
            MappingError: an unknown type, options missing, or an object without custom fields.
            FatalError: the account refused (creating fields on standard forms is unverified, §5).
        """
        info = self._info(spec.object)
        if not info.custom:
            if spec.key == SOURCE_ID_FIELD:
                return self._marker_field(spec.object)
            raise MappingError(f"Freshsales {spec.object}s have no custom fields (§5); map {spec.key} elsewhere")
        if spec.type not in TYPE_TO_FS:
            raise MappingError(f"custom field {spec.key}: unknown type {spec.type!r} (known: {', '.join(TYPE_TO_FS)})")
        if spec.type in ("single_option", "multiple_options") and not spec.options:
            raise MappingError(f"custom field {spec.key}: a {spec.type} field needs options")
        label = spec.name
        if _snake(label) != spec.key:
            label = spec.key.replace("_", " ").title()
            log.warning("Freshsales names fields after their label; %r would not be cf_%s, so the field is "
                        "labelled %r", spec.name, spec.key, label)
        body: dict[str, Any] = {"label": label, "field_type": FIELD_TYPE_CODES[TYPE_TO_FS[spec.type]], "required": False}
        if spec.options:
            body["choices"] = [{"value": str(o)} for o in spec.options]
        path = f"/settings/{info.module}/forms/{self._form_id(info.module)}/fields"
        try:
            data = self._request("POST", path, json=body)
        except FatalError as e:
            if "already exists" not in str(e) or isinstance(e, (NotFoundError, AuthError)):
                raise self._field_refused(e, info.module, label, spec) from None
            # made meanwhile (another run, or the same module under contact and lead): use it
            self.list_custom_fields(spec.object)
            found = self._field_map(spec.object).get(spec.key)
            if found is None or found[0].type != spec.type:
                raise
            return found[0]
        f = data["field"]
        if f.get("name") != f"cf_{spec.key}":
            raise FatalError(f"Freshsales named the field {f.get('name')!r}, not 'cf_{spec.key}'; rename the "
                             f"label in Admin settings so the name matches")
        made = CustomField(spec.key, f.get("label", label), spec.type, spec.object, list(spec.options), id=str(f["id"]))
        self._fields.setdefault(info.module, {})[spec.key] = (made, f)
        return made

    @staticmethod
    def _field_refused(e: FatalError, module: str, label: str, spec: CustomField) -> FatalError:
        if isinstance(e, (NotFoundError, AuthError)):  # creating fields on standard forms is unverified (§5)
            return FatalError(f"{e}. Create it in Admin settings (module {module}): label {label!r}, type "
                              f"{TYPE_TO_FS[spec.type]}", status=e.status, body=e.body)
        return e

    def delete_custom_field(self, spec: CustomField) -> None:
        """Delete a custom field (route inferred, §5); a missing one is not an error."""
        info = self._info(spec.object)
        if not info.custom:
            return
        found = self._field_map(spec.object).get(spec.key)
        fid = spec.id or (found[0].id if found else None)
        if fid is None:
            return
        try:
            self._request("DELETE", f"/settings/{info.module}/forms/{self._form_id(info.module)}/fields/{fid}")
        except NotFoundError:
            pass
        self._fields.get(info.module, {}).pop(spec.key, None)

    def _lifecycle_stages(self) -> dict[str, str]:
        if self._stages is None:
            data = self._request("GET", "/selector/lifecycle_stages")
            self._stages = {s["name"].strip().lower(): str(s["id"]) for s in data.get("lifecycle_stages", [])}
        return self._stages

    def _stage_for(self, object: str) -> str:
        name = self.lead_stage if object == "lead" else self.contact_stage
        found = self._lifecycle_stages().get(name.strip().lower())
        if found is None:
            raise ConfigError(f"the account has no lifecycle stage {name!r} (has: {', '.join(self._lifecycle_stages())}); "
                              f"set options.{'lead_stage' if object == 'lead' else 'contact_stage'}")
        return found
