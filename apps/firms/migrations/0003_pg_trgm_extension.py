"""pg_trgm in the public schema with the shared tables (the firms' trigram search indexes).

Every firm's schema migration creates it too (accounts 0012), but a database that holds only the
shared tables, e.g. one a firm's backup is restored into, has no firm schema yet: without the
extension there, the restored schema's ``gin_trgm_ops`` indexes fail to load.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("firms", "0002_platform_audit_event"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
            reverse_sql=migrations.RunSQL.noop,  # firms' indexes may still use it
        ),
    ]
