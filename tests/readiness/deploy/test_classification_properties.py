"""The three-way decision over any mix of the gate's reasons: only a signed allow is an allow, anything Gatehouse
could not decide is an error, and inconclusive means a person could settle every reason."""

from hypothesis import given
from hypothesis import strategies as st

from readiness import pending
from readiness.deploy import decision

CODES = ["unknown_model", "unknown_version", "no_launch", "missing_signoff", "stale_signoff", "blocking_check_failed",
         "blocking_check_inconclusive", "not_approved", "rejected", "unknown_stage", "stage_not_reached",
         "guardrail_breached", "rolled_back", "internal_error", "digest_mismatch", "unknown_digest", "canary_changed", "pending_decision",
         "denied_by_person", "pending_decision_expired"]


@given(codes=st.lists(st.sampled_from(CODES), max_size=6), signed=st.booleans())
def test_only_a_signed_allow_proceeds_and_errors_never_do(codes, signed):
    verdict = {"decision": "deny" if codes else "allow", "reasons": [{"code": c, "detail": ""} for c in codes],
               "receipt": "h.p.s" if signed else None}
    result = decision.classify(verdict)
    if not signed or "internal_error" in codes:
        assert result == decision.ERROR
    elif not codes:
        assert result == decision.ALLOW
    else:
        settleable = set(codes) <= pending.INCONCLUSIVE_CODES | pending.FOLLOWS_FROM_INCONCLUSIVE and bool(
            set(codes) & pending.INCONCLUSIVE_CODES)
        assert result == (decision.INCONCLUSIVE if settleable else decision.DENY)
    assert (result == decision.ALLOW) == (signed and not codes)


@given(codes=st.lists(st.sampled_from(CODES), min_size=1, max_size=6))
def test_a_persons_deny_or_a_passed_deadline_is_never_inconclusive(codes):
    for final in ("denied_by_person", "pending_decision_expired"):
        assert not pending.is_inconclusive([{"code": c, "detail": ""} for c in [*codes, final]])
