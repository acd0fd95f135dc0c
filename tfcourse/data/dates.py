"""A seeded synthetic sequence task: human-readable dates -> ISO 8601 dates (lesson L16).

    "25th of March 2021", "3/25/21", "Thursday, March 25, 2021", ... -> "2021-03-25"

Every calendar day from 1950-01-01 to 2049-12-31 is either a training day or a test day
(`is_test_date`, a fixed split that does not depend on the seed), so no held-out date is ever
seen in training, in any format. `date_pairs(n, split, seed)` draws n (text, iso) pairs from
one side, deterministically from `seed`. Two-digit years read 50..99 as 19xx, 00..49 as 20xx.

Characters become integer tokens for a model:

    inputs:  INPUT_CHARS[i] -> i + 2 ; 0 = padding, 1 = a character outside INPUT_CHARS
    targets: OUTPUT_CHARS[i] -> i + 1 ; 0 = START (the decoder's first input)
"""

import datetime
import hashlib

import numpy as np

from tfcourse._validation import check_int, check_one_of, check_positive_int

__all__ = [
    "FIRST_DATE", "FORMATS", "INPUT_CHARS", "LAST_DATE", "MAX_INPUT_LENGTH", "OUTPUT_CHARS", "OUTPUT_LENGTH",
    "START", "date_pairs", "decode_targets", "encode_inputs", "encode_targets", "format_date", "is_test_date",
]

FIRST_DATE, LAST_DATE = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TEST_FRACTION = 0.1


def _ordinal(day):
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _fields(d):
    month, weekday = MONTHS[d.month - 1], WEEKDAYS[d.weekday()]
    return dict(d=d.day, dd=f"{d.day:02d}", m=d.month, mm=f"{d.month:02d}", yyyy=d.year, yy=f"{d.year % 100:02d}",
                month=month, mon=month[:3], weekday=weekday, wkd=weekday[:3], nth=_ordinal(d.day))


# Unambiguous by construction: "/" is always month/day/year (US), "." and "-" with a numeric
# month are always day.month.year; every other format spells the month.
FORMATS = (
    "{nth} of {month} {yyyy}",           # 25th of March 2021
    "{m}/{d}/{yy}",                      # 3/25/21
    "{weekday}, {month} {d}, {yyyy}",    # Thursday, March 25, 2021
    "{d} {month} {yyyy}",                # 25 March 2021
    "{month} {d}, {yyyy}",               # March 25, 2021
    "{d} {mon} {yyyy}",                  # 25 Mar 2021
    "{mon} {nth}, {yyyy}",               # Mar 25th, 2021
    "{dd}.{mm}.{yyyy}",                  # 25.03.2021
    "{d}-{mon}-{yy}",                    # 25-Mar-21
    "{mm}/{dd}/{yyyy}",                  # 03/25/2021
    "{wkd} {d} {mon} {yyyy}",            # Thu 25 Mar 2021
    "the {nth} of {month}, {yyyy}",      # the 25th of March, 2021
    "{weekday} the {nth} of {month} {yyyy}",  # Thursday the 25th of March 2021
    "{month} {yyyy}, day {d}",           # March 2021, day 25
)
CASES = (str, str.lower, str.upper)  # each text is also drawn in lower and upper case

INPUT_CHARS = " ,-./0123456789" + "".join(chr(c) for c in range(ord("A"), ord("Z") + 1)) + "".join(
    chr(c) for c in range(ord("a"), ord("z") + 1)
)
OUTPUT_CHARS = "0123456789-"
START = 0
OUTPUT_LENGTH = 10  # "YYYY-MM-DD"
MAX_INPUT_LENGTH = 40


def format_date(date, fmt):
    """`date` (datetime.date) written in `fmt`, one of FORMATS (lesson L16).

        format_date(date(2021, 3, 25), "{nth} of {month} {yyyy}") == "25th of March 2021"
    """
    return fmt.format(**_fields(date))


def is_test_date(date):
    """True for the ~10% of days held out for testing: a fixed hash of the day (lesson L16).

        is_test = first 8 bytes of sha256("YYYY-MM-DD") / 2**64 < 0.1
    """
    digest = hashlib.sha256(date.isoformat().encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < TEST_FRACTION


def _days(split):
    count = (LAST_DATE - FIRST_DATE).days + 1
    days = [FIRST_DATE + datetime.timedelta(days=i) for i in range(count)]
    return [d for d in days if is_test_date(d) == (split == "test")]


def date_pairs(n, split="train", seed=0):
    """n (text, iso) pairs of `split` ("train" or "test"), drawn from `seed` (lesson L16).

        for each pair: day ~ uniform over split's days, fmt ~ uniform over FORMATS,
                       case ~ uniform over (as is, lower, upper)
        text = case(format_date(day, fmt)) ; iso = day.isoformat()

    Train and test days never overlap (`is_test_date`); the same (n, split, seed) always
    gives the same pairs.
    """
    n = check_positive_int("n", n)
    check_one_of("split", split, ("train", "test"))
    seed = check_int("seed", seed, low=0)
    days = _days(split)
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    day_index = rng.integers(len(days), size=n)
    format_index = rng.integers(len(FORMATS), size=n)
    case_index = rng.integers(len(CASES), size=n)
    texts, isos = [], []
    for i, f, c in zip(day_index, format_index, case_index):
        texts.append(CASES[c](format_date(days[i], FORMATS[f])))
        isos.append(days[i].isoformat())
    return texts, isos


_INPUT_IDS = {char: i + 2 for i, char in enumerate(INPUT_CHARS)}


def encode_inputs(texts, length=MAX_INPUT_LENGTH):
    """Texts -> int32 (N, length) tokens, right-padded with 0; unknown characters -> 1 (L16).

    A text longer than `length` raises ValueError (it would be silently cut).
    """
    length = check_positive_int("length", length)
    tokens = np.zeros((len(texts), length), "int32")
    for row, text in enumerate(texts):
        if len(text) > length:
            raise ValueError(f"Each text must have at most {length} characters. Received: {text!r}")
        tokens[row, : len(text)] = [_INPUT_IDS.get(char, 1) for char in text]
    return tokens


def encode_targets(isos):
    """ISO dates -> int32 (N, OUTPUT_LENGTH) tokens OUTPUT_CHARS.index(c) + 1 (lesson L16)."""
    if any(len(iso) != OUTPUT_LENGTH or set(iso) - set(OUTPUT_CHARS) for iso in isos):
        raise ValueError(f"Each target must be {OUTPUT_LENGTH} characters of {OUTPUT_CHARS!r}. Received: {isos!r}")
    return np.array([[OUTPUT_CHARS.index(c) + 1 for c in iso] for iso in isos], "int32").reshape(-1, OUTPUT_LENGTH)


def decode_targets(tokens):
    """Target tokens (N, T) -> strings; START (0) reads as "?" (lesson L16)."""
    alphabet = "?" + OUTPUT_CHARS
    return ["".join(alphabet[t] for t in row) for row in np.asarray(tokens)]
