"""The editorial roles as groups: editor, reviewer, read_only_staff (see jurisdictions/roles.py).

Reversing removes the three groups (and with them their permission links), nothing else.
"""

from django.db import migrations


def create_roles(apps, schema_editor):
    from jurisdictions.roles import sync_roles

    sync_roles(apps, using=schema_editor.connection.alias)


def remove_roles(apps, schema_editor):
    from jurisdictions.roles import ROLES

    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("jurisdictions", "0003_version_and_review_permissions"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
