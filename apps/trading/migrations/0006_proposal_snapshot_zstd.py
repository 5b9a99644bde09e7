"""Proposal snapshots are Zstandard-compressed from now on: the field loses its ``_zlib`` name.

Earlier rows keep their zlib bytes; ``adapters.snapshot_unpack`` reads both.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0005_proposed_trade_unconstrained_link"),
    ]

    operations = [
        migrations.RenameField(model_name="proposal", old_name="snapshot_zlib", new_name="snapshot"),
    ]
