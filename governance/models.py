"""The governance app's models, gathered for Django: each layer defines its own in its sub-package.

Only code above the governance layers (readiness, postmortems, the top layer) imports from here; the
kernel, the inventory and the policies import each other's ``models`` modules directly.
"""

from governance.inventory.models import (  # noqa: F401
    ASSESSED_OK,
    GIT_COMMIT_RE,
    SHA256_RE,
    SLUG_RE,
    Feature,
    FeatureSource,
    MLModel,
    ModelVersion,
    ProxyRiskStatus,
    RiskTier,
    git_commit_validator,
    sha256_validator,
    slug_validator,
    version_validator,
)
from governance.kernel.models import (  # noqa: F401
    ApiToken,
    AuditEvent,
    AuditSource,
    BeatLease,
    IdempotencyRecord,
    RoleMembership,
    User,
)
from governance.policies.models import PolicyChange, TierPolicy, TierPolicyVersion  # noqa: F401
from governance.validation.models import (  # noqa: F401
    Finding,
    GateWaiver,
    Hold,
    RevalidationNeed,
    Validation,
)
