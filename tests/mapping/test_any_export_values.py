"""Exports nobody prepared: values typed from the data, links found from the data, damaged rows set aside.

Each test holds one thing a person moving an unknown export would see go wrong otherwise: a count
turned into a checkbox, a procedure code left out as a social security number, an empty column
taking the e-mail field from a full one, a tag list kept as one tag, a county written as the
country, a table linked through its own id or by row number, one damaged byte stopping a file.
"""

from __future__ import annotations

import pandas as pd

from toolkit.mapping import destination_object, profile, propose_fields, propose_mapping
from toolkit.mapping._transforms import transforms
from toolkit.sources.generic_csv.reader import read_folder


def _fields(df: pd.DataFrame, dest: str = "highlevel", obj: str = "contact") -> dict:
    fields, _ = propose_fields(df, destination_object(dest, obj))
    return {f.source: f for f in fields}


def test_a_checkbox_only_for_columns_whose_values_are_yes_or_no():
    df = pd.DataFrame({"Smoker": ["Y", "N", "Y", "N"], "Active": ["1", "0", "1", "1"],
                       "Visit Count": ["0", "1", "1", "0"], "Id": ["1", "1", "1", "1"]}, dtype="string")
    assert profile(df["Smoker"]).kind == "flag" and profile(df["Active"]).kind == "flag"
    assert profile(df["Visit Count"]).kind != "flag"  # a count that happens to be 0 or 1
    assert profile(df["Id"]).kind != "flag"  # a lone "1" is a number
    f = _fields(df)
    assert f["Visit Count"].type != "checkbox" and f["Smoker"].type == "checkbox"


def test_a_procedure_code_column_is_kept_not_left_out_as_a_social_security_number():
    codes = ["162673000", "430193006", "185349003", "185345009", "428191000124101"]
    df = pd.DataFrame({"CODE": codes, "SSN": ["999-12-3456", "999-65-4321", "999-11-2222", "999-33-4444",
                                              "999-55-6666"]}, dtype="string")
    assert profile(df["CODE"]).kind != "ssn"
    f = _fields(df)
    assert f["CODE"].target is not None and f["CODE"].active
    assert f["SSN"].target is None  # the real one is still left out
    # without a name that says "code", nine bare digits are still treated as possible SSNs
    assert profile(pd.Series(codes[:4], name="Field9", dtype="string")).kind == "ssn"


def test_the_email_field_goes_to_the_column_that_holds_emails():
    n = 30
    df = pd.DataFrame({"Email": [None] * (n - 1) + ["a@example.com"],
                       "E-mail Address": [f"p{i}@example.com" for i in range(n)],
                       "First Name": [f"Ann{i}" for i in range(n)]}, dtype="string")
    f = _fields(df)
    assert f["E-mail Address"].target == "email"
    assert f["Email"].target != "email"


def test_a_tag_list_becomes_one_tag_per_label():
    df = pd.DataFrame({"First Name": ["Ann", "Bo", "Cy"], "Tags": ["football-fan, manager", "vip", "a; b | c"]},
                      dtype="string")
    f = _fields(df)
    assert f["Tags"].target == "tags" and f["Tags"].transform == "tag_list"
    out, _ = transforms.get("tag_list")(df["Tags"])
    assert out.tolist() == [["football-fan", "manager"], ["vip"], ["a", "b", "c"]]


def test_address_parts_are_told_apart():
    df = pd.DataFrame({"ADDRESS": ["12 Elm St", "4 Oak Ave", "9 Pine Rd"], "CITY": ["Boston", "Quincy", "Salem"],
                       "STATE": ["MASSACHUSETTS", "Massachusetts", "MASSACHUSETTS"],
                       "COUNTY": ["Middlesex County", "Norfolk County", "Essex County"],
                       "ZIP": ["02101", "02169", "01970"]}, dtype="string")
    f = _fields(df)
    assert f["STATE"].target == "state" and f["COUNTY"].target != "country"
    assert (f["COUNTY"].target or "").startswith("custom:")
    assert f["ZIP"].target == "postalCode" and f["CITY"].target == "city"
    out, _ = transforms.get(f["STATE"].transform)(df["STATE"])
    assert out.tolist() == ["Massachusetts"] * 3


def _export(tmp_path, files: dict[str, str]):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return read_folder(tmp_path)


def test_tables_link_through_the_column_holding_the_other_tables_keys_not_their_own_id(tmp_path):
    pats = [f"p-{i:03d}-a9" for i in range(12)]
    patients = "Id,FIRST,LAST,EMAIL\n" + "".join(f"{p},Ann{i},Lee{i},a{i}@example.com\n" for i, p in enumerate(pats))
    # each encounter has its own Id; PATIENT holds the patient's
    enc = "Id,START,PATIENT,DESCRIPTION\n" + "".join(
        f"e-{i:03d}-b7,2024-01-{i % 28 + 1:02d},{pats[i % 12]},Checkup {i}\n" for i in range(30))
    snap = _export(tmp_path, {"patients.csv": patients, "encounters.csv": enc})
    spec = propose_mapping(snap, "highlevel")
    route = next(o for o in spec.objects if o.source == "encounters")
    [link] = route.links.values()
    assert link["column"] == "PATIENT" and link["object"] == "patients"
    assert link["coverage"] == 1.0 and link["confidence"] >= 0.9 and "100%" in link["evidence"]


def test_no_link_by_row_number(tmp_path):
    # contacts have no id column of their own: their rows are numbered, and numbers are no key
    contacts = "First Name,Last Name,Email\n" + "".join(f"Ann{i},Lee{i},a{i}@example.com\n" for i in range(10))
    deals = "Deal Name,Amount,Stage,Ref\n" + "".join(f"Deal {i},{100 * i},Open,{i + 2}\n" for i in range(10))
    snap = _export(tmp_path, {"contacts.csv": contacts, "deals.csv": deals})
    spec = propose_mapping(snap, "highlevel")
    for route in spec.objects:
        assert not route.links, route.links


def test_a_damaged_byte_sets_its_row_aside_and_the_rest_of_the_file_reads(tmp_path):
    good = "".join(f"{i},José{i},Müller,j{i}@example.com\r\n" for i in range(1, 30)).encode("utf-8")
    (tmp_path / "contacts.csv").write_bytes(b"id,first_name,last_name,email\r\n" + good
                                            + b"30,Ren\xe9,Bad\xff,r@example.com\r\n31,Ok,Fine,o@example.com\r\n")
    snap = read_folder(tmp_path)
    t = snap.tables["contacts"]
    assert snap.meta["encodings"]["contacts"] == "utf-8"  # the accented names stay as they are
    assert t["first_name"].iloc[0] == "José1" and list(t["id"].iloc[-2:]) == ["29", "31"]
    [q] = snap.meta["quarantined"]
    assert q["file"] == "contacts.csv" and q["row"] == 31 and "0xe9" in q["message"]
    assert list(snap.meta["line_numbers"]["contacts"].iloc[-2:]) == [30, 32]  # the next row keeps its line


def test_a_template_applies_only_where_the_columns_match_not_the_file_name(tmp_path):
    from toolkit.mapping import MappingSpec

    # a "contacts" file from another system: the generic template's contacts route reads columns
    # (Contact ID, First Name, E-mail Address …) this one does not have
    contacts = "uid,given,family,mail\n" + "".join(f"u{i}x,Ann{i},Lee{i},a{i}@example.com\n" for i in range(8))
    snap = _export(tmp_path, {"contacts.csv": contacts})
    base = MappingSpec.load("templates/mappings/generic-csv__highlevel.yaml")
    spec = propose_mapping(snap, "highlevel", base=base)
    [dropped] = [d for d in spec.extra["dropped_routes"] if d["source"] == "contacts"]
    assert "lacks" in dropped["reason"] and "Contact ID" in dropped["reason"]
    route = spec.object("contacts")
    assert route.key == "uid"
    assert {f.source: f.target for f in route.fields}["mail"] == "email"


def test_a_table_of_companies_and_their_people_is_split_in_two_routes_linked_by_name(tmp_path):
    partners = ("ID,Name,Company Type,Related Company,City\n"
                "p1,Grocery Outlet,Company,,San Francisco\np2,Bob Ray,Individual,Grocery Outlet,San Francisco\n"
                "p3,Agrolait,Company,,New York\np4,Ann Lee,Individual,Agrolait,New York\n"
                "p5,Kim Wood,Individual,,Boston\n")
    snap = _export(tmp_path, {"partners.csv": partners})
    for dest, company, person in (("pipedrive", "organization", "person"), ("freshsales", "sales_account", "contact"),
                                  ("highlevel", "company", "contact")):
        spec = propose_mapping(snap, dest)
        routes = {o.target: o for o in spec.objects if o.source == "partners"}
        assert set(routes) == {company, person}, routes
        assert routes[company].where == "`Company Type` in ['Company']"
        assert routes[person].where == "not (`Company Type` in ['Company'])"
        assert all(o.extra["confidence"] < 0.8 for o in routes.values())  # a person reads the split first
        link = destination_object(dest, person).link_to("company")
        if link:  # HighLevel contacts name their company as text instead
            spec_ = routes[person].links[link]
            assert (spec_["column"], spec_["object"], spec_["by"]) == ("Related Company", "partners", "Name")


def test_names_of_organisations_make_a_table_of_companies_whatever_its_file_is_called(tmp_path):
    customers = ("Name,Tags,City\nCredit & Leasing,Services,Johannesburg\nBolts & Screws,Wholesaler,Campinas\n"
                 "Hydra Supplies,Retailer,Los Angeles\nNational Parts Inc.,Manufacturer,Shenzen\n")
    snap = _export(tmp_path, {"m2m_customers_tags.csv": customers})
    [route] = propose_mapping(snap, "pipedrive").objects
    assert route.target == "organization" and route.extra["confidence"] < 0.8


def test_a_whole_name_is_split_where_the_crm_keeps_first_and_last_apart():
    df = pd.DataFrame({"Name": ["Mary Ann Lee", "Bob Ray", "Cher"], "Email": ["m@x.org", "b@x.org", "c@x.org"]},
                      dtype="string")
    f = [x for x in propose_fields(df, destination_object("freshsales", "contact"))[0] if x.source == "Name"]
    assert {x.target: x.transform for x in f} == {"first_name": "given_names", "last_name": "family_name"}
    first, _ = transforms.get("given_names")(df["Name"])
    last, _ = transforms.get("family_name")(df["Name"])
    assert list(first) == ["Mary Ann", "Bob", "Cher"] and list(last)[:2] == ["Lee", "Ray"] and pd.isna(list(last)[2])


def test_nine_digit_phones_stay_phones_and_country_names_are_countries():
    df = pd.DataFrame({"Phone": ["123456789", None, "415659874", "123456780"],
                       "Country": ["South Africa", "Brazil", "China", "United Kingdom"]}, dtype="string")
    f = _fields(df, "pipedrive", "organization")
    assert profile(df["Phone"]).kind != "ssn" and f["Phone"].target is not None  # not left out as sensitive
    assert f["Country"].extra["concept"] == "country"  # not the county, one letter away
