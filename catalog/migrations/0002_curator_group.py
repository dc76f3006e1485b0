"""The "curator" group: may add, change, delete and view shortlists and their entries."""

from __future__ import annotations

from django.contrib.auth.management import create_permissions
from django.db import migrations

CURATOR_GROUP = "curator"
CODENAMES = [
    f"{action}_{model}"
    for model in ("shortlist", "shortlistentry")
    for action in ("add", "change", "delete", "view")
]


def create_curator_group(apps, schema_editor):
    # Permissions are normally made after all migrations (post_migrate); make them now.
    catalog = apps.get_app_config("catalog")
    catalog.models_module = True
    create_permissions(catalog, apps=apps, verbosity=0)
    catalog.models_module = None

    Group = apps.get_model("auth", "Group")  # noqa: N806
    Permission = apps.get_model("auth", "Permission")  # noqa: N806
    group, _ = Group.objects.get_or_create(name=CURATOR_GROUP)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="catalog", codename__in=CODENAMES)
    )


def remove_curator_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=CURATOR_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("catalog", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_curator_group, remove_curator_group)]
