"""Evidence files are stored through STORAGES and downloaded only through Gatehouse, after the permission check:
a validation's signed report streams to whoever may see the validation, as an attachment, and to nobody else."""

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from governance.inventory import services as inventory
from governance.inventory.materiality import SCOPE_AREAS
from governance.kernel.roles import Role
from governance.validation import services as validations
from tests.factories import PASSWORD, MLModelFactory, make_user

pytestmark = pytest.mark.django_db
REPORT = b"%PDF-1.7\n" + b"validation evidence " * 2000


def signed_validation(model=None, *, data: bytes = REPORT, name: str = "conclusions.pdf"):
    """A completed validation of a model of low materiality, its report attached."""
    validator = make_user("vera", Role.MODEL_RISK)
    model = model or MLModelFactory()
    inventory.set_materiality(model, actor=validator, password=PASSWORD, exposure="LOW", purpose="INTERNAL", reason="Internal insight")
    validation = validations.start_validation(model, actor=validator, scope=list(SCOPE_AREAS))
    return validations.complete_validation(validation, actor=validator, outcome="APPROVED", summary="Sound.",
                                           report=ContentFile(data, name=name), password=PASSWORD)


def url(validation) -> str:
    return reverse("reporting:validation_report_download", args=[validation.pk])


def test_a_validation_report_streams_to_a_reader_with_its_sha256(client, people):
    validation = signed_validation()
    client.force_login(people["viewer"])
    response = client.get(url(validation))
    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content)
    assert body == REPORT and response["X-Content-SHA256"] == hashlib.sha256(REPORT).hexdigest()
    assert response["Content-Type"] == "application/pdf" and response["Content-Disposition"].startswith("attachment")
    assert response["Cache-Control"].startswith("private, no-store")


def test_an_uploaded_page_is_handed_over_inert_never_served_as_a_page(client, people):
    validation = signed_validation(data=b"<script>alert(1)</script>", name="report.html")
    client.force_login(people["viewer"])
    response = client.get(url(validation))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment") and response["X-Content-Type-Options"] == "nosniff"


def test_no_one_signed_out_gets_the_file(client):
    validation = signed_validation()
    response = client.get(url(validation))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_a_token_limited_to_another_model_gets_the_same_404_as_for_a_missing_file(client, token_for):
    validation = signed_validation()
    _, other = token_for("validations:read", models=[MLModelFactory()])
    assert client.get(url(validation), HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 404
    _, own = token_for("validations:read", models=[validation.model])
    assert client.get(url(validation), HTTP_AUTHORIZATION=f"Bearer {own}").status_code == 200
    _, unscoped = token_for("gate:read")
    assert client.get(url(validation), HTTP_AUTHORIZATION=f"Bearer {unscoped}").status_code == 404
    assert client.get(reverse("reporting:validation_report_download", args=[validation.pk + 1000]),
                      HTTP_AUTHORIZATION=f"Bearer {own}").status_code == 404


def test_a_validation_without_a_report_has_nothing_to_download(client, people):
    validator = make_user("vera", Role.MODEL_RISK)
    open_one = validations.start_validation(MLModelFactory(), actor=validator, scope=["DATA"])
    client.force_login(people["viewer"])
    assert client.get(url(open_one)).status_code == 404
