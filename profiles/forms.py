"""Forms validate and normalize; they never call the network or encrypt."""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms

MAX_TOKEN_LENGTH = 512


class TokenForm(forms.Form):
    """The ALM Credentials form: one token for one connection."""

    connection = forms.IntegerField(widget=forms.HiddenInput)
    token = forms.CharField(
        label="Personal access token",
        required=False,
        strip=False,
        widget=forms.PasswordInput(
            render_value=False,
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off", "class": "token-input"},
        ),
    )

    def __init__(self, *args: Any, action: str = "test", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action = action

    def clean_token(self) -> str:
        value = self.cleaned_data.get("token") or ""
        value = value.strip()
        if not value:
            if self.action != "test":
                raise forms.ValidationError("Paste your personal access token first.", code="empty")
            return ""
        if len(value) > MAX_TOKEN_LENGTH:
            raise forms.ValidationError(
                f"That is too long for a personal access token ({len(value)} characters; at most "
                f"{MAX_TOKEN_LENGTH}). Copy only the token itself.",
                code="too_long",
            )
        if any(ch.isspace() for ch in value):
            raise forms.ValidationError(
                "A personal access token has no spaces or line breaks. Copy only the token itself.", code="spaces"
            )
        if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in value):
            raise forms.ValidationError(
                "The token contains invisible control characters. Copy it again from Azure DevOps.", code="control"
            )
        if not value.isascii():
            raise forms.ValidationError(
                "A personal access token contains only letters and digits (no accents, symbols or emoji). "
                "Copy it again from Azure DevOps.",
                code="non_ascii",
            )
        return value
