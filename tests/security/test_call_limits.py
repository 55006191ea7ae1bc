"""Per-user limits on pages that call Azure DevOps, and the limits when the shared cache is down (they fail open)."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from tests.helpers import text_of
from tests.security.support import closed_port

pytestmark = pytest.mark.django_db

CREDENTIALS = reverse("alm_credentials")


def test_work_item_pages_stop_at_the_per_user_limit_with_a_clear_page(alice_client, connection, ado, settings):
    settings.ALM_USER_CALLS_PER_MINUTE = 3
    for _ in range(3):
        assert alice_client.get(reverse("work_items"), {"per_page": 1000}).status_code == HTTPStatus.OK
    ado.clear_requests()

    response = alice_client.get(reverse("work_items"), {"per_page": 1000})

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 0 < int(response["Retry-After"]) <= 60
    assert "more than 3 pages that ask Azure DevOps within a minute" in text_of(response.content.decode())
    assert ado.requests == []  # refused before any call to Azure DevOps


def test_the_limit_counts_the_list_the_edit_and_the_delete_pages_together(alice_client, connection, ado, settings):
    from tests.helpers import demo_item_ids

    settings.ALM_USER_CALLS_PER_MINUTE = 2
    item_id = demo_item_ids(ado)[0]
    assert alice_client.get(reverse("work_items")).status_code == HTTPStatus.OK
    assert alice_client.get(reverse("work_item_edit", args=[item_id])).status_code == HTTPStatus.OK

    assert alice_client.get(reverse("work_item_delete", args=[item_id])).status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert alice_client.post(reverse("work_item_edit", args=[item_id]), {}).status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_one_user_reaching_the_limit_leaves_the_others_alone(alice_client, client, bob, connection, settings):
    settings.ALM_USER_CALLS_PER_MINUTE = 1
    alice_client.get(reverse("work_items"))
    assert alice_client.get(reverse("work_items")).status_code == HTTPStatus.TOO_MANY_REQUESTS

    client.force_login(bob)
    assert client.get(reverse("work_items")).status_code == HTTPStatus.OK


@pytest.fixture
def redis_down(settings):
    """The shared cache configured, and not answering (nothing listens on its port)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/3",
        }
    }


def test_test_connection_answers_when_the_cache_is_down(alice_client, connection, alice_pat, redis_down, caplog):
    response = alice_client.post(CREDENTIALS, {"connection": connection.pk, "token": alice_pat, "action": "test"})

    assert response.status_code == HTTPStatus.OK
    assert "Confirmed" in text_of(response.content.decode())
    assert "limit is not enforced (fail open)" in caplog.text


def test_work_items_answer_when_the_cache_is_down(alice_client, connection, redis_down):
    assert alice_client.get(reverse("work_items")).status_code == HTTPStatus.OK
