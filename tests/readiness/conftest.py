"""The readiness tests run under the default tier policies; their people are the shared ``people``."""

import pytest

from governance.policies.services import ensure_default_policies


@pytest.fixture(autouse=True)
def policies(request):
    """The default tier policies, for every test that uses the database. The rule tests on plain values
    (expressions, guardrails, the approval rule, charts) use none, and get none."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        return None
    request.getfixturevalue("db")
    return ensure_default_policies()
