"""Lengths of time as every report writes them (run summary, sweep ETA, the site's runs table)."""

from disbench.durations import duration


def test_durations_round_to_whole_seconds_and_switch_units_at_a_minute_and_an_hour():
    seconds = (0.4, 45, 59.6, 312, 3599.4, 3720, 90061)
    assert [duration(s) for s in seconds] == ["0 s", "45 s", "1 min 0 s", "5 min 12 s", "59 min 59 s", "1 h 02 min", "25 h 01 min"]
