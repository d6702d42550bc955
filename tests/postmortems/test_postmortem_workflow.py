"""The postmortem document: DRAFT → IN_REVIEW → PUBLISHED, reviewed by someone other than its author,
approved by Compliance when a regulatory flag is set, and read-only once published except by amendment."""

import pytest

from governance.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from governance.kernel.roles import Role
from governance.models import AuditEvent
from postmortems import services
from postmortems.models import Postmortem, PostmortemAmendment
from tests.factories import make_user
from tests.postmortems.helpers import open_incident

pytestmark = pytest.mark.django_db

SECTIONS = {
    "summary": "A vendor changed how a device field was populated; the credit model's approvals shifted by segment.",
    "impact": "About 18,000 decisions in two weeks; approval rates rose for one segment and fell for another.",
    "root_cause": "The ingestion pipeline had no schema-stability check on the vendor field, and drift alerts "
                  "were tuned for performance rather than fairness.",
    "lessons": "Third-party features need a proxy-risk assessment, a vendor SLA and a drift monitor.",
}


def draft(author, **incident_fields):
    incident = open_incident(author, **incident_fields)
    postmortem = services.start_postmortem(incident, actor=author)
    return services.edit_postmortem(postmortem, actor=author, **SECTIONS)


def in_review(author, **incident_fields):
    return services.submit_postmortem(draft(author, **incident_fields), actor=author)


def test_a_postmortem_starts_as_a_draft_seeded_from_the_incident(people):
    incident = open_incident(people["data_science"], summary="Approval rates shifted.", impact_text="18k decisions")
    postmortem = services.start_postmortem(incident, actor=people["data_science"])
    assert (postmortem.status, postmortem.summary, postmortem.impact) == ("DRAFT", "Approval rates shifted.",
                                                                          "18k decisions")
    assert services.start_postmortem(incident, actor=people["engineering"]) == postmortem


def test_full_path_draft_review_publish(people):
    author, reviewer = people["data_science"], people["model_risk"]
    postmortem = in_review(author)
    assert postmortem.status == "IN_REVIEW" and postmortem.review_round == 1
    services.review_postmortem(postmortem, actor=reviewer, role="MODEL_RISK", decision="APPROVE")
    postmortem = services.publish_postmortem(postmortem, actor=author)
    assert postmortem.status == "PUBLISHED" and postmortem.published_at is not None
    verbs = list(AuditEvent.objects.filter(object_type="postmortems.postmortem").values_list("verb", flat=True))
    assert verbs == ["postmortem.started", "postmortem.edited", "postmortem.submitted", "postmortem.reviewed",
                     "postmortem.published"]


def test_submitting_needs_the_core_sections(people):
    incident = open_incident(people["data_science"])
    postmortem = services.start_postmortem(incident, actor=people["data_science"])
    services.edit_postmortem(postmortem, actor=people["data_science"], summary="Short summary.")
    with pytest.raises(ValidationFailed) as info:
        services.submit_postmortem(postmortem, actor=people["data_science"])
    assert info.value.field == "impact"
    assert Postmortem.objects.get(pk=postmortem.pk).status == "DRAFT"


def test_publishing_a_draft_is_refused(people):
    postmortem = draft(people["data_science"])
    with pytest.raises(Conflict):
        services.publish_postmortem(postmortem, actor=people["data_science"])


def test_publishing_needs_an_approval(people):
    postmortem = in_review(people["data_science"])
    with pytest.raises(ValidationFailed) as info:
        services.publish_postmortem(postmortem, actor=people["data_science"])
    assert info.value.field == "reviews"


def test_the_author_cannot_review_their_own_postmortem(people):
    author = make_user("dual", Role.DATA_SCIENCE, Role.MODEL_RISK)
    postmortem = in_review(author)
    with pytest.raises(ValidationFailed):
        services.review_postmortem(postmortem, actor=author, role="MODEL_RISK", decision="APPROVE")
    assert not postmortem.reviews.exists()


def test_a_reviewer_reviews_only_in_a_role_they_hold(people):
    postmortem = in_review(people["data_science"])
    with pytest.raises(ValidationFailed) as info:
        services.review_postmortem(postmortem, actor=people["engineering"], role="COMPLIANCE", decision="APPROVE")
    assert info.value.field == "role"


def test_one_review_per_person_per_round(people):
    postmortem = in_review(people["data_science"])
    services.review_postmortem(postmortem, actor=people["engineering"], role="ENGINEERING", decision="APPROVE")
    with pytest.raises(Conflict):
        services.review_postmortem(postmortem, actor=people["engineering"], role="ENGINEERING", decision="APPROVE")


@pytest.mark.parametrize("flag", ["fair_lending", "consumer_harm"])
def test_a_regulatory_flag_needs_a_compliance_approval(people, flag):
    author = people["data_science"]
    postmortem = in_review(author, **{flag: True})
    services.review_postmortem(postmortem, actor=people["legal"], role="LEGAL", decision="APPROVE")
    with pytest.raises(ValidationFailed) as info:
        services.publish_postmortem(postmortem, actor=author)
    assert (info.value.code, info.value.field) == ("compliance_approval_required", "reviews")
    services.review_postmortem(postmortem, actor=people["compliance"], role="COMPLIANCE", decision="APPROVE")
    assert services.publish_postmortem(postmortem, actor=author).status == "PUBLISHED"


def test_without_a_flag_any_other_reviewer_suffices(people):
    postmortem = in_review(people["data_science"])
    services.review_postmortem(postmortem, actor=people["product"], role="PRODUCT", decision="APPROVE")
    assert services.publish_postmortem(postmortem, actor=people["data_science"]).status == "PUBLISHED"


def test_requesting_changes_returns_to_draft_and_old_approvals_stop_counting(people):
    author = people["data_science"]
    postmortem = in_review(author)
    services.review_postmortem(postmortem, actor=people["product"], role="PRODUCT", decision="APPROVE")
    with pytest.raises(ValidationFailed) as info:
        services.review_postmortem(postmortem, actor=people["compliance"], role="COMPLIANCE",
                                   decision="REQUEST_CHANGES")
    assert info.value.field == "comment"
    services.review_postmortem(postmortem, actor=people["compliance"], role="COMPLIANCE",
                               decision="REQUEST_CHANGES", comment="Name the missing drift monitor.")
    postmortem.refresh_from_db()
    assert postmortem.status == "DRAFT"
    services.edit_postmortem(postmortem, actor=author, lessons="Add a drift monitor to every third-party feature.")
    postmortem = services.submit_postmortem(postmortem, actor=author)
    assert postmortem.review_round == 2
    with pytest.raises(ValidationFailed):
        services.publish_postmortem(postmortem, actor=author)


def test_an_edit_during_review_returns_the_document_to_draft(people):
    author = people["data_science"]
    postmortem = in_review(author)
    services.review_postmortem(postmortem, actor=people["product"], role="PRODUCT", decision="APPROVE")
    postmortem = services.edit_postmortem(postmortem, actor=author, summary="A different summary.")
    assert postmortem.status == "DRAFT"


def test_a_published_postmortem_cannot_be_edited(people):
    author = people["data_science"]
    postmortem = in_review(author)
    services.review_postmortem(postmortem, actor=people["product"], role="PRODUCT", decision="APPROVE")
    services.publish_postmortem(postmortem, actor=author)
    with pytest.raises(Conflict):
        services.edit_postmortem(postmortem, actor=author, summary="Quietly rewritten.")
    assert Postmortem.objects.get(pk=postmortem.pk).summary == SECTIONS["summary"]


def test_an_amendment_records_before_after_and_reason(people):
    author = people["data_science"]
    postmortem = in_review(author)
    services.review_postmortem(postmortem, actor=people["product"], role="PRODUCT", decision="APPROVE")
    postmortem = services.publish_postmortem(postmortem, actor=author)
    amendment = services.amend_published_postmortem(
        postmortem, actor=people["compliance"], field="impact", text="About 18,240 decisions in 15 days.",
        reason="The decision audit finished with the exact count.")
    postmortem.refresh_from_db()
    assert postmortem.impact == "About 18,240 decisions in 15 days." and postmortem.status == "PUBLISHED"
    assert (amendment.before, amendment.field) == (SECTIONS["impact"], "impact")
    event = AuditEvent.objects.get(verb="postmortem.amended")
    assert event.before == {"impact": SECTIONS["impact"]} and event.after["reason"].startswith("The decision")


@pytest.mark.parametrize("field,text,reason,error_field", [
    ("impact", "New text", "", "reason"),
    ("title", "New text", "Because", "field"),
    ("impact", SECTIONS["impact"], "Because", "text"),
])
def test_bad_amendments_are_refused(people, field, text, reason, error_field):
    author = people["data_science"]
    postmortem = in_review(author)
    services.review_postmortem(postmortem, actor=people["product"], role="PRODUCT", decision="APPROVE")
    postmortem = services.publish_postmortem(postmortem, actor=author)
    with pytest.raises(ValidationFailed) as info:
        services.amend_published_postmortem(postmortem, actor=author, field=field, text=text, reason=reason)
    assert info.value.field == error_field
    assert not PostmortemAmendment.objects.exists()


def test_a_draft_is_not_amended(people):
    postmortem = draft(people["data_science"])
    with pytest.raises(Conflict):
        services.amend_published_postmortem(postmortem, actor=people["data_science"], field="impact", text="x",
                                            reason="y")


@pytest.mark.parametrize("role", Role.values)
def test_every_working_role_may_write_and_review_and_a_viewer_may_not(role, people):
    person = people[role.lower()]
    postmortem = in_review(people["admin"])
    if role == "VIEWER":
        with pytest.raises(PermissionDenied):
            services.review_postmortem(postmortem, actor=person, role=role, decision="APPROVE")
        with pytest.raises(PermissionDenied):
            services.start_postmortem(open_incident(), actor=person)
    else:
        services.review_postmortem(postmortem, actor=person, role=role, decision="APPROVE")
        assert services.start_postmortem(open_incident(), actor=person).author == person


def test_blame_findings_are_recorded_at_submission_but_do_not_block(people):
    make_user("alex", Role.DATA_SCIENCE, first_name="Alex", last_name="Rivera")
    author = people["data_science"]
    postmortem = draft(author)
    services.edit_postmortem(postmortem, actor=author, root_cause="Alex forgot to check the schema.")
    services.submit_postmortem(postmortem, actor=author)
    assert AuditEvent.objects.get(verb="postmortem.submitted").after["blameless_findings"] == 1


def test_the_review_queue_shows_what_a_reviewer_still_has_to_review(people):
    from postmortems.selectors import dashboard_panels

    def waiting(user):
        return {p["title"]: p["count"] for p in dashboard_panels(user)}["Postmortems awaiting review"]

    postmortem = in_review(people["data_science"])
    assert waiting(people["compliance"]) == 1 and waiting(people["data_science"]) == 0
    services.review_postmortem(postmortem, actor=people["compliance"], role="COMPLIANCE", decision="APPROVE")
    assert waiting(people["compliance"]) == 0 and waiting(people["legal"]) == 1
