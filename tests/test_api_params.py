"""Every query parameter of every endpoint, given a malformed value, answers 400 naming it, and
no value at all makes the API answer 500 (DOMAIN.md: "No input, however malformed, gets a
500")."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_filters import filters as df

from jurisdictions import filtersets as fs
from jurisdictions.api import analysis
from jurisdictions.api.views import ROUTES

pytestmark = pytest.mark.django_db

FREE_TEXT = "contains\x00a NUL"  # the one thing free text can get wrong: PostgreSQL refuses NUL


def malformed_for_filter(filter_) -> str:
    """A value this filter must refuse."""
    if isinstance(filter_, (fs.IsoDateRangeFilter, fs.AsOfFilter)):
        return "2024-02-30"
    if isinstance(filter_, fs.UpdatedSinceFilter):
        return "2024-13-01T00:00"
    if isinstance(filter_, (fs.KeysFilter, fs.KeyFilter, fs.BlocFilter)):
        return "zz-unknown"
    if isinstance(filter_, fs.StrictBooleanFilter):
        return "maybe"
    if isinstance(filter_, (df.ChoiceFilter, df.OrderingFilter)):
        return "no_such_choice"
    return FREE_TEXT


def filter_for(filterset, param):
    filters_ = filterset.base_filters
    if param in filters_:
        return filters_[param]
    return filters_[param.rsplit("_", 1)[0]]


COMMON_LIST = {"page": "0", "page_size": "ten", "format": "xml"}
CASES = []  # (path name, kwargs, parameter, malformed value)
for _, viewset, basename in ROUTES:
    filterset = viewset.filterset_class
    for param in filterset.parameter_names():
        CASES.append((f"{basename}-list", {}, param,
                      malformed_for_filter(filter_for(filterset, param))))
    for param, value in COMMON_LIST.items():
        CASES.append((f"{basename}-list", {}, param, value))

DETAILS = {
    "jurisdiction-detail": ({"code": "KR"}, {"as_of": "2024-02-30", "scope": "own,applicable",
                                             "format": "csv"}),
    "jurisdiction-timeline": ({"code": "KR"}, {"as_of": "2024-00-10", "format": "yaml"}),
    "instrument-detail": ({"slug": "kr-act"}, {"as_of": "20240101", "format": "csv"}),
    "criterion-detail": ({"slug": "possession"}, {"format": "csv"}),
    "event-detail": ({"slug": "operation-cumberland"}, {"format": "html"}),
}
for name, (kwargs, params) in DETAILS.items():
    for param, value in params.items():
        CASES.append((name, kwargs, param, value))

ANALYSIS = {
    "compare": ({"jurisdictions": "KR"}, {
        "jurisdictions": "KR,ZZ", "bloc": "KR", "within": "ZZ", "criteria": "telepathy",
        "criterion": "telepathy", "group": "G99", "region": "atlantis", "kind": "planet",
        "research": "some", "layout": "tall", "shape": "tiny", "as_of": "2024-02-30",
        "scope": "both",
        "format": "pdf",
    }),
    "gaps": ({"criterion": "possession"}, {
        "criterion": "telepathy", "jurisdictions": "ZZ", "bloc": "US", "within": "ZZ-AA",
        "kind": "planet", "group": "G99", "region": "atlantis", "research": "some",
        "as_of": "2024-02-30", "scope": "both", "format": "pdf",
    }),
    "changes": ({}, {
        "since": "2024-02-30", "as_of": "2024-02-30", "model": "user", "change": "~",
        "jurisdiction": "ZZ", "instrument": "no-such-act",
        "page": "-1", "page_size": "0", "format": "pdf",
    }),
}
for name, (base, params) in ANALYSIS.items():
    for param, value in params.items():
        CASES.append((name, {"__base__": base}, param, value))


def request(client, name, kwargs, params):
    kwargs = dict(kwargs)
    base = kwargs.pop("__base__", {})
    return client.get(reverse(f"api:{name}", kwargs=kwargs or None), {**base, **params})


def test_every_parameter_of_every_endpoint_is_covered():
    covered = {(name, param) for name, _, param, _ in CASES}
    for name, view in (("compare", analysis.CompareView), ("gaps", analysis.GapsView),
                       ("changes", analysis.ChangesView)):
        for param in view.params_form.base_fields:
            assert (name, param) in covered, (name, param)
        assert (name, "format") in covered


@pytest.mark.parametrize(
    "name,kwargs,param,value", CASES, ids=[f"{c[0]}:{c[2]}={c[3]!r}" for c in CASES]
)
def test_a_malformed_value_is_400_naming_the_parameter(client, world, name, kwargs, param,
                                                       value):
    response = request(client, name, kwargs, {param: value})
    assert response.status_code == 400, response.content[:500]
    body = response.json()
    assert param in body["errors"], body
    assert param in body["accepted_parameters"]


FUZZ = ["", ",,KR,", "\x00", "9" * 40, "-1", "%_", "'\";--", "é", "x" * 3000,
        "2024-02-29T25:00",
        # The edges of the calendar: no day after the last, no UTC for the first at +14:00.
        "9999-12-31", "0001-01-01T00:00+14:00", "9999-12-31T23:59-14:00"]


PARAMETERS = {(name, param): kwargs for name, kwargs, param, _ in CASES}


@pytest.mark.parametrize("name,param", sorted(PARAMETERS), ids=lambda v: v)
def test_no_value_of_any_parameter_gives_a_500(client, world, name, param):
    kwargs = PARAMETERS[(name, param)]
    for value in FUZZ:
        response = request(client, name, kwargs, {param: value})
        assert response.status_code in (200, 400), (value, response.status_code)
        if response.status_code == 400:
            assert response["Content-Type"].startswith("application/json")
