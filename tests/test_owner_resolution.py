import pytest

from toolkit import ConfigError, User, resolve_owners

USERS = [User("u1", "Dr.Smith@Practice.example", "Smith"), User("u2", "office@practice.example", "Office")]


def test_emails_match_case_and_whitespace_insensitively():
    res = resolve_owners({"  dr.smith@practice.EXAMPLE ": 3}, USERS)
    assert res.owner_id(" DR.SMITH@practice.example") == "u1"
    assert res.unmatched == {}


def test_unmatched_owners_go_to_the_fallback_and_are_listed():
    res = resolve_owners({"dr.smith@practice.example": 3, "gone@elsewhere.example": 5, "": 2}, USERS,
                         "office@practice.example")
    assert res.owner_id("gone@elsewhere.example") == "u2"
    assert res.owner_id("") == "u2"
    rows = {r["source_owner"]: r for r in res.rows()}
    assert rows["gone@elsewhere.example"]["records"] == 5
    assert not rows["gone@elsewhere.example"]["matched"]
    assert "fallback" in rows["gone@elsewhere.example"]["action"]
    assert rows["(no email in source)"]["records"] == 2
    res.check()


def test_no_fallback_refuses_with_the_owners_named():
    res = resolve_owners({"gone@elsewhere.example": 5}, USERS)
    with pytest.raises(ConfigError, match=r"gone@elsewhere.example \(5 records\)"):
        res.check()


def test_a_fallback_that_is_not_a_user_is_refused():
    with pytest.raises(ConfigError, match="nobody@x.example"):
        resolve_owners({}, USERS, "nobody@x.example")
