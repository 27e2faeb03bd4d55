"""The standard checks every registered source and destination passes (as singer-sdk's standard
tests do): run them on an adapter of your own before registering it.

:func:`check_destination` drives one adapter through the seam the engine uses - declarations,
users, pipelines, the Source ID field, create, read back, find by Source ID, update, list, delete
(twice), and bulk create where declared. :func:`check_source` reads an export (or API) and checks
the Snapshot every room downstream relies on. Both raise :class:`AssertionError` naming what
failed; the test suite runs them over every name in the registries, built-in or entry point.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .destinations import FEATURES, Destination
from .errors import ConfigError
from .shapes import SOURCE_ID_FIELD, CustomField, Pipeline, Record, Snapshot, User

__all__ = ["check_destination", "check_source"]

#: the fields a person record gets, by the concept the destination's field list says a field carries
_PERSON = {"first_name": "Conformance", "last_name": "Check", "full_name": "Conformance Check",
           "email": "conformance.check@example.com"}


def _person(adapter: Destination) -> tuple[str, dict]:
    """The destination's people object and the fields one person needs (from its field list)."""
    try:
        from .mapping import destination_objects

        objects = destination_objects(adapter.name)
    except Exception:  # a destination without a field list: its first object, a plain name
        return adapter.objects[0], {"name": _PERSON["full_name"]}
    person = next(o for o in objects.values() if o.kind == "person" and o.name in adapter.objects)
    fields = {}
    for concept in ("first_name", "last_name", "full_name", "email"):
        name = person.field_for(concept)
        # a plain email field only: some CRMs keep a list of emails in a shape of their own
        if concept == "full_name" and fields:
            continue  # first and last name given: the whole name is the CRM's to compose
        if name and (concept != "email" or name == "email"):
            fields[name] = _PERSON[concept]
    return person.name, fields


def check_destination(adapter: Destination, *, source_id: str = "CONFORMANCE-1") -> None:
    """Run the standard checks on a live adapter (a sandbox or a test account).

    Raises:
        AssertionError: naming the first promise the adapter does not keep.
    """
    cls = type(adapter)
    assert cls.name, "a destination declares its registry name"
    assert adapter.objects, "a destination lists the objects it writes, in load order"
    assert set(cls.features) <= FEATURES, f"unknown features {set(cls.features) - FEATURES}"
    assert cls.display_name and cls.default_token_env, "display name and token variable are declared"
    for feature, method in (("bulk_create", "create_many"), ("bulk_delete", "destroy_many"),
                            ("create_pipelines", "ensure_pipeline"), ("custom_objects", "ensure_custom_object")):
        overridden = getattr(cls, method) is not getattr(Destination, method)
        assert overridden == (feature in cls.features), f"{method} must exist exactly when {feature} is declared"
    try:
        quota = cls.quota({})
        assert quota.burst > 0 and quota.burst_seconds > 0, "a quota has a burst window"
    except ConfigError:
        pass  # no quota known: the estimate says so
    users = adapter.list_users()
    assert all(isinstance(u, User) and u.id for u in users), "list_users gives Users with ids"
    assert all(isinstance(p, Pipeline) for p in adapter.list_pipelines()), "list_pipelines gives Pipelines"

    obj, fields = _person(adapter)
    if SOURCE_ID_FIELD not in {f.key for f in adapter.list_custom_fields(obj)}:
        made = adapter.create_custom_field(CustomField(SOURCE_ID_FIELD, "Source ID", "text", obj))
        assert made.key == SOURCE_ID_FIELD, "create_custom_field gives the field back under its key"
    assert SOURCE_ID_FIELD in {f.key for f in adapter.list_custom_fields(obj)}, "the Source ID field is listed"

    new_id = adapter.create(Record(obj, fields=dict(fields), custom={SOURCE_ID_FIELD: source_id}))
    assert new_id, "create gives the new record's id"
    back = adapter.get(obj, new_id)
    assert back is not None, "a created record reads back"
    assert {k: back.fields.get(k) for k in fields} == fields, f"fields read back as written ({back.fields})"
    assert back.custom.get(SOURCE_ID_FIELD) == source_id, "the Source ID reads back"
    assert adapter.find_by_source_id(obj, source_id) == new_id, "find_by_source_id finds the record"
    key = next(iter(fields))
    adapter.update(Record(obj, id=new_id, fields={key: "Changed"}))
    assert adapter.get(obj, new_id).fields.get(key) == "Changed", "an update reads back"
    assert new_id in {r.id for r in adapter.iter_records(obj)}, "iter_records lists the record"
    if obj not in adapter.undeletable:
        adapter.delete(obj, new_id)
        assert adapter.get(obj, new_id) is None, "a deleted record is gone"
        adapter.delete(obj, new_id)  # deleting what is gone is not an error (rollback replays)
    if adapter.has("bulk_create") and obj in adapter.bulk_objects:
        def one(i: int) -> dict:  # every record its own email: CRMs keep emails unique
            return {k: (f"b{i}.{v}" if isinstance(v, str) and "@" in v else v) for k, v in fields.items()}

        answers = adapter.create_many([Record(obj, fields=one(i), custom={SOURCE_ID_FIELD: f"{source_id}-B{i}"})
                                       for i in range(2)])
        assert len(answers) == 2 and all(isinstance(a, str) for a in answers), f"create_many gives ids: {answers}"


def check_source(source, location, *, generated: bool = True) -> Snapshot:
    """Read ``location`` with ``source`` and check the Snapshot; returns it.

    Args:
        generated: the location was written by the source's own ``generate`` (so it has records).

    Raises:
        AssertionError: naming the first promise the source does not keep.
    """
    cls = type(source)
    assert cls.name and cls.display_name, "a source declares its registry name and display name"
    snap = source.read(location)
    assert isinstance(snap, Snapshot), "read gives a Snapshot"
    assert snap.source == cls.name, "the Snapshot names its source"
    assert snap.tables, "a Snapshot holds at least one object"
    for name, df in snap.tables.items():
        schema = snap.schema.get(name)
        assert schema is not None, f"{name}: every object has its schema"
        assert schema.key in df.columns, f"{name}: the key column {schema.key!r} is in the table"
        assert set(schema.columns) <= set(df.columns), f"{name}: the declared columns are the table's"
        bad = [c for c, dt in df.dtypes.items()
               if str(dt) == "object" and not df[c].map(lambda v: isinstance(v, str) or v is None or v is pd.NA).all()]
        assert not bad, f"{name}: cells are text, as read (not in {bad})"
        for col, target in schema.references.items():
            assert col in df.columns and target.split(".", 1)[0] in snap.tables, f"{name}.{col}: reference to {target}"
    if generated:
        assert sum(len(df) for df in snap.tables.values()) > 0, "a generated export holds records"
    lenient = source.read_for_audit(location)
    assert set(lenient.tables) == set(snap.tables), "the audit's lenient read sees the same objects"
    return snap
