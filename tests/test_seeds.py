"""The one --seeds grammar of run, sweep and reproduce (disbench/seeds.py)."""

import pytest

from disbench.seeds import MAX_SEED, SeedError, format_seeds, off_protocol_note, parse_seeds, seed_list


def test_words_ranges_and_mixes_name_the_same_seeds_in_every_form():
    assert seed_list(["3", "1-2", "3"]) == [3, 1, 2, 3]  # in order, repeats kept: run notes them
    assert parse_seeds("0 3-5") == parse_seeds(["0", "3-5"]) == parse_seeds([0, "3-5"]) == (0, 3, 4, 5)
    assert parse_seeds("007") == (7,) and parse_seeds("0" * 5000) == (0,)
    assert parse_seeds(f"{MAX_SEED - 1}-{MAX_SEED}") == (MAX_SEED - 1, MAX_SEED)


@pytest.mark.parametrize("words, message", [
    ("1" * 5000, "is too large; seeds go from 0 to 4,294,967,295"),  # longer than Python converts: still this error
    (f"0-{'9' * 30}", "goes past 4,294,967,295, the largest seed"),
    ("1.5", "'1.5' is not a seed: use integers from 0"),
    ("٣", "is not a seed"),  # a digit, but not one a seed is written in
])
def test_bad_words_are_seed_errors_that_say_what_a_seed_is(words, message):
    with pytest.raises(SeedError, match=message):
        parse_seeds(words)


def test_seeds_read_as_ranges_and_the_off_protocol_note_names_them():
    assert format_seeds([4, 0, 1, 2, 7, 9, 8]) == "0-2, 4, 7-9" and format_seeds([5]) == "5"
    assert off_protocol_note("t-v0", "quick", (0, 1), [0, 1]) is None
    assert off_protocol_note("t-v0", "quick", (0, 1), [1, 7]) == (
        "t-v0: seed 7 is not one of the quick tier's official seeds 0-1: the record will be off-protocol (the leaderboard refuses it).")
    assert off_protocol_note("t-v0", "smoke", (0,), [3, 2, 3]) == (
        "t-v0: seeds 2-3 are not the smoke tier's official seed 0: the records will be off-protocol (the leaderboard refuses them).")
