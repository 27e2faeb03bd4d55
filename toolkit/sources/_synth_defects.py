"""Values as front desks get them wrong, shared by the export generators: malformed phones,
invalid e-mail addresses, dates in a layout other than the export's own, CDT codes typed wrong.

Each function draws from the caller's ``random.Random`` only, so a seed reproduces its output.
"""

from __future__ import annotations

import datetime as dt
import random

__all__ = ["DATE_VARIANTS", "variant_date", "bad_phone", "bad_email", "bad_cdt"]

#: the other layouts a date turns up in (``us`` only counts as a variant in a non-US layout)
DATE_VARIANTS = ("iso", "short_year", "dotted")


def variant_date(d: dt.date, style: str) -> str:
    """``d`` written in another layout: ``iso`` 2024-03-05, ``short_year`` 3/5/24, ``dotted``
    05.03.2024, ``us`` 03/05/2024."""
    if style == "us":
        return f"{d.month:02d}/{d.day:02d}/{d.year:04d}"
    if style == "iso":
        return d.isoformat()
    if style == "short_year":
        return f"{d.month}/{d.day}/{d.year % 100:02d}"
    return f"{d.day:02d}.{d.month:02d}.{d.year}"


def bad_phone(rng: random.Random, good: str) -> str:
    """A phone number that cannot become E.164: digits missing, letters, or a remark."""
    digits = "".join(c for c in good if c.isdigit()) or "4015550100"
    return rng.choice((digits[3:6] + "-" + digits[6:], digits[:3] + "-" + digits[3:6] + "-" + digits[6:9],
                       "N/A", "none", f"({digits[:3]}) {digits[3:6]}-CALL", "call work",
                       f"{digits[:3]}-{digits[3:6]}-O{digits[7:]}"))


def bad_email(rng: random.Random, good: str) -> str:
    """An address a CRM refuses: no @, doubled dots, a space, or a trailing dot."""
    local, _, domain = good.partition("@")
    return rng.choice((f"{local}{domain}", f"{local}..x@{domain}".replace("..x", ".."),
                       f"{local}@{domain.replace('.', '..', 1)}", f"{local} @{domain}",
                       f"{local}@{domain}."))


def bad_cdt(rng: random.Random, good: str) -> str:
    """A CDT code as typed wrong: the D dropped, a digit lost or added, a dash, lower case, or a
    PMS-internal code (``01110``) instead of the ADA one."""
    digits = good[1:]
    return rng.choice((digits, f"D{digits[:3]}", f"D{digits}0", f"D-{digits}", f"d{digits}",
                       f"0{digits}"))
