"""Forms of the work item pages (validation only; no network)."""

from __future__ import annotations

from typing import Any, TypedDict, cast

from django import forms

from workitems.services import ALL_STATES, TYPES


class WorkItemFilterForm(forms.Form):
    type = forms.ChoiceField(choices=[("", "All types"), *[(t, t) for t in TYPES]], required=False)
    state = forms.ChoiceField(choices=[("", "All states"), *[(s, s) for s in ALL_STATES]], required=False)
    page = forms.IntegerField(min_value=1, required=False)
    per_page = forms.IntegerField(min_value=1, max_value=1000, required=False)


class WorkItemChange(TypedDict):
    rev: int
    title: str
    state: str
    expected_actor: str | None


class WorkItemEditForm(forms.Form):
    title = forms.CharField(max_length=255, strip=True)
    state = forms.ChoiceField(choices=())
    # The revision the user saw: the change only applies if Azure DevOps is still there.
    rev = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    # In whose name the page promised the change would be recorded; if that changed meanwhile
    # (the user's token was refused), the change is not made under another name.
    actor = forms.ChoiceField(
        choices=[("", ""), ("user", "user"), ("service_account", "service account")],
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args: Any, states: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["state"]).choices = [(s, s) for s in states]

    def change(self) -> WorkItemChange:
        """The change to make, as `workitems.services.update_work_item` takes it."""
        data = self.cleaned_data
        return {
            "rev": data["rev"],
            "title": data["title"],
            "state": data["state"],
            "expected_actor": data["actor"] or None,
        }
