"""Record the lot method on every booked sell that names no lots (``lot_method_record``).

Until now the ledger relieved such a sell FIFO whatever the account said; from now on a sell
follows the method recorded on it. Booked sells get FIFO, the relief the ledger booked them
with, so no rebuild changes a realized gain already shown (history is not rewritten).
"""

from django.db import migrations


def record(apps, schema_editor):
    Transaction = apps.get_model("accounts", "Transaction")
    Transaction.objects.filter(kind="sell", lot_method="", lot_picks=[]).update(lot_method="FIFO")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_identical_groups"),
    ]

    operations = [migrations.RunPython(record, migrations.RunPython.noop)]
