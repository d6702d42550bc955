"""Schema fuzzing: schemathesis drives every documented operation with generated valid and invalid input, through
the real WSGI application, and checks each answer against the schema: no server error, only documented status
codes and content types, bodies that match their documented schema, and invalid input refused with a 4xx."""

import os
from collections import defaultdict

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from governance.kernel.roles import Role
from governance.policies.services import ensure_default_policies
from tests.factories import MLModelFactory, ModelVersionFactory, make_user

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))  # per operation and per mode: CI time stays in minutes


@pytest.fixture
def fuzz_target(db, token_for):
    ensure_default_policies()
    owner = make_user("owner", Role.DATA_SCIENCE)
    model = MLModelFactory(slug="credit-line", owner=owner, risk_tier="TIER_1")
    version = ModelVersionFactory(model=model, version="1.0.0")
    from readiness.services import create_launch

    create_launch(version, actor=owner, title="Fuzzed launch")
    _, secret = token_for(*[
        "gate:read", "models:read", "models:write", "launches:read", "launches:write", "evaluations:write",
        "observations:write", "rollouts:write", "incidents:read", "incidents:write", "reports:write"])
    return secret


SHARDS = 3  # the operations split three ways, so that xdist's workers share the fuzzing


@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_operation_conforms_to_its_schema(fuzz_target, shard):
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()  # config.wsgi would refuse outside development mode

    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    headers = {"Authorization": f"Bearer {fuzz_target}"}
    failures, calls = defaultdict(list), []

    operations = sorted((result.ok() for result in schema.get_all_operations()), key=lambda o: o.label)
    assert len(operations) > 3 * SHARDS, "the schema must describe the API's operations"
    for operation in operations[shard::SHARDS]:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case):
                calls.append(case)
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                check()
            except Unsatisfiable:
                # Nothing can be wrong about an operation without inputs (GET /api/v1/keys/): no negative case.
                assert mode == GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as failure:  # every operation's (shrunk) failure, reported together below
                failures[f"{operation.label} [{mode.value}]"].append(str(failure).strip()[:1500])
    report = "\n\n".join(f"{label}:\n{messages[0]}" for label, messages in failures.items())
    assert not failures, f"{len(failures)} operations failed:\n{report}"
    assert len(calls) > 200 // SHARDS, "the fuzzer must actually exercise the API"
