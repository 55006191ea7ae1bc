"""The strict Content-Security-Policy holds in a real browser: no page, the admin's included, trips it.

(Part of the security suite; it lives here for the Chromium fixtures. Headers themselves: tests/security.)
"""

from __future__ import annotations

import pytest

from tests.helpers import demo_item_ids

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Records every violation the page reports, whatever it was (script, style, image, frame...).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${where}`);
});
"""


@pytest.fixture
def violations(page):
    """What the browser refused on the pages visited: console errors and securitypolicyviolation events."""
    seen: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None)

    def check(url: str) -> list[str]:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        return seen + page.evaluate("window.__cspViolations")

    return check


def test_admin_pages_run_under_the_strict_policy(
    page, live_server, sign_in, django_user_model, password, connection, violations
):
    django_user_model.objects.create_superuser("root", "root@fabrikam.example", password)
    sign_in("root")
    paths = [
        "/admin/",
        "/admin/alm/almconnection/",
        "/admin/alm/almconnection/add/",
        f"/admin/alm/almconnection/{connection.pk}/change/",
        "/admin/workitems/auditrecord/",
        "/admin/profiles/almcredential/",
        "/admin/profiles/almcredential/overview/",
        "/admin/auth/user/add/",
        "/admin/auth/user/",
    ]

    found = {path: violations(live_server.url + path) for path in paths}

    assert {path: problems for path, problems in found.items() if problems} == {}
    # The admin's own scripts did run: the add form's "show password" toggle and the sidebar are live.
    page.goto(f"{live_server.url}/admin/alm/almconnection/add/")
    assert page.locator("#nav-sidebar").count() == 1
    assert page.evaluate("typeof window.django") == "object"


def test_app_pages_run_under_the_strict_policy(
    page, live_server, sign_in, alice, connection, alice_pat, ado, violations
):
    sign_in("alice")
    item_id = demo_item_ids(ado)[0]
    paths = ["/", "/profile/", "/profile/alm-credentials/", "/work-items/", f"/work-items/{item_id}/"]

    found = {path: violations(live_server.url + path) for path in paths}
    # The only script: Test Connection in place.
    page.goto(f"{live_server.url}/profile/alm-credentials/")
    page.get_by_label("Personal access token").fill(alice_pat)
    page.get_by_role("button", name="Test Connection").click()
    page.locator(".result-region").get_by_text("Connection works").wait_for()

    assert {path: problems for path, problems in found.items() if problems} == {}
    assert page.evaluate("window.__cspViolations") == []


def test_the_policy_would_refuse_an_injected_inline_script(page, live_server, sign_in, alice, connection, violations):
    """The recorder above is not blind: an inline script, as an injection would add one, is refused and seen."""
    sign_in("alice")
    violations(f"{live_server.url}/")

    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
        " document.body.append(s); }"
    )
    page.wait_for_function("window.__cspViolations.length > 0")

    assert page.evaluate("window.__ran") is None
    assert "script-src" in page.evaluate("window.__cspViolations")[0]
