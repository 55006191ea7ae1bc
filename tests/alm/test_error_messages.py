"""Every sentence an error shows is a template keyed by code (`default_messages`): each code raised has one,
each reason fills it, an unknown code fails loudly, and no template has a place for a token."""

from __future__ import annotations

import ast
import string
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alm import exceptions as ado
from alm.exceptions import AlmlinkError
from alm.scopes import REQUIRED_PERMISSIONS
from profiles.services import CredentialError, RateLimited
from workitems.services import ActingRefused, ChangedAsSomeoneElse

ROOT = Path(__file__).resolve().parents[2]
APPS = ("alm", "profiles", "workitems")
URL = "https://dev.azure.com/fabrikam"
TOKEN = "7kq2m4xw9p3n5r8t6v2b4c7d9f3h5j8l2n4p6r8t3v5x7z9b2d4f"  # the shape of a PAT, not a real one


def error_classes() -> list[type[AlmlinkError]]:
    """AlmlinkError and every subclass the apps define (importing them above registers them)."""
    found: list[type[AlmlinkError]] = []
    todo = [AlmlinkError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [cls for cls in found if cls.__module__.split(".")[0] in APPS]


def uses_base_constructor(cls: type[AlmlinkError]) -> bool:
    """Raised as `Cls(code, **params)`; the others compute their parameters and use their class's code."""
    return cls.__init__ is AlmlinkError.__init__


def fields(template: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def sample_errors() -> list[AlmlinkError]:
    """One of every class that words its own parameters, with every reason it knows and an unknown one."""
    when = datetime(2025, 3, 1, tzinfo=UTC)
    return [
        *(ado.TokenRejected(reason, url=URL) for reason in [*ado.TokenRejected.REASONS, "no_such_reason"]),
        ado.TokenRejected("unknown"),
        ado.TokenExpired(),
        ado.TokenExpired(when, activity_id="a1"),
        ado.TokenUnreadable(),
        ado.TokenUnreadable("The saved client secret"),
        *(ado.PermissionMissing(permission) for permission in REQUIRED_PERMISSIONS),
        ado.AccessDenied("VS403403: no access."),
        ado.NotFound("Work item 7"),
        ado.NotFound("Work item 7", "TF401232: it does not exist"),
        ado.OrganizationNotFound(URL),
        ado.OrganizationNotFound("https://fabrikam.visualstudio.com"),
        ado.OrganizationNotFound("https://tfs.example/tfs/DefaultCollection", kind="server"),
        ado.Conflict(),
        ado.Conflict(4),
        ado.RequestRejected("TF401320: Rule Error for field Title."),
        ado.Throttled(),
        ado.Throttled(2.5),
        ado.ServiceFailing(503),
        ado.ServiceFailing(500, "maintenance"),
        ado.RequestTimedOut(10),
        ado.RequestTimedOut(2.5, url=URL),
        *(ado.Unreachable(reason, url=URL) for reason in [*ado.Unreachable.REASONS, "no_such_reason"]),
        ado.Unreachable("dns"),
        ado.UnexpectedAnswer("HTTP 302"),
        ado.TokenNotBound(),
        *(ado.SignInEnded(reason) for reason in [*ado.SignInEnded.REASONS, "no_such_reason"]),
        ado.SignInEnded("revoked", code=50173),
        *(ado.SignInFailed(reason) for reason in [*ado.SignInFailed.REASONS, "no_such_reason"]),
        ado.SignInFailed("declined", detail="the user declined"),
        ado.SignInFailed("code_used", code=54005),
        *(ado.EntraMisconfigured(reason) for reason in [*ado.EntraMisconfigured.REASONS, "no_such_reason"]),
        ado.EntraMisconfigured("secret", code=7000215),
        RateLimited(30),
        *(
            ChangedAsSomeoneElse(shown="Bob Example <bob@fabrikam.example>", promised="you", whose=whose)
            for whose in ChangedAsSomeoneElse.ADVICE
        ),
    ]


def codes_raised() -> list[tuple[str, str, str]]:
    """(class, code, where) for every `Cls("code", ...)` in the apps, Cls raised by code."""
    by_code = {cls.__name__ for cls in error_classes() if uses_base_constructor(cls)}
    found = []
    for path in sorted(p for app in APPS for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in by_code:
                continue
            code = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "code"), None)
            assert isinstance(code, ast.Constant), f"{path.relative_to(ROOT)}:{node.lineno}: a code is a literal"
            found.append((name, code.value, f"{path.relative_to(ROOT)}:{node.lineno}"))
    return found


def test_every_class_that_words_its_own_parameters_is_sampled():
    sampled = {type(error) for error in sample_errors()}
    assert {cls for cls in error_classes() if not uses_base_constructor(cls)} <= sampled


@pytest.mark.parametrize("error", sample_errors(), ids=lambda error: f"{type(error).__name__}-{error.code}")
def test_each_class_code_has_its_sentence(error):
    assert error.code == type(error).code
    assert error.code in type(error).default_messages  # the sentence is the class's own, in its own dict
    assert error.message
    assert str(error) == error.message == error.args[0]
    assert "{" not in error.message  # every field of the template was filled


def test_every_code_raised_in_the_apps_has_a_sentence_in_its_class():
    classes = {cls.__name__: cls for cls in error_classes()}
    raised = codes_raised()

    assert {name for name, _, _ in raised} >= {"CredentialError", "ActingRefused"}
    for name, code, where in raised:
        assert code in classes[name].merged_messages(), where


@pytest.mark.parametrize("cls", [CredentialError, ActingRefused], ids=lambda cls: cls.__name__)
def test_each_code_of_a_class_raised_by_code_words_a_sentence(cls):
    for code, template in cls.default_messages.items():
        error = cls(code, **dict.fromkeys(fields(template), "x"))
        assert (error.code, str(error)) == (code, template.format(**dict.fromkeys(fields(template), "x")))


def test_an_unknown_code_fails_loudly():
    with pytest.raises(KeyError):
        CredentialError("no_such_code")
    with pytest.raises(KeyError):
        ActingRefused("no_such_code")
    with pytest.raises(KeyError):
        AlmlinkError()  # the base words nothing itself
    with pytest.raises(KeyError):
        CredentialError("failed")  # a parameter its sentence needs is missing


def test_a_subclass_entry_overrides_and_extends_its_bases():
    error = ado.SignInEnded("revoked")

    assert error.messages == ado.SignInEnded.merged_messages()
    assert error.messages["token_rejected"] == ado.TokenRejected.default_messages["token_rejected"]
    assert error.messages["sign_in_ended"] == ado.SignInEnded.default_messages["sign_in_ended"]
    assert "connection_failed" in error.messages  # from AdoError
    assert error.message.startswith("Your Microsoft sign-in was revoked")


def test_sentences_stay_word_for_word():
    assert str(ado.TokenRejected("revoked", url=URL)) == (
        "The personal access token has been revoked. Create a new token in Azure DevOps "
        "(User settings → Personal access tokens) for the organization https://dev.azure.com/fabrikam and save it here."
    )
    assert str(ado.Throttled(2)) == (
        "Azure DevOps is rate-limiting requests from this account (HTTP 429). Try again in 2 seconds."
    )
    assert str(ado.TokenExpired(datetime(2025, 3, 1, tzinfo=UTC))).startswith(
        "The personal access token expired on 2025-03-01. In Azure DevOps"
    )
    assert str(RateLimited(30)) == "Too many attempts in a short time. Try again in 30 seconds."
    assert RateLimited(30).code == "rate_limited"
    assert str(CredentialError("failed", problem="it lacks Work Items")) == (
        "The new token was created but failed its test: it lacks Work Items"
    )
    assert str(ActingRefused("no_token")) == (
        "Changes need your own Azure DevOps token here, and you have no working one. "
        "Add it under Profile → ALM Credentials."
    )
    assert str(ChangedAsSomeoneElse(shown="Bob", promised="you", whose="service_account")) == (
        "Azure DevOps recorded this change under the name Bob, not as you. "
        "The service account token belongs to someone else: tell an administrator."
    )


def test_server_text_with_braces_is_shown_as_is():
    assert str(ado.RequestRejected("rule {Title} failed")) == "Azure DevOps refused the request: rule {Title} failed"


def test_connection_failures_have_one_wording_for_anyone_but_a_superuser():
    for error in (ado.Unreachable("refused", url=URL), ado.RequestTimedOut(10, url=URL)):
        assert ado.message_for(error, detailed=True) == error.message
        assert ado.message_for(error, detailed=False) == (
            f"Cannot connect to Azure DevOps at {URL}. Check the URL; a superuser can test the connection "
            "to see the cause."
        )
    assert ado.message_for(ado.Unreachable("dns"), detailed=False).startswith("Cannot connect to Azure DevOps. ")


def test_no_template_has_a_place_for_a_secret():
    for cls in error_classes():
        for code, template in cls.default_messages.items():
            for name in fields(template):
                assert not any(word in name.lower() for word in ("token", "secret", "password", "key")), (cls, code)


def test_a_token_passed_by_mistake_is_never_shown():
    """Parameters a template does not name are dropped: a stray token keyword reaches no message."""
    for cls in (CredentialError, ActingRefused):
        for code, template in cls.default_messages.items():
            error = cls(code, token=TOKEN, **dict.fromkeys(fields(template), "x"))
            assert TOKEN not in error.message
            assert TOKEN not in repr(error)
