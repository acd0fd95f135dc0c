"""The seeded dates task: formats (golden values), determinism, a disjoint test split, encoding."""

import datetime

import numpy as np
import pytest

from tfcourse.data import dates

MARCH_25 = datetime.date(2021, 3, 25)


@pytest.mark.parametrize("fmt, expected", [
    ("{nth} of {month} {yyyy}", "25th of March 2021"),
    ("{m}/{d}/{yy}", "3/25/21"),
    ("{weekday}, {month} {d}, {yyyy}", "Thursday, March 25, 2021"),
    ("{dd}.{mm}.{yyyy}", "25.03.2021"),
    ("{d}-{mon}-{yy}", "25-Mar-21"),
    ("{wkd} {d} {mon} {yyyy}", "Thu 25 Mar 2021"),
])  # fmt: skip
def test_formats_golden_values(fmt, expected):
    assert fmt in dates.FORMATS
    assert dates.format_date(MARCH_25, fmt) == expected


@pytest.mark.parametrize("day, ordinal", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"),
                                          (12, "12th"), (13, "13th"), (21, "21st"), (22, "22nd"), (23, "23rd"),
                                          (31, "31st")])  # fmt: skip
def test_ordinal_suffixes(day, ordinal):
    assert dates.format_date(datetime.date(2020, 1, day), "{nth}") == ordinal


@pytest.mark.parametrize("fmt, strptime_format", [
    ("{d} {month} {yyyy}", "%d %B %Y"),
    ("{weekday}, {month} {d}, {yyyy}", "%A, %B %d, %Y"),
    ("{dd}.{mm}.{yyyy}", "%d.%m.%Y"),
    ("{d} {mon} {yyyy}", "%d %b %Y"),
    ("{mm}/{dd}/{yyyy}", "%m/%d/%Y"),
])  # fmt: skip
def test_texts_parse_back_to_their_date(fmt, strptime_format):
    day = dates.FIRST_DATE
    while day <= dates.LAST_DATE:
        assert datetime.datetime.strptime(dates.format_date(day, fmt), strptime_format).date() == day
        day += datetime.timedelta(days=37)


def test_two_digit_years_pivot_at_1950():
    assert dates.format_date(datetime.date(1950, 1, 2), "{m}/{d}/{yy}") == "1/2/50"
    assert dates.format_date(datetime.date(2049, 12, 31), "{m}/{d}/{yy}") == "12/31/49"


def test_pairs_are_deterministic_and_depend_on_the_seed():
    first = dates.date_pairs(200, "train", seed=3)
    assert first == dates.date_pairs(200, "train", seed=3)
    assert first != dates.date_pairs(200, "train", seed=4)
    texts, isos = first
    assert all(len(t) <= dates.MAX_INPUT_LENGTH for t in texts)
    assert len({t.lower() == t for t in texts}) == 2  # lower case and other cases both drawn


def test_test_days_never_occur_in_training():
    train_isos = set(dates.date_pairs(20_000, "train", seed=0)[1])
    test_isos = set(dates.date_pairs(2_000, "test", seed=0)[1])
    assert train_isos.isdisjoint(test_isos)
    assert all(dates.is_test_date(datetime.date.fromisoformat(iso)) for iso in test_isos)
    assert not any(dates.is_test_date(datetime.date.fromisoformat(iso)) for iso in train_isos)
    # About 10% of the 36,525 days are held out; the split is a fixed hash, not the seed.
    held_out = sum(dates.is_test_date(d) for d in dates._days("test"))
    assert 0.09 < held_out / 36_525 < 0.11


def test_every_text_names_its_year():
    texts, isos = dates.date_pairs(500, "test", seed=1)
    for text, iso in zip(texts, isos):
        assert iso[:4] in text or f"/{iso[2:4]}" in text or f"-{iso[2:4]}" in text.upper(), (text, iso)


def test_encoding_round_trip_padding_and_unknown_characters():
    tokens = dates.encode_inputs(["3/25/21", "25 März"], length=10)
    assert tokens.shape == (2, 10) and tokens.dtype == np.int32
    assert tokens[0, 7:].tolist() == [0, 0, 0]
    assert tokens[0, 0] == dates.INPUT_CHARS.index("3") + 2
    assert tokens[1, 4] == 1  # "ä" is unknown
    targets = dates.encode_targets(["2021-03-25", "1950-01-01"])
    assert targets.shape == (2, dates.OUTPUT_LENGTH)
    assert dates.decode_targets(targets) == ["2021-03-25", "1950-01-01"]
    assert dates.decode_targets([[0, 1]]) == ["?0"]


def test_validation_errors():
    with pytest.raises(ValueError, match=r"`split` must be one of"):
        dates.date_pairs(5, "validation")
    with pytest.raises(ValueError, match=r"`n` must be an integer >= 1. Received: n=0"):
        dates.date_pairs(0)
    with pytest.raises(ValueError, match=r"at most 3 characters"):
        dates.encode_inputs(["3/25/21"], length=3)
    with pytest.raises(ValueError, match=r"Each target must be 10 characters"):
        dates.encode_targets(["2021/03/25"])
