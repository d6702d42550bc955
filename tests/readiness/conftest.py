"""Fixtures of the readiness tests: the default tier policies and a cast of signers."""

import pytest

from governance.kernel.roles import Role
from governance.policies.services import ensure_default_policies
from tests.factories import make_user


@pytest.fixture(autouse=True)
def policies(db):
    return ensure_default_policies()


@pytest.fixture
def cast(db):
    """Author, a second data scientist, and one signer per risk role."""
    return {
        "author": make_user("author", Role.DATA_SCIENCE, email="author@example.com"),
        "ds": make_user("ds2", Role.DATA_SCIENCE, email="ds2@example.com"),
        "compliance": make_user("cole", Role.COMPLIANCE, email="cole@example.com"),
        "legal": make_user("lee", Role.LEGAL, email="lee@example.com"),
        "mrm": make_user("mara", Role.MODEL_RISK, email="mara@example.com"),
        "product": make_user("pat", Role.PRODUCT, email="pat@example.com"),
        "viewer": make_user("vic", Role.VIEWER),
    }
