"""Reporting domain: how events become facts, reporting periods in the town's time zone,
and the KPI arithmetic. Plain Python only."""
