"""The readiness tests run under the default tier policies; their people are the shared ``people``."""

import pytest

from governance.policies.services import ensure_default_policies


@pytest.fixture(autouse=True)
def policies(db):
    return ensure_default_policies()

