"""Names, addresses, phone numbers and emails for synthetic UK, Australian and New Zealand practices.

Phone numbers come from the ranges regulators reserve for drama and examples (Ofcom's 07700 900xxx
and 0113 496 0xxx, ACMA's 0491 570 xxx and 02 5550 xxxx, New Zealand's 021 555 xxxx and
09 555 xxxx are used as stand-ins), and every email domain is a reserved ``example`` one, so no
generated value reaches a real person.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from typing import Callable

__all__ = ["Region", "REGIONS", "FEMALE", "MALE", "LAST", "ACCENTED", "NICKNAMES", "ascii_fold", "email_for"]

FEMALE = ("Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophie", "Grace", "Charlotte", "Lily", "Freya",
          "Ella", "Evie", "Poppy", "Jessica", "Hannah", "Lucy", "Chloe", "Megan", "Sarah", "Rachel",
          "Helen", "Claire", "Fiona", "Katherine", "Elizabeth", "Margaret", "Susan", "Joanne")
MALE = ("Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Thomas", "Oscar", "William",
        "James", "Henry", "Alfie", "Joshua", "Daniel", "Samuel", "Benjamin", "Matthew", "David", "Andrew",
        "Richard", "Robert", "Michael", "Stephen", "Paul", "Mark", "Alexander", "Christopher")
LAST = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
        "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson",
        "Clarke", "Patel", "Khan", "Hughes", "Edwards", "Harrison", "Lewis", "Turner", "Hill", "Cooper",
        "Ward", "Morris", "Moore", "King", "Baker", "Harris", "Kaur", "Singh", "Murphy", "Campbell", "Kelly")
#: names that exercise UTF-8 end to end (the API is JSON, so no code page is involved)
ACCENTED = (("Zoë", "Ó Súilleabháin"), ("Siobhán", "O’Brien"), ("José", "Müller"), ("Chloé", "Nguyễn"))
NICKNAMES = {"Elizabeth": "Liz", "Katherine": "Kate", "Margaret": "Maggie", "William": "Will",
             "Thomas": "Tom", "Robert": "Rob", "Michael": "Mike", "Daniel": "Dan", "Samuel": "Sam",
             "Benjamin": "Ben", "Matthew": "Matt", "Alexander": "Alex", "Christopher": "Chris",
             "Andrew": "Andy", "Richard": "Rick", "Joshua": "Josh", "Jessica": "Jess", "Rachel": "Rach"}
STREETS = ("High Street", "Station Road", "Church Lane", "Victoria Road", "Green Lane", "Manor Road",
           "Park Avenue", "Kirkgate", "Mill Lane", "The Crescent", "Queen Street", "Albert Terrace")
EMAIL_DOMAINS = ("example.co.uk", "example.com", "example.net", "example.org")


def ascii_fold(s: str) -> str:
    """Lower-case ASCII letters only, for email local parts (``O’Brien`` -> ``obrien``)."""
    folded = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalpha())


def email_for(rng: random.Random, first: str, last: str, year: int) -> str:
    """A plausible personal address on a reserved domain."""
    style = rng.randrange(4)
    f, l_ = ascii_fold(first), ascii_fold(last)
    local = (f"{f}.{l_}", f"{f[0]}{l_}", f"{f}{l_}{year % 100:02d}", f"{l_}.{f}")[style]
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


@dataclass(frozen=True)
class Region:
    """How one country writes addresses and numbers.

    Attributes:
        country: ISO 3166 code as Exact stores it (``GB``).
        currency: the division's currency.
        towns: (town, county/state, postcode area or prefix) triples.
        postcode: builds a postcode from an area and the RNG.
        mobile: a mobile number in international format.
        landline: a landline number in international format for a town's area.
    """

    country: str
    currency: str
    towns: tuple[tuple[str, str, str], ...]
    postcode: Callable[[random.Random, str], str]
    mobile: Callable[[random.Random], str]
    landline: Callable[[random.Random], str]


def _uk_postcode(rng: random.Random, area: str) -> str:
    # outward code: area letters + district digit(s); inward: digit + two letters (no C I K M O V)
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return f"{area}{rng.randrange(1, 30)} {rng.randrange(10)}{rng.choice(letters)}{rng.choice(letters)}"


def _four_digit_postcode(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.randrange(10 ** (4 - len(prefix))):0{4 - len(prefix)}d}"


REGIONS: dict[str, Region] = {
    "GB": Region(
        "GB", "GBP",
        (("Leeds", "West Yorkshire", "LS"), ("York", "North Yorkshire", "YO"), ("Harrogate", "North Yorkshire", "HG"),
         ("Bradford", "West Yorkshire", "BD"), ("Wakefield", "West Yorkshire", "WF")),
        _uk_postcode,
        lambda rng: f"+44 7700 900{rng.randrange(1000):03d}",
        lambda rng: f"+44 113 496 0{rng.randrange(1000):03d}",
    ),
    "AU": Region(
        "AU", "AUD",
        (("Brisbane", "QLD", "40"), ("Gold Coast", "QLD", "42"), ("Sydney", "NSW", "20"), ("Newcastle", "NSW", "23")),
        _four_digit_postcode,
        lambda rng: f"+61 491 570 {rng.randrange(1000):03d}",
        lambda rng: f"+61 2 5550 {rng.randrange(10000):04d}",
    ),
    "NZ": Region(
        "NZ", "NZD",
        (("Auckland", "Auckland", "10"), ("Wellington", "Wellington", "60"), ("Hamilton", "Waikato", "32")),
        _four_digit_postcode,
        lambda rng: f"+64 21 555 {rng.randrange(10000):04d}",
        lambda rng: f"+64 9 555 {rng.randrange(10000):04d}",
    ),
}


def street_address(rng: random.Random, region: Region) -> tuple[str, str, str, str]:
    """(address line 1, town, county/state, postcode)."""
    town, county, area = rng.choice(region.towns)
    return f"{rng.randrange(1, 240)} {rng.choice(STREETS)}", town, county, region.postcode(rng, area)
