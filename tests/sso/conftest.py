"""Fixtures of the single-sign-on tests: the provider lives in tests/sso/provider/fixture.py."""

from tests.sso.provider.fixture import oidc_provider, sso  # noqa: F401
