"""The five required permissions and the scope hierarchy."""

from __future__ import annotations

import pytest

from alm.scopes import (
    PERMISSIONS_BY_KEY,
    REQUIRED_PERMISSIONS,
    WORK_ITEMS,
    grants,
    implied_scopes,
    parse_scopes,
    probe_would_pass,
)


def test_five_permissions_named_as_on_the_token_page():
    assert [permission.label for permission in REQUIRED_PERMISSIONS] == [
        "Member Entitlement Management (Read)",
        "Project and Team (Read, write, & manage)",
        "Token Administration (Read & manage)",
        "Tokens (Read & manage)",
        "Work Items (Read, write, & manage)",
    ]
    assert [permission.scope for permission in REQUIRED_PERMISSIONS] == [
        "vso.memberentitlementmanagement",
        "vso.project_manage",
        "vso.tokenadministration",
        "vso.tokens",
        "vso.work_full",
    ]
    assert set(PERMISSIONS_BY_KEY) == {"member_entitlements", "project_team", "token_admin", "tokens", "work_items"}


def test_demo_scope_string_grants_all_five():
    scopes = "vso.memberentitlementmanagement vso.project_manage vso.tokenadministration vso.tokens vso.work_full"
    assert all(grants(scopes, permission) for permission in REQUIRED_PERMISSIONS)


def test_full_access_grants_everything():
    assert all(grants("app_token", permission) for permission in REQUIRED_PERMISSIONS)


def test_stronger_scope_implies_weaker():
    assert "vso.work" in implied_scopes("vso.work_full")
    assert "vso.project" in implied_scopes("vso.project_manage")
    assert grants("vso.memberentitlementmanagement_write", PERMISSIONS_BY_KEY["member_entitlements"])


@pytest.mark.parametrize(
    ("scopes", "key"),
    [
        ("vso.project_write", "project_team"),
        ("vso.work_write", "work_items"),
        ("vso.work", "work_items"),
        ("vso.tokens", "token_admin"),
        ("", "tokens"),
    ],
)
def test_weaker_scope_does_not_grant(scopes, key):
    assert not grants(scopes, PERMISSIONS_BY_KEY[key])


def test_work_write_passes_the_probe_but_not_the_requirement():
    assert probe_would_pass("vso.work_write", WORK_ITEMS)
    assert not grants("vso.work_write", WORK_ITEMS)


def test_scope_string_parsing_ignores_case_and_extra_spaces():
    assert parse_scopes("  VSO.Work_Full   vso.tokens ") == {"vso.work_full", "vso.tokens"}
    assert parse_scopes(None) == frozenset()
