"""Bulk writes larger than one statement's 65,535 parameters (server-side binding)."""

from apps.accounts.models import Household

COUNT = 22_000  # 3 parameters each: 66,000 in one INSERT, and in one UPDATE ... CASE


def test_bulk_writes_beyond_the_parameter_limit_are_batched(firm_a):
    """The backend batches bulk statements; without it PostgreSQL refuses the Bind message
    ("number of parameters must be between 0 and 65535")."""
    households = Household.objects.bulk_create(
        Household(external_id=f"BULK-{i:05d}", name=f"Bulk {i}") for i in range(COUNT)
    )
    for household in households:
        household.name = household.name.upper()
    Household.objects.bulk_update(households, ["name"])
    bulk = Household.objects.filter(external_id__startswith="BULK-")
    assert bulk.filter(name__startswith="BULK ").count() == COUNT
    bulk.delete()
    assert not bulk.exists()
