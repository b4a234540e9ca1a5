"""How long something took, as people read it: one rule for the portal's cost tables and timelines."""

from __future__ import annotations

import pytest

from erasure_platform.core.durations import duration, duration_text


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.49, (0.49, "seconds")),
        (89, (89.0, "seconds")),
        (90, (1.5, "minutes")),
        (5399, (5399 / 60, "minutes")),
        (5400, (1.5, "hours")),
        (129600, (1.5, "days")),
    ],
)
def test_the_largest_unit_that_keeps_the_value_at_one_and_a_half_or_more(seconds, expected):
    assert duration(seconds) == pytest.approx(expected)


def test_text_has_one_decimal_and_its_unit():
    assert duration_text(93) == "1.6 minutes"
