"""Leak proof: with real tokens saved, no page, header, log line, database column, repr or error report holds one."""

from __future__ import annotations

import io
import logging
import pprint
import re
from collections import deque
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.management import call_command
from django.db import DatabaseError
from django.db import connection as db
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.views.debug import ExceptionReporter

from alm.client import AdoClient
from alm.crypto import derive_keys
from alm.fields import UnreadableToken
from alm.forms import AlmConnectionForm
from alm.models import AlmConnection
from profiles.forms import TokenForm
from profiles.models import AlmCredential
from profiles.services import check_credential
from tests.helpers import demo_item_ids
from tests.security.support import closed_port, database_text, leaks, sessions_text
from workitems import services as work

pytestmark = pytest.mark.django_db

CREDENTIALS = reverse("alm_credentials")
# Links never to follow while crawling: they end the session.
NOT_CRAWLED = ("/accounts/logout/", "/admin/logout/", "/static/")
MAX_PAGES = 400
FAULTS = [
    ("status", {"status": 500}),
    ("status", {"status": 503}),
    ("throttle", {"retry_after": 30}),
    ("sign_in", {}),
    ("malformed_json", {}),
    ("truncated", {}),
    ("reset", {}),
    ("hang", {"seconds": 0.6}),
]


@pytest.fixture
def tokens(connection, alice_credential, alice_pat) -> tuple[str, str]:
    """The two tokens saved: Alice's own and the connection's service account token."""
    return alice_pat, AlmConnection.objects.get(pk=connection.pk).service_token


@pytest.fixture
def history(alice_client, alice_credential, connection, ado):
    """Some activity to show: an edit by Alice, a refused change, a tested connection."""
    item_id = demo_item_ids(ado)[0]
    item = ado.work_item("fabrikam", item_id)
    alice_client.post(
        reverse("work_item_edit", args=[item_id]),
        {"title": "Renamed for the crawl", "state": item["fields"]["System.State"], "rev": item["rev"]},
    )
    alice_client.post(
        reverse("work_item_edit", args=[item_id]),
        {"title": "Stale edit", "state": item["fields"]["System.State"], "rev": item["rev"]},
    )
    return item_id


def links_of(response, base: str) -> list[str]:
    if "html" not in response.get("Content-Type", ""):
        return []
    found = re.findall(r'(?:href|src|action)="([^"#]+)', response.content.decode())
    urls = []
    for link in found:
        target = urljoin(base, link.replace("&amp;", "&"))
        parts = urlsplit(target)
        if parts.netloc in ("", "testserver") and not parts.path.startswith(NOT_CRAWLED):
            urls.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return urls


def crawl(client: Client, *starts: str) -> dict[str, object]:
    """GET every page reachable from `starts` by links: each path once (and each start as given)."""
    seen: set[str] = set()
    pages: dict[str, object] = {}
    queue = deque(starts)
    while queue and len(pages) < MAX_PAGES:
        url = queue.popleft()
        path = urlsplit(url).path
        if url in pages or (path in seen and url not in starts):
            continue
        seen.add(path)
        response = client.get(url)
        pages[url] = response
        if response.status_code in (HTTPStatus.FOUND, HTTPStatus.MOVED_PERMANENTLY):
            queue.append(response["Location"])
        queue.extend(links_of(response, url))
    return pages


def everything_in(response) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in response.items())
    cookies = "\n".join(str(morsel) for morsel in response.cookies.values())
    # getvalue(): the whole body of a streamed answer too (the overview's CSV).
    return f"{headers}\n{cookies}\n{response.getvalue().decode('utf-8', 'replace')}"


def assert_no_leak(pages: dict[str, object], *tokens: str) -> None:
    leaked = {url: leaks(everything_in(response), *tokens) for url, response in pages.items()}
    assert {url: found for url, found in leaked.items() if found} == {}


# --- Pages ---------------------------------------------------------------------------------------------


def test_crawl_as_the_user_shows_no_token(alice_client, tokens, history):
    pages = crawl(alice_client, "/", reverse("work_items"), reverse("work_item_edit", args=[history]))

    assert len(pages) >= 8
    assert {reverse("profile"), CREDENTIALS, reverse("work_items")} <= set(pages)
    assert all(response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR for response in pages.values())
    assert_no_leak(pages, *tokens)


def test_crawl_as_admin_shows_no_token(admin_client, connection, alice_credential, tokens, history):
    pages = crawl(admin_client, "/", "/admin/", reverse("admin:profiles_credential_overview") + "?format=csv")

    paths = {urlsplit(url).path for url in pages}
    assert reverse("admin:alm_almconnection_change", args=[connection.pk]) in paths
    assert reverse("admin:profiles_almcredential_change", args=[alice_credential.pk]) in paths
    assert reverse("admin:workitems_auditrecord_changelist") in paths
    assert len(pages) >= 40
    assert all(response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR for response in pages.values())
    assert_no_leak(pages, *tokens)


def test_form_answers_show_no_token(alice_client, admin_client, connection, tokens, ado):
    alice_pat, service_token = tokens
    other = ado.issue_pat(ado.state.identity_by_email("alice@fabrikam.example"), scopes="vso.profile")
    change = reverse("admin:alm_almconnection_change", args=[connection.pk])
    admin_form = {
        "name": connection.name,
        "kind": connection.kind,
        "url": connection.url,
        "default_project": connection.default_project,
        "is_default": "on",
    }
    pages = {
        "test": alice_client.post(CREDENTIALS, {"connection": connection.pk, "token": alice_pat, "action": "test"}),
        "fetch": alice_client.post(
            CREDENTIALS,
            {"connection": connection.pk, "token": alice_pat, "action": "test"},
            headers={"X-Requested-With": "fetch"},
        ),
        "test saved": alice_client.post(CREDENTIALS, {"connection": connection.pk, "token": "", "action": "test"}),
        "failed save": alice_client.post(CREDENTIALS, {"connection": connection.pk, "token": other, "action": "save"}),
        "save": alice_client.post(
            CREDENTIALS, {"connection": connection.pk, "token": alice_pat, "action": "save"}, follow=True
        ),
        "admin test": admin_client.post(reverse("admin:alm_almconnection_test", args=[connection.pk]), follow=True),
        "admin failed replace": admin_client.post(change, {**admin_form, "token": other}),
        "admin replace": admin_client.post(change, {**admin_form, "token": service_token}, follow=True),
    }

    assert pages["failed save"].status_code == HTTPStatus.OK
    assert pages["admin failed replace"].status_code == HTTPStatus.OK
    assert_no_leak(pages, alice_pat, service_token, other)


def test_error_pages_with_debug_off_show_no_token(alice_client, admin_client, alice, connection, tokens, settings):
    settings.DEBUG = False
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    pages = {
        "404": alice_client.get("/no-such-page/"),
        "404 admin": admin_client.get("/admin/alm/almconnection/999999/change/", follow=True),
        "404 work item": alice_client.get("/work-items/987654/"),
        "400": alice_client.post(CREDENTIALS, {"connection": "abc", "token": tokens[0], "action": "test"}),
        "403 csrf": strict.post(CREDENTIALS, {"connection": connection.pk, "token": tokens[0], "action": "save"}),
        "405": admin_client.get(reverse("admin:alm_almconnection_test", args=[connection.pk])),
    }

    assert [page.status_code for page in pages.values()] == [
        HTTPStatus.NOT_FOUND,
        HTTPStatus.OK,  # the admin's "does not exist" message on its index
        HTTPStatus.NOT_FOUND,
        HTTPStatus.BAD_REQUEST,
        HTTPStatus.FORBIDDEN,
        HTTPStatus.METHOD_NOT_ALLOWED,
    ]
    assert_no_leak(pages, *tokens)


def test_server_error_page_and_report_hide_the_token(alice_client, connection, alice_pat, settings, caplog):
    settings.DEBUG = False
    settings.ADMINS = [("Ops", "ops@fabrikam.example")]
    alice_client.raise_request_exception = False

    with db.execute_wrapper(failing_writes_to("profiles_almcredential", "token")):
        response = alice_client.post(CREDENTIALS, {"connection": connection.pk, "token": alice_pat, "action": "save"})

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert b"Something went wrong" in response.content
    report = error_report(caplog)
    assert "disk I/O error" in report
    assert "********************" in report  # the filter ran: the token's POST value is starred out
    assert leaks(everything_in(response), alice_pat) == []
    assert leaks(report, alice_pat) == []
    assert settings.ALM_ENCRYPTION_KEY not in report
    assert settings.SECRET_KEY not in report
    assert len(mail.outbox) == 1
    assert leaks(mail_text(mail.outbox[0]), alice_pat) == []


def test_server_error_while_replacing_a_saved_token_hides_both(
    alice_client, alice_credential, connection, settings, ado, caplog
):
    settings.DEBUG = False
    settings.ADMINS = [("Ops", "ops@fabrikam.example")]
    alice_client.raise_request_exception = False
    fresh = ado.issue_pat(
        ado.state.identity_by_email("alice@fabrikam.example"), scopes=ALL_FIVE, display_name="almlink"
    )

    with db.execute_wrapper(failing_writes_to("profiles_almcredential", "token")):
        response = alice_client.post(CREDENTIALS, {"connection": connection.pk, "token": fresh, "action": "save"})

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    report = error_report(caplog)
    assert leaks(report, fresh, alice_credential.token) == []
    assert leaks(mail_text(mail.outbox[0]), fresh, alice_credential.token) == []
    assert AlmCredential.objects.get(pk=alice_credential.pk).token == alice_credential.token


def test_server_error_in_the_admin_hides_the_service_token(admin_client, connection, ado, settings, caplog):
    settings.DEBUG = False
    settings.ADMINS = [("Ops", "ops@fabrikam.example")]
    admin_client.raise_request_exception = False
    service_token = AlmConnection.objects.get(pk=connection.pk).service_token
    data = {
        "name": connection.name,
        "kind": connection.kind,
        "url": connection.url,
        "default_project": connection.default_project,
        "is_default": "on",
        "token": service_token,
    }

    with db.execute_wrapper(failing_writes_to("alm_almconnection", "service_token")):
        response = admin_client.post(reverse("admin:alm_almconnection_change", args=[connection.pk]), data)

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    report = error_report(caplog)
    assert "********************" in report
    assert leaks(report, service_token) == []
    assert leaks(mail_text(mail.outbox[0]), service_token) == []


ALL_FIVE = "vso.memberentitlementmanagement vso.project_manage vso.tokenadministration vso.tokens vso.work_full"


def failing_writes_to(table: str, column: str):
    """A database that fails every write of `column` in `table` (as a full disk would), to provoke a real 500."""

    def execute(run, sql, params, many, context):
        if table in sql and column in sql and sql.lstrip().upper().startswith(("INSERT", "UPDATE")):
            raise DatabaseError("disk I/O error")
        return run(sql, params, many, context)

    return execute


def error_report(caplog) -> str:
    """The full HTML error report Django builds for the logged 500 (what an include_html e-mail carries)."""
    records = [r for r in caplog.records if r.name == "django.request" and r.exc_info and hasattr(r, "request")]
    assert records, "no 500 was logged"
    record = records[-1]
    reporter = ExceptionReporter(record.request, *record.exc_info, is_email=True)
    return reporter.get_traceback_html() + reporter.get_traceback_text()


def mail_text(message) -> str:
    return "\n".join([message.subject, message.body, *(content for content, _type in message.alternatives)])


# --- Logs -----------------------------------------------------------------------------------------------


@pytest.fixture
def every_log(caplog):
    """All log output at DEBUG, requests and urllib3 included, SQL too."""
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "urllib3.connectionpool", "requests", "django.db.backends", "alm", "profiles"):
        caplog.set_level(logging.DEBUG, logger=name)
    with CaptureQueriesContext(db) as queries:
        yield caplog, queries


def test_debug_logs_hold_no_token_through_test_save_edit_and_failures(
    alice_client, admin_client, alice, connection, alice_pat, ado, every_log, settings
):
    caplog, queries = every_log
    settings.ALM_HTTP_TIMEOUT = 0.3
    settings.ALM_CREDENTIAL_RATE_LIMIT = 1000
    service_token = AlmConnection.objects.get(pk=connection.pk).service_token
    item_id = demo_item_ids(ado)[0]
    post = {"connection": connection.pk, "token": alice_pat}

    alice_client.post(CREDENTIALS, {**post, "action": "test"})
    alice_client.post(CREDENTIALS, {**post, "action": "save"})
    item = ado.work_item("fabrikam", item_id)
    alice_client.post(
        reverse("work_item_edit", args=[item_id]),
        {"title": "Logged edit", "state": item["fields"]["System.State"], "rev": item["rev"]},
    )
    admin_client.post(reverse("admin:alm_almconnection_test", args=[connection.pk]))
    for kind, params in FAULTS:
        ado.clear_faults()
        ado.set_fault(kind, **params)
        alice_client.post(CREDENTIALS, {**post, "action": "test"})
        alice_client.get(reverse("work_items"))
        alice_client.post(
            reverse("work_item_edit", args=[item_id]), {"title": "During a fault", "state": "To Do", "rev": 1}
        )
        admin_client.post(reverse("admin:alm_almconnection_test", args=[connection.pk]))
    ado.clear_faults()
    for broken in (
        f"http://127.0.0.1:{closed_port()}/fabrikam",  # refused
        "http://ado.invalid/fabrikam",  # DNS
        connection.url.replace("http://", "https://"),  # TLS to a plain-HTTP port
    ):
        AlmConnection.objects.filter(pk=connection.pk).update(url=broken)
        alice_client.get(reverse("work_items"))
        alice_client.post(CREDENTIALS, {**post, "action": "test"})
    AlmConnection.objects.filter(pk=connection.pk).update(url=connection.url)
    ado.revoke_pat(alice_pat)
    alice_client.get(reverse("work_items"))

    logged = caplog.text + "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert any(record.name.startswith("urllib3") for record in caplog.records)
    assert any(record.name == "alm.client" for record in caplog.records)
    assert any(record.name == "django.db.backends" for record in caplog.records)
    assert leaks(logged, alice_pat, service_token) == []
    assert leaks("\n".join(f"{q['sql']}" for q in queries.captured_queries), alice_pat, service_token) == []


# --- The database, reprs and forms ----------------------------------------------------------------------


def test_no_table_of_the_database_holds_a_token_in_the_clear(alice_client, tokens, history):
    everything = database_text()
    sessions = sessions_text()

    assert Session.objects.exists()
    assert leaks(everything, *tokens) == []
    assert leaks(sessions, *tokens) == []
    with db.cursor() as cursor:
        cursor.execute("SELECT token FROM profiles_almcredential")
        raw = bytes(cursor.fetchone()[0])
    assert raw.startswith(b"\x80")  # a Fernet token's version byte: ciphertext, not text


def test_repr_and_str_of_everything_holding_a_token_redact_it(
    alice, connection, alice_credential, alice_pat, ado, settings
):
    connection = AlmConnection.objects.get(pk=connection.pk)
    credential = AlmCredential.objects.get(pk=alice_credential.pk)
    actor = work.actor_for(user=alice, connection=connection, for_change=True)
    client = AdoClient(connection.url, alice_pat, timeout=1.0)
    token_form = TokenForm({"connection": connection.pk, "token": alice_pat}, action="save")
    token_form.is_valid()
    admin_form = AlmConnectionForm(
        {"name": "N", "kind": "services", "url": connection.url, "token": alice_pat}, instance=connection
    )
    admin_form.is_valid()
    outcome = check_credential(user=alice, connection=connection, token=alice_pat)
    page = work.list_work_items(user=alice, connection=connection)
    holders = [
        connection,
        credential,
        actor,
        client,
        client._session,
        client._session.auth,
        token_form,
        token_form["token"],
        admin_form,
        admin_form["token"],
        outcome,
        page,
        UnreadableToken(b"\x80ciphertext"),
        derive_keys(settings.ALM_ENCRYPTION_KEY, settings.ALM_ENCRYPTION_SALT),
    ]

    shown = "\n".join(f"{holder!r} {holder!s} {pprint.pformat(holder)}" for holder in holders)
    client.close()

    assert actor.token == alice_pat  # the actor does hold it...
    assert leaks(shown, alice_pat, connection.service_token) == []  # ...and never shows it
    assert settings.ALM_ENCRYPTION_KEY not in shown
    assert "<redacted>" in repr(client)
    assert "<unreadable token>" in repr(UnreadableToken(b"x"))


def test_the_token_fields_never_render_their_value(connection, alice_pat):
    token_form = TokenForm({"connection": connection.pk, "token": alice_pat}, action="save")
    token_form.is_valid()
    admin_form = AlmConnectionForm({"name": "N", "kind": "services", "url": connection.url, "token": alice_pat})
    admin_form.is_valid()

    rendered = f"{token_form['token']}{token_form.as_div()}{admin_form['token']}{admin_form.as_div()}"

    assert rendered.count('type="password"') >= 2
    assert leaks(rendered, alice_pat) == []


def test_daily_check_and_its_emails_hold_no_token(
    admin_user, alice, connection, alice_credential, alice_pat, ado, every_log
):
    caplog, _queries = every_log
    service_token = AlmConnection.objects.get(pk=connection.pk).service_token
    ado.revoke_pat(alice_pat)
    ado.revoke_pat(service_token)
    out = io.StringIO()

    call_command("check_alm_tokens", stdout=out)

    assert {message.to[0] for message in mail.outbox} >= {alice.email, admin_user.email}
    assert leaks("\n".join(mail_text(message) for message in mail.outbox), alice_pat, service_token) == []
    assert leaks(out.getvalue() + caplog.text, alice_pat, service_token) == []
