"""The connections every page lists come from the shared cache (alm.listing): fresh after every change, never
holding a secret, and read from the database when the cache is down."""

from __future__ import annotations

import pickle

import pytest
from django.db.models import BinaryField, ExpressionWrapper, F
from django.urls import reverse

from alm import listing
from alm.models import AlmConnection

pytestmark = pytest.mark.django_db


def test_a_renamed_connection_shows_on_the_next_page(alice_client, connection):
    assert "Fabrikam" in alice_client.get(reverse("profile")).content.decode()
    connection.name = "Contoso"
    connection.save()
    page = alice_client.get(reverse("profile")).content.decode()
    assert "Contoso" in page
    assert "Fabrikam" not in page


def test_a_new_and_a_deleted_connection_show_on_the_next_page(alice_client, connection):
    url = "https://dev.azure.com/northwind"
    other = AlmConnection.objects.create(name="Northwind", url=url, service_token="s" * 52)
    assert "Northwind" in alice_client.get(reverse("profile")).content.decode()
    other.delete()
    assert "Northwind" not in alice_client.get(reverse("profile")).content.decode()


def test_a_connection_is_read_from_the_database_once_then_from_the_cache(connection, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert [c.pk for c in listing.listed_connections()] == [connection.pk]
    with django_assert_num_queries(0):
        assert [c.name for c in listing.listed_connections()] == ["Fabrikam"]


def test_the_cache_never_holds_a_secret(connection):
    connection.entra_client_secret = "client-secret-value-for-the-listing-test"
    connection.save()
    as_stored = {f"raw_{name}": ExpressionWrapper(F(name), output_field=BinaryField()) for name in listing.SECRETS}
    stored = AlmConnection.objects.filter(pk=connection.pk).annotate(**as_stored).values_list(*as_stored).get()
    listing.listed_connections()
    kept = pickle.dumps(listing.cache.get(listing.KEY))
    for secret in (connection.service_token, connection.entra_client_secret):
        assert secret.encode() not in kept
    for ciphertext in stored:
        assert bytes(ciphertext) not in kept


def test_a_secret_read_from_a_listed_connection_comes_from_the_database(connection):
    listed = listing.listed_connections()[0]
    assert listed.service_token == connection.service_token


def test_with_the_cache_down_the_database_answers(alice_client, connection, settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"},
    }
    assert [c.name for c in listing.listed_connections()] == ["Fabrikam"]
