"""In-process fakes of the services the gateway calls: real ``grpc.aio`` servers (with the
shared domain-error interceptor and grpc.health.v1) running fake servicers, so the gateway's
real channels, stubs and rich-status error parsing are exercised. Also Open311 JSON Schema
validators and a token helper."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bylaw.v1 import (
    cases_pb2,
    cases_pb2_grpc,
    common_pb2,
    intake_pb2,
    intake_pb2_grpc,
    reporting_pb2,
    reporting_pb2_grpc,
)
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource

from services.common.errors import DomainError, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from services.common.grpc_server import ServiceRegistration, build_server, set_serving
from services.common.settings import Settings
from services.gateway.clients import GRPC_SERVICES, GatewayClients
from services.gateway.security import Role, mint_dev_token

ROOT = Path(__file__).resolve().parents[3]
MATRIX_CSV = ROOT / "config" / "service_level_matrix.csv"
SCHEMAS = ROOT / "tests" / "fixtures" / "open311"

TEST_SECRET = "unit-test-secret-0123456789abcdef-not-for-prod"


def gateway_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"env": "test", "jwt_secret": TEST_SECRET}
    values.update(overrides)
    return Settings(**values)


def token(settings: Settings, *roles: Role | str, sub: str = "alice", hours: float = 1, **kw: Any) -> str:
    return mint_dev_token(settings, subject=sub, roles=roles, hours=hours, **kw)


def auth(settings: Settings, *roles: Role | str, sub: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(settings, *roles, sub=sub)}"}


# --- Open311 JSON Schemas ------------------------------------------------------------------


def open311_validator(schema_file: str) -> Draft7Validator:
    """A validator for one of the Open311 schemas, resolving its relative ``$ref``s
    (requests.json -> request.json, services.json -> service.json) through a registry."""
    draft7 = "http://json-schema.org/draft-07/schema#"
    resources = [
        (path.name, Resource.from_contents({**json.loads(path.read_text()), "$schema": draft7}))
        for path in SCHEMAS.glob("*.json")
        if path.name != "swagger.json"
    ]
    registry: Registry[Any] = Registry().with_resources(resources)
    schema = {**json.loads((SCHEMAS / schema_file).read_text()), "$schema": draft7}
    return Draft7Validator(schema, registry=registry, format_checker=FormatChecker())


# --- matrix ------------------------------------------------------------------------------

_PRIORITY = {
    "High": common_pb2.PRIORITY_HIGH,
    "Medium": common_pb2.PRIORITY_MEDIUM,
    "Low": common_pb2.PRIORITY_LOW,
}


def matrix_entries() -> list[common_pb2.MatrixEntry]:
    with MATRIX_CSV.open(newline="") as fh:
        return [
            common_pb2.MatrixEntry(
                service_code=row["service_code"],
                bylaw_short_title=row["bylaw_short_title"],
                infraction=row["infraction"],
                bylaw_number=row["bylaw_number"],
                legislative=row["legislative"] == "yes",
                patrol=row["patrol"] == "yes",
                proactive=row["proactive"] == "yes",
                reactive=row["reactive"] == "yes",
                priority=_PRIORITY[row["priority"]],
                enforced_by=[d.strip() for d in row["enforced_by"].split(",") if d.strip()],
                footnote=row["footnote"],
                matrix_version="2023-01",
            )
            for row in csv.DictReader(fh)
        ]


def ts(dt: datetime) -> Any:
    from google.protobuf.timestamp_pb2 import Timestamp

    out = Timestamp()
    out.FromDatetime(dt)
    return out


# --- intake -------------------------------------------------------------------------------


class FakeIntake(intake_pb2_grpc.IntakeServiceServicer):
    """Keeps submissions in memory and answers like intake would (public view only)."""

    def __init__(self) -> None:
        self.entries = {e.service_code: e for e in matrix_entries()}
        self.submissions: list[intake_pb2.SubmitComplaintRequest] = []
        self.list_requests: list[intake_pb2.ListComplaintsRequest] = []
        self.complaints: dict[str, intake_pb2.PublicComplaint] = {}
        self.fail_with: DomainError | None = None
        self.outcome_kind = intake_pb2.OUTCOME_KIND_NEW_CASE
        self.replay = False
        self.list_services_delay = 0.0

    async def SubmitComplaint(self, request: intake_pb2.SubmitComplaintRequest, context: Any) -> Any:
        self.submissions.append(request)
        if self.fail_with is not None:
            raise self.fail_with
        sub = request.submission
        if sub.service_code not in self.entries:
            raise InvalidArgument(FieldViolation("service_code", "is not a service in the matrix", "6.5.4"))
        n = len(self.submissions)
        srid = f"C-{n:06d}"
        kind = self.outcome_kind
        case_number = f"BL-2026-{n:06d}" if kind in (1, 2) else ""
        entry = self.entries[sub.service_code]
        self.complaints[srid] = intake_pb2.PublicComplaint(
            service_request_id=srid,
            case_number=case_number,
            service_code=sub.service_code,
            service_name=entry.bylaw_short_title,
            status="open" if case_number else "closed",
            status_notes="Received; an officer will review it.",
            agency_responsible="By-law Enforcement",
            requested_at=sub.requested_at,
            updated_at=sub.requested_at,
            address=sub.location.address,
            address_id=sub.location.address_id,
            media_url=sub.media_url,
            outcome=kind,
            channel=sub.channel,
        )
        if sub.location.HasField("point"):
            self.complaints[srid].lat = sub.location.point.lat
            self.complaints[srid].lon = sub.location.point.lon
        return intake_pb2.ComplaintOutcome(
            service_request_id=srid,
            kind=kind,
            case_number=case_number,
            reason="Referred to the OPP (policy 6.11.2)." if kind == intake_pb2.OUTCOME_KIND_REFERRED else "",
            referred_to="OPP" if kind == intake_pb2.OUTCOME_KIND_REFERRED else "",
            service_notice="We will acknowledge within 2 business days.",
            acknowledgement_due=ts(datetime(2026, 11, 24, 17, tzinfo=UTC)),
            replayed=self.replay,
            priority=entry.priority,
            matrix_version="2023-01",
            follow_up=["confirm complainant address"],
        )

    async def GetComplaint(self, request: intake_pb2.GetComplaintRequest, context: Any) -> Any:
        if self.fail_with is not None:
            raise self.fail_with
        try:
            return self.complaints[request.service_request_id]
        except KeyError:
            raise NotFound(f"no complaint {request.service_request_id}") from None

    async def ListComplaints(self, request: intake_pb2.ListComplaintsRequest, context: Any) -> Any:
        self.list_requests.append(request)
        if self.fail_with is not None:
            raise self.fail_with
        found = [
            c
            for c in self.complaints.values()
            if (not request.service_request_ids or c.service_request_id in request.service_request_ids)
            and (not request.service_code or c.service_code == request.service_code)
            and (not request.status or c.status == request.status)
        ]
        return intake_pb2.ListComplaintsResponse(complaints=found[: request.limit or 1000])

    async def ListServices(self, request: intake_pb2.ListServicesRequest, context: Any) -> Any:
        if self.list_services_delay:
            await asyncio.sleep(self.list_services_delay)
        if self.fail_with is not None:
            raise self.fail_with
        return intake_pb2.ListServicesResponse(services=list(self.entries.values()), matrix_version="2023-01")

    async def GetService(self, request: intake_pb2.GetServiceRequest, context: Any) -> Any:
        if self.fail_with is not None:
            raise self.fail_with
        entry = self.entries.get(request.service_code)
        if entry is None:
            raise NotFound(f"no service {request.service_code}")
        return intake_pb2.ServiceDefinition(
            service=entry,
            attributes=[
                intake_pb2.ServiceAttribute(
                    code="preferred_contact",
                    datatype="singlevaluelist",
                    required=True,
                    variable=True,
                    description="How should we contact you?",
                    order=2,
                    values=[
                        intake_pb2.ServiceAttribute.Value(key="email", name="Email"),
                        intake_pb2.ServiceAttribute.Value(key="phone", name="Telephone"),
                    ],
                ),
                intake_pb2.ServiceAttribute(
                    code="complainant_address",
                    datatype="string",
                    required=True,
                    variable=True,
                    description="Your own address (policy 6.5.3)",
                    order=1,
                ),
            ],
        )


# --- cases --------------------------------------------------------------------------------


def sample_case(number: str = "BL-2026-000001", **overrides: Any) -> cases_pb2.Case:
    fields: dict[str, Any] = {
        "case_number": number,
        "status": common_pb2.CASE_STATUS_RECEIVED,
        "priority": common_pb2.PRIORITY_HIGH,
        "service_code": "pool-fence",
        "bylaw_number": "2010-0049",
        "matrix_version": "2023-01",
        "location": common_pb2.Location(
            address="12 DUNDAS ST E",
            address_id="1121000000000000123",
            point=common_pb2.GeoPoint(lat=44.25, lon=-76.95),
        ),
        "property_match": cases_pb2.PropertyMatch(
            matched=True,
            method="roll_number",
            property=cases_pb2.Property(
                roll_number="1121000000000000123",
                address="12 DUNDAS ST E",
                owner_name="Owner Person",
                zone_code="Z1",
            ),
        ),
        "zone_code": "Z1",
        "assigned_officer_id": "officer-7",
        "received_at": ts(datetime(2026, 11, 20, 14, tzinfo=UTC)),
        "updated_at": ts(datetime(2026, 11, 20, 15, tzinfo=UTC)),
        "complaint_count": 2,
        "enforced_by": ["BE"],
        "channel": "portal",
    }
    fields.update(overrides)
    return cases_pb2.Case(**fields)


class FakeCases(cases_pb2_grpc.CasesServiceServicer):
    def __init__(self) -> None:
        self.cases = {
            c.case_number: c for c in (sample_case(), sample_case("BL-2026-000002", restricted=True))
        }
        self.list_requests: list[cases_pb2.ListCasesRequest] = []
        self.get_requests: list[cases_pb2.GetCaseRequest] = []
        self.fail_with: DomainError | None = None

    async def ListCases(self, request: cases_pb2.ListCasesRequest, context: Any) -> Any:
        self.list_requests.append(request)
        if self.fail_with is not None:
            raise self.fail_with
        # Restricted cases only for supervisors (a stand-in for the cases service's rule).
        visible = [c for c in self.cases.values() if not c.restricted or "supervisor" in request.actor.roles]
        return cases_pb2.ListCasesResponse(cases=visible, next_page_token="page-2", total=len(visible))

    async def GetCase(self, request: cases_pb2.GetCaseRequest, context: Any) -> Any:
        self.get_requests.append(request)
        case = self.cases.get(request.case_number)
        if case is None:
            raise NotFound(f"no case {request.case_number}")
        if case.restricted and "supervisor" not in request.actor.roles:
            raise PermissionDenied("restricted case (policy 6.10)")
        return case

    async def GetTownSummary(self, request: cases_pb2.GetTownSummaryRequest, context: Any) -> Any:
        if self.fail_with is not None:
            raise self.fail_with
        return cases_pb2.TownSummary(properties=300, officers=4, zones=3, open_cases=len(self.cases))


# --- reporting ----------------------------------------------------------------------------


class FakeReporting(reporting_pb2_grpc.ReportingServiceServicer):
    def __init__(self) -> None:
        self.requests: list[reporting_pb2.GetDashboardRequest] = []
        self.fail_with: DomainError | None = None

    async def GetDashboard(self, request: reporting_pb2.GetDashboardRequest, context: Any) -> Any:
        self.requests.append(request)
        if self.fail_with is not None:
            raise self.fail_with
        return reporting_pb2.Dashboard(
            open_cases=reporting_pb2.Kpi(
                name="Open cases", value=12, previous=9, unit="cases", sample_size=12
            ),
            average_resolution_days=reporting_pb2.Kpi(
                name="Average resolution", value=6.5, previous=8, unit="days"
            ),
            inspections_today=reporting_pb2.Kpi(
                name="Inspections today", value=3, previous=2, unit="inspections"
            ),
            order_compliance=reporting_pb2.Kpi(
                name="Order compliance", value=80, previous=75, unit="percent", note="orders due this month"
            ),
            recent_activity=[
                reporting_pb2.ActivityItem(
                    event_type="case.created",
                    case_number="BL-2026-000001",
                    summary="Case opened",
                    occurred_at=ts(datetime(2026, 11, 20, 14, tzinfo=UTC)),
                )
            ],
            as_of=ts(datetime(2026, 11, 21, tzinfo=UTC)),
            events_applied=42,
            timezone="America/Toronto",
        )


# --- servers ------------------------------------------------------------------------------


class FakeTemporal:
    """Stands in for the Temporal connector in unit tests."""

    def __init__(self) -> None:
        self.up = True
        self.hang = False

    async def client(self) -> Any:
        raise AssertionError("unit tests do not talk to Temporal")

    async def check(self, within: float) -> None:
        if self.hang:
            await asyncio.sleep(60)
        if not self.up:
            raise ConnectionRefusedError("temporal down")


@dataclass
class FakeServer:
    """One grpc.aio server hosting some fakes plus the health service."""

    server: Any
    health: Any
    port: int
    names: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def set_status(self, name: str, serving: bool) -> None:
        await set_serving(self.health, [GRPC_SERVICES[name]], serving)

    async def stop(self) -> None:
        await self.server.stop(None)


async def start_fake_server(
    registrations: Iterable[ServiceRegistration], health_names: Iterable[str], port: int = 0
) -> FakeServer:
    server, health, bound = await build_server(list(registrations), f"127.0.0.1:{port}")
    await server.start()
    names = list(health_names)
    await set_serving(health, [GRPC_SERVICES[n] for n in names], True)
    return FakeServer(server, health, bound, names)


def registrations(
    intake: FakeIntake | None = None, cases: FakeCases | None = None, reporting: FakeReporting | None = None
) -> list[ServiceRegistration]:
    regs = []
    if intake is not None:
        regs.append(
            ServiceRegistration(
                GRPC_SERVICES["intake"], intake_pb2_grpc.add_IntakeServiceServicer_to_server, intake
            )
        )
    if cases is not None:
        regs.append(
            ServiceRegistration(
                GRPC_SERVICES["cases"], cases_pb2_grpc.add_CasesServiceServicer_to_server, cases
            )
        )
    if reporting is not None:
        regs.append(
            ServiceRegistration(
                GRPC_SERVICES["reporting"],
                reporting_pb2_grpc.add_ReportingServiceServicer_to_server,
                reporting,
            )
        )
    return regs


@dataclass
class Fakes:
    intake: FakeIntake
    cases: FakeCases
    reporting: FakeReporting
    temporal: FakeTemporal
    server: FakeServer
    clients: GatewayClients


async def start_fakes() -> Fakes:
    """Every service on one in-process server (one port), all reporting SERVING."""
    # The generated servicer bases are abstract for mypy; unimplemented RPCs answer UNIMPLEMENTED.
    intake = FakeIntake()  # type: ignore[abstract]
    cases = FakeCases()  # type: ignore[abstract]
    reporting = FakeReporting()  # type: ignore[abstract]
    server = await start_fake_server(registrations(intake, cases, reporting), GRPC_SERVICES)
    temporal = FakeTemporal()
    addr = server.address
    clients = GatewayClients.from_addresses(
        intake=addr, cases=addr, evidence=addr, notices=addr, reporting=addr, temporal=temporal
    )
    return Fakes(intake, cases, reporting, temporal, server, clients)


def dead_address() -> str:
    """A loopback port nothing listens on."""
    from devstack.processes import free_port

    return f"127.0.0.1:{free_port()}"
