"""The ALM token banner: each state, its link, its cost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from profiles.models import AlmCredential

pytestmark = pytest.mark.django_db


def _banner(client, url=None):
    html = client.get(url or reverse("profile")).content.decode()
    if 'id="alm-banner"' not in html:
        return None
    start = html.index('id="alm-banner"')
    return html[start : html.index("</div>\n</div>", start)]


def test_banner_warns_user_without_token_and_links_to_the_form(alice_client, connection):
    banner = _banner(alice_client)
    assert "Your personal profile ALM token is not present." in banner
    assert "recorded as ALM Service Account" in banner
    assert f'href="{reverse("alm_credentials")}#connection-{connection.pk}">Go to Profile<' in banner
    assert 'role="alert"' in banner


def test_banner_without_fallback_says_changes_are_blocked(alice_client, connection):
    connection.allow_service_account_fallback = False
    connection.save()
    assert "you cannot change work items" in _banner(alice_client)


def test_no_banner_without_any_connection(alice_client):
    assert _banner(alice_client) is None


def test_no_banner_on_sign_in_page(client, connection):
    assert 'id="alm-banner"' not in client.get(reverse("login")).content.decode()


def test_no_banner_with_working_token(alice_client, alice_credential):
    assert _banner(alice_client) is None


@pytest.mark.parametrize(
    ("reason", "text"),
    [
        (AlmCredential.RejectedReason.REVOKED, "was revoked"),
        (AlmCredential.RejectedReason.INVALID, "no longer valid"),
        (AlmCredential.RejectedReason.PERMISSIONS, "missing permissions"),
    ],
)
def test_banner_for_rejected_token(alice_client, alice_credential, reason, text):
    AlmCredential.objects.filter(pk=alice_credential.pk).update(status="rejected", rejected_reason=reason)
    assert text in _banner(alice_client)


def test_banner_for_expired_token_names_the_date(alice_client, alice_credential):
    expired = timezone.now() - timedelta(days=2)
    AlmCredential.objects.filter(pk=alice_credential.pk).update(
        status="rejected", rejected_reason="expired", expires_on=expired
    )
    assert f"expired on {expired:%d %b %Y}" in _banner(alice_client)


def test_banner_for_token_expiring_within_14_days(alice_client, alice_credential):
    AlmCredential.objects.filter(pk=alice_credential.pk).update(expires_on=timezone.now() + timedelta(days=10))
    banner = _banner(alice_client)
    assert "expires in 9 days" in banner or "expires in 10 days" in banner
    assert 'role="status"' in banner


def test_banner_dismissed_for_the_session_until_state_changes(alice_client, alice_credential, connection):
    AlmCredential.objects.filter(pk=alice_credential.pk).update(expires_on=timezone.now() + timedelta(days=5))
    key = f"{connection.pk}:expiring"
    alice_client.post(reverse("dismiss_banner"), {"state": key, "next": reverse("profile")})
    assert _banner(alice_client) is None
    AlmCredential.objects.filter(pk=alice_credential.pk).update(status="rejected", rejected_reason="revoked")
    assert "was revoked" in _banner(alice_client)


def test_dismiss_refuses_offsite_redirect(alice_client, connection):
    response = alice_client.post(reverse("dismiss_banner"), {"state": "x", "next": "https://evil.example/"})
    assert response["Location"] == reverse("home")


def _queries(client, url) -> int:
    with CaptureQueriesContext(db_connection) as ctx:
        client.get(url)
    return len(ctx.captured_queries)


def test_banner_costs_two_queries_and_no_azure_devops_call(alice_client, connection, ado, settings):
    # A page that needs no standing of its own (the home page reads the banner's query for its own text).
    page = reverse("password_change")
    alice_client.get(page)  # the session exists from here on
    ado.clear_requests()
    with_banner = _queries(alice_client, page)
    settings.TEMPLATES = [
        {
            **t,
            "OPTIONS": {
                **t["OPTIONS"],
                "context_processors": [p for p in t["OPTIONS"]["context_processors"] if not p.endswith("alm_banner")],
            },
        }
        for t in settings.TEMPLATES
    ]
    without_banner = _queries(alice_client, page)
    # The connections and the user's credentials: two plain queries, shared with the profile pages.
    assert with_banner - without_banner == 2
    assert ado.requests == []
