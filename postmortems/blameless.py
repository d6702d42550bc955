"""Blameless-language check for postmortem text.

A postmortem explains how the system let a failure happen; wording that makes a person the cause
stops the analysis at "who" instead of "what allowed it". `check_text` flags such wording and
suggests a system-focused rewording. Reviewers see the findings; nothing is rejected automatically.

What is flagged, sentence by sentence:

- a known person (full name, first or last name, matched case-sensitively as whole words, so the
  word "will" never matches a user called Will) or an individual pronoun as the subject of a
  failure verb: "forgot", "failed to", "missed", "ignored", "broke", "did not check",
  "deployed ... without", "made a mistake", ... — also in the passive ("was ignored by Alice") and
  the possessive ("Alice's mistake", "his oversight");
- "he", "she", "they", "I", "someone" and "somebody" count as individual subjects. "We" does not:
  "we missed the drift" is the team owning the outcome, which is what a blameless review asks for.
  "I" is flagged because self-blame centres one person just as much as blaming another;
- a role standing in for a person ("the on-call engineer ignored the page");
- "human error" / "operator error" / "user error";
- judgement words: careless, negligent, sloppy, incompetent, lazy, reckless, irresponsible, ...
  ("lazy loading" and similar technical terms are left alone);
- the counterfactual "should have" / "ought to have" (hindsight), but not "should require" or an
  obligation such as "should have access to";
- blame words: blame(d), "fault of", "X's fault", "to blame" — not "blameless" or "blame-free",
  and not negated uses such as "this review does not assign blame".

Sentences end at ".", "!" or "?" followed by a space or the end of a line, and at every line break;
"e.g.", "i.e.", titles such as "Dr." and decimals such as 0.5 do not end a sentence. Markdown list
markers, quote markers and heading hashes at the start of a line are skipped.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Finding:
    """One flagged phrase. `start`/`end` index the text given to `check_text`."""

    sentence: str
    start: int
    end: int
    phrase: str
    rule: str
    message: str
    suggestion: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# --- rule texts -------------------------------------------------------------------------------------

NAMED_PERSON_FAILURE = "named_person_failure"
PRONOUN_FAILURE = "pronoun_failure"
ROLE_FAILURE = "role_failure"
HUMAN_ERROR = "human_error"
JUDGEMENT_WORD = "judgement_word"
COUNTERFACTUAL = "counterfactual"
BLAME_WORD = "blame_word"

_MESSAGES = {
    NAMED_PERSON_FAILURE: "A named person is presented as the cause of the failure.",
    PRONOUN_FAILURE: "An individual is presented as the cause of the failure.",
    ROLE_FAILURE: "The person in a role is presented as the cause of the failure.",
    HUMAN_ERROR: "Calling it human error ends the analysis where it should begin.",
    JUDGEMENT_WORD: "This word judges a person's care or ability rather than describing the system.",
    COUNTERFACTUAL: "'Should have' is hindsight: it says what did not happen instead of why what "
    "happened made sense at the time.",
    BLAME_WORD: "This wording assigns blame or fault.",
}

_SUGGESTIONS = {
    NAMED_PERSON_FAILURE: "Describe what in the system allowed this (a missing check, an unclear "
    "runbook, an alert that did not fire) instead of who did it.",
    PRONOUN_FAILURE: "Make the system the subject: which check, alert or default would have caught "
    "this, and why was it missing?",
    ROLE_FAILURE: "Say what the role's tools or runbook lacked (for example 'the runbook did not "
    "ask for a schema check') rather than what the person failed to do.",
    HUMAN_ERROR: "Name the process or tooling gap that made the error possible.",
    JUDGEMENT_WORD: "Describe the conditions people worked under (time pressure, missing "
    "information, a confusing screen) and what would make the safe path the easy one.",
    COUNTERFACTUAL: "Describe what people knew and saw at the time, and what the system could do "
    "so that the right action is the obvious one.",
    BLAME_WORD: "Replace it with the mechanism: which safeguard was missing or did not work, and "
    "which action item adds it.",
}

# When two matches overlap, the more specific rule (earlier here) is reported.
_PRIORITY = [
    NAMED_PERSON_FAILURE,
    PRONOUN_FAILURE,
    ROLE_FAILURE,
    HUMAN_ERROR,
    COUNTERFACTUAL,
    JUDGEMENT_WORD,
    BLAME_WORD,
]

# --- vocabulary -------------------------------------------------------------------------------------

_APOS = "['\u2019]"

_DILIGENCE_BASE = (
    "check|test|verify|validate|review|notice|read|follow|update|run|escalate|monitor|confirm|"
    "notify|page|respond|acknowledge|ack|look|ask|tell|catch|document|wait|consult|inform|"
    "double[- ]?check|roll\\s+back"
)
_DILIGENCE_PAST = (
    "checked|tested|verified|validated|reviewed|noticed|read|followed|updated|ran|run|escalated|"
    "monitored|confirmed|notified|paged|responded|acknowledged|acked|looked|asked|told|caught|"
    "documented|waited|consulted|informed|double[- ]?checked|rolled\\s+back"
)

# The verb phrase that follows a person to describe a failure. Case-insensitive.
_FAILURE_VERB = (
    "(?i:"
    "forgot|forgotten|forgets\\s+to|"
    "fail(?:ed|s)\\s+to|"
    "missed|overlooked|neglected|ignored|skipped|botched|fumbled|mishandled|misconfigured|"
    "misread|mistyped|misjudged|misunderstood|broke|broken|caused|"
    "(?:messed|screwed|slipped)\\s+up|dropped\\s+the\\s+ball|"
    "made\\s+(?:a|an|the)\\s+(?:\\w+\\s+)?(?:mistake|error|typo|blunder|slip)|"
    f"(?:did\\s+not|didn{_APOS}t)(?:\\s+bother\\s+to)?\\s+(?:{_DILIGENCE_BASE})|"
    f"(?:not|never)\\s+(?:{_DILIGENCE_PAST})|"
    "(?:deployed|pushed|merged|shipped|released|approved|launched|promoted|rolled\\s+out|"
    "signed\\s+off|went\\s+ahead)(?:\\s+[^\\s.,;:!?]+){0,6}?\\s+without|"
    "(?:was|is|were)\\s+(?:\\w+\\s+)?(?:at\\s+fault|to\\s+blame|responsible\\s+for\\s+(?:the\\s+|this\\s+)?"
    "(?:outage|incident|failure|error|mistake|breach|regression|bug))"
    ")(?!\\w)"
)

# Words that may sit between the subject and the failure verb: "Alice had simply forgotten".
_BETWEEN = (
    "(?:\\s+(?i:had|has|have|then|also|just|simply|accidentally|again|apparently|clearly|"
    "obviously|somehow|mistakenly|repeatedly|completely|totally|probably|likely|initially|still|"
    "unfortunately|evidently)(?=\\s)){0,3}"
)
# An appositive after the subject: "Alice, the on-call engineer, ignored ...".
_APPOSITIVE = "(?:\\s*,[^,.;:!?\\n]{1,60},)?"

_PRONOUN_SUBJECT = "(?<!\\w)(?:(?i:he|she|they|someone|somebody)|I)(?!\\w)"
_PRONOUN_AGENT = "(?<!\\w)(?i:him|her|them|me|someone|somebody)(?!\\w)"
_ROLE = (
    "(?<!\\w)(?i:the|an?|our|one|their)\\s+(?i:(?:on[- ]?call|primary|secondary|responsible|"
    "junior|senior)\\s+)?(?i:engineer|developer|analyst|operator|reviewer|data\\s+scientist|"
    "modell?er|approver|intern|admin|administrator|contractor|employee|requester|author)s?(?!\\w)"
)
# A team, a function or nobody at all as the one who failed: "the team dropped the ball", "Engineering messed
# up the config", "nobody noticed the drift".
_GROUP = (
    "(?<!\\w)(?:(?i:the|our|their)\\s+(?i:team|department|squad|vendor|business|function|on[- ]?call\\s+rotation)|"
    "(?:Engineering|Compliance|Legal|Product|Data\\s+Science|Model\\s+Risk|Operations|Ops|QA|Support))(?!\\w)"
)
_NOBODY = "(?<!\\w)(?i:nobody|no[- ]one|no\\s+single\\s+person)(?!\\w)"
_NOBODY_VERB = f"(?:{_DILIGENCE_PAST}|(?i:bothered\\s+to|thought\\s+to|cared|spotted|picked\\s+(?:it|this|that)\\s+up))"
_PASSIVE_FAILURE = (
    "(?<!\\w)(?i:ignored|missed|overlooked|skipped|neglected|mishandled|misconfigured|broken|caused|botched)"
    "\\s+by\\s+"
)
_BLAME_NOUNS = "mistake|fault|oversight|negligence|carelessness|blunder|screw-?up"
# Hindsight that judges: what looks obvious now was not what people saw at the time.
_HINDSIGHT = "obvious(?:ly)?|clearly\\s+(?:wrong|should)|of\\s+course\\s+(?:it|they|he|she)|should\\s+have\\s+known"
_POSSESSIVE_ADJ = "(?:(?i:own|big|simple|careless|obvious|honest|silly|early|initial)\\s+)?"

_HUMAN_ERROR = re.compile(
    "(?<!\\w)(?i:human|operator|user|people)\\s+(?i:errors?)(?!\\w)"
    "(?!\\s+(?i:rates?|counts?|messages?|codes?|logs?|pages?|budgets?))"
)
_JUDGEMENT = re.compile(
    "(?<!\\w)(?i:"
    "careless(?:ly|ness)?|negligen(?:t|tly|ce)|sloppy|sloppily|sloppiness|"
    "incompeten(?:t|tly|ce)|reckless(?:ly|ness)?|irresponsib(?:le|ly|ility)|"
    "stupid(?:ly|ity)?|foolish(?:ly)?|inept|clueless|idiot(?:ic)?|"
    f"{_HINDSIGHT}|"
    "laziness|(?:lazy|lazily)(?![-\\s]+(?:load|evaluat|init|import|iterat|fetch|compil|quer|propert|"
    "attribut|sequenc|stream|list|val|expan|bind|mount|render|hydrat|creat|comput))"
    ")(?!\\w)"
)
_COUNTERFACTUAL = re.compile(
    f"(?<!\\w)(?i:should(?:\\s+not|n{_APOS}t)?\\s+have|should{_APOS}ve|ought\\s+(?:not\\s+)?to\\s+have)"
    "(?!\\w)"
    # An obligation ("should have access to", "should have a runbook") is not hindsight.
    "(?!\\s+(?i:a|an|the|access|more|fewer|less|to|its|their|our|your|his|her|no|any|some|"
    "enough|at\\s+least|one|two|three|four|five|\\d+)(?!\\w))"
)
_BLAME = re.compile(
    "(?<!\\w)(?:"
    "(?i:blam(?:e|ed|es|ing|eworthy))(?![-\\s]?(?i:free)(?!\\w))|"
    "(?i:fault\\s+of)|"
    "(?i:mistakes?|blunders?|screw-?ups?|own\\s+goal)|"
    f"[^\\W\\d_][\\w-]*{_APOS}s\\s+(?i:fault)"
    ")(?!\\w)"
)
# "does not assign blame", "not to blame", "without blame", "not human error". The scope is kept to
# two words so that "deployed without a review was careless" is still flagged.
_NEGATION_BEFORE = re.compile(
    f"(?<!\\w)(?i:no|not|without|never|avoid|avoids|avoiding|stop|don{_APOS}t|doesn{_APOS}t|"
    f"isn{_APOS}t|wasn{_APOS}t)(?:[\\s-]+[\\w{_APOS[1:-1]}]+){{0,2}}[\\s-]+$"
)

_PRONOUN_POSSESSIVE = re.compile(
    f"(?<!\\w)(?i:his|her|their|my)\\s+{_POSSESSIVE_ADJ}(?i:{_BLAME_NOUNS})(?!\\w)"
)

_STATIC_PERSON_PATTERNS = [
    (
        PRONOUN_FAILURE,
        re.compile(_PRONOUN_SUBJECT + _APPOSITIVE + _BETWEEN + "\\s+" + _FAILURE_VERB),
    ),
    (PRONOUN_FAILURE, re.compile(_PASSIVE_FAILURE + _PRONOUN_AGENT)),
    (PRONOUN_FAILURE, _PRONOUN_POSSESSIVE),
    (ROLE_FAILURE, re.compile(_ROLE + _APPOSITIVE + _BETWEEN + "\\s+" + _FAILURE_VERB)),
    (ROLE_FAILURE, re.compile(_PASSIVE_FAILURE + _ROLE)),
    (ROLE_FAILURE, re.compile(_GROUP + _APPOSITIVE + _BETWEEN + "\\s+" + _FAILURE_VERB)),
    (PRONOUN_FAILURE, re.compile(_NOBODY + _BETWEEN + "\\s+" + _NOBODY_VERB + "(?!\\w)")),
]

_PHRASE_PATTERNS = [
    (HUMAN_ERROR, _HUMAN_ERROR),
    (COUNTERFACTUAL, _COUNTERFACTUAL),
    (JUDGEMENT_WORD, _JUDGEMENT),
    (BLAME_WORD, _BLAME),
]
_NEGATABLE = {HUMAN_ERROR, JUDGEMENT_WORD, BLAME_WORD}


def _name_patterns(known_names: Iterable[str]) -> list[tuple[str, re.Pattern[str]]]:
    variants: set[str] = set()
    for raw in known_names:
        if not isinstance(raw, str):
            continue
        parts = raw.split()
        if not parts:
            continue
        full = " ".join(parts)
        if len(full) >= 2 and any(ch.isalpha() for ch in full):
            variants.add(full)
        for part in parts:
            part = part.strip(".,")
            # Particles such as "de" or "van" are lower-case and would match ordinary words.
            if len(part) >= 2 and part[0].isupper():
                variants.add(part)
    if not variants:
        return []
    ordered = sorted(variants, key=lambda v: (-len(v), v))
    alternatives = "|".join("\\s+".join(re.escape(p) for p in v.split(" ")) for v in ordered)
    name = f"(?<!\\w)(?:{alternatives})(?!\\w)"
    return [
        (
            NAMED_PERSON_FAILURE,
            re.compile(name + f"(?!{_APOS}\\w)" + _APPOSITIVE + _BETWEEN + "\\s+" + _FAILURE_VERB),
        ),
        (NAMED_PERSON_FAILURE, re.compile(_PASSIVE_FAILURE + name)),
        (
            NAMED_PERSON_FAILURE,
            re.compile(
                name
                + f"{_APOS}s\\s+{_POSSESSIVE_ADJ}(?i:{_BLAME_NOUNS}|error|failure)(?!\\w)"
                + "(?!\\s+(?i:rates?|budgets?|bars?|logs?|messages?|codes?|handling|terms?|margins?))"
            ),
        ),
    ]


# --- sentences --------------------------------------------------------------------------------------

_LINE = re.compile("[^\\r\\n]+")
_LINE_MARKUP = re.compile("[ \\t]*(?:(?:[-*+>]|\\d{1,3}[.)])[ \\t]+|#{1,6}[ \\t]*|\\[[ xX]\\][ \\t]+)*")
_TERMINATOR = re.compile("[.!?]+[\"'\u2019\u201d)\\]*_]*(?=\\s|$)")
_ABBREVIATIONS = {
    "e.g.", "i.e.", "vs.", "cf.", "mr.", "mrs.", "ms.", "dr.", "prof.", "approx.", "incl.",
    "no.", "st.", "fig.", "eq.", "al.",
}  # fmt: skip


def _is_abbreviation(line: str, term_start: int, term_text: str) -> bool:
    if not term_text.startswith(".") or term_text.rstrip("\"'\u2019\u201d)]*_") != ".":
        return False
    word_start = term_start
    while word_start > 0 and not line[word_start - 1].isspace():
        word_start -= 1
    token = line[word_start : term_start + 1].lstrip("([\"'\u2018\u201c*_").lower()
    if token in _ABBREVIATIONS:
        return True
    # A single initial, as in "J. Smith".
    return len(token) == 2 and token[0].isalpha()


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []

    def add(start: int, end: int) -> None:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append((start, end))

    for line_match in _LINE.finditer(text):
        line = line_match.group()
        offset = line_match.start()
        start = _LINE_MARKUP.match(line).end()  # type: ignore[union-attr]  # the pattern matches the empty prefix too
        for term in _TERMINATOR.finditer(line, start):
            if _is_abbreviation(line, term.start(), term.group()):
                continue
            add(offset + start, offset + term.end())
            start = term.end()
        add(offset + start, offset + len(line))
    return spans


# --- the check --------------------------------------------------------------------------------------


def _negated(sentence: str, at: int) -> bool:
    return _NEGATION_BEFORE.search(sentence[max(0, at - 60) : at]) is not None


def _without_overlaps(candidates: list[tuple[int, int, int, str]]) -> list[tuple[int, int, str]]:
    """Keep the highest-priority match where matches overlap; return the kept ones by position."""
    starts: list[int] = []  # kept spans, sorted and disjoint, so their ends are sorted too
    ends: list[int] = []
    rules: list[str] = []
    for _, start, end, rule in sorted(candidates):
        if start >= end:
            continue
        i = bisect.bisect_right(starts, start)
        if (i > 0 and ends[i - 1] > start) or (i < len(starts) and starts[i] < end):
            continue
        starts.insert(i, start)
        ends.insert(i, end)
        rules.insert(i, rule)
    return list(zip(starts, ends, rules, strict=True))


def check_text(text: str, *, known_names: Iterable[str] = ()) -> list[Finding]:
    """Return the blaming phrases in `text`, in order of appearance (see the module docstring)."""
    person_patterns = _name_patterns(known_names) + _STATIC_PERSON_PATTERNS
    rank = {rule: i for i, rule in enumerate(_PRIORITY)}
    findings: list[Finding] = []
    for s_start, s_end in _sentence_spans(text):
        sentence = text[s_start:s_end]
        candidates: list[tuple[int, int, int, str]] = []
        for rule, pattern in person_patterns:
            for m in pattern.finditer(sentence):
                candidates.append((rank[rule], m.start(), m.end(), rule))
        for rule, pattern in _PHRASE_PATTERNS:
            for m in pattern.finditer(sentence):
                if rule in _NEGATABLE and _negated(sentence, m.start()):
                    continue
                candidates.append((rank[rule], m.start(), m.end(), rule))
        for start, end, rule in _without_overlaps(candidates):
            findings.append(
                Finding(
                    sentence=sentence,
                    start=s_start + start,
                    end=s_start + end,
                    phrase=sentence[start:end],
                    rule=rule,
                    message=_MESSAGES[rule],
                    suggestion=_SUGGESTIONS[rule],
                )
            )
    return findings
