"""The rebuild guide: merge fields recognised in any common syntax, written in each destination's,
untranslatable ones marked; built from the automations a generated export carries."""

from __future__ import annotations

import pytest

from toolkit.reports.merge_fields import find_tokens, translate
from toolkit.reports.rebuild import build_guide

BODY = "Hi [FirstName], your [RecallType] is due on [DueDate]. Book at [PortalLink] or call [PracticePhone]."


def test_merge_fields_are_found_in_every_common_syntax():
    text = "<<PatientName>> {{ first_name }} [AptDate] %DueDate% «ProviderName» [not a field!]"
    found = [(t.text, t.concept) for t in find_tokens(text)]
    assert found == [("<<PatientName>>", "contact.full_name"), ("{{ first_name }}", "contact.first_name"),
                     ("[AptDate]", "appointment.date"), ("%DueDate%", "recall.due_date"),
                     ("«ProviderName»", "appointment.provider")]


def test_highlevel_syntax_with_custom_fields_from_the_mapping():
    text, tokens = translate(BODY, "highlevel", {"recall_type": "Recall Type", "recall_date": "Recall Date"})
    assert text.startswith("Hi {{contact.first_name}}, your {{opportunity.recall_type}} is due on "
                           "{{opportunity.recall_date}}.")
    assert "{{location.phone}}" in text
    by = {t.source: t for t in tokens}
    assert by["[FirstName]"].status == "translated"
    assert by["[PortalLink]"].status == "untranslatable" and "⟦[PortalLink] — untranslatable⟧" in text
    assert "portal" in by["[PortalLink]"].note


def test_a_custom_field_the_mapping_does_not_create_is_untranslatable():
    _, tokens = translate("[RecallType]", "highlevel", {})
    assert tokens[0].status == "untranslatable" and "recall_type" in tokens[0].note


@pytest.mark.parametrize("destination, first_name, practice_phone", [
    ("freshsales", "{{contact.first_name}}", None),
    ("pipedrive", "[Person: First name]", None),
])
def test_other_destinations(destination, first_name, practice_phone):
    text, tokens = translate(BODY, destination, {"recall_type": "Recall Type"})
    by = {t.source: t for t in tokens}
    assert by["[FirstName]"].destination == first_name and by["[FirstName]"].status == "check"
    assert by["[PracticePhone]"].destination == practice_phone and by["[PracticePhone]"].status == "untranslatable"
    assert "⟦[PracticePhone] — untranslatable⟧" in text


def test_guide_from_a_generated_export(tmp_path):
    from toolkit.sources import registry

    src = registry.get("dent-o-soft")()
    automations = src.read(src.generate(tmp_path / "export", patients=20, seed=4)).meta["automations"]
    assert automations and {a["kind"] for a in automations} >= {"recall_rule", "reminder", "sms_template"}
    guide = build_guide(automations, "dent-o-soft", "highlevel", {"recall_type": "Recall Type", "recall_date": "Recall Date"})
    assert list(guide.items) == ["highlevel", "freshsales", "pipedrive"]
    assert len(guide.here) == len(automations)
    for item in guide.here:
        assert "[FirstName]" not in item.translated  # every known field rewritten
        assert item.where
    sms = [i for i in guide.items["pipedrive"] if i.kind == "sms_template"]
    assert sms and all(i.status == "needs work" for i in sms)  # Pipedrive sends no SMS
    figures = guide.to_dict()
    assert figures["summary"]["merge fields"] == sum(len(i.tokens) for i in guide.here)
    md = guide.markdown("freshsales")
    assert md.startswith("# Rebuilding dent-o-soft automations in freshsales") and "untranslatable" in md
