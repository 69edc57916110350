"""Notices domain: template specifications, context rules and rendered documents.
Plain Python only (no Jinja2, WeasyPrint, SQLAlchemy or gRPC imports)."""
