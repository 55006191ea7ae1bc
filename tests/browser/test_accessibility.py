"""axe-core finds no violation on the pages people use, in each state they see them in.

axe-core comes bundled in `axe-playwright-python` (no download); every rule it runs by default
counts, best practices included.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.helpers import demo_identity, demo_item_ids, demo_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FIVE = "vso.memberentitlementmanagement vso.project_manage vso.tokenadministration vso.tokens vso.work_full"


@pytest.fixture
def axe(page):
    """Run axe-core on the current page: one line per element it finds at fault (none when all is well)."""
    engine = Axe()

    def check() -> list[str]:
        page.wait_for_load_state("networkidle")
        results = engine.run(page)
        return [
            f"{violation['id']} ({violation['impact']}) at {', '.join(map(str, node['target']))}: "
            + "; ".join(check["message"] for check in node["any"] + node["all"] + node["none"])
            for violation in results.response["violations"]
            for node in violation["nodes"]
        ]

    return check


def _faults(found: dict[str, list[str]]) -> str:
    """What axe found, page by page, one line each ('' when nothing)."""
    return "\n".join(f"{name}: {line}" for name, lines in found.items() for line in lines)


def _test_token(page, token: str) -> None:
    page.get_by_label("Personal access token").fill(token)
    page.get_by_role("button", name="Test Connection").click()


def test_sign_in_home_profile_and_empty_credentials_pass_axe(page, live_server, sign_in, alice, connection, axe):
    found = {}
    page.goto(f"{live_server.url}/accounts/login/")
    found["sign-in"] = axe()
    sign_in("alice")
    expect(page.locator("#alm-banner")).to_be_visible()
    found["home with banner"] = axe()
    page.goto(f"{live_server.url}/profile/")
    found["profile"] = axe()
    page.goto(f"{live_server.url}/profile/alm-credentials/")
    found["ALM Credentials, empty"] = axe()

    assert _faults(found) == ""


def test_credentials_results_and_saved_card_pass_axe(
    page, live_server, sign_in, alice, connection, alice_pat, ado, axe
):
    found = {}
    weak = ado.issue_pat(demo_member(ado, "alice@fabrikam.example"), scopes=FIVE.replace("vso.tokens ", ""))
    sign_in("alice")
    page.goto(f"{live_server.url}/profile/alm-credentials/")
    _test_token(page, weak)
    expect(page.locator(".result-region .result-bad")).to_be_visible()
    found["failing result"] = axe()
    _test_token(page, "not-a-real-token-at-all")
    expect(page.locator(".result-region")).to_contain_text("did not work")
    found["refused token"] = axe()
    _test_token(page, alice_pat)
    expect(page.locator(".result-region")).to_contain_text("Connection works")
    found["passing result"] = axe()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Saved.")
    found["saved"] = axe()

    assert _faults(found) == ""


def test_work_item_pages_pass_axe(page, live_server, sign_in, alice, alice_credential, ado, axe):
    found = {}
    item_id = demo_item_ids(ado)[0]
    sign_in("alice")
    page.goto(f"{live_server.url}/work-items/")
    found["work items"] = axe()
    page.goto(f"{live_server.url}/work-items/{item_id}/")
    found["work item edit"] = axe()
    page.goto(f"{live_server.url}/work-items/{item_id}/delete/")
    found["work item delete"] = axe()
    ado.set_fault("status", status=503)
    page.goto(f"{live_server.url}/work-items/")
    expect(page.get_by_role("heading", name="Azure DevOps is not answering right now")).to_be_visible()
    found["work items, Azure DevOps down"] = axe()

    assert _faults(found) == ""


def test_admin_connection_and_overview_pass_axe(
    page, live_server, sign_in, django_user_model, password, connection, alice_credential, ado, axe
):
    django_user_model.objects.create_superuser("root", "root@fabrikam.example", password)
    assert demo_identity(ado, "alice@fabrikam.example")
    found = {}
    sign_in("root")
    for name, path in {
        "connection list": "/admin/alm/almconnection/",
        "connection change": f"/admin/alm/almconnection/{connection.pk}/change/",
        "credentials overview": "/admin/profiles/almcredential/overview/",
        "audit list": "/admin/workitems/auditrecord/",
    }.items():
        page.goto(live_server.url + path)
        found[name] = axe()

    assert _faults(found) == ""
