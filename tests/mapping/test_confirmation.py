"""Confirmation: the review grid, the headless refusal, and the sign-off spreadsheet round trip."""

import pandas as pd
import pytest

from toolkit.errors import MappingError
from toolkit.mapping import MappingSpec, build_plan, export_mapping, import_mapping, review_grid
from toolkit.workflow import plan
from toolkit.workspace import Workspace, init_workspace


def _spec():
    return MappingSpec.load("templates/mappings/dent-o-soft__highlevel.yaml")


@pytest.fixture
def workspace(tmp_path, dos_export, monkeypatch):
    monkeypatch.setenv("HL_TEST_TOKEN", "x")
    ws = init_workspace(tmp_path / "ws", source="dent-o-soft", export=dos_export, destination="highlevel",
                        base_url="http://127.0.0.1:9", token_env="HL_TEST_TOKEN", options={"location_id": "loc"})
    return ws


def test_headless_runs_refuse_unconfirmed_fields_and_name_them(workspace):
    spec = _spec()
    spec.accept_proposals()
    pending = next(f for f in spec.objects[0].fields if f.source == "Balance")
    pending.status = "proposed"
    spec.save(workspace.mapping_path)
    with pytest.raises(MappingError) as err:
        plan(Workspace.load(workspace.root))
    assert "1 mapping fields are not confirmed" in str(err.value) and "Balance -> custom:balance" in str(err.value)
    snapshot, the_plan = plan(Workspace.load(workspace.root), accept_proposals=True)
    assert the_plan.counts()["patients->contact"] == len(snapshot["patients"])


def test_the_grid_accepts_overrides_excludes_and_saves_only_the_mapping_file(tmp_path, dos_snapshot):
    spec = _spec()
    path = tmp_path / "mapping.yaml"
    grid = review_grid(spec, path, snapshot=dos_snapshot, who="Dr. Reviewer")
    assert "of the" not in grid.status.value and "undecided" in grid.status.value
    grid.row("patients", "FirstName").accept()
    grid.row("patients", "City").override("companyName")
    grid.row("patients", "PreferredName").override("custom", type="large_text", key="nickname")
    grid.row("patients", "Balance").exclude()
    grid.value_boxes[(0, "Gender")]["U"].value = "Unknown / not given"
    assert not path.exists()  # nothing is written until Save
    grid.save_button.click()
    saved = MappingSpec.load(path)
    fields = {f.source: f for f in saved.objects[0].fields if isinstance(f.source, str)}
    assert fields["FirstName"].status == "confirmed" and fields["FirstName"].extra["confirmed_by"] == "Dr. Reviewer"
    assert fields["City"].target == "companyName" and fields["City"].status == "confirmed"
    assert fields["PreferredName"].target == "custom:nickname" and fields["PreferredName"].type == "large_text"
    assert fields["Balance"].status == "excluded" and not fields["Balance"].active
    assert saved.objects[0].values["Gender"]["U"] == "Unknown / not given"
    assert fields["LastName"].status == "proposed"  # untouched rows stay undecided


def test_the_grid_can_accept_every_confident_proposal_at_once(tmp_path):
    spec = _spec()
    unsure = next(f for f in spec.objects[0].fields if f.source == "Balance")
    unsure.confidence = 0.5
    grid = review_grid(spec, tmp_path / "m.yaml")
    n = grid.accept_confident()
    assert n > 0 and all(f.status != "proposed" for o in spec.objects for f in o.fields if f.confidence >= 0.8)
    assert spec.unconfirmed() == ["patients: Balance -> custom:balance"]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_spreadsheet_round_trip_brings_edits_back(tmp_path, suffix):
    spec = _spec()
    sheet = export_mapping(spec, tmp_path / f"signoff{suffix}")
    if suffix == ".xlsx":
        fields = pd.read_excel(sheet, sheet_name="fields", dtype=str, keep_default_na=False)
        values = pd.read_excel(sheet, sheet_name="values", dtype=str, keep_default_na=False)
    else:
        both = pd.read_csv(sheet, dtype=str, keep_default_na=False)
        fields, values = both[both.section == "field"].copy(), both[both.section == "value"].copy()
    assert len(fields) == sum(len(o.fields) for o in spec.objects)
    fields["status"] = "confirmed"
    city = fields.source == "City"
    fields.loc[city, ["target", "type"]] = ["custom:town", "text"]
    fields.loc[fields.source == "SSN", "status"] = "excluded"
    fields.loc[fields.source == "FirstName", "confirmed_by"] = "Office Manager"
    gender = (values.get("column", values.get("source")) == "Gender") & (values.source_value == "U")
    values.loc[gender, "destination_value" if suffix == ".xlsx" else "target"] = "Unknown"
    if suffix == ".xlsx":
        extra = pd.DataFrame([{"object": "patients -> contact", "column": "Gender", "source_value": "X",
                               "destination_value": "Unknown"}])
        with pd.ExcelWriter(sheet, engine="openpyxl") as xl:
            fields.to_excel(xl, sheet_name="fields", index=False)
            pd.concat([values, extra]).to_excel(xl, sheet_name="values", index=False)
    else:
        extra = pd.DataFrame([{"section": "value", "object": "patients -> contact", "source": "Gender",
                               "source_value": "X", "target": "Unknown"}])
        pd.concat([fields, values, extra]).to_csv(sheet, index=False)
    back = import_mapping(_spec(), sheet, confirmed_by="Practice Owner")
    assert back.unconfirmed() == []
    patients = back.objects[0]
    by = {f.source: f for f in patients.fields if isinstance(f.source, str)}
    assert by["City"].target == "custom:town" and by["City"].type == "text"
    assert by["SSN"].status == "excluded"
    assert by["FirstName"].extra["confirmed_by"] == "Office Manager"
    assert by["LastName"].extra["confirmed_by"] == "Practice Owner" and by["LastName"].extra["confirmed_at"]
    assert patients.values["Gender"] == {"M": "Male", "F": "Female", "U": "Unknown", "X": "Unknown"}
    # the edited file is still a mapping that loads
    back.save(tmp_path / "mapping.yaml")
    assert MappingSpec.load(tmp_path / "mapping.yaml").objects[0].values["Gender"]["X"] == "Unknown"


def test_a_bad_sheet_row_is_named(tmp_path):
    sheet = export_mapping(_spec(), tmp_path / "signoff.csv")
    both = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    both.loc[3, "status"] = "maybe"
    both.to_csv(sheet, index=False)
    with pytest.raises(MappingError, match=r"signoff.csv: row 5: status 'maybe'"):
        import_mapping(_spec(), sheet)
    both.loc[3, "status"] = "confirmed"
    both.loc[3, ["target", "type"]] = ["custom:thing", ""]
    both.to_csv(sheet, index=False)
    with pytest.raises(MappingError, match=r"row 5: custom field 'custom:thing' needs a type"):
        import_mapping(_spec(), sheet)


def test_cli_exports_and_imports_the_sheet(workspace, tmp_path, capsys):
    from toolkit.cli import main

    _spec().save(workspace.mapping_path)
    sheet = tmp_path / "s.xlsx"
    assert main(["mapping", "export", str(workspace.root), str(sheet)]) == 0
    fields = pd.read_excel(sheet, sheet_name="fields", dtype=str, keep_default_na=False)
    values = pd.read_excel(sheet, sheet_name="values", dtype=str, keep_default_na=False)
    fields["status"] = "confirmed"
    with pd.ExcelWriter(sheet, engine="openpyxl") as xl:
        fields.to_excel(xl, sheet_name="fields", index=False)
        values.to_excel(xl, sheet_name="values", index=False)
    assert main(["mapping", "import", str(workspace.root), str(sheet), "--by", "Ann"]) == 0
    assert MappingSpec.load(workspace.mapping_path).unconfirmed() == []
    assert "0 fields awaiting confirmation" in capsys.readouterr().out


# --- routes: where rule and include/exclude ---------------------------------------------------
def test_the_grid_edits_a_routes_rule_and_excludes_a_route(tmp_path, dos_snapshot):
    spec = _spec()
    path = tmp_path / "mapping.yaml"
    grid = review_grid(spec, path, snapshot=dos_snapshot, who="Dr. Reviewer")
    patients = grid.route("patients", "contact")
    assert patients.where.value == "" and patients.status.value == "included"
    patients.set_where("Status == ")
    assert "not a valid expression" in patients.problem and patients.om.where is None
    with pytest.raises(MappingError, match="patients -> contact: rule `Status ==` is not a valid expression"):
        grid.save()
    assert not path.exists()
    patients.set_where("Nickname == 'x'")
    assert "Nickname" in patients.problem  # the export is at hand: its columns are checked too
    patients.set_where("Status != 'Inactive'")
    assert patients.problem is None and spec.objects[0].where == "Status != 'Inactive'"
    grid.route("claims").exclude("claims are tracked in the clearing house")
    assert "claims → custom_object:insurance_claim (excluded)" in grid.tabs.get_title(
        next(i for i, o in enumerate(spec.objects) if o.source == "claims"))
    grid.save()
    saved = MappingSpec.load(path)
    assert saved.object("patients").where == "Status != 'Inactive'"
    claims = saved.object("claims")
    assert not claims.included and claims.extra["reason"] == "claims are tracked in the clearing house"
    saved.accept_proposals()
    the_plan = build_plan(dos_snapshot, saved)
    assert all(o.source_object != "claims" for o in the_plan.objects)
    left = [why for o, _, why in the_plan.excluded if o == "claims"]
    assert len(left) == len(dos_snapshot["claims"]) and "clearing house" in left[0]
    inactive = set(dos_snapshot["patients"].query("Status == 'Inactive'").PatientID)
    assert inactive and not inactive & {r.source_key for o in the_plan.objects if o.source_object == "patients"
                                        for r in o.records}
    grid.route("claims").include()
    assert spec.object("claims").included and "reason" not in spec.object("claims").extra


def _route_rows(sheet, suffix):
    if suffix == ".xlsx":
        sheets = pd.read_excel(sheet, sheet_name=None, dtype=str, keep_default_na=False)
        return sheets, sheets["routes"]
    both = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    return both, both[both.section == "route"]


def _write_back(sheet, suffix, whole, routes):
    if suffix == ".xlsx":
        whole["routes"] = routes
        with pd.ExcelWriter(sheet, engine="openpyxl") as xl:
            for name, table in whole.items():
                table.to_excel(xl, sheet_name=name, index=False)
    else:
        whole.loc[routes.index, routes.columns] = routes
        whole.to_csv(sheet, index=False)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_spreadsheet_round_trip_edits_route_rules_and_status(tmp_path, suffix, dos_snapshot):
    spec = _spec()
    sheet = export_mapping(spec, tmp_path / f"signoff{suffix}")
    whole, routes = _route_rows(sheet, suffix)
    assert list(routes.source) == [o.source for o in spec.objects] and set(routes.status) == {"included"}
    routes = routes.copy()
    first = routes.index[0]
    routes.loc[first, "where"] = "Status != 'Inactive'"
    ledger = routes.index[routes.source == "ledger"][0]
    routes.loc[ledger, ["status", "reason", "confirmed_by"]] = ["excluded", "", "Office Manager"]
    _write_back(sheet, suffix, whole, routes)
    back = import_mapping(_spec(), sheet, confirmed_by="Practice Owner")
    assert back.object("patients").where == "Status != 'Inactive'"
    assert back.object("patients").extra["confirmed_by"] == "Practice Owner"
    gone = back.object("ledger")
    assert not gone.included and gone.extra["reason"] == "excluded by Office Manager"
    assert back.object("claims").included and "confirmed_by" not in back.object("claims").extra  # untouched
    back.save(tmp_path / "mapping.yaml")
    again = MappingSpec.load(tmp_path / "mapping.yaml")
    again.accept_proposals()
    assert all(o.source_object != "ledger" for o in build_plan(dos_snapshot, again).objects)


@pytest.mark.parametrize("suffix,cell", [(".xlsx", "sheet routes, row 2, column where"), (".csv", r"row \d+, column where")])
def test_an_invalid_route_rule_is_named_by_sheet_row_and_column(tmp_path, suffix, cell):
    sheet = export_mapping(_spec(), tmp_path / f"signoff{suffix}")
    whole, routes = _route_rows(sheet, suffix)
    routes = routes.copy()
    routes.loc[routes.index[0], "where"] = "Status = 'Active'"
    _write_back(sheet, suffix, whole, routes)
    with pytest.raises(MappingError, match=rf"signoff{suffix}: {cell}: route patients -> contact: rule `Status = 'Active'` "
                                           r"is not a valid expression"):
        import_mapping(_spec(), sheet)
    routes.loc[routes.index[0], "where"] = "months_since_visit > @recency"
    _write_back(sheet, suffix, whole, routes)
    with pytest.raises(MappingError, match=r"column where: .* uses @recency, not among the mapping's params"):
        import_mapping(_spec(), sheet)
    routes.loc[routes.index[0], ["where", "status"]] = ["", "dropped"]
    _write_back(sheet, suffix, whole, routes)
    with pytest.raises(MappingError, match=r"column status: route status 'dropped'"):
        import_mapping(_spec(), sheet)
    routes.loc[routes.index[0], ["status", "target"]] = ["included", "opportunity"]
    _write_back(sheet, suffix, whole, routes)
    with pytest.raises(MappingError, match=r"column target: route 0 is patients -> contact; its target cannot be changed"):
        import_mapping(_spec(), sheet)


def test_a_sheet_without_routes_leaves_the_routes_alone(tmp_path):
    spec = _spec()
    spec.object("claims").set_included(False, "not yet")
    spec.objects[0].where = "Status != 'Inactive'"
    sheet = export_mapping(spec, tmp_path / "old.xlsx")
    sheets = pd.read_excel(sheet, sheet_name=None, dtype=str, keep_default_na=False)
    with pd.ExcelWriter(sheet, engine="openpyxl") as xl:  # a workbook from before routes were editable
        for name in ("fields", "values"):
            sheets[name].to_excel(xl, sheet_name=name, index=False)
    back = import_mapping(spec, sheet)
    assert back.objects[0].where == "Status != 'Inactive'" and not back.object("claims").included
    csv = export_mapping(spec, tmp_path / "old.csv")
    both = pd.read_csv(csv, dtype=str, keep_default_na=False)
    both[both.section != "route"].drop(columns=["where"]).to_csv(csv, index=False)
    assert import_mapping(spec, csv).object("claims").extra["reason"] == "not yet"


# --- the reviewer, shared targets and the table below the grid ----------------------------------
def test_the_grid_warns_when_two_columns_take_one_target(tmp_path, dos_snapshot):
    grid = review_grid(_spec(), tmp_path / "m.yaml", snapshot=dos_snapshot, who="Dr. Reviewer")
    assert grid.shared_targets() == {} and grid.warnings.value == ""
    first = grid.row("patients", "FirstName").fm.target
    grid.row("patients", "City").override(first)
    assert grid.shared_targets() == {("patients → contact", first): ["FirstName", "City"]}
    assert f"{first} is the target of FirstName, City" in grid.warnings.value
    assert "also the target of FirstName" in grid.row("patients", "City").shared.value
    grid.save()
    assert "1 target(s) filled by more than one column" in grid.status.value  # saved, and still said
    grid.row("patients", "City").exclude()
    assert grid.shared_targets() == {} and grid.row("patients", "FirstName").shared.value == ""


def test_saving_needs_the_reviewers_name_and_stamps_it(tmp_path, dos_snapshot, monkeypatch):
    monkeypatch.delenv("CRM_MIGRATE_REVIEWER", raising=False)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    path = tmp_path / "m.yaml"
    grid = review_grid(_spec(), path, snapshot=dos_snapshot)
    grid.row("patients", "FirstName").accept()
    grid.save_button.click()  # a click with no name: refused, and the status line says why
    assert not path.exists() and "type your name" in grid.status.value
    with pytest.raises(MappingError, match="no reviewer"):
        grid.save()
    grid.reviewer.value = "Maria Lopez"
    grid.save_button.click()
    saved = {f.source: f for f in MappingSpec.load(path).objects[0].fields if isinstance(f.source, str)}
    assert saved["FirstName"].extra["confirmed_by"] == "Maria Lopez"
    monkeypatch.setenv("CRM_MIGRATE_REVIEWER", "Dr. Chen")
    assert review_grid(_spec(), path).reviewer.value == "Dr. Chen"


def test_the_field_table_is_redrawn_in_place_when_the_grid_saves(tmp_path, dos_snapshot, monkeypatch):
    import toolkit

    drawn = []
    monkeypatch.setattr("IPython.display.display", lambda data, **kw: drawn.append(("display", kw["display_id"], data)))
    monkeypatch.setattr("IPython.display.update_display",
                        lambda data, **kw: drawn.append(("update", kw["display_id"], data)))
    spec = _spec()
    grid = review_grid(spec, tmp_path / "m.yaml", snapshot=dos_snapshot, who="Dr. Reviewer")
    toolkit.show_mapping_fields(spec, grid)
    assert [d[0] for d in drawn] == ["display"] and "Dr. Reviewer" not in drawn[0][2]["text/html"]
    grid.row("patients", "FirstName").accept()
    grid.save()
    assert [d[0] for d in drawn] == ["display", "update"] and drawn[1][1] == drawn[0][1]
    assert "Dr. Reviewer" in drawn[1][2]["text/html"]  # the redrawn table shows who confirmed
