"""Model inventory: pages, forms and services refuse bad input with the field named, and save nothing."""

import pytest
from django.urls import reverse

from governance.inventory import services
from governance.kernel.errors import ValidationFailed
from governance.kernel.roles import Role
from governance.models import AuditEvent, Feature, MLModel, ModelVersion
from tests.factories import FeatureFactory, MLModelFactory, ModelVersionFactory, make_user, sha

pytestmark = pytest.mark.django_db


@pytest.fixture
def ds(db):
    return make_user("dana", Role.DATA_SCIENCE)


def model_form(**overrides):
    data = {"slug": "credit-line", "name": "Credit line", "business_use": "Sets credit lines.",
            "risk_tier": "TIER_1", "regulatory_scope": "ECOA", "protected_attributes": "race, sex"}
    data.update(overrides)
    return data


def test_data_scientist_adds_a_model_through_the_form(client, ds):
    client.force_login(ds)
    response = client.post(reverse("governance:model_create"), model_form(owner=ds.pk))
    model = MLModel.objects.get(slug="credit-line")
    assert response.status_code == 302 and response["Location"] == model.get_absolute_url()
    assert model.protected_attributes == ["race", "sex"]
    assert AuditEvent.objects.filter(verb="model.created", object_id=str(model.pk)).exists()


@pytest.mark.parametrize("field,value,message", [
    ("slug", "Not A Slug", "lower-case"),
    ("risk_tier", "TIER_9", "TIER_9"),
    ("name", "", "required"),
])
def test_form_shows_errors_next_to_the_field(client, ds, field, value, message):
    client.force_login(ds)
    response = client.post(reverse("governance:model_create"), model_form(owner=ds.pk, **{field: value}))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    assert b'class="field-error"' in response.content
    assert not MLModel.objects.exists()


def test_duplicate_slug_is_refused_on_the_slug_field(client, ds):
    MLModelFactory(slug="credit-line")
    client.force_login(ds)
    response = client.post(reverse("governance:model_create"), model_form(owner=ds.pk))
    assert "already exists" in " ".join(response.context["form"].errors["slug"])
    assert MLModel.objects.count() == 1


def test_viewer_cannot_open_or_post_the_create_form(client):
    viewer = make_user("vic", Role.VIEWER)
    client.force_login(viewer)
    assert client.get(reverse("governance:model_create")).status_code == 403
    assert client.post(reverse("governance:model_create"), model_form(owner=viewer.pk)).status_code == 403
    assert not MLModel.objects.exists()


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("governance:model_list"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_version_with_malformed_sha256_is_refused(client, ds):
    model = MLModelFactory()
    client.force_login(ds)
    response = client.post(reverse("governance:version_create", args=[model.slug]),
                           {"version": "2.0.0", "artifact_sha256": "xyz"})
    assert "sha256" in " ".join(response.context["form"].errors["artifact_sha256"])
    assert not ModelVersion.objects.exists()


def test_slug_cannot_change_on_edit(ds):
    model = MLModelFactory(slug="a-model")
    with pytest.raises(ValidationFailed) as info:
        services.update_model(model, actor=ds, slug="b-model")
    assert info.value.field == "slug"


def test_edit_records_only_what_changed(ds):
    model = MLModelFactory(name="Old")
    services.update_model(model, actor=ds, name="New", risk_tier=model.risk_tier)
    event = AuditEvent.objects.get(verb="model.updated")
    assert event.before == {"name": "Old"} and event.after == {"name": "New"}


def test_version_and_features_are_saved_together_or_not_at_all(ds):
    model = MLModelFactory()
    with pytest.raises(ValidationFailed) as info:
        services.create_version(model, actor=ds, version="1.0", artifact_sha256=sha("a"), features=[
            {"name": "income"}, {"name": "income"},
        ])
    assert info.value.field == "features[1].name"
    assert not ModelVersion.objects.exists() and not Feature.objects.exists()


def test_only_risk_roles_record_a_proxy_risk_outcome(ds):
    version = ModelVersionFactory()
    feature = FeatureFactory(version=version, source="THIRD_PARTY", vendor="DeviceCo")
    with pytest.raises(ValidationFailed) as caught:
        services.update_feature(feature, actor=ds, proxy_risk_status="ASSESSED_ACCEPTABLE")
    assert caught.value.code == "proxy_risk_assessor_required"
    compliance = make_user("cole", Role.COMPLIANCE, Role.DATA_SCIENCE)
    updated = services.update_feature(feature, actor=compliance, proxy_risk_status="ASSESSED_ACCEPTABLE")
    assert updated.proxy_risk_assessed


def test_inventory_filters(client, ds):
    risky = ModelVersionFactory(model=MLModelFactory(slug="lending", risk_tier="TIER_1")).model
    FeatureFactory(version=risky.versions.first(), source="THIRD_PARTY", vendor="DeviceCo")
    safe = MLModelFactory(slug="ranking", risk_tier="TIER_2")
    client.force_login(ds)
    url = reverse("governance:model_list")
    assert [m.slug for m in client.get(url, {"unassessed": "on"}).context["models"]] == ["lending"]
    assert [m.slug for m in client.get(url, {"tier": "TIER_2"}).context["models"]] == ["ranking"]
    assert [m.slug for m in client.get(url, {"owner": safe.owner.pk}).context["models"]] == ["ranking"]


def test_inventory_and_detail_pages_keep_constant_queries(client, ds, django_assert_max_num_queries):
    for i in range(12):
        version = ModelVersionFactory(model=MLModelFactory(slug=f"m-{i}"))
        for _ in range(3):
            FeatureFactory(version=version, source="THIRD_PARTY")
    model = MLModel.objects.get(slug="m-0")
    for _ in range(5):
        FeatureFactory(version=ModelVersionFactory(model=model))
    client.force_login(ds)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("governance:model_list")).status_code == 200
    # one of them: is the model linked to MLflow (its registry section); one its model-risk summary; one the
    # regimes it declares (its examiner's file section)
    with django_assert_max_num_queries(13):
        assert client.get(model.get_absolute_url()).status_code == 200


def test_model_card_markdown_is_sanitised(client, ds):
    version = ModelVersionFactory(model_card="**bold** <script>alert(1)</script> [x](javascript:alert(1))")
    client.force_login(ds)
    body = client.get(version.model.get_absolute_url()).content.decode()
    assert "<strong>bold</strong>" in body
    assert "<script>alert" not in body and "javascript:" not in body


def test_model_risk_documentation_maps_groups_only_to_attributes_the_model_monitors():
    from governance.kernel.principals import SystemActor

    version = ModelVersionFactory(model=MLModelFactory(protected_attributes=["race"]))
    actor = SystemActor("tests")
    with pytest.raises(ValidationFailed) as error:
        services.document_model_risk(version, actor=actor, fairness_group_attributes={"group_a": "shoe size"})
    assert error.value.field == "fairness_group_attributes"
    with pytest.raises(ValidationFailed) as error:
        services.document_model_risk(version, actor=actor, training_data_sha256="not-a-hash")
    assert error.value.field == "training_data_sha256"
    version = services.document_model_risk(version, actor=actor, intended_use="Credit line decisions.",
                                           fairness_group_attributes={"group_a": "race"})
    assert version.fairness_group_attributes == {"group_a": "race"}
    assert AuditEvent.objects.filter(verb="version.documented").exists()
