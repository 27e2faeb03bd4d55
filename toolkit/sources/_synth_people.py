"""Synthetic US people for the export generators: names, addresses, phones, emails, NPIs.

Everything is drawn from a caller's ``random.Random`` so a seed reproduces byte-identical output.
The name lists are ordinary US given names and surnames, plus a handful that need cp1252 (José,
Zoë, O’Brien with the typographic apostrophe U+2019, Müller) because real on-premises exports are
full of them and a reader that decodes them wrongly mangles patients' names. Region data (cities,
ZIP prefixes, area codes) is from general knowledge; every region has ZIPs with a leading zero so
a reader that turns ZIPs into numbers is caught.
"""

from __future__ import annotations

import random
import unicodedata

__all__ = ["REGIONS", "FEMALE", "MALE", "LAST", "NICKNAMES", "ACCENTED", "Region", "STREETS",
           "SUFFIXES", "phone", "street_address", "email_for", "pick_region", "ascii_fold", "npi",
           "is_valid_npi"]

FEMALE = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah",
    "Karen", "Lisa", "Nancy", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly", "Emily",
    "Donna", "Michelle", "Carol", "Amanda", "Melissa", "Deborah", "Stephanie", "Rebecca", "Laura",
    "Sharon", "Cynthia", "Kathleen", "Amy", "Angela", "Anna", "Brenda", "Emma", "Olivia", "Sophia",
    "Isabella", "Mia", "Abigail", "Madison", "Chloe", "Grace", "Victoria", "Katherine", "Samantha",
    "Christine", "Rachel", "Megan", "Hannah", "Zoë", "Renée", "María", "Chloé",
)
MALE = (
    "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas",
    "Charles", "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul",
    "Andrew", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Edward",
    "Jason", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen",
    "Larry", "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Gregory", "Alexander", "Patrick",
    "Frank", "Raymond", "Jack", "Dennis", "Jerry", "Ethan", "Noah", "Liam", "Lucas", "José",
    "André", "Björn", "François",
)
LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott",
    "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera",
    "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz",
    "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales", "Murphy",
    "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey", "Reed",
    "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez",
    "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez",
    "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Sullivan",
    "O’Brien", "Müller", "Peña", "Nuñez", "D’Angelo", "Schäfer",
)
# Names the generator makes sure appear at least once (the encoding round-trip tests use them).
ACCENTED = (("José", "M"), ("Zoë", "F"), ("O’Brien", None), ("Müller", None))

# Common given-name -> nickname pairs, the usual source of "same person entered twice".
NICKNAMES = {
    "William": "Bill", "Robert": "Bob", "Elizabeth": "Liz", "Katherine": "Kate",
    "Margaret": "Peggy", "Richard": "Dick", "James": "Jim", "Michael": "Mike", "Joseph": "Joe",
    "Thomas": "Tom", "Christopher": "Chris", "Daniel": "Dan", "Matthew": "Matt",
    "Anthony": "Tony", "Steven": "Steve", "Jennifer": "Jenny", "Patricia": "Pat",
    "Deborah": "Debbie", "Rebecca": "Becky", "Samantha": "Sam", "Kimberly": "Kim",
    "Nicholas": "Nick", "Benjamin": "Ben", "Alexander": "Alex", "Jonathan": "Jon",
    "Stephanie": "Steph", "Christine": "Chris", "Victoria": "Vicky", "Edward": "Ed",
    "Timothy": "Tim", "Andrew": "Andy", "Kenneth": "Ken", "Gregory": "Greg", "Ronald": "Ron",
}

STREETS = (
    "Maple", "Oak", "Pine", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park", "Main",
    "Church", "High", "Spring", "Franklin", "Highland", "Chestnut", "Walnut", "Prospect",
    "Pleasant", "Center", "Union", "School", "Water", "Summer", "Winter", "Bridge", "Mill",
    "Forest", "Lincoln", "Jefferson", "Adams", "Madison", "Sunset", "River", "Meadow", "Orchard",
)
SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Way", "Pl", "Blvd", "Ter")
UNITS = ("Apt 1", "Apt 2B", "Apt 3", "Unit 4", "Apt 12", "Suite 200", "Unit B", "#5")
EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "aol.com",
                 "icloud.com", "comcast.net", "verizon.net")


class Region:
    """A practice's catchment: (city, ZIP prefix) pairs in one state, and its area codes."""

    def __init__(self, state: str, cities: tuple[tuple[str, str], ...], area_codes: tuple[str, ...]):
        self.state, self.cities, self.area_codes = state, cities, area_codes


REGIONS = (
    Region("MA", (("Boston", "021"), ("Cambridge", "021"), ("Quincy", "021"), ("Newton", "024"),
                  ("Brookline", "024"), ("Somerville", "021")), ("617", "857", "781")),
    Region("NJ", (("Newark", "071"), ("Montclair", "070"), ("Bloomfield", "070"),
                  ("Livingston", "070"), ("Nutley", "071")), ("973", "862", "201")),
    Region("CT", (("Hartford", "061"), ("West Hartford", "061"), ("Glastonbury", "060"),
                  ("Wethersfield", "061"), ("Manchester", "060")), ("860", "959")),
    Region("RI", (("Providence", "029"), ("Cranston", "029"), ("Warwick", "028"),
                  ("Pawtucket", "028"), ("East Providence", "029")), ("401",)),
)


def pick_region(rng: random.Random) -> Region:
    """One region for the whole practice (patients live near their dentist)."""
    return REGIONS[rng.randrange(len(REGIONS))]


def phone(rng: random.Random, region: Region) -> str:
    """A plausible 10-digit US number in one of the formats front desks actually type.

    Exchanges avoid 555 and N11 so validators treat the numbers as real-looking.
    """
    area = region.area_codes[rng.randrange(len(region.area_codes))]
    while True:
        exch = rng.randrange(200, 1000)
        if exch != 555 and exch % 100 != 11:
            break
    line = rng.randrange(10000)
    style = rng.random()
    if style < 0.55:
        return f"({area}) {exch}-{line:04d}"
    if style < 0.85:
        return f"{area}-{exch}-{line:04d}"
    if style < 0.95:
        return f"{area}.{exch}.{line:04d}"
    return f"{area}{exch}{line:04d}"


def street_address(rng: random.Random, region: Region) -> tuple[str, str, str, str]:
    """(Address1, Address2, City, Zip); ZIP keeps its leading zero and is ZIP+4 about 15% of
    the time."""
    city, prefix = region.cities[rng.randrange(len(region.cities))]
    a1 = f"{rng.randrange(1, 9999)} {rng.choice(STREETS)} {rng.choice(SUFFIXES)}"
    a2 = rng.choice(UNITS) if rng.random() < 0.15 else ""
    zip5 = f"{prefix}{rng.randrange(1, 100):02d}"
    z = f"{zip5}-{rng.randrange(10000):04d}" if rng.random() < 0.15 else zip5
    return a1, a2, city, z


def ascii_fold(s: str) -> str:
    """Lower-case ASCII form of a name for e-mail addresses (José -> jose, O’Brien -> obrien)."""
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().replace(" ", "").lower()


def email_for(rng: random.Random, first: str, last: str, birth_year: int) -> str:
    """A personal address built the way people build them (jsmith, john.smith84, …)."""
    f, l = ascii_fold(first), ascii_fold(last)
    style = rng.randrange(5)
    local = (f"{f}.{l}", f"{f[0]}{l}", f"{f}{l}{birth_year % 100:02d}", f"{f}_{l}",
             f"{l}{f[0]}{rng.randrange(1, 100)}")[style]
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def _npi_check_digit(body: str) -> int:
    """Luhn check digit of a 9-digit NPI body, computed over the card-issuer prefix 80840."""
    total = 0
    for i, d in enumerate(reversed([int(c) for c in "80840" + body])):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return (10 - total % 10) % 10


def npi(rng: random.Random) -> str:
    """A 10-digit NPI (National Provider Identifier) with a valid check digit."""
    body = "1" + "".join(str(rng.randrange(10)) for _ in range(8))
    return body + str(_npi_check_digit(body))


def is_valid_npi(value: str) -> bool:
    """Whether ``value`` is ten digits whose last is the Luhn check digit of the first nine."""
    return len(value) == 10 and value.isdigit() and _npi_check_digit(value[:9]) == int(value[9])
