"""Each class of blaming language, in the words real postmortems use, is flagged; the system-centred rewording of
the same fact is not."""

import pytest

from postmortems.blameless import check_text

NAMES = ["Eli Engineer", "Dana Datasmith"]

FLAGGED = {
    "a named person": ("Eli pushed the change without review.", "named_person_failure"),
    "failed to": ("The on-call engineer failed to page the model owner.", "role_failure"),
    "hindsight": ("The drift was obviously a problem from day three.", "judgement_word"),
    "a mistake": ("Shipping on the campaign date was a mistake.", "blame_word"),
    "nobody noticed": ("Nobody noticed the drift for nine days.", "pronoun_failure"),
    "no one checked": ("No one checked the vendor's changelog.", "pronoun_failure"),
    "a team as the cause": ("The team dropped the ball on the handover.", "role_failure"),
    "a function as the cause": ("Engineering messed up the feature window.", "role_failure"),
    "should have": ("Dana should have caught the leak in review.", "counterfactual"),
}
REWORDED = [
    "The deploy pipeline allowed a change without a second review.",
    "The paging rule routed the alert to a channel nobody was watching.",
    "Nobody was paged because the alert routed to an unused channel.",
    "The drift monitor's threshold was tuned for performance, so the shift did not alert.",
    "We made no mistakes in the count, but the window was wrong.",
    "Engineering added a schema check to the pipeline.",
    "The team added a fairness guardrail to the plan.",
]


@pytest.mark.parametrize("phrase_class", sorted(FLAGGED))
def test_each_class_of_blaming_language_is_flagged(phrase_class):
    text, rule = FLAGGED[phrase_class]
    assert rule in {f.rule for f in check_text(text, known_names=NAMES)}, text


@pytest.mark.parametrize("text", REWORDED)
def test_the_system_centred_rewording_is_not(text):
    assert check_text(text, known_names=NAMES) == []
