"""The person's credentials every page reads are kept in the shared cache (profiles.kept): fresh after every
kind of write, never holding the token, and read from the database when the cache is down."""

from __future__ import annotations

import pickle

import pytest
from django.core.cache import cache
from django.db.models import BinaryField, ExpressionWrapper, F
from django.urls import reverse

from alm.token_state import State
from profiles import kept, standing
from profiles.models import AlmCredential

pytestmark = pytest.mark.django_db
MISSING = "Your personal profile ALM token is not present."
REVOKED = "Your personal ALM token was revoked."


def _home(client) -> str:
    return client.get(reverse("home")).content.decode()


def _states(user) -> list[State]:
    return [s.state.state for s in standing.standings_for(user)]


def test_a_saved_token_ends_the_banner_on_the_next_page(alice_client, alice, connection, alice_pat):
    from profiles.services import save_credential

    assert MISSING in _home(alice_client)
    assert save_credential(user=alice, connection=connection, token=alice_pat)[0] is not None
    assert MISSING not in _home(alice_client)


def test_a_row_changed_by_update_shows_on_the_next_page(alice_client, alice_credential):
    assert REVOKED not in _home(alice_client)
    AlmCredential.objects.filter(pk=alice_credential.pk).update(status="rejected", rejected_reason="revoked")
    assert REVOKED in _home(alice_client)


def test_a_removed_token_shows_on_the_next_page(alice_client, alice_credential):
    assert MISSING not in _home(alice_client)
    alice_credential.delete()
    assert MISSING in _home(alice_client)


def test_rows_made_by_bulk_create_show_on_the_next_read(alice, bob, alice_credential, connection):
    assert _states(bob) == [State.MISSING]
    AlmCredential.objects.bulk_create([AlmCredential(user=bob, connection=connection, token="t" * 52, origin="")])
    assert _states(bob) == [State.RETEST]


def test_kept_rows_are_read_without_a_query(alice, alice_credential, django_assert_num_queries):
    standing.standings_for(alice)
    with django_assert_num_queries(0):
        assert _states(alice) == [State.WORKING]


def test_kept_rows_never_hold_the_token(alice, alice_credential):
    standing.standings_for(alice)
    key = kept.entry_key(alice.pk, standing._fingerprint())
    kept_bytes = pickle.dumps(cache.get(key))
    ciphertext = (
        AlmCredential.objects.filter(pk=alice_credential.pk)
        .annotate(raw=ExpressionWrapper(F("token"), output_field=BinaryField()))
        .values_list("raw", flat=True)
        .get()
    )
    assert alice_credential.token.encode() not in kept_bytes
    assert bytes(ciphertext) not in kept_bytes


def test_a_kept_credential_reads_its_token_from_the_database(alice, alice_credential):
    standing.standings_for(alice)
    credential = standing.standings_for(alice)[0].credential
    assert credential is not None
    assert "token" not in credential.__dict__
    assert credential.token == alice_credential.token


def test_a_new_key_reads_afresh(alice, alice_credential, settings):
    assert _states(alice) == [State.WORKING]
    settings.ALM_ENCRYPTION_KEY = "b3RoZXIta2V5LWZvci10aGUta2VwdC10ZXN0cy0zMjE="
    assert _states(alice) == [State.UNREADABLE]


def test_with_the_cache_down_the_database_answers(alice, alice_credential, alice_client, settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/3"},
    }
    assert _states(alice) == [State.WORKING]
    page = alice_client.get(reverse("profile"))
    assert page.status_code == 200
    assert "Working" in page.content.decode()
