"""Django admin for shortlists: entries inline, endpoint ids checked against fal before saving."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.forms.formsets import DELETION_FIELD_NAME

from catalog import services
from catalog.forms import description_field
from catalog.models import Shortlist, ShortlistEntry
from fal.errors import FalAPIError


class ShortlistAdminForm(forms.ModelForm):
    description = description_field()

    class Meta:
        model = Shortlist
        fields = ["title", "slug", "description", "curator"]


class ShortlistEntryInlineForm(forms.ModelForm):
    class Meta:
        model = ShortlistEntry
        fields = ["position", "endpoint_id", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2, "cols": 60})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Left empty, a new entry goes to the end of the list. An empty form must show it
        # empty: the model's default (0) in the box would put every new entry first.
        self.fields["position"].required = False
        self.fields["position"].help_text = "Lower numbers come first; empty: at the end."
        if self.instance.pk is None:
            self.initial["position"] = None


class ShortlistEntryFormSet(forms.BaseInlineFormSet):
    """Checks every new or changed endpoint id against the index (fal's find mode for an id
    the index lacks).

    Unchanged entries are not re-checked, so a model that has since left fal's catalog
    does not block editing the rest of the list (the shortlist page flags it instead).
    Validation happens before anything is saved: an unknown id or an API failure leaves
    the shortlist and all its entries as they were.
    """

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            f for f in self.forms if f.cleaned_data and not f.cleaned_data.get(DELETION_FIELD_NAME)
        ]
        to_check = {
            f.cleaned_data["endpoint_id"]: f
            for f in kept
            if f.cleaned_data.get("endpoint_id")
            and (f.instance.pk is None or "endpoint_id" in f.changed_data)
        }
        if to_check:
            catalog = services.catalog_index()
            unknown = []
            for endpoint_id in to_check:
                try:
                    model = services.catalog_model_find_or_add(endpoint_id, index=catalog)
                except FalAPIError as error:
                    raise forms.ValidationError(
                        "The endpoint ids could not be checked because fal's API failed "
                        f"({error.message}). Nothing was saved; try again in a moment."
                    ) from error
                if model is None or catalog.is_gone(endpoint_id):
                    unknown.append(endpoint_id)
            for endpoint_id in unknown:
                to_check[endpoint_id].add_error(
                    "endpoint_id",
                    f"Unknown endpoint id “{endpoint_id}”: fal's catalog has no such model.",
                )
        # New entries without a position go to the end, in the order they were typed.
        positions = [f.cleaned_data.get("position") for f in kept]
        last = max([p for p in positions if p is not None], default=0)
        for form in kept:
            if form.cleaned_data.get("position") is None:
                last += 1
                form.cleaned_data["position"] = last
                form.instance.position = last


class ShortlistEntryInline(admin.TabularInline):
    model = ShortlistEntry
    form = ShortlistEntryInlineForm
    formset = ShortlistEntryFormSet
    fields = ["position", "endpoint_id", "note", "added_by", "added_at"]
    readonly_fields = ["added_by", "added_at"]
    ordering = ["position", "pk"]
    extra = 3


@admin.register(Shortlist)
class ShortlistAdmin(admin.ModelAdmin):
    form = ShortlistAdminForm
    list_display = ["title", "slug", "curator", "entry_count", "updated_at"]
    search_fields = ["title", "slug", "description", "entries__endpoint_id"]
    prepopulated_fields = {"slug": ["title"]}
    fields = ["title", "slug", "description", "curator"]
    list_select_related = ["curator"]
    inlines = [ShortlistEntryInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entry_count=Count("entries"))

    @admin.display(description="entries", ordering="entry_count")
    def entry_count(self, obj: Shortlist) -> int:
        return obj.entry_count  # type: ignore[attr-defined]  # annotated by get_queryset

    def save_model(self, request, obj: Shortlist, form, change: bool) -> None:
        if obj.curator_id is None:
            obj.curator = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change: bool) -> None:
        entries = formset.save(commit=False)
        for entry in entries:
            if entry.pk is None:
                entry.added_by = request.user
            entry.save()
        for entry in formset.deleted_objects:
            entry.delete()
        formset.save_m2m()
