"""The ALM token banner: each state, its link, its cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from alm.models import AlmConnection
from alm.token_state import State, TokenState
from profiles.banner import banner_for
from profiles.models import AlmCredential
from profiles.standing import Standing
from tests.helpers import element_text, find_element

pytestmark = pytest.mark.django_db


def _banner(client, url=None):
    """The banner element of a page (parsed markup), or None."""
    return find_element(client.get(url or reverse("profile")).content.decode(), id="alm-banner")


def _text(client, url=None) -> str:
    banner = _banner(client, url)
    assert banner is not None, "no banner on the page"
    return element_text(banner)


# --- Each state, without a page ---------------------------------------------------------------------------

EXPIRY = datetime(2026, 6, 10, 9, 30, tzinfo=UTC)
DAY = "10 Jun 2026"  # EXPIRY as the banner words it


def _standing(state: TokenState, *, fallback: bool = True, default: bool = True, owner: str = "") -> Standing:
    connection = AlmConnection(
        pk=7,
        name="Fabrikam",
        is_default=default,
        allow_service_account_fallback=fallback,
        last_test_identity_name="ALM Service Account",
    )
    credential = None if state.state is State.MISSING else AlmCredential(ado_display_name=owner)
    return Standing(connection, credential, state)


def case(state: TokenState, key: str, severity: str, role: str, title: str, *, id: str = "", **options: object):
    """A state, the standing's options, and the banner expected: its state key, severity, role and title."""
    return pytest.param(state, options, key, severity, role, title, id=id or key)


YOURS = "Your personal ALM token"
CASES = [
    case(TokenState(State.MISSING), "missing", "warn", "alert", "Your personal profile ALM token is not present."),
    case(TokenState(State.UNREADABLE), "unreadable", "bad", "alert", "Your saved ALM token can no longer be read."),
    case(
        TokenState(State.FOREIGN),
        "foreign",
        "bad",
        "alert",
        "Your saved ALM token belongs to Bob Example, not to you.",
        owner="Bob Example",
    ),
    case(
        TokenState(State.FOREIGN),
        "foreign",
        "bad",
        "alert",
        "Your saved ALM token belongs to another person, not to you.",
        id="foreign-nameless",
    ),
    case(TokenState(State.EXPIRED, EXPIRY, 0, "expired"), "expired", "bad", "alert", f"{YOURS} expired on {DAY}."),
    case(TokenState(State.EXPIRED, None, 0, "expired"), "expired", "bad", "alert", f"{YOURS} expired.", id="dateless"),
    case(TokenState(State.REJECTED, reason="revoked"), "revoked", "bad", "alert", f"{YOURS} was revoked."),
    case(
        TokenState(State.REJECTED, reason="permissions"),
        "permissions",
        "bad",
        "alert",
        f"{YOURS} is missing permissions.",
    ),
    case(TokenState(State.REJECTED, reason="invalid"), "invalid", "bad", "alert", f"{YOURS} is no longer valid."),
    case(TokenState(State.REJECTED), "invalid", "bad", "alert", f"{YOURS} is no longer valid.", id="reasonless"),
    case(TokenState(State.RETEST), "retest", "warn", "status", "The ALM connection moved to a new address."),
    case(TokenState(State.UNVERIFIED), "unverified", "warn", "status", f"{YOURS} has not been verified yet."),
    case(TokenState(State.EXPIRING, EXPIRY, 9), "expiring", "warn", "status", f"{YOURS} expires in 9 days ({DAY})."),
]


@pytest.mark.parametrize(("state", "options", "key", "severity", "role", "title"), CASES)
def test_banner_for_each_state(state, options, key, severity, role, title):
    banner = banner_for(standing=_standing(state, **options))

    assert banner is not None
    assert (banner.state, banner.severity, banner.role, banner.title) == (key, severity, role, title)
    assert banner.key == f"7:{key}"
    assert banner.connection_id == 7


def test_every_state_but_working_has_a_banner_case():
    assert {case.values[0].state for case in CASES} == set(State) - {State.WORKING}


@pytest.mark.parametrize(
    ("fallback", "consequence"),
    [
        (True, "Until you add it, changes you make in Azure DevOps are recorded as ALM Service Account."),
        (False, "Until you add it, you cannot change work items in Azure DevOps from here."),
    ],
)
def test_missing_token_banner_says_what_happens_meanwhile(fallback, consequence):
    banner = banner_for(standing=_standing(TokenState(State.MISSING), fallback=fallback))

    assert banner is not None
    assert banner.detail == consequence


def test_no_banner_for_a_working_token():
    assert banner_for(standing=_standing(TokenState(State.WORKING, EXPIRY, 30))) is None


def test_no_banner_without_a_connection():
    assert banner_for(standing=None) is None


def test_no_banner_for_a_connection_that_is_not_the_default():
    assert banner_for(standing=_standing(TokenState(State.MISSING), default=False)) is None


def test_dismissed_banner_stays_hidden_only_for_the_state_dismissed():
    standing = _standing(TokenState(State.EXPIRING, EXPIRY, 9))

    assert banner_for(standing=standing, dismissed="7:expiring") is None
    assert banner_for(standing=standing, dismissed="7:unverified") is not None


# --- On the pages -----------------------------------------------------------------------------------------


def test_banner_warns_user_without_token_and_links_to_the_form(alice_client, connection):
    response = alice_client.get(reverse("profile"))

    assertContains(response, "<strong>Your personal profile ALM token is not present.</strong>", html=True)
    banner = find_element(response.content.decode(), id="alm-banner")
    assert banner is not None
    assert "recorded as ALM Service Account" in element_text(banner)
    assert dict(banner.attributes)["role"] == "alert"
    link = find_element(banner, href=f"{reverse('alm_credentials')}#connection-{connection.pk}")
    assert link is not None
    assert element_text(link) == "Go to Profile"


def test_banner_without_fallback_says_changes_are_blocked(alice_client, connection):
    connection.allow_service_account_fallback = False
    connection.save()
    assert "you cannot change work items" in _text(alice_client)


def test_no_banner_without_any_connection(alice_client):
    assert _banner(alice_client) is None


def test_no_banner_on_sign_in_page(client, connection):
    assert _banner(client, reverse("login")) is None


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
    assert text in _text(alice_client)


def test_banner_for_expired_token_names_the_date(alice_client, alice_credential):
    expired = timezone.now() - timedelta(days=2)
    AlmCredential.objects.filter(pk=alice_credential.pk).update(
        status="rejected", rejected_reason="expired", expires_on=expired
    )
    assert f"expired on {expired:%d %b %Y}" in _text(alice_client)


def test_banner_for_token_expiring_within_14_days(alice_client, alice_credential):
    AlmCredential.objects.filter(pk=alice_credential.pk).update(expires_on=timezone.now() + timedelta(days=10))
    banner = _banner(alice_client)
    assert banner is not None
    text = element_text(banner)
    assert "expires in 9 days" in text or "expires in 10 days" in text
    assert dict(banner.attributes)["role"] == "status"


def test_banner_dismissed_for_the_session_until_state_changes(alice_client, alice_credential, connection):
    AlmCredential.objects.filter(pk=alice_credential.pk).update(expires_on=timezone.now() + timedelta(days=5))
    key = f"{connection.pk}:expiring"
    alice_client.post(reverse("dismiss_banner"), {"state": key, "next": reverse("profile")})
    assert _banner(alice_client) is None
    AlmCredential.objects.filter(pk=alice_credential.pk).update(status="rejected", rejected_reason="revoked")
    assert "was revoked" in _text(alice_client)


def test_dismiss_refuses_offsite_redirect(alice_client, connection):
    response = alice_client.post(reverse("dismiss_banner"), {"state": "x", "next": "https://evil.example/"})
    assert response["Location"] == reverse("home")


def _queries(client, url) -> int:
    with CaptureQueriesContext(db_connection) as ctx:
        client.get(url)
    return len(ctx.captured_queries)


def test_banner_costs_no_query_once_kept_and_no_azure_devops_call(alice_client, alice_credential, ado, settings):
    from django.core.cache import cache

    # A page that needs no standing of its own (the home page reads the banner's query for its own text).
    page = reverse("password_change")
    alice_client.get(page)  # the session exists from here on, and the banner's rows are kept
    ado.clear_requests()
    kept = _queries(alice_client, page)
    cache.clear()
    cold = _queries(alice_client, page)
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
    # The connections and the person's credentials come from the shared cache (alm.listing,
    # profiles.kept); with nothing kept, one query for each.
    assert kept - without_banner == 0
    assert cold - without_banner == 2
    assert ado.requests == []
