"""Django's PostgreSQL backend with PostgreSQL's parameter limit declared (see ``base``)."""
