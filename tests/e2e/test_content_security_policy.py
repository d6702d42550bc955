"""The strict Content-Security-Policy holds in a real browser: the API docs and htmx pages work under it, and
the ``page`` fixture fails any browser test whose pages report a violation."""

import pytest

from governance.kernel.roles import Role
from tests.factories import PASSWORD, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_under_the_policy(page, login):
    make_user("dana", Role.DATA_SCIENCE)
    login("dana", PASSWORD)
    response = page.goto("/api/docs/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy
    page.wait_for_selector("text=Gatehouse API")
    page.wait_for_selector(".opblock")


def test_an_inline_script_is_blocked_and_reported(page, login, csp_violations):
    make_user("dana", Role.DATA_SCIENCE)
    login("dana", PASSWORD)
    page.goto("/")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';
                             document.body.appendChild(s); }""")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.ran") is None
    assert any("script-src" in v for v in csp_violations)
    csp_violations.clear()  # expected here; the fixture fails any other test that reports one
