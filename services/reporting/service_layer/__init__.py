"""Reporting use cases: apply an event once, build the dashboard and the monthly report."""
