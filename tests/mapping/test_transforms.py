import pandas as pd

from toolkit.mapping import apply_transform


def test_phones_become_e164_and_bad_ones_are_reported_not_guessed():
    s = pd.Series(["(415) 555-0134", "415.555.0199", "N/A", "555-01", None])
    values, problems = apply_transform("phone_e164", s)
    assert values.tolist()[:2] == ["+14155550134", "+14155550199"]
    assert pd.isna(values[2]) and pd.isna(values[3]) and pd.isna(values[4])
    assert "N/A" in problems[2] and "555-01" in problems[3]
    assert pd.isna(problems[4])



def test_a_phone_without_its_area_code_or_with_letters_is_reported_not_dialled():
    """Seven digits are possible only locally: "+1" and seven digits would be stored as a number
    that does not exist. Letters are a remark, not a vanity number; an extension may follow."""
    s = pd.Series(["728-0374", "(781) 493-CALL", "call work", "617.555.0100 x12", "617-555-0100 ext. 4",
                   "+1 617 555 0100", "+44 20 7946 0958"])
    values, problems = apply_transform("phone_e164", s)
    assert values.isna().tolist() == [True, True, True, False, False, False, False]
    assert "no area code" in problems[0] and "letters" in problems[1] and "letters" in problems[2]
    assert values.tolist()[3:] == ["+16175550100", "+16175550100", "+16175550100", "+442079460958"]
    assert problems[3:].isna().all()

def test_mixed_date_layouts_parse_and_unknown_layouts_are_reported():
    s = pd.Series(["03/04/2020", "2020-05-06", "1/2/99", "31.12.1980", "someday"])
    values, problems = apply_transform("date", s)
    assert values.tolist()[:4] == ["2020-03-04", "2020-05-06", "1999-01-02", "1980-12-31"]
    assert "someday" in problems[4]


def test_invalid_emails_are_dropped_with_a_reason():
    values, problems = apply_transform("email", pd.Series(["Ann@Example.COM", "ann..b@example.com", "no-at-sign"]))
    assert values[0] == "ann@example.com"
    assert pd.isna(values[1]) and pd.isna(values[2])
    assert problems[1] and problems[2]


def test_money_and_flags():
    values, problems = apply_transform("money", pd.Series(["$1,250.50", "abc"]))
    assert values[0] == 1250.5 and "abc" in problems[1]
    flags, _ = apply_transform("yn_bool", pd.Series(["Y", "n", None]))
    assert flags.tolist()[:2] == [True, False]
