"""Who may reach what: every URL refuses strangers, the admin refuses non-staff, every POST needs its CSRF token."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from profiles.models import AlmCredential
from tests.security.support import every_url

pytestmark = pytest.mark.django_db

# The sign-in pages are the only pages a stranger gets; logging out is harmless (and POST-only); the icon is static.
PUBLIC = {"login", "admin:login", "logout", "admin:logout", "favicon.ico"}
ALL_URLS = every_url()
GUARDED = [(name, path) for name, path in ALL_URLS if name not in PUBLIC]
ADMIN = [(name, path) for name, path in GUARDED if path.startswith("/admin/")]
# Pages of one model: a staff member without that model's permissions is refused with 403.
ADMIN_MODEL_PAGES = [
    (name, path) for name, path in ADMIN if path.startswith(("/admin/alm/", "/admin/profiles/", "/admin/auth/"))
]


def refused(response) -> bool:
    """A redirect to a sign-in page (the app's or the admin's), or a 403/405 that shows nothing of the app."""
    if response.status_code == HTTPStatus.FOUND:
        return response["Location"].split("?")[0] in (reverse("login"), reverse("admin:login"))
    return response.status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.METHOD_NOT_ALLOWED)


def test_every_url_pattern_is_covered():
    names = {name for name, _path in ALL_URLS}
    assert {"alm_credentials", "work_item_edit", "admin:alm_almconnection_test", "admin:index"} <= names
    assert len(GUARDED) >= 50


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_request_to_any_url_is_sent_to_sign_in(client, connection, method):
    answers = {path: getattr(client, method)(path) for _name, path in GUARDED}

    assert [path for path, response in answers.items() if not refused(response)] == []
    assert [path for path, response in answers.items() if b"Fabrikam" in response.content] == []


def test_admin_refuses_a_signed_in_user_who_is_not_staff(alice_client, connection, alice_credential):
    answers = {path: alice_client.get(path) for _name, path in ADMIN}

    assert [path for path, response in answers.items() if not refused(response)] == []
    assert [path for path, response in answers.items() if b"Fabrikam" in response.content] == []


def _refused_to_staff(client, response) -> bool:
    # 403; 404 for an app with nothing the user may see; 405 for the POST-only test; or a redirect
    # within the admin (the old object URL, or the index for a missing object), which refuses in turn.
    if response.status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND, HTTPStatus.METHOD_NOT_ALLOWED):
        return True
    if response.status_code != HTTPStatus.FOUND or not response["Location"].startswith("/admin/"):
        return False
    target = client.get(response["Location"])
    return target.status_code == HTTPStatus.FORBIDDEN or "permission to view or edit anything" in target.text


@pytest.mark.parametrize("method", ["get", "post"])
def test_admin_refuses_staff_without_the_model_permission(
    client, django_user_model, connection, alice_credential, method
):
    clerk = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(clerk)
    paths = [path.replace("/1/", f"/{connection.pk}/") for _name, path in ADMIN_MODEL_PAGES]

    answers = {path: getattr(client, method)(path) for path in paths}

    assert [path for path, response in answers.items() if not _refused_to_staff(client, response)] == []
    assert [path for path, response in answers.items() if connection.url.encode() in response.content] == []


@pytest.mark.parametrize("who", ["anonymous", "alice", "admin"])
def test_post_without_csrf_token_is_refused_everywhere(connection, alice, alice_credential, admin_user, who):
    client = Client(enforce_csrf_checks=True)
    if who != "anonymous":
        client.force_login(alice if who == "alice" else admin_user)
    # A form that would change something wherever it could be accepted.
    data = {"connection": connection.pk, "token": "x" * 52, "action": "save", "title": "Hijacked", "rev": 1}

    answers = {path: client.post(path.replace("/1/", f"/{connection.pk}/"), data) for _name, path in ALL_URLS}

    assert {path: r.status_code for path, r in answers.items() if r.status_code != HTTPStatus.FORBIDDEN} == {}
    assert all(b"This form has expired" in response.content for response in answers.values())
    assert AlmCredential.objects.get(user=alice).token == alice_credential.token


def test_remove_without_csrf_token_keeps_the_credential(alice, connection, alice_credential):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post(reverse("remove_credential", args=[connection.pk]))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert AlmCredential.objects.filter(user=alice).exists()


def test_post_with_the_csrf_token_is_accepted(alice, connection, alice_credential):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get(reverse("alm_credentials"))
    token = client.cookies["csrftoken"].value

    response = client.post(reverse("remove_credential", args=[connection.pk]), {"csrfmiddlewaretoken": token})

    assert response.status_code == HTTPStatus.FOUND
    assert not AlmCredential.objects.filter(user=alice).exists()
