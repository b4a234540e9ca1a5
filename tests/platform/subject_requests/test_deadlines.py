from datetime import date

import pytest

from erasure_platform.subject_requests import deadlines as d


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 1, 31), date(2026, 2, 28)),  # no 31 February: the month's last day
        (date(2028, 1, 31), date(2028, 2, 29)),  # leap year
        (date(2026, 1, 15), date(2026, 2, 15)),  # same date next month, not +30 days (14 Feb)
        (date(2026, 3, 31), date(2026, 4, 30)),
        (date(2026, 12, 10), date(2027, 1, 10)),  # across the year end
        (date(2026, 2, 28), date(2026, 3, 28)),
    ],
)
def test_gdpr_deadline_is_one_calendar_month(received, due):
    assert d.response_due(d.GDPR, received) == due


def test_gdpr_month_is_not_thirty_days():
    assert d.response_due(d.GDPR, date(2026, 2, 1)) == date(2026, 3, 1)  # 28 days later
    assert d.response_due(d.GDPR, date(2026, 7, 1)) == date(2026, 8, 1)  # 31 days later


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 1, 1), date(2026, 2, 15)),
        (date(2026, 12, 1), date(2027, 1, 15)),
        (date(2028, 2, 1), date(2028, 3, 17)),
    ],
)
def test_ccpa_deadline_is_45_calendar_days(received, due):
    assert d.response_due(d.CCPA, received) == due


def test_gdpr_extension_counts_months_from_receipt():
    assert d.extended_due(d.GDPR, date(2026, 1, 31), 2) == date(2026, 4, 30)
    assert d.extended_due(d.GDPR, date(2026, 1, 31), 1) == date(2026, 3, 31)
    assert d.extended_due(d.GDPR, date(2026, 11, 30), 2) == date(2027, 2, 28)


def test_ccpa_extension_adds_days_to_the_first_period():
    assert d.extended_due(d.CCPA, date(2026, 1, 1), 45) == date(2026, 4, 1)
    assert d.extended_due(d.CCPA, date(2026, 1, 1), 10) == date(2026, 2, 25)


@pytest.mark.parametrize(("jurisdiction", "too_much"), [(d.GDPR, 3), (d.CCPA, 46)])
def test_extension_beyond_the_statutory_maximum_is_refused(jurisdiction, too_much):
    with pytest.raises(d.DeadlineError, match="at most"):
        d.extended_due(jurisdiction, date(2026, 1, 1), too_much)


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_extension_must_be_a_positive_whole_number(bad):
    with pytest.raises(d.DeadlineError):
        d.extended_due(d.GDPR, date(2026, 1, 1), bad)


def test_unknown_jurisdiction_is_refused():
    with pytest.raises(d.DeadlineError, match="unknown jurisdiction"):
        d.response_due("LGPD", date(2026, 1, 1))


def test_extension_only_once_and_only_within_the_first_period():
    received = date(2026, 1, 31)
    assert (
        d.extension_refusal(jurisdiction=d.GDPR, received_on=received, today=date(2026, 2, 28), already_extended=False)
        is None
    )
    late = d.extension_refusal(
        jurisdiction=d.GDPR, received_on=received, today=date(2026, 3, 1), already_extended=False
    )
    assert late and "within the first one month" in late
    twice = d.extension_refusal(
        jurisdiction=d.GDPR, received_on=received, today=date(2026, 2, 1), already_extended=True
    )
    assert twice and "only one extension" in twice
    assert (
        d.extension_refusal(
            jurisdiction=d.CCPA, received_on=date(2026, 1, 1), today=date(2026, 2, 15), already_extended=False
        )
        is None
    )
    assert d.extension_refusal(
        jurisdiction=d.CCPA, received_on=date(2026, 1, 1), today=date(2026, 2, 16), already_extended=False
    )


def test_ccpa_confirmation_within_ten_business_days():
    # Friday 2 January 2026 + 10 business days = Friday 16 January.
    assert d.confirmation_due(d.CCPA, date(2026, 1, 2)) == date(2026, 1, 16)
    # Saturday receipt: the count starts on Monday.
    assert d.confirmation_due(d.CCPA, date(2026, 1, 3)) == date(2026, 1, 16)
    assert d.confirmation_due(d.GDPR, date(2026, 1, 3)) == date(2026, 2, 3)


def test_add_business_days_skips_weekends():
    assert d.add_business_days(date(2026, 1, 9), 1) == date(2026, 1, 12)  # Fri → Mon
    assert d.add_business_days(date(2026, 1, 9), 0) == date(2026, 1, 9)
    with pytest.raises(d.DeadlineError):
        d.add_business_days(date(2026, 1, 9), -1)


def test_records_are_retained_24_months():
    assert d.retain_until(date(2026, 3, 15)) == date(2028, 3, 15)
    assert d.retain_until(date(2028, 2, 29)) == date(2030, 2, 28)


def test_clock_helpers():
    due = date(2026, 2, 28)
    assert d.days_left(due, date(2026, 2, 20)) == 8
    assert d.days_left(due, due) == 0 and not d.is_overdue(due, due)
    assert d.is_overdue(due, date(2026, 3, 1)) and d.days_left(due, date(2026, 3, 1)) == -1
    assert d.due_within(due, date(2026, 2, 21), 7) and not d.due_within(due, date(2026, 2, 20), 7)
    assert not d.due_within(due, date(2026, 3, 1), 7)


def test_days_to_close_and_median():
    assert d.days_to_close(date(2026, 1, 1), date(2026, 1, 11)) == 10
    with pytest.raises(d.DeadlineError):
        d.days_to_close(date(2026, 1, 11), date(2026, 1, 1))
    assert d.median_days([]) is None
    assert d.median_days([3, 1, 10]) == 3.0
    assert d.median_days([1, 2, 3, 4]) == 2.5


def test_add_months_rejects_negative():
    with pytest.raises(d.DeadlineError):
        d.add_months(date(2026, 1, 1), -1)
