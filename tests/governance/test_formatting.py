"""The formatting layer: how codes, durations and numbers read on pages, in e-mails and in reports."""

from datetime import timedelta

import pytest

from governance.kernel import formatting as fmt


@pytest.mark.parametrize(("minutes", "words"), [
    (43200, "30 days"), (28790, "19 days 23 hours"), (10080, "7 days"), (1440, "1 day"), (90, "1 hour 30 minutes"),
    (30, "30 minutes"), (0, "0 minutes"),
])
def test_durations_read_in_words_not_minutes(minutes, words):
    assert fmt.minutes(minutes) == words


def test_a_negative_duration_has_a_minus_sign():
    assert fmt.duration(timedelta(hours=-2)) == "−2 hours"


@pytest.mark.parametrize(("value", "text"), [
    (9209, "9,209"), ("9209", "9,209"), (1634272, "1,634,272"), (0.962441, "0.962"), (-0.4, "−0.4"),
    (151.13, "151.1"), (0.00413652, "0.00414"), (0, "0"), (None, "—"),
])
def test_one_number_format(value, text):
    assert fmt.number(value) == text


def test_percentages_intervals_and_money():
    assert fmt.percent(0.123) == "12.3\u00a0%"
    assert fmt.percent(-0.4, ratio=False) == "−0.4\u00a0%"
    assert fmt.interval(0.7412, 0.861) == "0.741 – 0.861"
    assert fmt.money(1250000) == "1,250,000 USD"
    assert fmt.money(12.5, "EUR") == "12.50 EUR"
    assert fmt.money(None) == "not assessed"


def test_codes_read_as_words():
    assert fmt.role("DATA_SCIENCE") == "Data Science"
    assert fmt.role("MODEL_RISK") == "Model Risk Management"
    assert fmt.roles(["COMPLIANCE", "LEGAL", "MODEL_RISK"]) == "Compliance, Legal and Model Risk Management"
    assert fmt.tier("TIER_2") == "Tier 2 (medium risk)"
    assert fmt.tier("TIER_2", short=True) == "Tier 2"
    assert fmt.status("IN_REVIEW") == "In review"
    assert fmt.verb("checklist.attested") == "Checklist item attested"
    assert fmt.verb("something.new_happened") == "Something new happened"
    assert fmt.actor("system:seed_examples") == "Gatehouse (seeded examples)"
    assert fmt.actor("token:ci-main") == "API token “ci-main”"
    assert fmt.setting("air_floor", 0.8) == "Adverse-impact ratio floor: 0.8"
    assert fmt.setting("min_shadow_minutes", 43200) == "Minimum shadow: 30 days"
    assert fmt.rule("approval_air", ">=", 0.8) == "approval AIR ≥ 0.8"


def test_a_message_splits_into_its_sentences():
    text = ("The rollout cannot advance yet. Stage shadow must run at least 30 days; 19 days 23 hours to go. "
            "Leaving shadow needs approval by Compliance.")
    assert fmt.sentences(text) == ["The rollout cannot advance yet.",
                                   "Stage shadow must run at least 30 days; 19 days 23 hours to go.",
                                   "Leaving shadow needs approval by Compliance."]
    assert fmt.sentences("AIR is 0.8 at the floor.") == ["AIR is 0.8 at the floor."]


def test_counts_read_singular_for_one():
    from governance.kernel.formatting import plural

    assert (plural(1, "row"), plural(0, "row"), plural(12_825, "row")) == ("1 row", "0 rows", "12,825 rows")
