"""Reporting service: a read model built only from domain events (``bylaw.events.>``),
serving the dashboard KPIs and the monthly report to Council (policy 6.5.11-6.5.12)."""
