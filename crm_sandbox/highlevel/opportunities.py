"""Opportunities and pipelines in the HighLevel sandbox (apps/opportunities.json, research §4)."""

from __future__ import annotations

from .common import ApiError, now_iso

__all__ = ["OpportunityStore", "STATUSES"]

STATUSES = {"open", "won", "lost", "abandoned"}  # "all" is only meaningful for search (research §4)


class OpportunityStore:
    """Mixin of :class:`~.state.State`: opportunities (pipelines are seeded; the v2 spec has no
    pipeline create or delete, research §4/§5)."""

    opportunities: dict[str, dict]
    pipelines: list[dict]

    def _pipeline_by_id(self, pid: str) -> dict:
        p = next((p for p in self.pipelines if p["id"] == pid), None)
        if p is None:
            raise ApiError(422, [f"pipelineId {pid} does not exist in this location"])
        return p

    def _apply_opportunity(self, o: dict, body: dict) -> None:
        self.check_owner(body.get("assignedTo"))
        if "status" in body and body["status"] not in STATUSES:
            raise ApiError(422, ["status must be one of the following values: open, won, lost, abandoned"])
        pipeline = self._pipeline_by_id(body.get("pipelineId", o.get("pipelineId")))
        stages = {s["id"] for s in pipeline["stages"]}
        stage_id = body.get("pipelineStageId") or o.get("pipelineStageId")
        if body.get("pipelineId") and not body.get("pipelineStageId") and stage_id not in stages:
            stage_id = min(pipeline["stages"], key=lambda s: s["position"])["id"] if pipeline["stages"] else None
        if stage_id not in stages:
            raise ApiError(422, [f"pipelineStageId {stage_id} is not a stage of pipeline {pipeline['name']}"])
        values = self.custom_values(body.get("customFields") or [], "opportunity", o.get("customFields", {}))
        now = now_iso()
        if body.get("status") and body["status"] != o.get("status"):
            o["lastStatusChangeAt"] = now
        if stage_id != o.get("pipelineStageId"):
            o["lastStageChangeAt"] = now
        o.update({k: v for k, v in body.items() if k not in ("customFields", "locationId")})
        o["pipelineStageId"], o["customFields"], o["updatedAt"] = stage_id, values, now

    def create_opportunity(self, body: dict) -> dict:
        with self.lock:
            self.check_location(body.get("locationId"))
            if body["contactId"] not in self.contacts:
                raise ApiError(400, f"Contact with id {body['contactId']} not found")
            o = {"id": self.new_id(), "locationId": self.location_id, "createdAt": now_iso(), "customFields": {}}
            self._apply_opportunity(o, body)
            self.opportunities[o["id"]] = o
            return self.render_opportunity(o)

    def _opportunity(self, oid: str) -> dict:
        o = self.opportunities.get(oid)
        if o is None:
            raise ApiError(404, "Opportunity not found")
        return o

    def get_opportunity(self, oid: str) -> dict:
        with self.lock:
            return self.render_opportunity(self._opportunity(oid))

    def update_opportunity(self, oid: str, body: dict) -> dict:
        with self.lock:
            o = self._opportunity(oid)
            self._apply_opportunity(o, body)
            return self.render_opportunity(o)

    def delete_opportunity(self, oid: str) -> None:
        with self.lock:
            self._opportunity(oid)
            del self.opportunities[oid]

    def render_opportunity(self, o: dict) -> dict:
        """An opportunity as the API returns it: custom fields as ``[{id, fieldValue}]``
        (CustomFieldResponseSchema in apps/opportunities.json), with a contact summary."""
        out = {k: v for k, v in o.items() if k != "customFields" and v is not None}
        out["customFields"] = [{"id": k, "fieldValue": v} for k, v in o["customFields"].items()]
        c = self.contacts.get(o["contactId"])
        if c is not None:
            out["contact"] = {k: c[k] for k in ("id", "name", "companyName", "email", "phone", "tags") if c.get(k) is not None}
        return out
