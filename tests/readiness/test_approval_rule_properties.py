"""Property test of the approval rule: a launch is clear exactly when every required role has a current
approval over the current content and every blocking item passes or carries a valid waiver."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from readiness.services import approval_gaps

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ROLES = ["DATA_SCIENCE", "COMPLIANCE", "LEGAL", "MODEL_RISK", "PRODUCT"]


@dataclass
class FakeLaunch:
    required_roles: list
    content_hash: str = "current"


@dataclass
class FakeSignOff:
    role: str
    decision: str
    stale: bool
    content_hash: str

    @property
    def approves(self):
        return self.decision in ("APPROVE", "APPROVE_WITH_CONDITIONS")


@dataclass
class FakeWaiver:
    expires_at: datetime
    revoked: bool

    def is_valid(self, now=None):
        return not self.revoked and self.expires_at > now


@dataclass
class FakeItem:
    blocking: bool
    status: str
    waiver_list: list = field(default_factory=list)
    stage: str = ""

    @property
    def waivers(self):
        items = self.waiver_list

        class Manager:
            def all(self):
                return items

        return Manager()


signoffs = st.builds(FakeSignOff, role=st.sampled_from(ROLES),
                     decision=st.sampled_from(["APPROVE", "APPROVE_WITH_CONDITIONS", "REJECT"]),
                     stale=st.booleans(), content_hash=st.sampled_from(["current", "older"]))
waivers = st.builds(FakeWaiver, expires_at=st.sampled_from([NOW - timedelta(days=1), NOW + timedelta(days=1)]),
                    revoked=st.booleans())
items = st.builds(FakeItem, blocking=st.booleans(),
                  status=st.sampled_from(["PASS", "FAIL", "INCONCLUSIVE", "MISSING", "PENDING"]),
                  waiver_list=st.lists(waivers, max_size=2), stage=st.sampled_from(["", "", "shadow"]))


@given(required=st.lists(st.sampled_from(ROLES), min_size=1, max_size=4, unique=True),
       given_signoffs=st.lists(signoffs, max_size=6), checklist=st.lists(items, max_size=8))
def test_clear_exactly_when_every_role_and_every_blocking_item_is_satisfied(required, given_signoffs, checklist):
    launch = FakeLaunch(required_roles=required)
    gaps = approval_gaps(launch, signoffs=given_signoffs, items=checklist, now=NOW)
    clear = not (gaps["missing_roles"] or gaps["failing_items"] or gaps["rejected_by"])

    def role_ok(role):
        return any(s.role == role and not s.stale and s.approves and s.content_hash == "current"
                   for s in given_signoffs)

    def item_ok(item):
        return (not item.blocking or item.status == "PASS"
                or any(not w.revoked and w.expires_at > NOW for w in item.waiver_list))

    rejected = any(s.decision == "REJECT" and not s.stale and s.content_hash == "current" for s in given_signoffs)
    # an item attesting a rollout stage's result is judged when that stage ends, never at approval
    expected = (all(role_ok(r) for r in required) and all(item_ok(i) for i in checklist if not i.stage)
                and not rejected)
    assert clear == expected
    # a stale or outdated signature never fills a role
    for role in gaps["missing_roles"]:
        assert not role_ok(role)
    # non-blocking items never hold a launch back
    assert all(item.blocking for item in gaps["failing_items"])
    assert not any(item.stage for item in gaps["failing_items"])
