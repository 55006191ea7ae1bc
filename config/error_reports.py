"""Django's error reports (e-mails to ADMINS, the debug page) with every password in a URL masked."""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@host: the password part of any URL-shaped setting (CACHE_URL's LOCATION,
# DATABASE_URL, EMAIL_URL, a broker URL...), and of the same variables in the request's environment.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:)(?P<password>[^\s/@]+)(?=@)")


class SafeSettingsFilter(SafeExceptionReporterFilter):
    """Django's filter (keys named like API, TOKEN, KEY, SECRET, PASS...) plus passwords inside URLs."""

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if not isinstance(cleansed, str):  # lazy settings pass as str too: read them through str()
            return cleansed
        text = str(cleansed)
        masked = _URL_PASSWORD.sub(lambda match: match["head"] + self.cleansed_substitute, text)
        return masked if masked != text else cleansed
