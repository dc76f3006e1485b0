"""The watch form: a name, what it watches (a grid URL, a shortlist, or `subject=usage`: the
models the team calls), the kinds of change, and where word goes. The same fields make the
form contract of `POST /watches/`."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from catalog.models import Shortlist
from watches.models import Watch
from watches.services import check_webhook_url, grid_query_text
from watches.subjects import ENDPOINT_TOPICS, SEARCH

ALL_TOPICS = (*SEARCH.topics, *ENDPOINT_TOPICS)


class WatchForm(forms.Form):
    name = forms.CharField(max_length=120)
    url = forms.CharField(
        max_length=2000, required=False, label="Search",
        help_text="The address of a grid page, e.g. /?category=text-to-video&max_price=0.1",
    )  # fmt: skip
    shortlist = forms.ModelChoiceField(
        queryset=Shortlist.objects.all(), required=False, empty_label="—", to_field_name="slug"
    )
    # Only "usage" is ever given: a search and a shortlist are told by `url` and `shortlist`.
    subject = forms.ChoiceField(choices=[("", "—"), ("usage", "Models we call")], required=False)
    topics = forms.MultipleChoiceField(
        choices=ALL_TOPICS, required=False, widget=forms.CheckboxSelectMultiple,
        label="Tell me about",
    )  # fmt: skip
    team = forms.BooleanField(required=False, label="For the whole team")
    email = forms.BooleanField(required=False, label="Also by mail")
    digest = forms.BooleanField(required=False, label="Mail and webhook once a day")
    webhook_url = forms.CharField(max_length=1000, required=False, label="Webhook URL")
    format = forms.ChoiceField(choices=Watch.Format.choices, required=False, initial="json")

    def __init__(self, *args, host: str, editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.host, self.editing = host, editing
        self.fields["format"].label = "Webhook body"

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        query = grid_query_text(url, host=self.host) if url else ""
        if len(query) > Watch._meta.get_field("query").max_length:  # type: ignore[operator]
            raise ValidationError("That search is too long to keep: remove some filters.")
        return query

    def clean_webhook_url(self) -> str:
        return check_webhook_url(self.cleaned_data["webhook_url"].strip())

    def clean_format(self) -> str:
        return self.cleaned_data["format"] or "json"

    def clean(self) -> dict:
        data = super().clean() or {}
        if self.editing:
            return data
        given = [data.get("url"), data.get("shortlist"), data.get("subject")]
        if len([g for g in given if g]) > 1:
            raise ValidationError(
                "Watch one thing: a search, a shortlist or the models we call (subject=usage)."
            )
        if not self.errors and not any(given):
            raise ValidationError(
                "Give a search (a grid address), choose a shortlist, or subject=usage."
            )
        return data

    @property
    def subject_key(self) -> str:
        """The key of watches.subjects.SUBJECTS the form asks for."""
        if self.cleaned_data.get("subject"):
            return self.cleaned_data["subject"]
        return "shortlist" if self.cleaned_data.get("shortlist") else "search"
