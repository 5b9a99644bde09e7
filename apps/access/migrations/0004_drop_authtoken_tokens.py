"""DRF's ``authtoken`` tokens are gone: never-expiring, stored in clear. Each firm's
``authtoken_token`` table is dropped with Django's records of the app; API users ask for a new
named token (``POST /api/v1/auth/token/`` or the API tokens page). Irreversible by design: the
old keys must not come back. Raw SQL with unqualified names (search_path is the firm's schema).
"""

from django.db import migrations

DROP_AUTHTOKEN = """
DROP TABLE IF EXISTS authtoken_token;
DELETE FROM auth_user_user_permissions WHERE permission_id IN (
    SELECT p.id FROM auth_permission p JOIN django_content_type c ON c.id = p.content_type_id
    WHERE c.app_label = 'authtoken');
DELETE FROM auth_group_permissions WHERE permission_id IN (
    SELECT p.id FROM auth_permission p JOIN django_content_type c ON c.id = p.content_type_id
    WHERE c.app_label = 'authtoken');
DELETE FROM auth_permission WHERE content_type_id IN (
    SELECT id FROM django_content_type WHERE app_label = 'authtoken');
DELETE FROM django_content_type WHERE app_label = 'authtoken';
DELETE FROM django_migrations WHERE app = 'authtoken';
"""


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0003_api_token"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        # Nothing to restore: the old tokens are meant to stay dead (re-issue named tokens).
        migrations.RunSQL(DROP_AUTHTOKEN, reverse_sql=migrations.RunSQL.noop),
    ]
