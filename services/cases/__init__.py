"""Cases: the system of record for enforcement cases, the assessment roll, officers, zones,
status history and the audit trail (DESIGN.md section 2). Serves ``bylaw.v1.CasesService``
over gRPC and publishes ``bylaw.events.case.*`` through a transactional outbox."""
