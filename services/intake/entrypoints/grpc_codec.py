"""Translation between intake's protobuf messages (protos/bylaw/v1/intake.proto) and the
domain. No rules here: those live in the domain and service layer."""

from __future__ import annotations

from datetime import UTC, datetime

from bylaw.v1 import common_pb2, intake_pb2
from google.protobuf import timestamp_pb2

from services.intake.domain.dead_letter import DeadLetter, DeadLetterOriginal
from services.intake.domain.matrix import MatrixEntry
from services.intake.domain.model import (
    ComplainantIdentity,
    ComplaintRecord,
    Location,
    Outcome,
    OutcomeKind,
    Priority,
    Submission,
)
from services.intake.domain.public import PublicComplaint
from services.intake.domain.referral import ReferralService
from services.intake.domain.service_definition import AttributeSpec
from services.intake.service_layer.intake import Caller
from services.intake.service_layer.ports import ClosureDay, ComplaintQuery

PRIORITY_TO_PROTO = {
    Priority.HIGH: common_pb2.PRIORITY_HIGH,
    Priority.MEDIUM: common_pb2.PRIORITY_MEDIUM,
    Priority.LOW: common_pb2.PRIORITY_LOW,
}
OUTCOME_TO_PROTO = {
    OutcomeKind.NEW_CASE: intake_pb2.OUTCOME_KIND_NEW_CASE,
    OutcomeKind.JOINED_CASE: intake_pb2.OUTCOME_KIND_JOINED_CASE,
    OutcomeKind.REFERRED: intake_pb2.OUTCOME_KIND_REFERRED,
    OutcomeKind.REJECTED: intake_pb2.OUTCOME_KIND_REJECTED,
}


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def from_timestamp(msg: object, field: str) -> datetime | None:
    """The timestamp field as an aware UTC datetime, or None when unset."""
    if not msg.HasField(field):  # type: ignore[attr-defined]
        return None
    ts: timestamp_pb2.Timestamp = getattr(msg, field)
    return ts.ToDatetime(tzinfo=UTC)


def caller(actor: common_pb2.Actor) -> Caller:
    return Caller(subject=actor.subject.strip(), roles=tuple(r.strip() for r in actor.roles if r.strip()))


def submission(msg: intake_pb2.ComplaintSubmission) -> Submission:
    loc = msg.location
    point = loc.point if loc.HasField("point") else None
    who = msg.complainant
    return Submission(
        service_code=msg.service_code,
        location=Location(
            address=loc.address,
            lat=point.lat if point is not None else None,
            lon=point.lon if point is not None else None,
            address_id=loc.address_id,
            postal_code=loc.postal_code,
        ),
        description=msg.description,
        complainant=ComplainantIdentity(
            first_name=who.first_name,
            last_name=who.last_name,
            email=who.email,
            phone=who.phone,
            address=who.address,
            preferred_contact=who.preferred_contact,
        ),
        channel=msg.channel,
        external_request_id=msg.external_request_id,
        requested_at=from_timestamp(msg, "requested_at"),
        verbal=msg.verbal,
        attributes=dict(msg.attributes),
        media_url=msg.media_url,
        client_id=msg.client_id,
        about_staff_or_council=msg.about_staff_or_council,
    )


def outcome(value: Outcome) -> intake_pb2.ComplaintOutcome:
    return intake_pb2.ComplaintOutcome(
        service_request_id=value.service_request_id,
        kind=OUTCOME_TO_PROTO[value.kind],
        case_number=value.case_number,
        reason=value.reason,
        referred_to=value.referred_to,
        service_notice=value.service_notice,
        acknowledgement_due=timestamp(value.acknowledgement_due),
        replayed=value.replayed,
        external_request_id=value.external_request_id,
        priority=PRIORITY_TO_PROTO[value.priority],
        matrix_version=value.matrix_version,
        written_confirmation_required=value.written_confirmation_required,
        follow_up=list(value.follow_up),
        anonymous=value.anonymous,
        first_inspection_due=timestamp(value.first_inspection_due),
        resolution_due=timestamp(value.resolution_due),
        sla_version=value.sla_version,
        acknowledged_at=timestamp(value.acknowledged_at),
    )


def public_complaint(view: PublicComplaint) -> intake_pb2.PublicComplaint:
    msg = intake_pb2.PublicComplaint(
        service_request_id=view.service_request_id,
        external_request_id=view.external_request_id,
        case_number=view.case_number,
        service_code=view.service_code,
        service_name=view.service_name,
        status=view.status,
        status_notes=view.status_notes,
        agency_responsible=view.agency_responsible,
        service_notice=view.service_notice,
        requested_at=timestamp(view.requested_at),
        updated_at=timestamp(view.updated_at),
        expected_at=timestamp(view.expected_at),
        address=view.address,
        address_id=view.address_id,
        zipcode=view.zipcode,
        outcome=OUTCOME_TO_PROTO[view.outcome] if view.outcome else intake_pb2.OUTCOME_KIND_UNSPECIFIED,
        channel=view.channel,
    )
    if view.lat is not None and view.lon is not None:
        msg.lat = view.lat
        msg.lon = view.lon
    return msg


def complaint_query(msg: intake_pb2.ListComplaintsRequest) -> ComplaintQuery:
    return ComplaintQuery(
        service_request_ids=tuple(msg.service_request_ids),
        service_code=msg.service_code,
        start=from_timestamp(msg, "start_date"),
        end=from_timestamp(msg, "end_date"),
        status=msg.status.strip().lower(),
        limit=msg.limit,
    )


def matrix_entry(entry: MatrixEntry, version: str) -> common_pb2.MatrixEntry:
    return common_pb2.MatrixEntry(
        service_code=entry.service_code,
        bylaw_short_title=entry.bylaw_short_title,
        infraction=entry.infraction,
        bylaw_number=entry.bylaw_number,
        legislative=entry.legislative,
        patrol=entry.patrol,
        proactive=entry.proactive,
        reactive=entry.reactive,
        priority=PRIORITY_TO_PROTO[entry.priority],
        enforced_by=list(entry.enforced_by),
        footnote=entry.footnote,
        matrix_version=version,
    )


def service_attribute(spec: AttributeSpec) -> intake_pb2.ServiceAttribute:
    return intake_pb2.ServiceAttribute(
        code=spec.code,
        datatype=spec.datatype,
        required=spec.required,
        variable=True,
        description=spec.description,
        datatype_description=spec.datatype_description,
        order=spec.order,
        values=[intake_pb2.ServiceAttribute.Value(key=k, name=n) for k, n in spec.values],
    )


def closure_day(day: ClosureDay) -> intake_pb2.ClosureDay:
    return intake_pb2.ClosureDay(date=day.day.isoformat(), reason=day.reason, declared_by=day.declared_by)


def complainant_identity(who: ComplainantIdentity) -> intake_pb2.ComplainantIdentity:
    return intake_pb2.ComplainantIdentity(
        first_name=who.first_name,
        last_name=who.last_name,
        email=who.email,
        phone=who.phone,
        address=who.address,
        preferred_contact=who.preferred_contact,
    )


def referral_service(service: ReferralService) -> intake_pb2.ReferralService:
    return intake_pb2.ReferralService(
        service_code=service.service_code,
        service_name=service.service_name,
        agency=service.agency,
        description=service.description,
        policy=service.policy,
    )


def acknowledgement(record: ComplaintRecord, now: datetime) -> intake_pb2.AcknowledgementStatus:
    due = record.acknowledgement_due
    return intake_pb2.AcknowledgementStatus(
        service_request_id=record.service_request_id,
        case_number=record.case_number,
        due=timestamp(due),
        sent_at=timestamp(record.acknowledged_at),
        method=record.acknowledged_via,
        recorded_by=record.acknowledged_by,
        overdue=record.acknowledged_at is None and due is not None and due < now,
        channel=record.channel,
        priority=record.priority.value,
        alerted=record.ack_overdue_alerted_at is not None,
    )


def dead_letter(value: DeadLetter) -> intake_pb2.DeadLetter:
    return intake_pb2.DeadLetter(
        id=value.id,
        external_request_id=value.external_request_id,
        reason=value.reason,
        stream_sequence=value.stream_sequence or 0,
        deliveries=value.deliveries,
        failed_at=timestamp(value.failed_at),
        status=value.status,
        resubmitted_as=value.resubmitted_as,
        resubmitted_by=value.resubmitted_by,
        size_bytes=value.size_bytes,
        sha256=value.sha256,
    )


def dead_letter_original(value: DeadLetterOriginal) -> intake_pb2.DeadLetterOriginal:
    msg = intake_pb2.DeadLetterOriginal(dead_letter=dead_letter(value.dead_letter), headers=value.headers)
    try:
        msg.body = value.body.decode("utf-8")
    except UnicodeDecodeError:
        msg.body_bytes = value.body
    return msg
