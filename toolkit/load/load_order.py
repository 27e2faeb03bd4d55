"""Load order: objects in the order the destination needs them, records after the records they link to.

Across objects the adapter's ``Destination.objects`` decides (users → companies → contacts →
deals → activities → notes → files → custom-object records → associations, as far as a
destination has them). Inside one object, a record pointing at another record of the same
object — a company's parent company — must load after it, so records are grouped in levels:
level 0 links to nothing of its own kind, level 1 to level 0, and so on. Records caught in a
cycle (A's parent is B, B's parent is A) cannot load first either way; they come last, and the
engine reports them instead of linking them to nothing.
"""

from __future__ import annotations

from ..mapping import ObjectPlan, PlannedRecord

__all__ = ["ordered", "layers"]


def ordered(objects: list[ObjectPlan], load_order: tuple[str, ...]) -> list[ObjectPlan]:
    """Object plans in ``load_order`` (targets it does not list keep their order, last).

    A ``custom_object:<name>`` target ranks where ``custom_object`` would.
    """
    rank = {name: i for i, name in enumerate(load_order)}
    return sorted(objects, key=lambda o: rank.get(o.target.split(":", 1)[0], rank.get(o.target, len(rank))))


def layers(op: ObjectPlan, aliases: dict) -> list[tuple[list[PlannedRecord], set[str]]]:
    """Records in levels so that a record loads after the same-object records it links to.

    Returns (records, keys caught in a cycle) per level; records in a cycle come last.
    """
    keys = {pr.source_key for pr in op.records}
    deps: dict[str, set[str]] = {}
    for pr in op.records:
        own = {aliases.get((s, k), k) for s, k in pr.links.values() if s == op.source_object}
        deps[pr.source_key] = {k for k in own if k in keys and k != pr.source_key}
    if not any(deps.values()):
        return [(op.records, set())]
    level: dict[str, int] = {}
    remaining = dict(deps)
    depth = 0
    while remaining:
        ready = [k for k, d in remaining.items() if all(x in level for x in d)]
        if not ready:
            break
        for k in ready:
            level[k] = depth
            del remaining[k]
        depth += 1
    cyclic = set(remaining)
    out: list[tuple[list[PlannedRecord], set[str]]] = [([], cyclic) for _ in range(depth + (1 if cyclic else 0))]
    for pr in op.records:
        out[level.get(pr.source_key, depth)][0].append(pr)
    return out
