"""Plumbing shared by every export generator: the export moment, random dates, the ground-truth
ledger and the CSV writer that records which line each row lands on."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["AS_OF", "TODAY", "Truth", "fmt_date", "fmt_dt", "rand_date", "rand_dt", "money",
           "write_csv", "weighted", "Person", "at_least_one", "write_json", "add_months", "ExportFiles",
           "export_folder", "random_streams"]

# The moment the synthetic export was taken. Fixed, never "now": same seed, same bytes.
AS_OF = dt.datetime(2025, 3, 14, 17, 45)
TODAY = AS_OF.date()


def fmt_date(d: dt.date) -> str:
    """Dent-O-Soft's date format, MM/DD/YYYY."""
    return f"{d.month:02d}/{d.day:02d}/{d.year:04d}"


def fmt_dt(t: dt.datetime) -> str:
    """Dent-O-Soft's timestamp format, MM/DD/YYYY HH:MM."""
    return f"{fmt_date(t)} {t.hour:02d}:{t.minute:02d}"


def rand_date(rng: random.Random, lo: dt.date, hi: dt.date) -> dt.date:
    """Uniform date in [lo, hi]; an empty range gives ``hi`` (the upper bound is the one that
    keeps dates out of the future)."""
    span = (hi - lo).days
    return lo + dt.timedelta(days=rng.randrange(span + 1)) if span > 0 else hi


def rand_dt(rng: random.Random, day: dt.date, start_hour: int = 8, end_hour: int = 18) -> dt.datetime:
    """A business-hours timestamp on ``day`` (minutes, no seconds: that is what the format has)."""
    minute = rng.randrange(start_hour * 60, end_hour * 60)
    return min(dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60), AS_OF)


def money(x: float) -> str:
    """Two decimals, no thousands separator, minus sign for credits (125.50, -40.00)."""
    return f"{x:.2f}"


def weighted(rng: random.Random, table: dict[str, float]) -> str:
    """Pick a key of ``table`` with probability proportional to its value (insertion order)."""
    keys = list(table)
    return rng.choices(keys, weights=[table[k] for k in keys])[0]


@dataclass
class Person:
    """What later objects need to know about one patient record (kept small for big runs)."""

    pid: str
    birth: dt.date
    status: str
    first_visit: dt.date | None
    last_visit: dt.date | None
    dentist: str
    hygienist: str
    guarantor: str
    household: int
    protected: bool = False  # part of a duplicate pair: activity defects stay off it


@dataclass
class Truth:
    """Accumulates ``ground_truth.json``. Defects are noted by record index and resolved to file
    line numbers when the file is written (multi-line notes shift later rows)."""

    defects: list[dict] = field(default_factory=list)
    pending: dict[str, list[tuple[int, dict]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def plant(self, kind: str, file: str, index: int, column: str, record_id: str, value: str,
              **extra) -> dict:
        """Note a defect in record ``index`` (0-based, data rows only) of ``file``."""
        entry = {"kind": kind, "file": file, "row": None, "column": column, "id": record_id,
                 "value": value, **extra}
        self.pending.setdefault(file, []).append((index, entry))
        return entry

    def resolve(self, file: str, lines: list[int]) -> None:
        """Give every pending defect of ``file`` its 1-based line (header is line 1)."""
        for index, entry in self.pending.pop(file, []):
            entry["row"] = lines[index]
            self.defects.append(entry)


def write_csv(path: Path, columns: tuple[str, ...], rows: list[dict], *,
              encoding: str = "cp1252", line_terminator: str = "\r\n", delimiter: str = ",",
              quote_all: bool = False) -> list[int]:
    """Write an export file (by default the way Windows software does: cp1252, CRLF, minimal
    quoting).

    Returns:
        The 1-based line each data row starts on, counting embedded line breaks in quoted values.
    """
    lines: list[int] = []
    line = 2
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator=line_terminator, delimiter=delimiter,
                            quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
        writer.writerow(columns)
        for row in rows:
            values = [row.get(c, "") for c in columns]
            lines.append(line)
            line += 1 + sum(v.count("\n") for v in values)
            writer.writerow(values)
    return lines


def export_folder(out: str | Path, patients: int) -> Path:
    """The folder a generator writes into, created if missing.

    Raises:
        ValueError: fewer than 20 patients, too few to plant every defect kind at least once.
    """
    if patients < 20:
        raise ValueError("generate at least 20 patients so every defect kind can be planted")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def random_streams(master: random.Random, names: tuple[str, ...]) -> dict[str, random.Random]:
    """One generator per part of the export, seeded from ``master``, so a change in how one part
    draws leaves the others' records as they were."""
    return {name: random.Random(master.getrandbits(64)) for name in names}


class ExportFiles:
    """Writes the files of one export from its declared layout, noting in ``truth`` the line
    each row lands on and how many rows each file has.

    Calling it with an object name and its rows writes that object's file and returns each
    row's 1-based line.
    """

    def __init__(self, out: Path, layout, truth: Truth, *, encoding: str = "cp1252", line_terminator: str = "\r\n"):
        self.out, self.layout, self.truth = Path(out), layout, truth
        self.encoding, self.line_terminator = encoding, line_terminator
        self.columns = {name: o.columns for name, o in layout.objects.items()}

    def __call__(self, obj: str, rows: list[dict]) -> list[int]:
        file = self.layout.objects[obj].schema.file
        lines = write_csv(self.out / file, self.columns[obj], rows, encoding=self.encoding,
                          line_terminator=self.line_terminator)
        self.truth.resolve(file, lines)
        self.truth.counts[file] = len(rows)
        return lines


def at_least_one(rate: float, n: int) -> int:
    """How many of ``n`` records get a defect planted at ``rate``: ``max(1, round(rate * n))``
    (so a small export still shows every kind), and 0 when there are no records."""
    return max(1, round(rate * n)) if n else 0


def add_months(d: dt.date, months: int) -> dt.date:
    """``d`` plus whole months, the day clamped to 28 (recall intervals do not need more)."""
    y, m = divmod(d.month - 1 + months, 12)
    return dt.date(d.year + y, m + 1, min(d.day, 28))


def write_json(path: Path, data) -> None:
    """Write JSON beside an export: UTF-8, LF, stable key order as given."""
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8",
                    newline="\n")


def write_ground_truth(out: Path, *, source: str, layout, seed: int, patients: int, truth: Truth,
                       rates: dict, **extra) -> None:
    """Write ``ground_truth.json`` beside an export, the same contract for every generator.

    Every planted defect is ``{kind, file, row, column, id, value, ...}`` with ``row`` the 1-based
    physical line (header = line 1). The audit finds each one unless its entry says
    ``detected_by`` (``owner_resolution``: only the destination's users can show it).
    """
    kinds: dict[str, int] = {}
    for d in truth.defects:
        kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
    write_json(out / "ground_truth.json", {
        "source": source, "layout_version": layout.version, "seed": seed, "patients": patients,
        "encoding": layout.encoding, "as_of": AS_OF.isoformat(),
        "row_numbering": "1-based physical line in the file, header is line 1; a multi-line "
                         "record is numbered by the line it starts on",
        "detected_by": "every defect is found by the audit unless its entry names another step",
        "defect_rates": rates, "counts": truth.counts, "defect_counts": dict(sorted(kinds.items())),
        "defects": truth.defects, **extra,
    })
