"""The permission helper answers for every role, token scope and object rule."""

import pytest

from governance.kernel.errors import PermissionDenied
from governance.kernel.permissions import RULES, can, require
from governance.kernel.principals import SystemActor, TokenPrincipal
from governance.kernel.roles import Role
from tests.factories import MLModelFactory, make_user

pytestmark = pytest.mark.django_db

EXPECTED = {
    # action: roles that may do it
    "model.create": {"DATA_SCIENCE", "ENGINEERING", "MODEL_RISK"},
    "model.edit": {"DATA_SCIENCE", "ENGINEERING", "MODEL_RISK"},
    "feature.assess_proxy_risk": {"COMPLIANCE", "MODEL_RISK", "LEGAL"},
    "policy.approve": {"COMPLIANCE", "MODEL_RISK"},
    "checklist.waive": {"COMPLIANCE", "MODEL_RISK"},
    "launch.create": {"DATA_SCIENCE", "PRODUCT"},
    "launch.edit": {"DATA_SCIENCE", "PRODUCT"},
    "evaluation.submit": {"DATA_SCIENCE", "ENGINEERING"},
    "observation.submit": {"ENGINEERING"},
    "rollout.advance": {"DATA_SCIENCE", "ENGINEERING", "PRODUCT"},
    "rollout.rollback": set(Role.values) - {"VIEWER"},
    "gate.read": set(Role.values),
    "incident.create": set(Role.values) - {"VIEWER"},
    "report.request": set(Role.values) - {"VIEWER"},
}


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_each_role_gets_exactly_its_actions(role, action):
    user = make_user(f"u_{role.lower()}", role)
    assert can(user, action) is (role in EXPECTED[action])


@pytest.mark.parametrize("action", sorted(RULES))
def test_viewer_can_change_nothing(action):
    viewer = make_user("viewer", Role.VIEWER)
    if can(viewer, action):
        assert action.endswith(".view") or action == "gate.read", action


def test_person_without_roles_can_do_nothing():
    nobody = make_user("nobody")
    assert not any(can(nobody, action) for action in RULES)


def test_superuser_passes_role_checks():
    admin = make_user("root", superuser=True)
    assert can(admin, "model.create") and can(admin, "policy.approve")


def test_inactive_user_is_refused():
    user = make_user("gone", Role.DATA_SCIENCE, is_active=False)
    assert not can(user, "model.create")


def test_require_refuses_with_the_permission_code():
    viewer = make_user("viewer", Role.VIEWER)
    with pytest.raises(PermissionDenied) as info:
        require(viewer, "model.create")
    assert info.value.code == "permission_denied"


def test_unknown_action_is_a_programming_error():
    with pytest.raises(KeyError):
        can(make_user("x", Role.DATA_SCIENCE), "model.explode")


def test_token_needs_the_scope():
    token = TokenPrincipal(token=type("T", (), {"name": "ci"})(), scopes=frozenset({"gate:read"}))
    assert can(token, "gate.read")
    assert not can(token, "model.create")
    assert not can(token, "policy.approve"), "actions without a scope are for people only"


def test_token_limited_to_models_cannot_touch_other_models():
    mine, other = MLModelFactory(), MLModelFactory()
    token = TokenPrincipal(token=type("T", (), {"name": "ci"})(), scopes=frozenset({"models:write"}),
                           model_ids=frozenset({mine.pk}))
    assert can(token, "version.create", mine)
    assert not can(token, "version.create", other)


def test_system_actor_may_act():
    assert can(SystemActor("tests"), "rollout.rollback")


def test_roles_are_fetched_once_per_user_object(django_assert_num_queries):
    user = make_user("dana", Role.DATA_SCIENCE, Role.PRODUCT)
    with django_assert_num_queries(1):
        for action in RULES:
            can(user, action)
