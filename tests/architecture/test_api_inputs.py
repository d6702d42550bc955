"""Every API operation declares its input, found by walking the URLconf: an operation that takes a body documents a
strict serializer (one that refuses undeclared fields), and a list, or any operation reading query parameters,
declares a strict FilterSet or query serializer, so no view parses a body or a query string by hand."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework.views import APIView

from governance.kernel.api_inputs import StrictFilterSet, StrictQuerySerializer, StrictSerializer

BODY_METHODS = ("post", "put", "patch")


def api_views(patterns=None, prefix=""):
    """(route, callback) of every DRF view under /api/v1/, as the URL resolver sees them."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from api_views(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            view_class = getattr(entry.callback, "cls", None)
            if (route.startswith("api/v1/") and isinstance(view_class, type) and issubclass(view_class, APIView)
                    and not view_class.__module__.startswith(("drf_spectacular", "config"))):
                yield "/" + route, entry.callback


VIEWS = list(api_views())


GENERATOR = SchemaGenerator()  # holds the schemas it builds: views only keep weak references to them


def schema_of(callback, method: str, route: str):
    """The schema of one operation, as drf-spectacular builds it when it writes the OpenAPI document."""
    view = GENERATOR.create_view(callback, method.upper())
    schema = view.schema  # a fresh object on every access for views without extend_schema: read it once
    schema.method, schema.path = method.upper(), route
    return view, schema


def is_strict(serializer, base) -> bool:
    cls = serializer if isinstance(serializer, type) else type(serializer)
    child = getattr(serializer, "child", None)  # many=True
    if child is not None and not isinstance(serializer, type):
        cls = type(child)
    return issubclass(cls, base)


def test_the_walk_finds_the_api():
    routes = {route for route, _ in VIEWS}
    assert {"/api/v1/gate/", "/api/v1/launches/", "/api/v1/incidents/", "/api/v1/models/",
            "/api/v1/reports/"} <= routes
    assert len(VIEWS) >= 15


@pytest.mark.parametrize("route,callback", VIEWS, ids=[route for route, _ in VIEWS])
def test_an_operation_with_a_body_declares_a_strict_serializer(route, callback):
    for method in BODY_METHODS:
        if not hasattr(callback.cls, method):
            continue
        _view, schema = schema_of(callback, method, route)
        request = schema.get_request_serializer()
        if request is None:  # declared as taking no body (extend_schema(request=None))
            continue
        declared = request.values() if isinstance(request, dict) else [request]
        for serializer in declared:
            assert is_strict(serializer, StrictSerializer), (
                f"{method.upper()} {route} documents {serializer!r}: derive its input from "
                f"governance.kernel.api_inputs.StrictSerializer")


@pytest.mark.parametrize("route,callback", VIEWS, ids=[route for route, _ in VIEWS])
def test_a_list_declares_its_query_parameters(route, callback):
    if not hasattr(callback.cls, "get"):
        return
    view_class = callback.cls
    filterset = getattr(view_class, "filterset_class", None)
    query = getattr(view_class, "query_serializer_class", None)
    if filterset is not None:
        assert issubclass(filterset, StrictFilterSet), f"{route}: {filterset} must derive from StrictFilterSet"
    if query is not None:
        assert issubclass(query, StrictQuerySerializer), f"{route}: {query} must derive from StrictQuerySerializer"
    _view, schema = schema_of(callback, "get", route)
    if schema._is_list_view():
        assert filterset is not None or query is not None, (
            f"GET {route} is a list: declare a filterset_class (StrictFilterSet) or a query_serializer_class "
            f"(StrictQuerySerializer)")


def test_the_gate_declares_its_query_parameters():
    gate = dict(VIEWS)["/api/v1/gate/"].cls
    assert issubclass(gate.query_serializer_class, StrictQuerySerializer)
    assert set(gate.query_serializer_class().fields) == {"model", "version", "stage"}
