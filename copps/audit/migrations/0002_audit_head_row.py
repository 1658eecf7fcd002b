"""Create the chain's head row up front.

``log.record`` locks this row to append; creating it here means two first writers on PostgreSQL
never race to insert it.
"""

from django.db import migrations


def create_head(apps, schema_editor):
    AuditHead = apps.get_model("audit", "AuditHead")
    AuditHead.objects.get_or_create(id=1)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_head, migrations.RunPython.noop),
    ]
