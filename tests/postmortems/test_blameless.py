"""The blameless-language check: wording that makes a person the cause of a failure is flagged."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postmortems.blameless import Finding, check_text

NAMES = ["Alice Chen", "Bob Okafor", "Will Turner", "Maria de la Cruz"]

BLAMING = [
    ("Alice forgot to renew the TLS certificate.", "named_person_failure"),
    ("Bob Okafor failed to run the backfill before the launch.", "named_person_failure"),
    ("Chen ignored the drift alert for two days.", "named_person_failure"),
    ("Alice, the on-call engineer, ignored the page.", "named_person_failure"),
    ("The outage was Bob's mistake.", "named_person_failure"),
    ("The alert was missed by Alice during the handover.", "named_person_failure"),
    ("Will Turner deployed the model without a canary stage.", "named_person_failure"),
    ("Cruz had simply forgotten to update the threshold.", "named_person_failure"),
    ("He didn't check the dashboard before promoting the model.", "pronoun_failure"),
    ("She overlooked the schema change in the vendor feed.", "pronoun_failure"),
    ("They skipped the fairness review to hit the deadline.", "pronoun_failure"),
    ("I messed up the threshold in the config.", "pronoun_failure"),
    ("Someone forgot to rotate the API token.", "pronoun_failure"),
    ("The on-call engineer ignored the latency page.", "role_failure"),
    ("The analysts approved the model without a fairness review.", "role_failure"),
    ("The incident was caused by human error.", "human_error"),
    ("Operator error took the scoring service down.", "human_error"),
    ("The change was careless and untested.", "judgement_word"),
    ("Approving the model without a review was negligent.", "judgement_word"),
    ("The migration script was sloppy.", "judgement_word"),
    ("Bob should have caught the drift before launch.", "counterfactual"),
    ("Someone ought to have noticed the empty rotation.", "counterfactual"),
    ("Product blamed the data team for the delay.", "blame_word"),
    ("It was the fault of the release manager.", "blame_word"),
    ("Honestly, it was Dana's fault.", "blame_word"),
]

NOT_BLAMING = [
    "The pipeline failed to validate the schema.",
    "The alert did not fire because thresholds were tuned for performance.",
    "We had no check that blocks a launch with one signature.",
    "The vendor changed how the field was populated.",
    "No one was paged because the rotation was empty.",
    "The process should require four sign-offs.",
    "Blameless reviews focus on mechanisms.",
    "We missed the drift because no monitor covered it.",
    "Alice rolled back the launch at 14:05 and opened the incident.",
    "Bob noticed the drift and paged the on-call team.",
    "Alice did not receive the page because the rotation was empty.",
    "Will the guardrail fire if the data is stale?",
    "The retry loop ignored the timeout setting.",
    "A fault in the disk controller corrupted the feature cache.",
    "The fault-tolerance test did not cover region failover.",
    "Lazy loading issued four thousand queries per page.",
    "This was not human error; the form accepted an invalid date.",
    "This review does not assign blame.",
    "The review board does not blame individuals for outages.",
    "Engineers should have access to the rollback runbook.",
    "Alerts were ignored by the routing rule for low-severity pages.",
    "The deploy tool let a model ship without a canary stage.",
    "We run blame-free reviews.",
    "The user error rate rose to 2 % after the release.",
    "The checklist had no item for upstream schema changes.",
]


def test_table_is_balanced():
    assert len(BLAMING) == len(NOT_BLAMING) >= 20


@pytest.mark.parametrize(("sentence", "rule"), BLAMING)
def test_blaming_sentence_is_flagged_with_its_rule(sentence, rule):
    findings = check_text(sentence, known_names=NAMES)
    assert [f.rule for f in findings] == [rule]
    finding = findings[0]
    assert finding.sentence == sentence
    assert sentence[finding.start : finding.end] == finding.phrase
    assert finding.message and finding.suggestion


@pytest.mark.parametrize("sentence", NOT_BLAMING)
def test_system_focused_sentence_is_not_flagged(sentence):
    assert check_text(sentence, known_names=NAMES) == []


def test_named_person_suggestion_points_at_the_system():
    (finding,) = check_text("Alice forgot to renew the certificate.", known_names=NAMES)
    assert finding.phrase == "Alice forgot"
    assert "instead of who did it" in finding.suggestion


def test_human_error_suggestion_asks_for_the_gap():
    (finding,) = check_text("Root cause: human error.")
    assert finding.suggestion == "Name the process or tooling gap that made the error possible."


def test_offsets_index_the_original_text_across_sentences_and_lines():
    text = (
        "# Root cause\n\n"
        "The rollout paused at 5 %. Alice forgot to update the runbook.  The alert fired!\n"
        "- He ignored the page, e.g. the one at 0.5 h.\n"
        "* It was human error? The fix was careless.\r\n"
        "1. Bob should have waited.\n"
    )
    findings = check_text(text, known_names=NAMES)
    assert [f.rule for f in findings] == [
        "named_person_failure",
        "pronoun_failure",
        "human_error",
        "judgement_word",
        "counterfactual",
    ]
    for f in findings:
        assert text[f.start : f.end] == f.phrase
        assert f.phrase in f.sentence
        assert f.sentence in text
    assert [f.sentence for f in findings] == [
        "Alice forgot to update the runbook.",
        "He ignored the page, e.g. the one at 0.5 h.",
        "It was human error?",
        "The fix was careless.",
        "Bob should have waited.",
    ]
    assert [f.start for f in findings] == sorted(f.start for f in findings)


def test_markdown_markers_are_not_part_of_the_sentence():
    text = "## She skipped the review\n> - [ ] They forgot the rollback plan"
    findings = check_text(text)
    assert [f.sentence for f in findings] == ["She skipped the review", "They forgot the rollback plan"]


def test_abbreviations_and_decimals_do_not_end_a_sentence():
    sentence = "PSI rose to 0.31 (i.e. above the act level), e.g. for income, and Dr. Chen ignored it."
    (finding,) = check_text(sentence + " Fine.", known_names=NAMES)
    assert finding.sentence == sentence
    assert finding.phrase == "Chen ignored"


def test_first_last_and_full_names_match_as_whole_words():
    names = ["Alice Chen"]
    assert [f.phrase for f in check_text("Alice missed it.", known_names=names)] == ["Alice missed"]
    assert [f.phrase for f in check_text("Chen missed it.", known_names=names)] == ["Chen missed"]
    assert [f.phrase for f in check_text("Alice Chen missed it.", known_names=names)] == ["Alice Chen missed"]
    assert check_text("Chenoweth missed it.", known_names=names) == []


def test_names_are_case_sensitive_so_ordinary_words_do_not_match():
    names = ["Will Turner", "Grant Park"]
    assert check_text("The grant failed to cover the audit.", known_names=names) == []
    assert check_text("The job will fail to start.", known_names=names) == []
    assert [f.rule for f in check_text("Will failed to page anyone.", known_names=names)] == [
        "named_person_failure"
    ]


def test_lower_case_name_particles_are_not_matched_alone():
    assert check_text("The de facto owner missed nothing.", known_names=["Maria de la Cruz"]) == []


def test_unknown_names_are_not_flagged_as_people():
    assert check_text("Alice forgot to renew the certificate.") == []


def test_we_is_ownership_not_blame():
    assert check_text("We forgot to add a drift monitor for the income feature.") == []


def test_possessive_fault_is_reported_once():
    findings = check_text("It was Bob's fault and his mistake.", known_names=NAMES)
    assert [(f.rule, f.phrase) for f in findings] == [
        ("named_person_failure", "Bob's fault"),
        ("pronoun_failure", "his mistake"),
    ]


def test_empty_and_blank_text_have_no_findings():
    assert check_text("") == []
    assert check_text("  \n\n\t- \n#\n") == []


def test_finding_as_dict_is_plain_data():
    (finding,) = check_text("It was human error.")
    assert finding.as_dict() == {
        "sentence": "It was human error.",
        "start": 7,
        "end": 18,
        "phrase": "human error",
        "rule": "human_error",
        "message": finding.message,
        "suggestion": finding.suggestion,
    }
    assert isinstance(finding, Finding)


_WORDS = st.sampled_from(
    [
        "Alice", "Chen", "he", "She", "they", "I", "we", "someone", "the", "engineer", "forgot", "failed",
        "to", "ignored", "by", "did", "not", "didn't", "check", "should", "have", "human", "error",
        "blame", "blameless", "fault", "of", "Bob's", "careless", "lazy", "loading", "e.g.", "0.5", ".",
        "!", "?", "\n", "- ", "# ", ",", "’s", "deployed", "without", "", " ", "\t", "\u2028", "é",
    ]
)  # fmt: skip


def _assert_well_formed(text, findings):
    for f in findings:
        assert 0 <= f.start < f.end <= len(text)
        assert text[f.start : f.end] == f.phrase
        assert f.phrase in f.sentence


@settings(max_examples=300, deadline=None)
@given(text=st.text(), names=st.lists(st.text(max_size=20), max_size=4))
def test_never_raises_and_offsets_stay_in_bounds_on_arbitrary_text(text, names):
    _assert_well_formed(text, check_text(text, known_names=names))


@settings(max_examples=300, deadline=None)
@given(words=st.lists(_WORDS, max_size=40), separator=st.sampled_from([" ", "", "\n", ". "]))
def test_offsets_hold_on_text_made_of_trigger_words(words, separator):
    text = separator.join(words)
    _assert_well_formed(text, check_text(text, known_names=["Alice Chen", "Bob"]))
