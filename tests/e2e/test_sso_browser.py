"""Single sign-on in a real browser: sign in at the provider, then confirm identity there again to sign."""

import pytest

from governance.kernel.models import AuditEvent, User
from governance.kernel.permissions import roles_of
from governance.policies.services import ensure_default_policies
from readiness import services
from readiness.models import SignOff
from tests.factories import make_launch, make_user, pass_everything

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def provider_login(page, username, password):
    page.wait_for_selector("text=Test identity provider")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def test_sign_in_with_the_provider_and_step_up_before_signing(browser, live_server, sso):
    ensure_default_policies()
    author = make_user("author", "DATA_SCIENCE")
    launch = make_launch(author=author, tier="TIER_1")
    pass_everything(launch, attester=make_user("ds2", "DATA_SCIENCE"))
    services.submit_for_review(launch, actor=author)
    sso.add_person("cleo", "pw", groups=["risk-compliance"], first="Cleo", last="Carter")

    base = live_server.url.replace("localhost", "127.0.0.1")  # the redirect URI registered at the provider
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto("/login/")
    page.click("text=Sign in with Test IdP")
    provider_login(page, "cleo", "pw")
    page.wait_for_url(f"{base}/")
    assert roles_of(User.objects.get(username="cleo")) == {"COMPLIANCE"}

    page.goto(f"/launches/{launch.pk}/sign/")
    page.click("text=Authenticate again with Test IdP")
    provider_login(page, "cleo", "pw")  # prompt=login: the provider asks again
    page.wait_for_url(f"{base}/launches/{launch.pk}/sign/")
    assert page.locator("#reauth").inner_text().startswith("You confirmed who you are")
    page.check("input[name=decision][value=APPROVE]")
    page.click("button:has-text('Sign')")
    page.wait_for_url(lambda url: f"/launches/{launch.pk}/" in url and "/sign/" not in url)
    signoff = SignOff.objects.get()
    assert signoff.signer.username == "cleo" and signoff.role == "COMPLIANCE"
    assert AuditEvent.objects.get(verb="signoff.given").after["confirmed_by"] == "identity provider"
    context.close()
