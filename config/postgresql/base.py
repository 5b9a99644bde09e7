"""Django's PostgreSQL backend, declaring the 65,535-parameter limit of server-side binding.

With server-side binding (psycopg 3, ``DATABASES["default"]["OPTIONS"]``) a statement carries at
most 65,535 parameters: the protocol's Bind message counts them in 16 bits. Django splits
``bulk_create``, ``bulk_update`` and the delete collector's queries into batches by
``bulk_batch_size`` only for backends that declare a limit (SQLite and Oracle do; PostgreSQL does
not), so a book-wide write (the order allocations of a whole book, the lots of a large
household, the run accounts of a large firm) failed with "number of parameters must be between
0 and 65535". django-tenants wraps this backend (``ORIGINAL_BACKEND`` in the settings).
"""

from itertools import chain
from typing import Any

from django.db.backends.postgresql import base, features, operations
from django.db.models import CompositePrimaryKey

MAX_QUERY_PARAMS = 2**16 - 1


class DatabaseFeatures(features.DatabaseFeatures):
    """PostgreSQL's features, with the Bind message's parameter limit."""

    max_query_params = MAX_QUERY_PARAMS


class DatabaseOperations(operations.DatabaseOperations):
    """PostgreSQL's operations, batching bulk statements within the parameter limit."""

    def bulk_batch_size(self, fields: Any, objs: Any) -> int:
        """As many objects per statement as keep its parameters within the limit.

        Counted at two parameters per field and object: ``bulk_update`` passes its fields plus
        two but binds ``WHEN pk = %s THEN %s`` per field and object plus the ``IN`` list, i.e.
        ``2 x fields + 1`` per object; inserts and deletes simply get smaller batches.
        """
        columns = list(
            chain.from_iterable(
                field.fields if isinstance(field, CompositePrimaryKey) else [field]
                for field in fields
            )
        )
        if columns:
            return max(1, MAX_QUERY_PARAMS // (2 * len(columns)))
        return len(objs)


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's PostgreSQL connection with the features and operations above."""

    features_class = DatabaseFeatures
    ops_class = DatabaseOperations
