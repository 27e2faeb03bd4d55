"""The proposer: a target, confidence and reason for every column, from names and values together."""

import pandas as pd
import yaml

from toolkit.cli import main
from toolkit.mapping import (CONFIRM_THRESHOLD, MappingSpec, destination_object, profile, propose_fields,
                             propose_mapping, rank_concepts)
from toolkit.mapping._vocabulary import words


def test_column_names_are_read_through_case_abbreviations_and_run_together_words():
    assert words("BIRTHDATE") == ("birth", "date")
    assert words("HmPhone") == ("home", "phone")
    assert words("NoCorrespondence")[0] == "no" and words("ChartNo") == ("chart", "number")
    assert words("Lead_Source__c") == ("lead", "source")


def test_value_profiles_say_what_the_values_are():
    phones = profile(pd.Series(["(415) 555-0134", "415.555.0199", "+1 650 555 0100", "650-555-0111", "bad"]))
    assert phones.kind == "phone" and phones.describe() == "80% parse as E.164 phones"
    assert profile(pd.Series(["123-45-6789", "***-**-1234"])).kind == "ssn"
    assert profile(pd.Series(["4111111111111111", "5500005555555559"])).kind == "card"
    # seven bare digits are a group number, not a phone
    assert profile(pd.Series(["6434009", "5743168", "0246748"])).kind != "phone"


def test_values_decide_when_the_name_says_nothing():
    df = pd.DataFrame({"Field7": ["ann@example.com", "bo@example.org", "cy@example.net"]})
    [fm], _ = propose_fields(df, destination_object("highlevel", "contact"))
    assert fm.target == "email" and "100% parse as email addresses" in fm.reason
    assert fm.confidence < CONFIRM_THRESHOLD  # a value-only guess is shown for review first


def test_a_name_contradicted_by_its_values_loses_confidence():
    good = rank_concepts("Phone", profile(pd.Series(["4155550134", "6505550100"])))[0]
    bad = rank_concepts("Phone", profile(pd.Series(["ann@example.com", "bo@example.org"])))
    assert good.concept == "phone" and good.score > 0.9
    assert bad[0].concept != "phone" or bad[0].score < 0.7


def test_dent_o_soft_patients_to_highlevel(dos_snapshot):
    spec = propose_mapping(dos_snapshot, "highlevel")
    patients = spec.object("patients", "contact")
    by_col = {f.source: f for f in patients.fields if isinstance(f.source, str)}
    expected = {"FirstName": "firstName", "LastName": "lastName", "Email": "email", "BirthDate": "dateOfBirth",
                "City": "city", "State": "state", "Zip": "postalCode", "Address1": "address1", "NoCorrespondence": "dnd",
                "Gender": "gender"}
    for col, target in expected.items():
        assert by_col[col].target == target, (col, by_col[col].target, by_col[col].reason)
    assert by_col["CreatedDate"].target == "custom:original_created" and by_col["CreatedDate"].type == "datetime"
    assert by_col["Balance"].type == "monetary"
    ssn = by_col["SSN"]
    assert ssn.target is None and "sensitive" in ssn.reason and "not migrated" in ssn.reason
    assert patients.key == "PatientID"
    assert patients.owner["lookup"]["object"] == "providers"
    assert all(f.status == "proposed" and f.reason and 0 <= f.confidence <= 1 for f in patients.fields)
    assert patients.values["Gender"] == {"F": "female", "M": "male", "U": "other"}
    # the providers file is who owns records, not records to load
    assert any(left["source"] == "providers" for left in spec.extra["not_migrated"])
    recalls = spec.object("recalls")
    link = recalls.links["contactId"]
    assert (link["column"], link["object"]) == ("PatientID", "patients")
    assert link["confidence"] >= 0.95 and link["evidence"] == "declared by the export's layout"
    assert set(recalls.pipeline["stage"]["map"]) == set(dos_snapshot["recalls"]["Status"].dropna())


def test_carrier_spellings_are_proposed_as_a_value_map(dos_snapshot):
    spec = propose_mapping(dos_snapshot, "highlevel")
    ins = spec.object("insurance")
    carrier = next(f for f in ins.fields if f.source == "Carrier")
    assert "spellings clustered" in carrier.reason and carrier.confidence < CONFIRM_THRESHOLD
    vmap = ins.values["Carrier"]
    assert all(v in {"Cigna", "Aetna", "Guardian", "Humana", "Delta Dental", "MetLife", "UnitedHealthcare",
                     "United Concordia", "Blue Cross Blue Shield"} or v in set(dos_snapshot["insurance"]["Carrier"])
               for v in vmap.values())


def test_pipedrive_persons_get_one_name_field(dos_snapshot):
    spec = propose_mapping(dos_snapshot, "pipedrive")
    person = spec.object("patients", "person")
    name = next(f for f in person.fields if f.target == "name")
    assert name.template == "{FirstName} {LastName}"


def test_a_template_is_extended_not_replaced(dos_snapshot):
    base = MappingSpec.load("templates/mappings/dent-o-soft__highlevel.yaml")
    dropped = next(f for f in base.objects[0].fields if f.source == "Balance")
    base.objects[0].fields.remove(dropped)
    spec = propose_mapping(dos_snapshot, "highlevel", base=base)
    added = [f for f in spec.objects[0].fields if f.source == "Balance"]
    assert len(added) == 1 and added[0].reason.startswith("not in the template")
    assert len(spec.objects[0].fields) == len(base.objects[0].fields) + 1


def _unseen(folder):
    folder.mkdir()
    (folder / "Members.csv").write_text(
        "MemberKey,GivenName,Surname,EMailAddr,CellNo,Street,Town,Province,PostCode,BirthDay,PIN,Tier\n"
        "M1,Ana,Lopez,ana@example.com,(415) 555-0101,12 Oak St,San Mateo,CA,94401,02/03/1985,1234,Gold\n"
        "M2,Ben,Cho,ben@example.org,415-555-0102,9 Pine Ave,Daly City,CA,94015,11/23/1979,9999,Silver\n"
        "M3,Cara,Nguyen,,4155550103,77 Elm Rd,Burlingame,CA,94010,07/30/1992,0000,Gold\n", encoding="utf-8")
    (folder / "Sales Pipeline.csv").write_text(
        "DealRef,MemberKey,DealTitle,Amount,Stage,CloseDate\n"
        "D1,M1,Whitening,$129.00,Won,2023-01-02\nD2,M2,Night guard,$349.00,Negotiation,2023-02-03\n"
        "D3,M1,Aligners,\"$3,200.00\",Proposal,2023-03-04\n", encoding="utf-8")


def test_crm_migrate_propose_on_a_folder_from_an_unknown_system(tmp_path, capsys):
    _unseen(tmp_path / "export")
    out = tmp_path / "mapping.yaml"
    assert main(["propose", str(tmp_path / "export"), "--destination", "highlevel", "--out", str(out)]) == 0
    data = yaml.safe_load(out.read_text())
    assert data["source"] and data["destination"] == "highlevel"
    routes = {o["source"]: o for o in data["objects"]}
    assert routes["members"]["target"] == "contact" and routes["members"]["key"] == "MemberKey"
    assert routes["sales_pipeline"]["target"] == "opportunity"
    link = routes["sales_pipeline"]["links"]["contactId"]
    assert (link["column"], link["object"]) == ("MemberKey", "members") and link["coverage"] == 1.0
    for o in data["objects"]:
        assert isinstance(o["values"], dict)
        for f in o["fields"]:
            assert {"source", "target", "confidence", "reason", "status"} <= set(f)
            assert f["status"] == "proposed" and 0 <= f["confidence"] <= 1 and f["reason"]
            if isinstance(f["target"], str) and f["target"].startswith("custom:"):
                assert f["type"]
    members = {f["source"]: f for f in routes["members"]["fields"]}
    assert members["GivenName"]["target"] == "firstName" and members["Surname"]["target"] == "lastName"
    assert members["EMailAddr"]["target"] == "email" and members["PostCode"]["target"] == "postalCode"
    assert members["PIN"]["target"] is None and "sensitive" in members["PIN"]["reason"]
    MappingSpec.load(out)  # the file is a valid mapping
    assert "proposed" in capsys.readouterr().out


def test_propose_without_a_destination_for_a_bare_folder_is_an_input_error(tmp_path, capsys):
    _unseen(tmp_path / "export")
    assert main(["propose", str(tmp_path / "export")]) == 2
    assert "--destination" in capsys.readouterr().err


def test_propose_a_workspace_keeps_its_template_and_a_template_for_other_files_gives_way(tmp_path, dos_export,
                                                                                          monkeypatch, capsys):
    from toolkit.workspace import init_workspace

    monkeypatch.setenv("T_TOKEN", "x")
    ws = init_workspace(tmp_path / "ws", source="dent-o-soft", export=dos_export, destination="highlevel",
                        base_url="http://127.0.0.1:9", token_env="T_TOKEN", options={"location_id": "L"})
    assert main(["propose", str(ws.root)]) == 0
    spec = MappingSpec.load(ws.mapping_path)
    template = MappingSpec.load("templates/mappings/dent-o-soft__highlevel.yaml")
    assert [(o.source, o.target) for o in spec.objects] == [(o.source, o.target) for o in template.objects]
    assert "not confirmed" not in capsys.readouterr().err
    # a generic export whose files are not the ones a template was written for
    _unseen(tmp_path / "other")
    gen = init_workspace(tmp_path / "ws2", source="generic-csv", export=tmp_path / "other", destination="highlevel",
                         base_url="http://127.0.0.1:9", token_env="T_TOKEN", options={"location_id": "L"})
    assert main(["propose", str(gen.root)]) == 0
    spec = MappingSpec.load(gen.mapping_path)
    assert {o.source for o in spec.objects} == {"members", "sales_pipeline"}


def test_a_secret_read_from_values_alone_is_left_out_but_shown_first():
    # nine bare digits are social security numbers to the values, and ZIP+4 codes as often
    df = pd.DataFrame({"MailCode": ["973011420", "972091133", "970051212", "977012345", "972051010"]})
    fm = propose_fields(df, destination_object("highlevel", "contact"))[0][0]
    assert fm.target is None and fm.reason.startswith("sensitive")
    assert fm.confidence < CONFIRM_THRESHOLD and "values alone" in fm.reason


def test_two_columns_competing_for_one_field_lower_the_winners_confidence():
    contact = destination_object("highlevel", "contact")
    phones = ["503-555-0101", "503-555-0102", "503-555-0103", "503-555-0104"]
    alone = propose_fields(pd.DataFrame({"Email": ["a@x.com"] * 4, "Phone": phones}), contact)[0]
    rivals = propose_fields(pd.DataFrame({"Phone": phones, "Telephone": phones}), contact)[0]
    alone_conf = next(f.confidence for f in alone if f.target == "phone")
    rival_conf = next(f.confidence for f in rivals if f.target == "phone")
    assert rival_conf < alone_conf


def test_a_professional_licence_is_not_a_confident_secret():
    df = pd.DataFrame({"Provider License Number": ["D12345", "D23456", "D34567", "D45678"],
                       "Drivers License": ["S530-4411-2201", "W120-9981-0012", "B400-1200-3321", "K900-0001-1234"]})
    fields = {f.source: f for f in propose_fields(df, destination_object("highlevel", "contact"))[0]}
    licence = fields["Provider License Number"]
    assert not (licence.target is None and licence.reason.startswith("sensitive") and licence.confidence >= CONFIRM_THRESHOLD)
    assert fields["Drivers License"].target is None and fields["Drivers License"].confidence >= CONFIRM_THRESHOLD


def test_another_partys_phone_gives_way_to_the_records_own():
    phones = ["503-555-0101", "503-555-0102", "503-555-0103", "503-555-0104"]
    df = pd.DataFrame({"phone_contact": phones, "phone_cell": ["971-555-0101", "971-555-0102", "971-555-0103",
                                                               "971-555-0104"]})
    fields = {f.source: f for f in propose_fields(df, destination_object("highlevel", "contact"))[0]}
    assert fields["phone_cell"].target == "phone"
    # another person's number, read from its whole name: kept apart, and the reason says whose it is
    assert fields["phone_contact"].target.startswith("custom:")
    assert "another person's" in fields["phone_contact"].reason


def test_a_deals_title_names_the_deal():
    df = pd.DataFrame({"title": ["Jones - Invisalign", "Miller - Implant", "Kerr - Crowns", "Lu - Whitening"]})
    fm = propose_fields(df, destination_object("highlevel", "opportunity"))[0][0]
    assert fm.target == "name"


def test_an_ambiguous_name_is_never_confident_on_its_own():
    # "employer" beside a patient names the employer, not the patient's own business
    df = pd.DataFrame({"employer": ["Intel", "Kaiser Permanente", "Fred Meyer"]})
    [fm], _ = propose_fields(df, destination_object("highlevel", "contact"))
    assert fm.confidence < CONFIRM_THRESHOLD
    # a phrase the vocabulary gives to two concepts ("position": job title or marital status)
    df = pd.DataFrame({"Position": ["Married", "Single", "Married"]})
    [fm], _ = propose_fields(df, destination_object("highlevel", "contact"))
    assert fm.confidence < CONFIRM_THRESHOLD


def test_the_mobile_preference_settles_whole_named_phones():
    df = pd.DataFrame({"home_phone": ["(503) 555-0151", "(503) 555-0152"],
                       "cell_phone": ["(503) 555-0141", "(503) 555-0142"]})
    fields, _ = propose_fields(df, destination_object("highlevel", "contact"))
    by = {f.source: f for f in fields}
    assert by["cell_phone"].target == "phone" and by["cell_phone"].confidence >= CONFIRM_THRESHOLD
    assert by["home_phone"].target.startswith("custom:") and by["home_phone"].confidence >= CONFIRM_THRESHOLD
    # a close name ("phone_mobile") leaves the choice to a person
    df = pd.DataFrame({"phone": ["(503) 555-0151", "(503) 555-0152"],
                       "phone_mobile": ["(503) 555-0141", "(503) 555-0142"]})
    fields, _ = propose_fields(df, destination_object("highlevel", "contact"))
    assert all(f.confidence < CONFIRM_THRESHOLD for f in fields)


def test_another_partys_detail_beside_the_records_own_is_kept_apart_confidently():
    df = pd.DataFrame({"city": ["Portland", "Salem"], "employer_city": ["Hillsboro", "Portland"]})
    fields, _ = propose_fields(df, destination_object("highlevel", "contact"))
    by = {f.source: f for f in fields}
    assert by["city"].target == "city"
    assert by["employer_city"].target.startswith("custom:") and by["employer_city"].confidence >= CONFIRM_THRESHOLD


def test_a_leading_role_word_makes_it_another_persons_field():
    df = pd.DataFrame({"firstname": ["Ana", "Ben", "Cy", "Di"], "lastname": ["Ruiz", "Lee", "Oh", "Fox"],
                       "contactname": ["Luis Ruiz", "Kim Lee", "Jo Oh", "Al Fox"],
                       "guarantorphone": ["503-555-0101", "503-555-0102", "503-555-0103", "503-555-0104"]})
    fields = {f.source: f for f in propose_fields(df, destination_object("highlevel", "contact"))[0]}
    assert fields["contactname"].target.startswith("custom:")
    assert fields["guarantorphone"].target.startswith("custom:")
    assert fields["firstname"].target == "firstName"


def test_card_and_bank_details_are_sensitive_but_record_numbers_are_not():
    df = pd.DataFrame({"card.exp_month": ["9", "12", "3", "7"], "card.exp_year": ["2027", "2026", "2028", "2027"],
                       "RoutingNumber": ["121000358", "026009593", "121000358", "011000138"],
                       "card.id": ["card_1", "card_2", "card_3", "card_4"], "PatNum": ["11", "12", "13", "14"]})
    fields = {f.source: f for f in propose_fields(df, destination_object("highlevel", "contact"))[0]}
    for col in ("card.exp_month", "card.exp_year", "RoutingNumber"):
        assert fields[col].target is None and fields[col].reason.startswith("sensitive"), fields[col]
    for col in ("card.id", "PatNum"):
        assert not fields[col].reason.startswith("sensitive"), fields[col]


def test_competing_address_blocks_stay_whole():
    df = pd.DataFrame({"BillAddr.Line1": ["1 A St", "2 B St", "3 C St", "4 D St"],
                       "BillAddr.City": ["Salem", "Bend", "Eugene", "Hood River"],
                       "BillAddr.PostalCode": ["97301", "97701", "97401", "97031"],
                       "ShipAddr.Line1": ["9 Z St", "", "8 Y St", ""],
                       "ShipAddr.City": ["Portland", "", "Gresham", ""],
                       "ShipAddr.PostalCode": ["97201", "", "97030", ""]})
    fields = {f.source: f for f in propose_fields(df, destination_object("highlevel", "contact"))[0]}
    assert fields["BillAddr.City"].target == "city" and fields["BillAddr.PostalCode"].target == "postalCode"
    assert all(fields[c].target.startswith("custom:") for c in ("ShipAddr.Line1", "ShipAddr.City", "ShipAddr.PostalCode"))
