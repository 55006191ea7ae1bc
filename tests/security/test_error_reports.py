"""Django's error report (the ADMINS e-mail) masks every password inside a URL: settings and the environment."""

from __future__ import annotations

import sys

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

REDIS_PASSWORD = "redis-pw-4f9a1c"
DATABASE_PASSWORD = "db-pw-77e0b2"
MAIL_PASSWORD = "smtp-pw-13d5aa"


def report_of_an_error(request) -> str:
    try:
        raise RuntimeError("something broke")
    except RuntimeError:
        reporter = ExceptionReporter(request, *sys.exc_info(), is_email=True)
    return reporter.get_traceback_html() + reporter.get_traceback_text()


@pytest.fixture
def url_settings(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"redis://:{REDIS_PASSWORD}@cache.internal:6379/1",
        }
    }
    settings.ALM_BROKER_URL = f"amqp://almlink:{DATABASE_PASSWORD}@queue.internal:5672//"
    settings.ALM_REPLICAS = [f"postgres://almlink:{DATABASE_PASSWORD}@replica.internal:5432/almlink"]


def test_report_masks_passwords_in_url_settings(url_settings):
    report = report_of_an_error(RequestFactory().get("/"))

    assert REDIS_PASSWORD not in report
    assert DATABASE_PASSWORD not in report
    assert "redis://:********************@cache.internal:6379/1" in report
    assert "queue.internal" in report  # the rest of the URL stays, to tell which service it was


def test_report_masks_passwords_in_the_request_environment():
    # runserver (wsgiref) copies the process environment into every request's META.
    request = RequestFactory().get(
        "/",
        CACHE_URL=f"redis://:{REDIS_PASSWORD}@cache.internal:6379/1",
        DATABASE_URL=f"postgres://almlink:{DATABASE_PASSWORD}@db.internal:5432/almlink",
        EMAIL_URL=f"smtp+tls://almlink:{MAIL_PASSWORD}@mail.internal:587",
    )

    report = report_of_an_error(request)

    assert REDIS_PASSWORD not in report
    assert DATABASE_PASSWORD not in report
    assert MAIL_PASSWORD not in report
    assert "db.internal" in report


def test_report_still_masks_what_django_masks(settings):
    settings.ALM_SERVICE_PASSWORD = DATABASE_PASSWORD
    assert DATABASE_PASSWORD not in report_of_an_error(RequestFactory().get("/"))
