"""The encryption key: a wrong key loses nothing and breaks no page; rotation re-encrypts everything at once.

(A missing or malformed key failing `manage.py check` with the variable's name: tests/test_foundation.py.)
"""

from __future__ import annotations

import io
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError
from django.db import connection as db
from django.urls import reverse

from alm.fields import is_unreadable
from alm.models import AlmConnection
from profiles.models import AlmCredential
from profiles.services import save_credential
from tests.helpers import demo_item_ids, text_of

pytestmark = pytest.mark.django_db

KEY_A = "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM="  # config/test_settings.py
KEY_B = "X3i3wUDjHaRFFWnfNk1pSuLABmKwqZseMPPSEf9Xo14="  # sha256("second-test-key"), generated format
KEY_C = "tqbWX0mpqDdRlBpqrCn_qNevpVAdc9LyL6_mn2mdSq4="  # sha256("third-test-key")
CREDENTIALS = reverse("alm_credentials")


def raw_tokens() -> dict[str, bytes]:
    """Every stored ciphertext, straight from the database."""
    with db.cursor() as cursor:
        cursor.execute("SELECT id, service_token FROM alm_almconnection")
        stored = {f"connection {pk}": bytes(value) for pk, value in cursor.fetchall()}
        cursor.execute("SELECT id, token FROM profiles_almcredential")
        stored |= {f"credential {pk}": bytes(value) for pk, value in cursor.fetchall()}
    return stored


@pytest.fixture
def saved(connection, alice, bob, alice_credential, alice_pat, bob_pat) -> dict[str, str]:
    """Alice's and Bob's tokens and the service account's, all saved with key A."""
    bob_credential, _ = save_credential(user=bob, connection=connection, token=bob_pat)
    assert bob_credential is not None
    return {
        "alice": alice_pat,
        "bob": bob_pat,
        "service": AlmConnection.objects.get(pk=connection.pk).service_token,
    }


def tokens_now(connection: AlmConnection) -> dict[str, object]:
    credentials = {c.user.username: c.token for c in AlmCredential.objects.select_related("user")}
    return {**credentials, "service": AlmConnection.objects.get(pk=connection.pk).service_token}


# --- A wrong key --------------------------------------------------------------------------------------


def test_wrong_key_breaks_no_page_and_asks_for_the_token_again(
    alice_client, admin_client, connection, saved, settings, ado
):
    before = raw_tokens()
    settings.ALM_ENCRYPTION_KEY = KEY_B
    item_id = demo_item_ids(ado)[0]

    pages = {
        "home": alice_client.get("/"),
        "profile": alice_client.get(reverse("profile")),
        "credentials": alice_client.get(CREDENTIALS),
        "test saved": alice_client.post(CREDENTIALS, {"connection": connection.pk, "token": "", "action": "test"}),
        "work items": alice_client.get(reverse("work_items")),
        "work item": alice_client.get(reverse("work_item_edit", args=[item_id])),
        "edit": alice_client.post(
            reverse("work_item_edit", args=[item_id]), {"title": "x", "state": "To Do", "rev": 1}
        ),
        "delete": alice_client.post(reverse("work_item_delete", args=[item_id]), follow=True),
        "admin list": admin_client.get(reverse("admin:alm_almconnection_changelist")),
        "admin change": admin_client.get(reverse("admin:alm_almconnection_change", args=[connection.pk])),
        "admin test": admin_client.post(reverse("admin:alm_almconnection_test", args=[connection.pk]), follow=True),
        "admin credentials": admin_client.get(reverse("admin:profiles_almcredential_changelist")),
        "admin overview": admin_client.get(reverse("admin:profiles_credential_overview")),
    }

    assert {name: r.status_code for name, r in pages.items() if r.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR} == {}
    assert "Re-enter your token" in text_of(pages["credentials"].content.decode())
    assert "can no longer be read" in text_of(pages["home"].content.decode())
    assert "can no longer be read" in text_of(pages["test saved"].content.decode())
    assert "service account token is missing, unreadable" in text_of(pages["work items"].content.decode())
    assert "cannot be decrypted" in text_of(pages["admin change"].content.decode())
    assert "cannot be decrypted" in text_of(pages["admin test"].content.decode())
    assert "unreadable" in text_of(pages["admin overview"].content.decode())
    assert raw_tokens() == before  # nothing deleted, nothing rewritten
    assert ado.work_item("fabrikam", item_id)["fields"]["System.Title"] != "x"


def test_wrong_key_then_right_key_gives_every_token_back(admin_client, connection, saved, settings):
    settings.ALM_ENCRYPTION_KEY = KEY_B
    assert all(is_unreadable(token) for token in tokens_now(connection).values())
    # Saving the rows (the admin form without a new token, a status change) keeps their ciphertext.
    change = reverse("admin:alm_almconnection_change", args=[connection.pk])
    admin_client.post(
        change,
        {
            "name": "Renamed",
            "kind": connection.kind,
            "url": connection.url,
            "default_project": connection.default_project,
            "is_default": "on",
            "save_anyway": "on",
        },
    )
    for credential in AlmCredential.objects.all():
        credential.save()
    call_command("check_alm_tokens", stdout=io.StringIO())

    settings.ALM_ENCRYPTION_KEY = KEY_A

    assert AlmConnection.objects.get(pk=connection.pk).name == "Renamed"
    assert tokens_now(connection) == saved


def test_wrong_key_lets_the_user_enter_the_token_again(alice_client, alice, connection, saved, settings):
    settings.ALM_ENCRYPTION_KEY = KEY_B

    response = alice_client.post(CREDENTIALS, {"connection": connection.pk, "token": saved["alice"], "action": "save"})

    assert response.status_code == HTTPStatus.FOUND
    assert AlmCredential.objects.get(user=alice).token == saved["alice"]
    assert "can no longer be read" not in alice_client.get("/").content.decode()


def test_daily_check_counts_unreadable_tokens_and_keeps_them(connection, saved, settings):
    before = raw_tokens()
    settings.ALM_ENCRYPTION_KEY = KEY_B
    out = io.StringIO()

    call_command("check_alm_tokens", stdout=out)

    assert "2 unreadable" in out.getvalue()
    assert raw_tokens() == before


# --- Rotation -----------------------------------------------------------------------------------------


@pytest.fixture
def stray(django_user_model, connection, ado, settings) -> bytes:
    """A credential encrypted with a third key, known to neither side of the rotation; its ciphertext."""
    carol = django_user_model.objects.create_user("carol", email="carol@fabrikam.example")
    settings.ALM_ENCRYPTION_KEY = KEY_C
    credential = AlmCredential.objects.create(user=carol, connection=connection, token="stray-token-under-key-c")
    settings.ALM_ENCRYPTION_KEY = KEY_A
    return raw_tokens()[f"credential {credential.pk}"]


def rotate(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("rotate_encryption_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_rotation_re_encrypts_every_token_and_reports_counts(connection, saved, stray, settings, monkeypatch):
    before = raw_tokens()
    settings.ALM_ENCRYPTION_KEY = KEY_B
    monkeypatch.setenv("ALM_ENCRYPTION_KEY_OLD", KEY_A)

    out, err = rotate()

    # "1 empty": the connection's Entra ID client secret, unused here.
    assert out.strip() == "3 re-encrypted, 0 already current, 1 unreadable with either key, 1 empty."
    assert "left untouched" in err
    now = tokens_now(connection)
    assert {name: now[name] for name in saved} == saved
    after = raw_tokens()
    assert [name for name in before if after[name] == before[name]] == [
        name for name, value in after.items() if value == stray
    ]
    assert all(after[name] != before[name] for name in after if after[name] != stray)


def test_rotation_run_twice_reports_everything_current(connection, saved, stray, settings, monkeypatch):
    settings.ALM_ENCRYPTION_KEY = KEY_B
    monkeypatch.setenv("ALM_ENCRYPTION_KEY_OLD", KEY_A)
    rotate()
    once = raw_tokens()

    out, _err = rotate()

    assert out.strip() == "0 re-encrypted, 3 already current, 1 unreadable with either key, 1 empty."
    assert raw_tokens() == once
    now = tokens_now(connection)
    assert {name: now[name] for name in saved} == saved


def test_rotation_dry_run_changes_nothing(connection, saved, settings, monkeypatch):
    before = raw_tokens()
    settings.ALM_ENCRYPTION_KEY = KEY_B
    monkeypatch.setenv("ALM_ENCRYPTION_KEY_OLD", KEY_A)

    out, _err = rotate("--dry-run")

    assert out.strip() == "Dry run: 3 re-encrypted, 0 already current, 0 unreadable with either key, 1 empty."
    assert raw_tokens() == before


def test_old_key_taken_from_the_named_variable(connection, saved, settings, monkeypatch):
    settings.ALM_ENCRYPTION_KEY = KEY_B
    monkeypatch.setenv("PREVIOUS_ALM_KEY", KEY_A)

    out, _err = rotate("--old-key-env", "PREVIOUS_ALM_KEY")

    assert out.startswith("3 re-encrypted")
    now = tokens_now(connection)
    assert {name: now[name] for name in saved} == saved


@pytest.mark.parametrize(
    ("old", "words"),
    [
        (None, "ALM_ENCRYPTION_KEY_OLD must hold the previous key: it is empty"),
        ("ключ", "ALM_ENCRYPTION_KEY_OLD must hold the previous key: it is not a key in the generated format"),
        ("c2hvcnQ=", "ALM_ENCRYPTION_KEY_OLD must hold the previous key: it is not a key in the generated format"),
        (KEY_B, "ALM_ENCRYPTION_KEY_OLD is the same as ALM_ENCRYPTION_KEY"),
    ],
)
def test_rotation_refuses_a_missing_malformed_or_unchanged_old_key(
    connection, saved, settings, monkeypatch, old, words
):
    before = raw_tokens()
    settings.ALM_ENCRYPTION_KEY = KEY_B
    if old is None:
        monkeypatch.delenv("ALM_ENCRYPTION_KEY_OLD", raising=False)
    else:
        monkeypatch.setenv("ALM_ENCRYPTION_KEY_OLD", old)

    with pytest.raises(CommandError) as caught:
        rotate()

    assert words in str(caught.value)
    if old and old != KEY_B:
        assert old not in str(caught.value)
    assert raw_tokens() == before


@pytest.mark.django_db(transaction=True)
def test_rotation_is_one_transaction(connection, saved, settings, monkeypatch):
    """A failure half-way (the database refuses the last write) leaves every token under the old key."""
    before = raw_tokens()
    settings.ALM_ENCRYPTION_KEY = KEY_B
    monkeypatch.setenv("ALM_ENCRYPTION_KEY_OLD", KEY_A)
    writes: list[str] = []

    def fail_the_third_write(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("UPDATE"):
            writes.append(sql)
            if len(writes) == 3:
                raise DatabaseError("could not write: disk full")
        return execute(sql, params, many, context)

    with db.execute_wrapper(fail_the_third_write), pytest.raises(DatabaseError):
        rotate()

    assert len(writes) == 3
    assert raw_tokens() == before
    settings.ALM_ENCRYPTION_KEY = KEY_A
    assert tokens_now(connection) == saved


def test_dumpdata_writes_ciphertext_and_loaddata_restores_the_token(alice_credential, connection, tmp_path):
    """A fixture is a backup that holds no token in clear, and still restores every token."""
    from django.core.management import call_command

    from profiles.models import AlmCredential

    token = alice_credential.token
    dump = tmp_path / "backup.json"
    call_command("dumpdata", "alm.almconnection", "profiles.almcredential", output=str(dump))
    text = dump.read_text()
    assert token not in text
    assert connection.service_token not in text
    assert '"token": "encrypted:' in text
    AlmCredential.objects.all().delete()
    call_command("loaddata", str(dump), verbosity=0)
    assert AlmCredential.objects.get(pk=alice_credential.pk).token == token


def test_rotation_fails_when_no_token_reads_with_either_key(connection, saved, settings, monkeypatch):
    """Both keys wrong (a typo, another environment's key): an error exit, not a quiet "0 re-encrypted"."""
    before = raw_tokens()
    settings.ALM_ENCRYPTION_KEY = KEY_C
    monkeypatch.setenv("ALM_ENCRYPTION_KEY_OLD", KEY_B)

    with pytest.raises(CommandError) as caught:
        rotate()

    assert "No stored token could be read with ALM_ENCRYPTION_KEY or ALM_ENCRYPTION_KEY_OLD" in str(caught.value)
    assert "3 unreadable with either key" in str(caught.value)
    assert raw_tokens() == before


# --- Rotation while the site serves ---------------------------------------------------------------


def test_old_key_still_reads_every_token_while_the_site_serves(
    alice_client, connection, saved, settings, monkeypatch, ado
):
    """New key set, previous key as ALM_ENCRYPTION_KEY_OLD: pages read every token before the rotation runs."""
    settings.ALM_ENCRYPTION_KEY = KEY_B
    settings.ALM_ENCRYPTION_KEY_OLD = KEY_A

    assert tokens_now(connection) == saved
    response = alice_client.post(CREDENTIALS, {"connection": connection.pk, "token": "", "action": "test"})
    assert response.status_code == HTTPStatus.OK
    assert "cannot be decrypted" not in text_of(response.content.decode())
    assert alice_client.get(reverse("work_items")).status_code == HTTPStatus.OK


def test_rotation_while_serving_re_encrypts_what_the_old_key_reads(connection, saved, settings, monkeypatch):
    before = raw_tokens()
    settings.ALM_ENCRYPTION_KEY = KEY_B
    settings.ALM_ENCRYPTION_KEY_OLD = KEY_A
    monkeypatch.setenv("ALM_ENCRYPTION_KEY_OLD", KEY_A)

    out, _err = rotate()

    # The one empty value is the connection's unused Entra ID client secret.
    assert out.strip() == "3 re-encrypted, 0 already current, 0 unreadable with either key, 1 empty."
    assert all(raw_tokens()[name] != before[name] for name in before)
    settings.ALM_ENCRYPTION_KEY_OLD = ""
    assert tokens_now(connection) == saved


def test_tokens_saved_during_the_rotation_use_the_new_key(alice, connection, saved, settings, alice_pat):
    settings.ALM_ENCRYPTION_KEY = KEY_B
    settings.ALM_ENCRYPTION_KEY_OLD = KEY_A
    AlmCredential.objects.filter(user=alice).update(token=alice_pat)  # saved again by a page during the rotation

    settings.ALM_ENCRYPTION_KEY_OLD = ""
    assert AlmCredential.objects.get(user=alice).token == alice_pat


def test_each_key_is_derived_once_per_process(connection, saved, settings):
    from alm.crypto import derive_keys

    settings.ALM_ENCRYPTION_KEY = KEY_B
    settings.ALM_ENCRYPTION_KEY_OLD = KEY_A
    derive_keys.cache_clear()
    for _ in range(5):
        tokens_now(connection)

    assert derive_keys.cache_info().misses == 2


# --- The key's format ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("A" * 43 + "=", id="all zero"),
        pytest.param("cGFzc3dvcmRwYXNzd29yZHBhc3N3b3JkcGFzc3dvcmQ=", id="repeated word"),
        pytest.param("correct horse battery staple is my passphrase", id="passphrase"),
        pytest.param("correcthorsebatterystapleismypassphrase1234", id="passphrase of 43 characters"),
        pytest.param("5f78b7c140e31da4451569df364d694ae2c00662b0a99b1e30f3d211ff57a35e", id="hex"),
        pytest.param("X3i3wUDjHaRFFWnfNk1pSuLABmKwqZseMPPSEf9Xo14=!", id="stray character"),
        pytest.param("X3i3wUDjHaRFFWnfNk1pSu LABmKwqZseMPPSEf9Xo14=", id="inner space"),
        pytest.param("X3i3wUDjHaRFFWnfNk1pSuLABmKwqZseMPPSEf9Xo14", id="padding missing"),
        pytest.param("X3i3wUDjHaRFFWnfNk1pSuLABmKwqZseMPPSEf9Xo15=", id="stray bits in the last character"),
        pytest.param("X3i3wUDjHaRFFWnfNk1pSuLABmKwqZseMPPSEf9Xo14=X3i3", id="longer"),
        pytest.param("tqbWX0mpqDdRlBpqrCn/qNevpVAdc9LyL6/mn2mdSq4=", id="standard base64"),
    ],
)
def test_key_in_any_other_format_than_the_generated_one_is_refused(key):
    from alm.crypto import EncryptionKeyError, parse_key

    with pytest.raises(EncryptionKeyError) as caught:
        parse_key(key)
    assert key not in str(caught.value)


def test_generated_keys_are_accepted():
    from alm.crypto import generate_key, parse_key

    assert all(len(parse_key(generate_key())) == 32 for _ in range(50))


@pytest.mark.parametrize("name", ["ALM_ENCRYPTION_KEY", "ALM_ENCRYPTION_KEY_OLD"])
def test_a_malformed_key_stops_the_start_naming_the_variable(name):
    from tests.helpers import GOOD_KEY, run_manage

    env = {"ALM_ENCRYPTION_KEY": GOOD_KEY, name: "A" * 43 + "="}
    result = run_manage("check", DJANGO_SECRET_KEY="x" * 60, **env)
    assert result.returncode != 0
    assert f"{name} is malformed: it is not random" in result.stderr
