"""Sign-off rules, enforced in the service: who may sign, what a signature covers, when a launch is approved."""

import pytest
from django.core import mail

from governance.kernel.audit import verify_chain
from governance.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from governance.kernel.roles import Role
from governance.models import AuditEvent
from readiness import services
from readiness.models import ChecklistItem, ItemSource, LaunchStatus, SignOff
from tests.factories import PASSWORD, make_launch, make_user, pass_everything

pytestmark = pytest.mark.django_db
TIER_1_SIGNERS = ("data_science", "compliance", "legal", "model_risk")
ROLE_OF = {"data_science": "DATA_SCIENCE", "compliance": "COMPLIANCE", "legal": "LEGAL", "model_risk": "MODEL_RISK",
           "product": "PRODUCT"}


def in_review(people, **kw):
    launch = make_launch(author=people["author"], **kw)
    launch = pass_everything(launch, attester=people["data_science"])
    services.submit_for_review(launch, actor=people["author"])
    launch.refresh_from_db()
    return launch


def sign(launch, person, people, decision="APPROVE", **kw):
    launch.refresh_from_db()
    role = kw.pop("role", None) or ROLE_OF[person]
    return services.sign_off(launch, actor=people[person], role=role, decision=decision,
                             password=kw.pop("password", PASSWORD), content_hash=kw.pop("content_hash",
                                                                                      launch.content_hash), **kw)


def test_a_launch_records_the_roles_its_policy_requires(people):
    """Which roles a tier requires is tested on plain values in tests/governance/test_policy_rules.py."""
    assert make_launch(author=people["author"], tier="TIER_2", protected=["race"]).required_roles == [
        "DATA_SCIENCE", "PRODUCT", "COMPLIANCE"]


def test_one_signature_is_not_enough_for_tier_1(people):
    launch = in_review(people)
    sign(launch, "data_science", people)
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.IN_REVIEW


def test_launch_is_approved_exactly_once_when_all_four_sign(people):
    launch = in_review(people)
    for person in TIER_1_SIGNERS:
        sign(launch, person, people)
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.APPROVED and launch.approved_at
    approvals = AuditEvent.objects.filter(verb="launch.status_changed", object_id=str(launch.pk),
                                          after__status="APPROVED")
    assert approvals.count() == 1
    assert verify_chain()[1] is None


def test_author_cannot_sign_own_launch(people):
    author = make_user("both", Role.DATA_SCIENCE, Role.COMPLIANCE)
    people["both"] = author
    launch = make_launch(author=author)
    pass_everything(launch, attester=people["data_science"])
    services.submit_for_review(launch, actor=author)
    with pytest.raises(PermissionDenied) as caught:
        sign(launch, "both", people, role="COMPLIANCE")
    assert caught.value.code == "separation_of_duties"
    assert not SignOff.objects.exists()


def test_signer_must_hold_the_role(people):
    launch = in_review(people)
    with pytest.raises(PermissionDenied) as caught:
        sign(launch, "compliance", people, role="LEGAL")
    assert caught.value.code == "role_not_held"


def test_one_person_signs_in_one_role(people):
    both = make_user("sam", Role.COMPLIANCE, Role.LEGAL)
    people["sam"] = both
    launch = in_review(people)
    sign(launch, "sam", people, role="COMPLIANCE")
    with pytest.raises(Conflict) as caught:
        sign(launch, "sam", people, role="LEGAL")
    assert caught.value.code == "already_signed"
    assert SignOff.objects.count() == 1


def test_a_role_is_signed_once(people):
    other = make_user("cora", Role.COMPLIANCE)
    people["cora"] = other
    launch = in_review(people)
    sign(launch, "compliance", people)
    with pytest.raises(Conflict) as caught:
        sign(launch, "cora", people, role="COMPLIANCE")
    assert caught.value.code == "role_already_signed"


def test_wrong_password_changes_nothing(people):
    launch = in_review(people)
    with pytest.raises(ValidationFailed) as info:
        sign(launch, "compliance", people, password="guess")
    assert info.value.field == "password" and not SignOff.objects.exists()


def test_unknown_role_is_refused(people):
    launch = in_review(people)
    with pytest.raises(ValidationFailed) as info:
        sign(launch, "compliance", people, role="CEO")
    assert info.value.field == "role"


def test_role_the_launch_does_not_need_is_refused(people):
    launch = in_review(people)
    with pytest.raises(ValidationFailed) as caught:
        sign(launch, "product", people)
    assert (caught.value.code, caught.value.field) == ("role_not_required", "role")


def test_signing_a_withdrawn_launch_is_refused(people):
    launch = in_review(people)
    services.withdraw(launch, actor=people["author"], reason="Superseded by 2.1")
    with pytest.raises(Conflict) as caught:
        sign(launch, "compliance", people)
    assert caught.value.code == "not_in_review"
    assert not SignOff.objects.exists()


def test_signature_must_cover_the_current_content(people):
    launch = in_review(people)
    old_hash = launch.content_hash
    services.update_memo(launch, actor=people["author"], risks="Also: vendor field may change.")
    with pytest.raises(Conflict) as caught:
        sign(launch, "compliance", people, content_hash=old_hash)
    assert caught.value.code == "content_changed"


def test_material_change_stales_signatures_and_is_audited(people):
    launch = in_review(people)
    sign(launch, "compliance", people)
    services.update_memo(launch, actor=people["author"], rationale="Revised after shadow.")
    signoff = SignOff.objects.get()
    assert signoff.stale and signoff.staled_at
    assert AuditEvent.objects.filter(verb="signoff.staled", object_id=str(signoff.pk)).exists()
    # the same person may sign the new content
    sign(launch, "compliance", people)
    assert SignOff.objects.filter(stale=False).count() == 1


def test_material_change_returns_an_approved_launch_to_review(people):
    launch = in_review(people)
    for person in TIER_1_SIGNERS:
        sign(launch, person, people)
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.APPROVED
    services.submit_evaluation(launch, actor=people["data_science"], metrics={"psi.max": 0.31, "fairness.air": 0.9})
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.IN_REVIEW
    assert SignOff.objects.filter(stale=False).count() == 0


def test_unchanged_content_does_not_stale(people):
    launch = in_review(people)
    sign(launch, "compliance", people)
    services.update_memo(launch, actor=people["author"], risks=launch.risks)
    assert not SignOff.objects.get().stale


def test_approve_with_conditions_adds_blocking_items_that_hold_approval(people):
    launch = in_review(people)
    sign(launch, "compliance", people, decision="APPROVE_WITH_CONDITIONS",
         conditions="- Weekly fairness report for 90 days\n- Manual review path for declines")
    items = ChecklistItem.objects.filter(launch=launch, source=ItemSource.CONDITION)
    assert [i.title for i in items] == ["Weekly fairness report for 90 days", "Manual review path for declines"]
    assert all(i.blocking for i in items)
    for person in ("data_science", "legal", "model_risk"):
        sign(launch, person, people)
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.IN_REVIEW, "conditions not yet met"
    assert not SignOff.objects.filter(stale=True).exists(), "conditions do not stale signatures"
    for item in items:
        services.attest_item(item, actor=people["compliance"], outcome="PASS", evidence_text="In place")
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.APPROVED


def conditioned(people, setter="compliance", **kw):
    launch = in_review(people, **kw)
    sign(launch, setter, people, decision="APPROVE_WITH_CONDITIONS", conditions="Manual review path for declines")
    return launch, ChecklistItem.objects.get(launch=launch, source=ItemSource.CONDITION)


@pytest.mark.parametrize("person", ["author", "data_science", "product"])
def test_launch_team_cannot_confirm_a_condition(people, person):
    launch, item = conditioned(people)
    with pytest.raises(PermissionDenied) as info:
        services.attest_item(item, actor=people[person], outcome="PASS", evidence_text="Done")
    assert info.value.code == "condition_owner_required"
    item.refresh_from_db()
    assert item.status == "PENDING"


def test_author_cannot_confirm_a_condition_even_holding_a_risk_role(people):
    people["author"].memberships.create(role=Role.COMPLIANCE)
    launch, item = conditioned(people)
    with pytest.raises(PermissionDenied) as info:
        services.attest_item(item, actor=people["author"], outcome="PASS", evidence_text="Done")
    assert info.value.code == "condition_owner_required"


@pytest.mark.parametrize("person", ["compliance", "legal", "model_risk"])
def test_the_setting_role_or_a_risk_role_confirms_a_condition(people, person):
    launch, item = conditioned(people)
    services.attest_item(item, actor=people[person], outcome="PASS", evidence_text="Seen the review path")
    item.refresh_from_db()
    assert item.status == "PASS" and item.attested_by == people[person]


def test_a_product_condition_is_confirmed_by_product(people):
    launch, item = conditioned(people, setter="product", tier="TIER_2")
    services.attest_item(item, actor=people["product"], outcome="PASS", evidence_text="Copy reviewed")
    item.refresh_from_db()
    assert item.status == "PASS"


def test_anyone_on_the_launch_may_report_a_condition_unmet(people):
    launch, item = conditioned(people)
    services.attest_item(item, actor=people["data_science"], outcome="FAIL", evidence_text="Not built yet")
    item.refresh_from_db()
    assert item.status == "FAIL"


def test_conditions_are_required_for_approve_with_conditions(people):
    launch = in_review(people)
    with pytest.raises(ValidationFailed) as info:
        sign(launch, "compliance", people, decision="APPROVE_WITH_CONDITIONS")
    assert info.value.field == "conditions"


def test_reject_moves_to_rejected_and_author_can_revise(people):
    launch = in_review(people)
    sign(launch, "legal", people, decision="REJECT", comment="Adverse-action notices not updated.")
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.REJECTED
    with pytest.raises(PermissionDenied):
        services.revise(launch, actor=people["data_science"])
    services.revise(launch, actor=people["author"])
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.DRAFT and not SignOff.objects.filter(stale=False).exists()


def test_reject_needs_a_reason(people):
    launch = in_review(people)
    with pytest.raises(ValidationFailed) as info:
        sign(launch, "legal", people, decision="REJECT")
    assert info.value.field == "comment"


def test_dissent_is_recorded_with_an_approval(people):
    launch = in_review(people)
    signoff = sign(launch, "model_risk", people, dissent="I would have run a 10 % canary first.")
    assert signoff.dissent.startswith("I would") and signoff.approves
    event = AuditEvent.objects.get(verb="signoff.given")
    assert event.after["dissent"] == signoff.dissent


def test_signers_are_emailed_when_review_starts(people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        make_launch_and_submit = in_review(people)
    recipients = sorted(addr for message in mail.outbox for addr in message.to)
    assert recipients == ["cole@example.com", "dev@example.com", "lee@example.com", "mara@example.com"]
    assert make_launch_and_submit.title in mail.outbox[0].subject


def test_submitting_needs_a_decision_memo(people):
    launch = make_launch(author=people["author"], memo=False)
    with pytest.raises(ValidationFailed) as info:
        services.submit_for_review(launch, actor=people["author"])
    assert info.value.field == "summary"
    assert launch.status == LaunchStatus.DRAFT
