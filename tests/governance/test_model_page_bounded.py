"""A model's page stays the same length however many versions the model has: the newest a page at a time."""

from django.urls import reverse

from tests.factories import MLModelFactory, ModelVersionFactory, UserFactory


def test_model_page_shows_ten_versions_a_page(client, db):
    model = MLModelFactory()
    for k in range(25):
        ModelVersionFactory(model=model, version=f"1.{k}.0", model_card=f"# Card {k}")
    client.force_login(UserFactory())
    first = client.get(reverse("governance:model_detail", args=[model.slug]))
    assert first.status_code == 200
    assert len(first.context["versions"]) == 10
    last = client.get(reverse("governance:model_detail", args=[model.slug]) + "?versions=3")
    assert len(last.context["versions"]) == 5
