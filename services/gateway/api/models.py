"""Staff API documents (pydantic) and their conversion from the service contracts.

Case documents carry no complainant identity: cases never hold it (policy 6.3.4), and the
complaint body posted by staff goes to intake's vault and is never echoed back.
"""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime
from typing import Literal, Self

from bylaw.v1 import cases_pb2, common_pb2, intake_pb2, reporting_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, Field, field_validator, model_validator


class CaseStatusName(enum.StrEnum):
    """Case lifecycle statuses (DESIGN.md section 3), as the API spells them."""

    RECEIVED = "received"
    UNDER_INVESTIGATION = "under_investigation"
    NOTICE_ISSUED = "notice_issued"
    AWAITING_COMPLIANCE = "awaiting_compliance"
    REINSPECTION = "reinspection"
    COMPLIED = "complied"
    ESCALATED = "escalated"
    AWAITING_COUNCIL_APPROVAL = "awaiting_council_approval"
    REMEDIATION = "remediation"
    CLOSED = "closed"
    REFERRED = "referred"
    REJECTED = "rejected"

    def to_proto(self) -> common_pb2.CaseStatus.ValueType:
        return common_pb2.CaseStatus.Value(f"CASE_STATUS_{self.name}")

    @classmethod
    def from_proto(cls, value: common_pb2.CaseStatus.ValueType) -> CaseStatusName | None:
        name = common_pb2.CaseStatus.Name(value).removeprefix("CASE_STATUS_")
        return cls[name] if name in cls.__members__ else None


class PriorityName(enum.StrEnum):
    """Enforcement priority from the Service Level Matrix (policy 4.12-4.14, Appendix A)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    def to_proto(self) -> common_pb2.Priority.ValueType:
        return common_pb2.Priority.Value(f"PRIORITY_{self.name}")

    @classmethod
    def from_proto(cls, value: common_pb2.Priority.ValueType) -> PriorityName | None:
        name = common_pb2.Priority.Name(value).removeprefix("PRIORITY_")
        return cls[name] if name in cls.__members__ else None


def _when(ts: Timestamp, present: bool) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if present else None


class LocationOut(BaseModel):
    address: str | None = None
    address_id: str | None = Field(None, description="assessment roll number when known")
    postal_code: str | None = None
    lat: float | None = None
    lon: float | None = None

    @classmethod
    def from_proto(cls, loc: common_pb2.Location) -> LocationOut:
        point = loc.point if loc.HasField("point") else None
        return cls(
            address=loc.address or None,
            address_id=loc.address_id or None,
            postal_code=loc.postal_code or None,
            lat=point.lat if point else None,
            lon=point.lon if point else None,
        )


class PropertyMatchOut(BaseModel):
    matched: bool
    method: str | None = Field(None, description="roll_number, address or gps")
    roll_number: str | None = None
    address: str | None = None
    zone_code: str | None = None
    ward: str | None = None
    distance_m: float | None = None

    @classmethod
    def from_proto(cls, m: cases_pb2.PropertyMatch) -> PropertyMatchOut:
        prop = m.property
        return cls(
            matched=m.matched,
            method=m.method or None,
            roll_number=prop.roll_number or None,
            address=prop.address or None,
            zone_code=prop.zone_code or None,
            ward=prop.ward or None,
            distance_m=m.distance_m if m.method == "gps" else None,
        )


class CaseOut(BaseModel):
    case_number: str
    status: CaseStatusName | None
    priority: PriorityName | None
    service_code: str
    bylaw_number: str | None = None
    matrix_version: str | None = None
    location: LocationOut
    property_match: PropertyMatchOut | None = None
    zone_code: str | None = None
    assigned_officer_id: str | None = None
    received_at: datetime | None = None
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    complaint_count: int = 0
    restricted: bool = Field(False, description="complaint about staff or Council (policy 6.10)")
    channel: str | None = Field(None, description="how the complaint that opened it arrived")
    compliance_confirmed_at: datetime | None = Field(None, description="policy 6.6.3")
    status_reason: str | None = None
    outcome: str | None = None
    enforced_by: list[str] = Field(default_factory=list)
    summary: str | None = None

    @classmethod
    def from_proto(cls, c: cases_pb2.Case) -> CaseOut:
        return cls(
            case_number=c.case_number,
            status=CaseStatusName.from_proto(c.status),
            priority=PriorityName.from_proto(c.priority),
            service_code=c.service_code,
            bylaw_number=c.bylaw_number or None,
            matrix_version=c.matrix_version or None,
            location=LocationOut.from_proto(c.location),
            property_match=PropertyMatchOut.from_proto(c.property_match)
            if c.HasField("property_match")
            else None,
            zone_code=c.zone_code or None,
            assigned_officer_id=c.assigned_officer_id or None,
            received_at=_when(c.received_at, c.HasField("received_at")),
            updated_at=_when(c.updated_at, c.HasField("updated_at")),
            closed_at=_when(c.closed_at, c.HasField("closed_at")),
            complaint_count=c.complaint_count,
            restricted=c.restricted,
            channel=c.channel or None,
            compliance_confirmed_at=_when(c.compliance_confirmed_at, c.HasField("compliance_confirmed_at")),
            status_reason=c.status_reason or None,
            outcome=c.outcome or None,
            enforced_by=list(c.enforced_by),
            summary=c.summary or None,
        )


class CasePage(BaseModel):
    items: list[CaseOut]
    next_page_token: str | None = Field(None, description="pass as page_token for the next page")
    total: int


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+()\-. x]+$")

StaffChannel = Literal["phone", "email", "walk-in", "council-referral"]


class ComplainantIn(BaseModel):
    """Who complained: required for a valid complaint (policy 4.10, 6.5.3), kept only in
    intake's vault and never shown to the subject or the public (policy 6.3.4)."""

    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=40)
    address: str = Field("", max_length=300, description="the complainant's own address")
    preferred_contact: Literal["", "email", "phone", "mail"] = ""

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip()
        if value and not _EMAIL.match(value):
            # The message must not repeat the value (policy 6.3.4).
            raise ValueError("must be an email address")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        value = value.strip()
        if value and (not _PHONE.match(value) or not 7 <= sum(c.isdigit() for c in value) <= 15):
            raise ValueError("must be a telephone number (7 to 15 digits)")
        return value

    def to_proto(self) -> intake_pb2.ComplainantIdentity:
        return intake_pb2.ComplainantIdentity(
            first_name=self.first_name.strip(),
            last_name=self.last_name.strip(),
            email=self.email,
            phone=self.phone,
            address=self.address.strip(),
            preferred_contact=self.preferred_contact,
        )


class LocationIn(BaseModel):
    address: str = Field("", max_length=300)
    address_id: str = Field("", max_length=100, description="assessment roll number, if known")
    postal_code: str = Field("", max_length=10)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)

    @model_validator(mode="after")
    def _located(self) -> Self:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        if not (self.address.strip() or self.address_id.strip() or self.lat is not None):
            raise ValueError("give an address, an address_id or lat/lon (policy 4.10)")
        return self

    def to_proto(self) -> common_pb2.Location:
        loc = common_pb2.Location(
            address=self.address.strip(),
            address_id=self.address_id.strip(),
            postal_code=self.postal_code.strip(),
        )
        if self.lat is not None and self.lon is not None:
            loc.point.CopyFrom(common_pb2.GeoPoint(lat=self.lat, lon=self.lon))
        return loc


class ComplaintIn(BaseModel):
    """A complaint taken by staff by phone, email, at the counter or from a Council member."""

    channel: StaffChannel
    service_code: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=4000)
    location: LocationIn
    complainant: ComplainantIn = Field(default_factory=ComplainantIn)
    verbal: bool = Field(
        False,
        description=(
            "taken verbally without a written form; accepted only for serious and immediate "
            "health, safety or environmental matters (policy 6.5.2)"
        ),
    )
    media_url: str = Field("", max_length=2000)
    about_staff_or_council: bool = Field(
        False, description="about a Town employee or Council member: restricted case (policy 6.10)"
    )
    attributes: dict[str, str] = Field(default_factory=dict, max_length=50)
    received_at: datetime | None = Field(None, description="when it was received; default now")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.verbal and self.channel == "email":
            raise ValueError("verbal: an emailed complaint is in writing (policy 6.5.1)")
        if self.received_at is not None and self.received_at.tzinfo is None:
            raise ValueError("received_at: must include a UTC offset")
        return self

    def to_proto(self, now: datetime) -> intake_pb2.ComplaintSubmission:
        submission = intake_pb2.ComplaintSubmission(
            service_code=self.service_code.strip(),
            location=self.location.to_proto(),
            description=self.description.strip(),
            complainant=self.complainant.to_proto(),
            media_url=self.media_url.strip(),
            channel=self.channel,
            verbal=self.verbal,
            attributes=self.attributes,
            about_staff_or_council=self.about_staff_or_council,
        )
        submission.requested_at.FromDatetime(self.received_at or now)
        return submission


OutcomeName = Literal["new_case", "joined_case", "referred", "rejected"]


class ComplaintOutcomeOut(BaseModel):
    service_request_id: str
    outcome: OutcomeName | None
    case_number: str | None = None
    reason: str | None = None
    referred_to: str | None = None
    service_notice: str | None = None
    acknowledgement_due: datetime | None = Field(None, description="2 business days (policy 6.5.5)")
    priority: PriorityName | None = None
    matrix_version: str | None = Field(None, description="Service Level Matrix version applied (6.8.4)")
    written_confirmation_required: bool = Field(
        False, description="verbal complaint accepted: obtain written confirmation (policy 6.5.2)"
    )
    follow_up: list[str] = Field(default_factory=list, description="what staff must still do")
    anonymous: bool = Field(False, description="proceeding without identity: pressing safety matter (4.1)")
    replayed: bool = False

    @classmethod
    def from_proto(cls, o: intake_pb2.ComplaintOutcome) -> ComplaintOutcomeOut:
        kind = intake_pb2.OutcomeKind.Name(o.kind).removeprefix("OUTCOME_KIND_").lower()
        return cls(
            service_request_id=o.service_request_id,
            outcome=kind if kind != "unspecified" else None,
            case_number=o.case_number or None,
            reason=o.reason or None,
            referred_to=o.referred_to or None,
            service_notice=o.service_notice or None,
            acknowledgement_due=_when(o.acknowledgement_due, o.HasField("acknowledgement_due")),
            priority=PriorityName.from_proto(o.priority),
            matrix_version=o.matrix_version or None,
            written_confirmation_required=o.written_confirmation_required,
            follow_up=list(o.follow_up),
            anonymous=o.anonymous,
            replayed=o.replayed,
        )


class KpiOut(BaseModel):
    name: str
    value: float
    previous: float = Field(description="the same figure last month")
    unit: str
    sample_size: int = Field(0, description="observations behind value")
    previous_sample_size: int = 0
    note: str | None = Field(None, description="how the figure is defined, or why it has no data")

    @classmethod
    def from_proto(cls, k: reporting_pb2.Kpi) -> KpiOut:
        return cls(
            name=k.name,
            value=k.value,
            previous=k.previous,
            unit=k.unit,
            sample_size=k.sample_size,
            previous_sample_size=k.previous_sample_size,
            note=k.note or None,
        )


class ActivityOut(BaseModel):
    event_type: str
    case_number: str | None = None
    summary: str
    occurred_at: datetime | None = None


class DashboardOut(BaseModel):
    open_cases: KpiOut
    average_resolution_days: KpiOut
    inspections_today: KpiOut
    order_compliance: KpiOut
    recent_activity: list[ActivityOut]
    as_of: datetime | None = None
    timezone: str | None = Field(None, description="day and month boundaries")
    events_applied: int

    @classmethod
    def from_proto(cls, d: reporting_pb2.Dashboard) -> DashboardOut:
        return cls(
            open_cases=KpiOut.from_proto(d.open_cases),
            average_resolution_days=KpiOut.from_proto(d.average_resolution_days),
            inspections_today=KpiOut.from_proto(d.inspections_today),
            order_compliance=KpiOut.from_proto(d.order_compliance),
            recent_activity=[
                ActivityOut(
                    event_type=a.event_type,
                    case_number=a.case_number or None,
                    summary=a.summary,
                    occurred_at=_when(a.occurred_at, a.HasField("occurred_at")),
                )
                for a in d.recent_activity
            ],
            as_of=_when(d.as_of, d.HasField("as_of")),
            timezone=d.timezone or None,
            events_applied=d.events_applied,
        )


class TownSummaryOut(BaseModel):
    properties: int = Field(description="parcels on the assessment roll")
    officers: int
    zones: int
    open_cases: int

    @classmethod
    def from_proto(cls, t: cases_pb2.TownSummary) -> TownSummaryOut:
        return cls(properties=t.properties, officers=t.officers, zones=t.zones, open_cases=t.open_cases)
