"""Pure parts of the emulator: the scope filter, WIQL, api-version parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ado_emulator import scopes, versions, wiql
from ado_emulator.errors import ApiError


def path(text: str) -> list[str]:
    return [s for s in text.split("/") if s]


@pytest.mark.parametrize(
    ("granted", "method", "url", "allowed"),
    [
        ("vso.work", "GET", "/Proj/_apis/wit/workitems/1", True),
        ("vso.work", "PATCH", "/Proj/_apis/wit/workitems/1", False),
        ("vso.work_write", "PATCH", "/Proj/_apis/wit/workitems/1", True),
        ("vso.work_write", "PATCH", "/_apis/wit/workitems/1", True),
        ("vso.work_full", "DELETE", "/Proj/_apis/wit/workitems/1", True),
        ("vso.work", "POST", "/Proj/Team/_apis/wit/wiql", True),
        ("vso.work", "POST", "/_apis/wit/workitemsbatch", True),
        ("vso.work", "GET", "/_apis/projects", True),  # via vso.hooks_write -> vso.hooks -> vso.profile
        ("vso.project", "DELETE", "/_apis/projects/x", False),
        ("vso.project_write", "PATCH", "/_apis/projects/x", True),
        ("vso.project_manage", "DELETE", "/_apis/projects/x", True),
        ("vso.tokens", "GET", "/_apis/Token/SessionTokens", True),
        ("vso.tokens", "GET", "/_apis/tokenadmin/personalaccesstokens/aad.x", False),
        ("vso.tokenadministration", "GET", "/_apis/tokenadmin/personalaccesstokens/aad.x", True),
        ("vso.memberentitlementmanagement", "GET", "/_apis/userentitlements", True),
        ("vso.memberentitlementmanagement", "POST", "/_apis/userentitlements", False),
        ("vso.memberentitlementmanagement_write", "POST", "/_apis/userentitlements", True),
        ("vso.profile", "GET", "/_apis/connectionData", True),
        ("vso.tokens", "OPTIONS", "/_apis", True),
        ("vso.tokens", "GET", "/_apis/wit/workitems", False),
        ("app_token", "DELETE", "/anything/at/all", True),
        ("vso.unknown", "GET", "/_apis/connectionData", False),
        ("vso.work vso.tokens", "GET", "/_apis/Token/SessionTokens", True),
    ],
)
def test_scope_filter(granted, method, url, allowed):
    assert scopes.allows(granted, path(url), method) is allowed


def test_scope_inheritance_chain_of_work_items():
    assert scopes.expand(["vso.work_full"]) == {
        "vso.work_full",
        "vso.work_write",
        "vso.work",
        "vso.hooks_write",
        "vso.hooks",
        "vso.profile",
        "vso.base",
    }


def test_pattern_star_is_exactly_one_segment():
    pattern = scopes.Pattern.parse("/DefaultCollection/*/_apis/wit/workitems#GET")
    assert pattern.matches(path("/P/_apis/wit/workitems/1"), "GET")
    assert not pattern.matches(path("/_apis/wit/workitems"), "GET")
    assert not pattern.matches(path("/P/T/x/_apis/wit/workitems"), "GET")


CONTEXT = wiql.Context(project="Fabrikam Fiber", me="Alice <alice@x>", now=datetime(2026, 1, 2, 12, tzinfo=UTC))


class Row:
    def __init__(self, **values):
        self.values = values

    def value(self, definition):
        return self.values.get(definition.ref)

    def labels(self, identity):
        return {identity.id}


@pytest.mark.parametrize(
    ("where", "values", "expected"),
    [
        ("[System.State] = 'done'", {"System.State": "Done"}, True),
        ("[System.State] <> 'Done'", {"System.State": "Done"}, False),
        ("[System.State] IN ('New', 'Done')", {"System.State": "Done"}, True),
        ("[System.State] NOT IN ('New', 'Done')", {"System.State": "Done"}, False),
        ("[System.Title] CONTAINS 'bill'", {"System.Title": "Pay a Bill"}, True),
        ("[System.AreaPath] UNDER 'Fabrikam Fiber'", {"System.AreaPath": "Fabrikam Fiber\\Web"}, True),
        ("[System.TeamProject] = @project", {"System.TeamProject": "Fabrikam Fiber"}, True),
        ("NOT ([Priority] > 2 OR [Priority] < 2)", {"Microsoft.VSTS.Common.Priority": 2}, True),
        ("[System.Tags] = 'x'", {}, False),
        ("[System.ChangedDate] >= @today - 1", {"System.ChangedDate": datetime(2026, 1, 1, 9, tzinfo=UTC)}, True),
        ("[System.Title] = 'it''s'", {"System.Title": "It's"}, True),
    ],
)
def test_wiql_conditions(where, values, expected):
    query = wiql.parse(f"SELECT [System.Id] FROM WorkItems WHERE {where}", CONTEXT)  # noqa: S608 - WIQL, no SQL
    assert query.where is not None
    assert query.where(Row(**values)) is expected


def test_wiql_order_and_columns():
    query = wiql.parse("select System.Id, [Title] from workitems order by [Changed Date] desc, [System.Id]", CONTEXT)
    assert [c.ref for c in query.columns] == ["System.Id", "System.Title"]
    assert [(k.field.ref, k.descending) for k in query.order] == [("System.ChangedDate", True), ("System.Id", False)]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SELECT FROM WorkItems",
        "SELECT [System.Id] WorkItems",
        "SELECT [System.Id] FROM WorkItems WHERE",
        "SELECT [System.Id] FROM WorkItems WHERE ([System.State] = 'x'",
        "SELECT [System.Id] FROM WorkItems extra",
        "SELECT [System.Id] FROM WorkItems WHERE [System.State] = @nope",
    ],
)
def test_wiql_syntax_errors_raise_400(text):
    with pytest.raises(ApiError) as caught:
        wiql.parse(text, CONTEXT)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        ("7.1", None, "7.1"),
        (None, "application/json;api-version=7.1-preview.1", "7.1-preview.1"),
        (None, "text/html, application/json; api-version=6.0", "6.0"),
        ("7.0", "application/json;api-version=7.1", "7.0"),
        (None, "application/json", None),
    ],
)
def test_requested_version(query, accept, expected):
    assert versions.requested_version(query, accept) == expected


def test_version_checks():
    common = {"deployment_max": "7.2", "allow_get_without": True, "require_preview_flag": True}
    assert versions.check("7.1", method="GET", released="7.1", **common).number == (7, 1)
    assert versions.check("7.2-preview.1", method="GET", released="7.1", **common).preview
    assert versions.check(None, method="GET", released="7.1", **common) is None
    for text, method in (("7.2", "GET"), ("8.0", "GET"), (None, "POST"), ("x", "GET")):
        with pytest.raises(ApiError):
            versions.check(text, method=method, released="7.1", **common)
