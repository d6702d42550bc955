"""Single sign-on against a real OpenID Connect provider: who a person is, which roles their groups give, and a
fresh authentication before anything that carries their name."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from governance.kernel.models import AuditEvent, User
from governance.kernel.permissions import roles_of
from governance.kernel.reauth import SESSION_KEY, ReauthenticationRequired, confirm_identity
from governance.policies.services import ensure_default_policies
from readiness import services
from readiness.models import LaunchStatus, SignOff
from tests.factories import make_launch, make_user, pass_everything

pytestmark = pytest.mark.django_db


def sign_in(client, provider, username, password="pw", *, query=""):
    start = client.get(f"/sso/login/{query}")
    assert start.status_code == 302, start.content[:300]
    back = provider.sign_in(start["Location"], username, password)
    parts = urlsplit(back)
    return client.get(f"{parts.path}?{parts.query}")


def roles(username):
    return roles_of(User.objects.get(username=username))


def test_first_sign_in_creates_the_person_with_the_roles_their_groups_map_to(sso):
    sso.add_person("olga", "pw", groups=["risk-compliance", "canteen"], first="Olga", last="Ortiz",
                   email="olga@example.com")
    client = Client()
    response = sign_in(client, sso, "olga")
    assert response.status_code == 302 and response["Location"] == "/"
    olga = User.objects.get(username="olga")
    assert olga.uses_sso and olga.sso_issuer == sso.issuer and olga.display_name == "Olga Ortiz"
    assert not olga.has_usable_password()
    assert roles("olga") == {"COMPLIANCE"}
    granted = AuditEvent.objects.get(verb="role.granted", object_id=str(olga.pk))
    assert granted.after["source"] == "identity provider" and granted.after["groups"] == ["canteen", "risk-compliance"]
    assert client.get("/").status_code == 200


def test_someone_removed_from_a_group_loses_the_role_at_the_next_sign_in(sso):
    sso.add_person("pavel", "pw", groups=["risk-compliance", "legal"])
    sign_in(Client(), sso, "pavel")
    assert roles("pavel") == {"COMPLIANCE", "LEGAL"}
    sso.set_groups("pavel", ["legal"])
    sign_in(Client(), sso, "pavel")
    assert roles("pavel") == {"LEGAL"}
    revoked = AuditEvent.objects.get(verb="role.revoked", object_id=str(User.objects.get(username="pavel").pk))
    assert revoked.before == {"role": "COMPLIANCE"} and revoked.after["groups"] == ["legal"]
    assert User.objects.filter(username__startswith="pavel").count() == 1, "the same subject is the same person"


def _launch_awaiting(signer_role):
    ensure_default_policies()
    author = make_user("author", "DATA_SCIENCE")
    launch = make_launch(author=author, tier="TIER_1")
    pass_everything(launch, attester=make_user("ds2", "DATA_SCIENCE"))
    services.submit_for_review(launch, actor=author)
    launch.refresh_from_db()
    assert signer_role in launch.required_roles and launch.status == LaunchStatus.IN_REVIEW
    return launch


def _sign_form(client, launch):
    return {"role": "COMPLIANCE", "decision": "APPROVE", "content_hash": launch.content_hash}


def test_signing_needs_a_fresh_authentication_at_the_provider(sso):
    sso.add_person("cora", "pw", groups=["risk-compliance"])
    launch = _launch_awaiting("COMPLIANCE")
    client = Client()
    sign_in(client, sso, "cora")
    sign_url = f"/launches/{launch.pk}/sign/"

    page = client.get(sign_url)
    assert b"Authenticate again with Test IdP" in page.content and b'name="password"' not in page.content
    refused = client.post(sign_url, _sign_form(client, launch))
    assert refused.status_code == 200 and b"confirm it is you" in refused.content.lower()
    assert not SignOff.objects.exists()

    start = client.get(f"/sso/login/?step_up=1&next={sign_url}")
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    back = urlsplit(sso.sign_in(start["Location"], "cora", "pw"))
    assert client.get(f"{back.path}?{back.query}")["Location"] == sign_url
    assert client.session[SESSION_KEY]["sub"] == User.objects.get(username="cora").sso_subject

    signed = client.post(sign_url, _sign_form(client, launch))
    assert signed.status_code == 302, signed.content[:500]
    event = AuditEvent.objects.get(verb="signoff.given")
    assert event.after["confirmed_by"] == "identity provider" and event.after["authenticated_at"]


def test_a_provider_that_reuses_an_old_sign_in_does_not_confirm_anything(sso):
    from requests import Session

    sso.add_person("carl", "pw", groups=["risk-compliance"])
    launch = _launch_awaiting("COMPLIANCE")
    client, browser = Client(), Session()
    start = client.get("/sso/login/")
    back = urlsplit(sso.sign_in(start["Location"], "carl", "pw", session=browser))
    client.get(f"{back.path}?{back.query}")
    sso.age_last_login("carl", 3600)
    # A provider that ignores prompt=login answers from the session it already has, an hour old.
    start = client.get(f"/sso/login/?step_up=1&next=/launches/{launch.pk}/sign/")
    ignoring = start["Location"].replace("prompt=login&", "").replace("&prompt=login", "")
    back = urlsplit(sso.sign_in(ignoring, "carl", "pw", session=browser))
    client.get(f"{back.path}?{back.query}")
    refused = client.post(f"/launches/{launch.pk}/sign/", _sign_form(client, launch))
    assert b"reused an earlier sign-in" in refused.content and not SignOff.objects.exists()


def test_a_proof_for_someone_else_or_too_old_is_refused(sso):
    person = make_user("sam", "COMPLIANCE")
    User.objects.filter(pk=person.pk).update(sso_issuer=sso.issuer, sso_subject="subject-1")
    person.refresh_from_db()
    now = int(time.time())
    fresh = {"iss": sso.issuer, "sub": "subject-1", "auth_time": now - 10}
    assert confirm_identity(person, proof=fresh).method == "identity provider"
    for proof in (None, {**fresh, "sub": "subject-2"}, {**fresh, "iss": "http://elsewhere"},
                  {**fresh, "auth_time": now - 3600}, {**fresh, "auth_time": "soon"}):
        with pytest.raises(ReauthenticationRequired) as refused:
            confirm_identity(person, proof=proof)
        assert refused.value.code == "reauthentication_required" and refused.value.field == "password"
    with pytest.raises(ReauthenticationRequired):
        confirm_identity(person, password="correct horse battery staple")  # no local password for SSO people


def test_policy_approval_and_waivers_need_it_too(sso):
    from governance.policies.models import TierPolicy
    from governance.policies.services import approve_change, propose_change

    person = make_user("mia", "MODEL_RISK")
    User.objects.filter(pk=person.pk).update(sso_issuer=sso.issuer, sso_subject="subject-mia")
    person.refresh_from_db()
    ensure_default_policies()
    proposer = make_user("cole", "COMPLIANCE")
    item = {"key": "vendor_change_notice", "title": "Vendor change notice process", "category": "third_party",
            "kind": "MANUAL", "blocking": True, "guidance": "Vendors tell us before they change a field."}
    change = propose_change(TierPolicy.objects.get(tier="TIER_3"), actor=proposer, operation="ADD_CHECKLIST_ITEM",
                            payload=item, rationale="Lending incident follow-up")
    with pytest.raises(ReauthenticationRequired):
        approve_change(change, actor=person)
    proof = {"iss": sso.issuer, "sub": "subject-mia", "auth_time": int(time.time())}
    approve_change(change, actor=person, sso_proof=proof)
    assert AuditEvent.objects.get(verb="policy.change_approved").after["confirmed_by"] == "identity provider"


def test_provider_down_gives_a_clear_page_and_changes_nothing(sso, settings):
    settings.OIDC_ISSUER = "http://127.0.0.1:9/o"
    response = Client().get("/sso/login/")
    assert response.status_code == 503
    assert b"did not answer" in response.content
    assert not User.objects.exists()


def test_without_a_provider_the_demo_signs_in_with_passwords(db, settings):
    settings.OIDC_ISSUER = ""
    make_user("dana", "DATA_SCIENCE")
    page = Client().get("/login/")
    assert b"Sign in with" not in page.content and b'name="password"' in page.content
    assert Client().get("/sso/login/").status_code == 404
    assert Client().post("/login/", {"username": "dana", "password": "correct horse battery staple"}).status_code == 302


def test_local_passwords_can_be_switched_off(sso, settings):
    settings.LOCAL_PASSWORDS = False
    settings.AUTHENTICATION_BACKENDS = ["governance.kernel.sso.Backend"]
    make_user("dana", "DATA_SCIENCE")
    page = Client().get("/login/")
    assert b"Sign in with Test IdP" in page.content and b'name="password"' not in page.content
    refused = Client().post("/login/", {"username": "dana", "password": "correct horse battery staple"})
    assert refused.status_code == 403
