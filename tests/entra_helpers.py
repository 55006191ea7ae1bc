"""Walking the emulator's Entra ID sign-in page without a browser, as a tester would click through it."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse

from ado_emulator import Emulator
from alm.entra import EntraConfig
from alm.entra_services import forget_app_tokens
from profiles.entra import forget_access_tokens
from workitems import services as workitems

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def entra_config(ado: Emulator, **changes) -> EntraConfig:
    """The emulator's demo app registration as the app configures it."""
    values = ado.entra.config()
    config = {
        "tenant_id": values["tenant_id"],
        "client_id": values["client_id"],
        "client_secret": values["client_secret"],
        "authority_host": ado.entra.base_url,
        "ca_bundle": values["ca_bundle"],
        "timeout": 5.0,
    }
    config.update(changes)
    return EntraConfig(**config)


def authority_session(ado: Emulator) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = ado.entra.ca_bundle
    return session


def walk_sign_in(ado: Emulator, auth_url: str, *, email: str, decision: str = "accept") -> tuple[str, dict[str, str]]:
    """Open the authorize page, pick `email`, press Accept (or Cancel). Returns (redirect target, its query)."""
    http = authority_session(ado)
    page = http.get(auth_url, timeout=5)
    page.raise_for_status()
    form = {name: html.unescape(value) for name, value in _HIDDEN.findall(page.text)}
    identity = ado.state.identity_by_email(email)
    assert identity is not None, email
    action = auth_url.split("?", 1)[0]
    answer = http.post(
        action, data={**form, "account": identity.id, "decision": decision}, allow_redirects=False, timeout=5
    )
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    query = {key: values[0] for key, values in parse_qs(location.query).items()}
    return f"{location.scheme}://{location.netloc}{location.path}", query


@pytest.fixture
def entra_settings(settings, ado):
    """Point the app at the emulator's Entra ID authority and trust its CA (import this fixture to use it)."""
    settings.ALM_ENTRA_AUTHORITY_HOST = ado.entra.base_url
    settings.ALM_ENTRA_CA_BUNDLE = ado.entra.ca_bundle
    # The test client's host: as an administrator registers the app's redirect URI.
    ado.entra.add_redirect_uri(f"http://testserver{reverse('entra_callback')}")
    forget_app_tokens()
    forget_access_tokens()
    yield ado.entra
    forget_app_tokens()
    forget_access_tokens()


def configure_entra(connection, ado, **changes):
    """Give a connection the emulator's demo app registration."""
    values = ado.entra.config()
    connection.credential_types = changes.pop("credential_types", "both")
    connection.entra_tenant_id = values["tenant_id"]
    connection.entra_client_id = values["client_id"]
    connection.entra_client_secret = values["client_secret"]
    for name, value in changes.items():
        setattr(connection, name, value)
    connection.save()
    return connection


def change_title(user, connection, ado, title, item_id=1):
    """Change a demo work item's title through the app as `user`, keeping its state. Returns (actor, item)."""
    item = ado.work_item("fabrikam", item_id)
    return workitems.update_work_item(
        user=user,
        connection=connection,
        work_item_id=item_id,
        rev=item["rev"],
        title=title,
        state=item["fields"]["System.State"],
    )
