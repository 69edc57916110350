"""Cases adapters: SQLAlchemy tables of the ``cases`` schema and the PostgreSQL repositories."""
