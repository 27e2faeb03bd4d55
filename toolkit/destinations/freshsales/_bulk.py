"""Upserts and the bulk paths of the Freshsales adapter (research freshsales.md §6, §7).

At 1,000-5,000 requests an hour, one call per record is the slow way in (§2): bulk upsert
takes 100 records a call and runs as a job whose status is polled. The engine can use
:meth:`BulkOperations.create_many` where :attr:`BulkOperations.bulk_objects` says bulk exists.

Bulk upsert keys every item on the record's ``cf_source_id`` (so a re-run updates instead of
duplicating). The job-status body does not report the ids it created (a gap, §6), so the ids
are read back afterwards with one filtered search per batch on the same field.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from ...errors import DestinationError, FatalError, MappingError, RetriableError
from .._base import SOURCE_ID_FIELD, Record
from ._records import OBJECTS

__all__ = ["BulkOperations", "BATCH"]

log = logging.getLogger(__name__)

#: records per bulk call (§6 [fw] BATCH_SIZE = 100)
BATCH = 100


class BulkOperations:
    """Mixed into :class:`~.adapter.Freshsales`; uses its ``_request``, ``payload`` and ``_info``."""

    #: objects with bulk_upsert and bulk_destroy (§6, §7); others go one by one
    bulk_objects = frozenset(o for o, info in OBJECTS.items() if info.bulk)
    #: how long to wait for one bulk job, and the first pause between polls (seconds)
    job_timeout: float = 600.0
    poll_interval: float = 0.2
    _sleep: Callable[[float], None] = staticmethod(time.sleep)

    def upsert(self, record: Record, unique_by: str = "emails") -> str:
        """Create or update one record by a unique field (``POST /api/<module>/upsert``, §6).

        Args:
            record: the record.
            unique_by: ``emails`` (contacts, leads), ``name`` (accounts) or a custom-field key.

        Returns:
            The record's id.
        """
        info = self._info(record.object)
        if not info.bulk:
            raise MappingError(f"Freshsales has no upsert for {record.object}s (§6)")
        field = unique_by if unique_by in ("emails", "name", "id") else f"cf_{unique_by}"
        value = _identifier(record, unique_by)
        if value is None:
            raise MappingError(f"upsert by {unique_by}: the record has no value for it")
        body = {"unique_identifier": {field: value}, info.root: self.payload(record, create=True)}
        return str(self._request("POST", f"/{info.module}/upsert", json=body)[info.root]["id"])

    def create_many(self, records: list[Record]) -> list[str | DestinationError]:
        """Create (or update, by source id) many records; one id or error per record, in order.

        Contacts, leads, accounts and deals carrying a ``source_id`` go through bulk upsert in
        batches of 100 with job polling; the rest are created one by one. A record-level
        rejection comes back as a :class:`FatalError` in its slot; a failure of the call
        itself (rate limit, outage) is raised, since then nothing is known about the batch.
        """
        out: list[str | DestinationError | None] = [None] * len(records)
        bulk: dict[str, list[int]] = {}
        for i, rec in enumerate(records):
            if rec.object in self.bulk_objects and rec.custom.get(SOURCE_ID_FIELD) is not None:
                bulk.setdefault(rec.object, []).append(i)
            else:
                try:
                    out[i] = self.create(rec)
                except (FatalError, MappingError) as e:
                    out[i] = e if isinstance(e, DestinationError) else FatalError(str(e))
        for object, indexes in bulk.items():
            for start in range(0, len(indexes), BATCH):
                chunk = indexes[start:start + BATCH]
                for i, result in zip(chunk, self._bulk_upsert(object, [records[i] for i in chunk])):
                    out[i] = result
        return out  # type: ignore[return-value]

    def _bulk_upsert(self, object: str, records: list[Record]) -> list[str | DestinationError]:
        info = self._info(object)
        items, results = [], []
        for rec in records:
            try:
                items.append({f"cf_{SOURCE_ID_FIELD}": str(rec.custom[SOURCE_ID_FIELD]),
                              "data": self.payload(rec, create=True)})
                results.append(None)
            except MappingError as e:
                results.append(FatalError(str(e)))
        if items:
            job = self._run_job(f"/{info.module}/bulk_upsert", {info.module: items})
            failed = {e["index"]: e.get("message", "rejected") for e in job.get("errors", [])}
            sent = [i for i, r in enumerate(results) if r is None]
            ok_ids = [str(records[i].custom[SOURCE_ID_FIELD]) for n, i in enumerate(sent) if n not in failed]
            found = self._ids_by_source(object, ok_ids)
            for n, i in enumerate(sent):
                sid = str(records[i].custom[SOURCE_ID_FIELD])
                if n in failed:
                    results[i] = FatalError(f"bulk upsert {info.module}[{n}]: {failed[n]}", body=job)
                elif sid in found:
                    results[i] = found[sid]
                else:
                    results[i] = FatalError(f"bulk upsert reported {info.module}[{n}] done, but no record carries "
                                            f"source id {sid}", body=job)
        return results

    def _ids_by_source(self, object: str, source_ids: list[str]) -> dict[str, str]:
        """source id -> record id, by ``POST /api/filtered_search/<entity>`` with ``is_in`` ([3p], §3)."""
        info = self._info(object)
        out: dict[str, str] = {}
        for start in range(0, len(source_ids), BATCH):
            wanted = source_ids[start:start + BATCH]
            page = 1
            while True:
                body = {"filter_rule": [{"attribute": f"cf_{SOURCE_ID_FIELD}", "operator": "is_in", "value": wanted}],
                        "page": page, "per_page": BATCH}
                data = self._request("POST", f"/filtered_search/{info.root}", json=body)
                for item in data.get(info.module, []):
                    sid = (item.get("custom_field") or {}).get(f"cf_{SOURCE_ID_FIELD}")
                    if sid is not None:
                        out.setdefault(str(sid), str(item["id"]))
                if page >= (data.get("meta") or {}).get("total_pages", 1):
                    break
                page += 1
        return out

    def destroy_many(self, object: str, ids: list[str]) -> None:
        """Delete many records: ``bulk_destroy`` with ``selected_ids`` where it exists (§7),
        else one by one. Ids already gone are not an error.

        Raises:
            FatalError: the job rejected some ids for another reason.
        """
        info = self._info(object)
        if object not in self.bulk_objects:
            for rid in ids:
                self.delete(object, rid)
            return
        problems = []
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            body: dict[str, Any] = {"selected_ids": [int(i) for i in chunk]}
            if object == "sales_account":
                body["delete_associated_contacts_deals"] = False  # contacts and deals are rolled back on their own
            job = self._run_job(f"/{info.module}/bulk_destroy", body)
            problems += [f"{chunk[e['index']]}: {e.get('message')}" for e in job.get("errors", [])
                         if "not found" not in str(e.get("message", "")).lower()]
        if problems:
            raise FatalError(f"bulk delete of {info.module} left {len(problems)} behind: {'; '.join(problems[:10])}")

    def _run_job(self, path: str, body: dict) -> dict:
        """Submit a bulk call and poll its job to the end (§6 #job_status_api); the final status.

        The job URL's host is not followed: only its id is used, on this account's base URL, so
        the token never goes anywhere else. A body without a job URL is taken as done at once.
        """
        started = self._request("POST", path, json=body)
        url = started.get("job_status_url") if isinstance(started, dict) else None
        if not url:
            log.info("Freshsales %s answered without a job: %s", path, started)
            return {"status": "completed", "errors": []}
        job_id = str(url).rstrip("/").rsplit("/", 1)[-1]
        deadline, pause = time.monotonic() + self.job_timeout, self.poll_interval
        while True:
            job = self._request("GET", f"/job_statuses/{job_id}")
            log.debug("Freshsales job %s: %s", job_id, job)  # the body's shape is a gap (§6): keep it
            status = str(job.get("status", "")).lower()
            if status in ("completed", "failed", "success", "done"):
                return job
            if time.monotonic() > deadline:
                raise RetriableError(f"Freshsales job {job_id} still {status or 'pending'} after {self.job_timeout:.0f} s")
            self._sleep(pause)
            pause = min(pause * 2, 5.0)


def _identifier(record: Record, unique_by: str) -> Any:
    if unique_by == "emails":
        return record.fields.get("email")
    if unique_by == "id":
        return record.id
    if unique_by == "name":
        return record.fields.get("name")
    return record.custom.get(unique_by)
