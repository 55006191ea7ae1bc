"""A typo in the organization name is named as such, not as a missing "controller for path"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from alm.check import check_token
from alm.exceptions import OrganizationNotFound
from alm.models import AlmConnection


def test_unknown_organization_is_named_with_where_it_was_looked_for(ado, make_client, alice_token):
    client = make_client(alice_token, url=f"{ado.base_url}/fabrikma")
    with pytest.raises(OrganizationNotFound) as caught:
        check_token(client, project="Fabrikam Fiber")
    assert caught.value.message == (
        f"There is no organization named “fabrikma” at {ado.base_url}. Check its spelling in the connection's URL."
    )
    assert "controller" not in caught.value.message


@pytest.mark.django_db
def test_test_connection_with_a_mistyped_organization_says_so(alice_client, connection, ado, alice_pat):
    AlmConnection.objects.filter(pk=connection.pk).update(url=f"{ado.base_url}/fabrikma")
    html = alice_client.post(
        reverse("alm_credentials"), {"connection": connection.pk, "token": alice_pat, "action": "test"}
    ).content.decode()
    assert f"There is no organization named “fabrikma” at {ado.base_url}." in html
    assert "The token did not work" not in html
    assert "controller for path" not in html
