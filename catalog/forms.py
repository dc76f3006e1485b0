"""What curators type into the catalog: the shortlist form, its description field, notes' rules."""

from __future__ import annotations

from django import forms

from catalog.models import Shortlist
from catalog.shortlists import MAX_NOTE_LENGTH

MAX_DESCRIPTION_LENGTH = 2000
# Bidirectional controls reorder the text after them: "\u202eevil\u202c" shows as "live".
BIDI_CONTROLS = dict.fromkeys(
    map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


def plain_text(value: str) -> str:
    """What a curator typed, without bidirectional controls or surrounding space."""
    return value.translate(BIDI_CONTROLS).strip()


class PlainTextField(forms.CharField):
    def to_python(self, value):
        return plain_text(super().to_python(value))


def too_long(what: str, limit: int, length: int) -> str:
    """The one way a length limit is said, for notes and descriptions alike."""
    return f"Keep the {what} to at most {limit:,} characters (it has {length:,})."


def description_field() -> forms.CharField:
    """The shortlist description as this page and the admin take it: at most 2,000 characters."""
    field = PlainTextField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": MAX_DESCRIPTION_LENGTH}),
        help_text=f"What the list is for (at most {MAX_DESCRIPTION_LENGTH:,} characters).",
    )
    field.validators.append(_description_length)
    return field


def _description_length(value: str) -> None:
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise forms.ValidationError(
            too_long("description", MAX_DESCRIPTION_LENGTH, len(value)), code="max_length"
        )


class ShortlistForm(forms.ModelForm):
    description = description_field()

    class Meta:
        model = Shortlist
        fields = ["title", "description"]

    def clean_title(self) -> str:
        title = plain_text(self.cleaned_data["title"])
        # Any script's letters or digits ("商品写真" is a fine title; "!!!" is not).
        if not any(ch.isalnum() for ch in title):
            raise forms.ValidationError("Use at least one letter or digit in the title.")
        return title


def note_problem(note: str) -> str:
    """What is wrong with a note, the same when it is added and when it is edited."""
    if len(note) > MAX_NOTE_LENGTH:
        return too_long("note", MAX_NOTE_LENGTH, len(note))
    # PostgreSQL refuses NUL in text (a 500); Django's form fields reject it the same way.
    return "Notes cannot contain null characters." if "\x00" in note else ""
