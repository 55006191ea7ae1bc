"""Password guessing locks sign-in for that user name from that address (django-axes), on both sign-in pages;
an administrator can lift the lock; correct sign-ins never count."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from tests.helpers import text_of

pytestmark = pytest.mark.django_db

LOGIN_PAGES = [reverse("login"), reverse("admin:login")]
ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.20"


def sign_in(client: Client, page: str, username: str, password: str, address: str = ATTACKER):
    return client.post(page, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in_as(client: Client) -> str | None:
    response = client.get(reverse("profile"))
    return response.wsgi_request.user.username if response.status_code == HTTPStatus.OK else None


@pytest.fixture
def staff_bob(bob):
    bob.is_staff = True  # the admin's sign-in page accepts staff only
    bob.save()
    return bob


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_wrong_passwords_lock_the_user_name_from_that_address(client, staff_bob, password, settings, page):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, page, "bob", "wrong-guess").status_code == HTTPStatus.OK

    locked = sign_in(client, page, "bob", "wrong-guess")
    right_password = sign_in(client, page, "bob", password)

    assert locked.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert right_password.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Sign-in is locked for 15 minutes" in text_of(right_password.content.decode())
    assert signed_in_as(client) is None


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_lockout_leaves_other_addresses_and_other_user_names_alone(client, staff_bob, alice, password, settings, page):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, page, "bob", "wrong-guess")

    assert sign_in(Client(), page, "bob", password, address=ELSEWHERE).status_code == HTTPStatus.FOUND
    assert sign_in(Client(), reverse("login"), "alice", password).status_code == HTTPStatus.FOUND


def test_three_hundred_guesses_then_the_right_password_is_refused(client, bob, password):
    answers = {sign_in(client, reverse("login"), "bob", f"guess-{n}").status_code for n in range(300)}

    assert HTTPStatus.TOO_MANY_REQUESTS in answers
    assert sign_in(client, reverse("login"), "bob", password).status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert signed_in_as(client) is None


def test_administrator_unlocks_by_deleting_the_access_attempt(client, admin_client, bob, password, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, reverse("login"), "bob", "wrong-guess")
    attempt = AccessAttempt.objects.get(username="bob", ip_address=ATTACKER)
    assert admin_client.get(reverse("admin:axes_accessattempt_changelist")).status_code == HTTPStatus.OK

    response = admin_client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})

    assert response.status_code == HTTPStatus.FOUND
    assert sign_in(client, reverse("login"), "bob", password).status_code == HTTPStatus.FOUND
    assert signed_in_as(client) == "bob"


def test_correct_sign_ins_never_count_towards_a_lockout(client, bob, password, settings):
    for _ in range(3 * settings.AXES_FAILURE_LIMIT):
        assert sign_in(client, reverse("login"), "bob", password).status_code == HTTPStatus.FOUND
        client.post(reverse("logout"))
        sign_in(client, reverse("login"), "bob", "one-typo")

    assert sign_in(client, reverse("login"), "bob", password).status_code == HTTPStatus.FOUND


def test_sign_in_works_when_the_cache_is_down(client, bob, password, settings, caplog):
    """The lockout fails open, as the other limits do (README, Security): a cache outage is no site outage."""
    from tests.security.support import closed_port

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/3",
        }
    }

    assert sign_in(client, reverse("login"), "bob", "wrong-guess").status_code == HTTPStatus.OK
    assert sign_in(client, reverse("login"), "bob", password).status_code == HTTPStatus.FOUND
    assert "sign-in lockout is not enforced (fail open)" in caplog.text
