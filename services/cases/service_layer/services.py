"""The cases use cases: open a case for a complaint (find-or-create with duplicate and
repeat detection), record status transitions and assignments, read cases and the work
queue, and maintain the assessment roll, officers and zones.

Every write runs in one unit of work that also writes the audit entry and queues the
domain event (outbox), so the record, the trail and the event commit or vanish together.
A write that loses a race on a unique constraint is re-run once the winner has committed.

OpenCase is on the path of every complaint (issue 3: 311 volume), so it reads as little
as it can: the officer roster and zone polygons come from memory while the database's
reference versions say they are current, officers' caseloads are read only when they
decide the routing, and the replay check and the duplicate candidates come in one read.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from services.cases.domain import events
from services.cases.domain.addresses import NormalisedAddress, normalise_address
from services.cases.domain.cases import (
    TERMINAL_STATUSES,
    Assignment,
    Case,
    CaseStatus,
    Decision,
    DedupeKey,
    Disposition,
    StatusChange,
    apply_status,
    case_year,
    check_case_number,
    check_transition,
    choose_officer,
    decide,
    dedupe_key_for,
    format_case_number,
    may_see_restricted,
    routing_shortlist,
    visible_to,
)
from services.cases.domain.geo import BoundingBox, Point, bounding_box, haversine_m, point_violations
from services.cases.domain.lifecycle import case_department
from services.cases.domain.properties import (
    ImportCounts,
    Officer,
    Property,
    PropertyBatchValidator,
    PropertyMatch,
    Zone,
    canonical_roll_number,
    is_roll_number,
    officer_violations,
)
from services.cases.domain.validation import too_long
from services.cases.domain.zones import ZoneIndex, zone_violations
from services.cases.service_layer.commands import (
    Actor,
    AssignCase,
    CasePage,
    ListCases,
    Location,
    OpenCase,
    OpenCaseResult,
    RecordStatus,
    TownSummary,
)
from services.cases.service_layer.ports import (
    AbstractUnitOfWork,
    AuditEntry,
    CaseFilter,
    ComplaintLink,
    Conflict,
    QueueCursor,
    ReferenceVersions,
    Resolution,
)
from services.common.errors import (
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unavailable,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_ATTEMPTS = 4
# Bulk writes go to the database in chunks so one statement stays a sensible size.
UPSERT_CHUNK = 500


@dataclass(frozen=True, slots=True)
class CasesPolicy:
    """Tunable rules (environment: see services.cases.config)."""

    match_radius_m: float = 25.0  # GPS radius for "the same property" (policy 6.6.5)
    repeat_lookback: timedelta = timedelta(days=180)  # policy 6.6.3
    timezone: str = "America/Toronto"  # case-number year


UowFactory = Callable[[], AbstractUnitOfWork]
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ReferenceCache:
    """The officer roster and the parsed zone polygons, kept in memory and reloaded when
    the database's version of their table moves (a trigger bumps it on any change, from
    any replica: UpsertOfficers, UpsertZones or a hand edit). Reads of the versions ride
    on the new case's own transaction, so a case never sees a roster older than one
    committed before it began."""

    def __init__(self) -> None:
        self._officers: tuple[int, list[Officer]] | None = None
        self._zones: tuple[int, ZoneIndex] | None = None
        self._lock = asyncio.Lock()

    async def officers(self, uow: AbstractUnitOfWork, versions: ReferenceVersions) -> list[Officer]:
        cached = self._officers
        if cached is not None and cached[0] == versions.officers:
            return cached[1]
        async with self._lock:
            if self._officers is None or self._officers[0] != versions.officers:
                self._officers = (versions.officers, await uow.officers.all())
                log.info("officer roster loaded", extra={"officers": len(self._officers[1])})
            return self._officers[1]

    async def zones(self, uow: AbstractUnitOfWork, versions: ReferenceVersions) -> ZoneIndex:
        cached = self._zones
        if cached is not None and cached[0] == versions.zones:
            return cached[1]
        async with self._lock:
            if self._zones is None or self._zones[0] != versions.zones:
                self._zones = (versions.zones, ZoneIndex(await uow.zones.all()))
                log.info("zone polygons loaded", extra={"zones": len(self._zones[1])})
            return self._zones[1]


class CasesService:
    def __init__(self, uow: UowFactory, policy: CasesPolicy | None = None, clock: Clock = _utcnow) -> None:
        self._uow = uow
        self.policy = policy or CasesPolicy()
        self._now = clock
        self.reference = ReferenceCache()

    async def _write(self, body: Callable[[AbstractUnitOfWork], Awaitable[T]]) -> T:
        """Run ``body`` in a transaction; on a lost race, run it again from the start."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with self._uow() as uow:
                    result = await body(uow)
                    await uow.commit()
                    return result
            except Conflict:
                log.info("write conflict; retrying", extra={"attempt": attempt})
        raise Unavailable("the record kept changing concurrently; retry the call")

    # --- OpenCase --------------------------------------------------------------------------

    async def open_case(self, cmd: OpenCase) -> OpenCaseResult:
        address = self._checked(cmd)
        return await self._write(lambda uow: self._open_case(uow, cmd, address))

    async def open_cases(self, cmds: Sequence[OpenCase]) -> list[OpenCaseResult | Exception]:
        """Several OpenCase calls (intake's concurrent complaints, grouped) in one
        transaction: one commit, one outbox and audit write and one reference read for the
        lot instead of one each. The commands run in order on one connection, so each sees
        the ones before it and two complaints about one place make one case, as they would
        one after the other. Each answer is what OpenCase would have answered.

        If any command fails, or the transaction loses a race (a deadlock between two
        batches' dedupe locks), none of the batch is kept and each command runs again on
        its own: a bad command fails only itself."""
        answers: list[OpenCaseResult | Exception | None] = []
        valid: list[tuple[int, OpenCase, NormalisedAddress | None]] = []
        for i, cmd in enumerate(cmds):
            try:
                valid.append((i, cmd, self._checked(cmd)))
                answers.append(None)
            except DomainError as exc:
                answers.append(exc)
        if len(valid) > 1:
            try:
                async with self._uow() as uow:
                    # One read for the batch's streets instead of one per complaint.
                    await uow.properties.prefetch_street_lines(
                        {address.street_line for _, _, address in valid if address is not None}
                    )
                    opened = [await self._open_case(uow, cmd, address) for _, cmd, address in valid]
                    await uow.commit()
            except Exception as exc:  # noqa: BLE001 - each command runs on its own below
                # A refused command or a lost race is expected now and then; anything else
                # is worth a look. The type only: a driver's message can quote row values.
                level = logging.INFO if isinstance(exc, DomainError | Conflict) else logging.WARNING
                log.log(level, "OpenCases batch of %d went one by one: %s", len(valid), type(exc).__name__)
            else:
                for (i, _, _), result in zip(valid, opened, strict=True):
                    answers[i] = result
                valid = []
        for i, cmd, _ in valid:
            try:
                answers[i] = await self.open_case(cmd)
            except Exception as exc:  # noqa: BLE001 - the caller's own answer
                answers[i] = exc
        return [a for a in answers if a is not None]

    def _checked(self, cmd: OpenCase) -> NormalisedAddress | None:
        """The command's field violations (InvalidArgument), else its normalised address."""
        violations: list[FieldViolation] = []
        if not cmd.complaint_id.strip():
            violations.append(FieldViolation("complaint_id", "is required (idempotency key)"))
        if not cmd.service_code.strip():
            violations.append(FieldViolation("service_code", "is required (Service Level Matrix)", "6.8"))
        if cmd.priority is None:
            violations.append(FieldViolation("priority", "is required (Service Level Matrix)", "6.5.4"))
        if cmd.location.point is not None:
            violations.extend(point_violations(cmd.location.point, "location.point"))
        address = normalise_address(cmd.location.address) if cmd.location.address else None
        if address is None and cmd.location.point is None and not is_roll_number(cmd.location.address_id):
            violations.append(
                FieldViolation(
                    "location", "needs an address, an assessment roll number or a GPS point", "4.10"
                )
            )
        violations += too_long(
            [
                ("complaint_id", "complaint_id", cmd.complaint_id),
                ("service_code", "service_code", cmd.service_code),
                ("bylaw_number", "bylaw_number", cmd.bylaw_number),
                ("matrix_version", "matrix_version", cmd.matrix_version),
                ("channel", "channel", cmd.channel),
                ("location.address_id", "location.address_id", cmd.location.address_id),
                ("location.postal_code", "location.postal_code", cmd.location.postal_code),
                ("actor.subject", "actor.subject", cmd.actor.subject),
            ]
        )
        if violations:
            raise InvalidArgument(violations)
        return address

    async def _open_case(
        self, uow: AbstractUnitOfWork, cmd: OpenCase, address: NormalisedAddress | None
    ) -> OpenCaseResult:
        match = await self._match(uow, cmd.location, address)
        key = dedupe_key_for(match, address, cmd.location.point)
        if key is None:
            # The only location was a roll number that is not on the roll.
            raise InvalidArgument(
                FieldViolation(
                    "location.address_id",
                    "is not on the assessment roll and no address or GPS point was given",
                    "4.10",
                )
            )
        # Serialise every complaint that could be a duplicate of this one; the loser of a
        # race then sees the winner's case (policy 6.6.5). The unique index is the backstop.
        await uow.lock(key.lock_names(cmd.service_code, self.policy.match_radius_m))
        # Read under the lock: a retry of this very complaint (answered as the first call
        # was, whatever its location matches now) and the cases it could belong to.
        box = self._gps_box(key)
        found = await uow.cases.resolve(
            cmd.complaint_id, cmd.service_code, dedupe_key=key.key if box is None else "", gps_box=box
        )
        if found.replay is not None:
            link, replayed = found.replay
            return OpenCaseResult(replayed, link.disposition, link.match)
        received_at = cmd.received_at or self._now()
        decision = self._decide(found, key, received_at)
        if decision.disposition is Disposition.CREATED:
            case = await self._create(uow, cmd, match, key, received_at)
        elif decision.disposition is Disposition.JOINED:
            assert decision.case is not None
            case = await self._join(uow, cmd, match, decision.case, received_at)
        else:
            assert decision.case is not None
            case = await self._repeat(uow, cmd, match, decision.case, received_at)
        return OpenCaseResult(case, decision.disposition, match)

    def _gps_box(self, key: DedupeKey) -> BoundingBox | None:
        """For a GPS-only location, where other "same place" cases can be."""
        if key.kind != "gps" or key.point is None:
            return None
        return bounding_box(key.point, self.policy.match_radius_m)

    def _decide(self, found: Resolution, key: DedupeKey, received_at: datetime) -> Decision:
        lookback = self.policy.repeat_lookback
        if key.kind != "gps" or key.point is None:
            latest = None if found.open_case else found.latest
            return decide(found.open_case, latest, received_at, lookback)
        # A GPS-only location: "the same place" is any GPS-keyed case within the radius.
        open_near = self._nearest((c for c in found.nearby if c.is_open), key.point)
        if open_near is not None:
            return decide(open_near, None, received_at, lookback)
        nearby = [
            c
            for c in found.nearby
            if c.point is not None and haversine_m(c.point, key.point) <= self.policy.match_radius_m
        ]
        latest = max(nearby, key=lambda c: (c.received_at, c.case_number), default=None)
        return decide(None, latest, received_at, lookback)

    def _nearest(self, cases: Iterable[Case], point: Point) -> Case | None:
        best: tuple[float, str, Case] | None = None
        for case in cases:
            if case.point is None:
                continue
            distance = haversine_m(case.point, point)
            if distance <= self.policy.match_radius_m and (
                best is None or (distance, case.case_number) < best[:2]
            ):
                best = (distance, case.case_number, case)
        return best[2] if best else None

    async def _create(
        self,
        uow: AbstractUnitOfWork,
        cmd: OpenCase,
        match: PropertyMatch,
        key: DedupeKey,
        received_at: datetime,
    ) -> Case:
        assert cmd.priority is not None
        now = self._now()
        year = case_year(received_at, self.policy.timezone)
        versions = await uow.reference_versions()
        zone_code = await self._zone_for(uow, versions, match, cmd.location.point)
        sequence, officer = await self._number_and_route(uow, versions, cmd, zone_code, year)
        case = Case(
            case_number=format_case_number(year, sequence),
            status=CaseStatus.RECEIVED,
            priority=cmd.priority,
            service_code=cmd.service_code,
            bylaw_number=cmd.bylaw_number,
            matrix_version=cmd.matrix_version,
            received_at=received_at,
            updated_at=now,
            dedupe_key=key.key,
            location_address=cmd.location.address.strip(),
            location_address_id=cmd.location.address_id.strip(),
            location_postal_code=cmd.location.postal_code.strip(),
            point=cmd.location.point,
            match=match,
            zone_code=zone_code,
            assigned_officer_id=officer.officer_id if officer else "",
            # Rows enforced by another department go to its queue (issue 4 item 1).
            department=case_department(cmd.enforced_by, officer.department if officer else ""),
            enforced_by=tuple(cmd.enforced_by),
            complaint_count=1,
            restricted=cmd.restricted,
            summary=cmd.summary.strip(),
            channel=cmd.channel,
        )
        await uow.cases.add(
            case,
            ComplaintLink(cmd.complaint_id, case.case_number, Disposition.CREATED, match),
            StatusChange(
                case_number=case.case_number,
                step_key="opened",
                from_status="",
                to_status=CaseStatus.RECEIVED,
                reason="complaint received",
                actor_subject=cmd.actor.audit_subject,
                occurred_at=received_at,
            ),
        )
        await uow.publish(events.case_created(case, cmd.complaint_id))
        await uow.audit(
            AuditEntry(
                actor_subject=cmd.actor.audit_subject,
                action="case.created",
                occurred_at=now,
                case_number=case.case_number,
                details={
                    "complaint_id": cmd.complaint_id,
                    "service_code": case.service_code,
                    "match_method": match.method,
                    "dedupe_key": key.key,
                    "zone_code": zone_code,
                    "assigned_officer_id": case.assigned_officer_id,
                    "restricted": case.restricted,
                },
            )
        )
        log.info(
            "case created",
            extra={"case_number": case.case_number, "complaint_id": cmd.complaint_id, "match": match.method},
        )
        return case

    async def _number_and_route(
        self, uow: AbstractUnitOfWork, versions: ReferenceVersions, cmd: OpenCase, zone_code: str, year: int
    ) -> tuple[int, Officer | None]:
        """The new case's number sequence and its officer by automatic assignment (spec
        1.2). Caseloads are read only for the officers who tie on everything else, since
        only there can they change the choice, and together with the number."""
        shortlist = routing_shortlist(
            await self.reference.officers(uow, versions),
            service_code=cmd.service_code,
            bylaw_number=cmd.bylaw_number,
            enforced_by=cmd.enforced_by,
            zone_code=zone_code,
        )
        if len(shortlist) <= 1:
            return await uow.cases.next_sequence(year), (shortlist[0] if shortlist else None)
        sequence, open_load = await uow.cases.next_sequence_and_load(year, [o.officer_id for o in shortlist])
        officer = choose_officer(
            shortlist,
            service_code=cmd.service_code,
            bylaw_number=cmd.bylaw_number,
            enforced_by=cmd.enforced_by,
            zone_code=zone_code,
            open_load=open_load,
        )
        return sequence, officer

    async def _join(
        self, uow: AbstractUnitOfWork, cmd: OpenCase, match: PropertyMatch, case: Case, received_at: datetime
    ) -> Case:
        now = self._now()
        case.complaint_count += 1
        case.updated_at = now
        became_restricted = cmd.restricted and not case.restricted
        # One complaint about staff or Council makes the whole matter confidential (6.10).
        case.restricted = case.restricted or cmd.restricted
        await uow.cases.save(case)
        await uow.cases.add_complaint(
            case,
            ComplaintLink(cmd.complaint_id, case.case_number, Disposition.JOINED, match),
            channel=cmd.channel,
            received_at=received_at,
        )
        await uow.publish(
            events.complaint_joined(case, cmd.complaint_id, cmd.channel, received_at.isoformat())
        )
        await uow.audit(
            AuditEntry(
                actor_subject=cmd.actor.audit_subject,
                action="case.complaint_joined",
                occurred_at=now,
                case_number=case.case_number,
                details={
                    "complaint_id": cmd.complaint_id,
                    "complaint_count": case.complaint_count,
                    "became_restricted": became_restricted,
                },
            )
        )
        log.info(
            "complaint joined case", extra={"case_number": case.case_number, "complaint_id": cmd.complaint_id}
        )
        return case

    async def _repeat(
        self, uow: AbstractUnitOfWork, cmd: OpenCase, match: PropertyMatch, case: Case, received_at: datetime
    ) -> Case:
        await uow.cases.add_complaint(
            case,
            ComplaintLink(cmd.complaint_id, case.case_number, Disposition.REPEAT_AFTER_COMPLIANCE, match),
            channel=cmd.channel,
            received_at=received_at,
        )
        await uow.publish(
            events.repeat_after_compliance(case, cmd.complaint_id, cmd.channel, received_at.isoformat())
        )
        await uow.audit(
            AuditEntry(
                actor_subject=cmd.actor.audit_subject,
                action="case.repeat_after_compliance",
                occurred_at=self._now(),
                case_number=case.case_number,
                details={
                    "complaint_id": cmd.complaint_id,
                    "compliance_confirmed_at": case.compliance_confirmed_at.isoformat()
                    if case.compliance_confirmed_at
                    else None,
                },
            )
        )
        log.info(
            "repeat complaint after compliance",
            extra={"case_number": case.case_number, "complaint_id": cmd.complaint_id},
        )
        return case

    async def _zone_for(
        self, uow: AbstractUnitOfWork, versions: ReferenceVersions, match: PropertyMatch, point: Point | None
    ) -> str:
        if match.parcel is not None and match.parcel.zone_code:
            return match.parcel.zone_code
        where = point or (match.parcel.point if match.parcel else None)
        if where is None:
            return ""
        return (await self.reference.zones(uow, versions)).zone_of(where)

    # --- property matching -----------------------------------------------------------------

    async def _match(
        self, uow: AbstractUnitOfWork, location: Location, address: NormalisedAddress | None
    ) -> PropertyMatch:
        point = location.point
        if is_roll_number(location.address_id):
            prop = await uow.properties.get(canonical_roll_number(location.address_id))
            if prop is not None:
                return PropertyMatch("roll_number", prop, self._distance(prop, point))
        if address is not None:
            candidates = await uow.properties.by_street_line(address.street_line)
            if candidates:
                prop = self._best_address_candidate(candidates, address, point)
                return PropertyMatch("address", prop, self._distance(prop, point))
        if point is not None:
            box = bounding_box(point, self.policy.match_radius_m)
            best: tuple[float, str, Property] | None = None
            for prop in await uow.properties.in_box(box):
                if prop.point is None:
                    continue
                distance = haversine_m(prop.point, point)
                if distance <= self.policy.match_radius_m and (
                    best is None or (distance, prop.roll_number) < best[:2]
                ):
                    best = (distance, prop.roll_number, prop)
            if best is not None:
                return PropertyMatch("gps", best[2], best[0])
        return PropertyMatch()

    @staticmethod
    def _distance(prop: Property, point: Point | None) -> float:
        return haversine_m(prop.point, point) if prop.point is not None and point is not None else 0.0

    @staticmethod
    def _best_address_candidate(
        candidates: Sequence[Property], address: NormalisedAddress, point: Point | None
    ) -> Property:
        """Several parcels can share a street line (condominium units). Prefer the exact
        unit, then the parcel without a unit, then the one nearest the GPS point."""

        def rank(prop: Property) -> tuple[int, float, str]:
            exact = (
                0 if prop.address_key == address.key else (1 if prop.address_key == prop.street_line else 2)
            )
            distance = haversine_m(prop.point, point) if prop.point is not None and point is not None else 0.0
            return (exact, distance, prop.roll_number)

        return min(candidates, key=rank)

    async def lookup_property(self, location: Location) -> PropertyMatch:
        if location.point is not None and (problems := point_violations(location.point, "location.point")):
            raise InvalidArgument(problems)
        address = normalise_address(location.address) if location.address else None
        async with self._uow() as uow:
            return await self._match(uow, location, address)

    # --- RecordStatus / AssignCase ---------------------------------------------------------

    async def record_status(self, cmd: RecordStatus) -> Case:
        number = check_case_number(cmd.case_number)
        violations: list[FieldViolation] = []
        if cmd.status is None:
            violations.append(FieldViolation("status", "is required: a case status name"))
        if not cmd.step_key.strip():
            violations.append(FieldViolation("step_key", "is required (idempotency key of the transition)"))
        violations += too_long(
            [("step_key", "step_key", cmd.step_key), ("actor.subject", "actor.subject", cmd.actor.subject)]
        )
        if violations:
            raise InvalidArgument(violations)
        assert cmd.status is not None
        status = cmd.status

        async def body(uow: AbstractUnitOfWork) -> Case:
            case = await uow.cases.get(number, for_update=True)
            if case is None:
                raise NotFound(f"case {number} not found")
            if (done := await uow.cases.status_change(number, cmd.step_key)) is not None:
                if done.to_status is not status:
                    raise FailedPrecondition(
                        f"step {cmd.step_key!r} of case {number} already recorded status "
                        f"{done.to_status.value}, not {status.value}"
                    )
                return case  # retry of a recorded step: same answer, no second event
            outcome = check_transition(case, status, cmd.outcome, cmd.reason)
            occurred_at = cmd.occurred_at or self._now()
            change = StatusChange(
                case_number=number,
                step_key=cmd.step_key,
                from_status=case.status.value,
                to_status=status,
                reason=cmd.reason.strip(),
                actor_subject=cmd.actor.audit_subject,
                occurred_at=occurred_at,
                outcome=outcome.value if outcome else "",
            )
            apply_status(case, change, outcome)
            await uow.cases.save(case)
            await uow.cases.add_status_change(case, change)
            await uow.publish(events.status_changed(case, change))
            await uow.audit(
                AuditEntry(
                    actor_subject=cmd.actor.audit_subject,
                    action="case.status_recorded",
                    occurred_at=self._now(),
                    case_number=number,
                    details={
                        "step_key": cmd.step_key,
                        "from": change.from_status,
                        "to": status.value,
                        "outcome": change.outcome,
                    },
                )
            )
            log.info(
                "status recorded",
                extra={"case_number": number, "from": change.from_status, "to": status.value},
            )
            return case

        return await self._write(body)

    async def assign_case(self, cmd: AssignCase) -> Case:
        number = check_case_number(cmd.case_number)
        violations: list[FieldViolation] = []
        if not cmd.officer_id.strip():
            violations.append(FieldViolation("officer_id", "is required"))
        if not cmd.step_key.strip():
            violations.append(FieldViolation("step_key", "is required (idempotency key of the assignment)"))
        violations += too_long(
            [
                ("officer_id", "officer_id", cmd.officer_id),
                ("step_key", "step_key", cmd.step_key),
                ("actor.subject", "actor.subject", cmd.actor.subject),
            ]
        )
        if violations:
            raise InvalidArgument(violations)

        async def body(uow: AbstractUnitOfWork) -> Case:
            case = await uow.cases.get(number, for_update=True)
            if case is None:
                raise NotFound(f"case {number} not found")
            if (done := await uow.cases.assignment(number, cmd.step_key)) is not None:
                if done.officer_id != cmd.officer_id:
                    raise FailedPrecondition(
                        f"step {cmd.step_key!r} of case {number} already assigned {done.officer_id}"
                    )
                return case
            if case.status in TERMINAL_STATUSES:
                raise FailedPrecondition(f"case {number} is {case.status.value}; it cannot be assigned")
            officer = await uow.officers.get(cmd.officer_id)
            if officer is None or not officer.active:
                raise InvalidArgument(FieldViolation("officer_id", f"no active officer {cmd.officer_id!r}"))
            occurred_at = cmd.occurred_at or self._now()
            assignment = Assignment(
                case_number=number,
                step_key=cmd.step_key,
                officer_id=officer.officer_id,
                previous_officer_id=case.assigned_officer_id,
                reason=cmd.reason.strip(),
                actor_subject=cmd.actor.audit_subject,
                occurred_at=occurred_at,
            )
            case.assigned_officer_id = officer.officer_id
            # The case follows its officer into that department's queue (issue 4 item 1).
            case.department = case_department(case.enforced_by, officer.department)
            case.updated_at = occurred_at
            await uow.cases.save(case)
            await uow.cases.add_assignment(case, assignment)
            await uow.publish(events.case_assigned(case, assignment))
            await uow.audit(
                AuditEntry(
                    actor_subject=cmd.actor.audit_subject,
                    action="case.assigned",
                    occurred_at=self._now(),
                    case_number=number,
                    details={
                        "step_key": cmd.step_key,
                        "officer_id": officer.officer_id,
                        "previous_officer_id": assignment.previous_officer_id,
                    },
                )
            )
            return case

        return await self._write(body)

    # --- reads -----------------------------------------------------------------------------

    async def get_case(self, case_number: str, actor: Actor) -> Case:
        number = check_case_number(case_number)
        async with self._uow() as uow:
            case = await uow.cases.get(number)
        # A restricted case is reported as missing, not forbidden: its existence is itself
        # confidential (policy 6.10).
        if case is None or not visible_to(case, actor.roles):
            raise NotFound(f"case {number} not found")
        return case

    async def history(self, case_number: str, actor: Actor) -> list[StatusChange]:
        case = await self.get_case(case_number, actor)
        async with self._uow() as uow:
            return await uow.cases.history(case.case_number)

    async def list_cases(self, query: ListCases) -> CasePage:
        if query.page_size < 0:
            raise InvalidArgument(FieldViolation("page.page_size", "must not be negative"))
        limit = min(query.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = decode_page_token(query.page_token) if query.page_token else None
        where = CaseFilter(
            statuses=query.statuses,
            priority=query.priority,
            zone_code=query.zone_code,
            assigned_officer_id=query.assigned_officer_id,
            service_code=query.service_code,
            include_restricted=may_see_restricted(query.actor.roles),
            department=query.department,
        )
        async with self._uow() as uow:
            rows = await uow.cases.list(where, after, limit + 1)
            total = await uow.cases.count(where)
        page = rows[:limit]
        token = encode_page_token(page[-1]) if len(rows) > limit else ""
        return CasePage(page, token, total)

    async def town_summary(self) -> TownSummary:
        async with self._uow() as uow:
            return TownSummary(
                properties=await uow.properties.count(),
                officers=await uow.officers.count_active(),
                zones=await uow.zones.count(),
                open_cases=await uow.cases.count_open(),
            )

    # --- assessment roll, officers, zones --------------------------------------------------

    async def import_properties(self, rows: AsyncIterator[Property], actor: Actor) -> ImportCounts:
        """All-or-nothing: the whole stream is validated before anything is written."""
        validator = PropertyBatchValidator()
        accepted: list[Property] = []
        index = 0
        async for row in rows:
            accepted.append(validator.check(index, row))
            index += 1
        if problems := validator.outcome():
            raise InvalidArgument(problems)

        async def body(uow: AbstractUnitOfWork) -> ImportCounts:
            counts = ImportCounts()
            for start in range(0, len(accepted), UPSERT_CHUNK):
                chunk = await uow.properties.upsert(accepted[start : start + UPSERT_CHUNK])
                counts = ImportCounts(
                    counts.inserted + chunk.inserted,
                    counts.updated + chunk.updated,
                    counts.unchanged + chunk.unchanged,
                )
            await uow.audit(
                AuditEntry(
                    actor_subject=actor.audit_subject,
                    action="properties.imported",
                    occurred_at=self._now(),
                    details={
                        "inserted": counts.inserted,
                        "updated": counts.updated,
                        "unchanged": counts.unchanged,
                    },
                )
            )
            return counts

        counts = await self._write(body)
        log.info(
            "assessment roll imported",
            extra={"inserted": counts.inserted, "updated": counts.updated, "unchanged": counts.unchanged},
        )
        return counts

    async def upsert_officers(self, officers: Sequence[Officer], actor: Actor) -> ImportCounts:
        violations: list[FieldViolation] = []
        seen: dict[str, int] = {}
        for index, officer in enumerate(officers):
            violations.extend(officer_violations(index, officer))
            if officer.officer_id in seen:
                violations.append(
                    FieldViolation(
                        f"officers[{index}].officer_id", f"duplicate of officers[{seen[officer.officer_id]}]"
                    )
                )
            seen.setdefault(officer.officer_id, index)
        if violations:
            raise InvalidArgument(violations)

        async def body(uow: AbstractUnitOfWork) -> ImportCounts:
            counts = await uow.officers.upsert(officers)
            await uow.audit(
                AuditEntry(
                    actor_subject=actor.audit_subject,
                    action="officers.upserted",
                    occurred_at=self._now(),
                    details={
                        "officer_ids": [o.officer_id for o in officers],
                        "inserted": counts.inserted,
                        "updated": counts.updated,
                    },
                )
            )
            return counts

        return await self._write(body)

    async def upsert_zones(self, zones: Sequence[Zone], actor: Actor) -> ImportCounts:
        violations: list[FieldViolation] = []
        seen: dict[str, int] = {}
        for index, zone in enumerate(zones):
            violations.extend(zone_violations(index, zone))
            if zone.zone_code in seen:
                violations.append(
                    FieldViolation(f"zones[{index}].zone_code", f"duplicate of zones[{seen[zone.zone_code]}]")
                )
            seen.setdefault(zone.zone_code, index)
        if violations:
            raise InvalidArgument(violations)

        async def body(uow: AbstractUnitOfWork) -> ImportCounts:
            counts = await uow.zones.upsert(zones)
            await uow.audit(
                AuditEntry(
                    actor_subject=actor.audit_subject,
                    action="zones.upserted",
                    occurred_at=self._now(),
                    details={
                        "zone_codes": [z.zone_code for z in zones],
                        "inserted": counts.inserted,
                        "updated": counts.updated,
                    },
                )
            )
            return counts

        return await self._write(body)


# --- page tokens -----------------------------------------------------------------------------


def encode_page_token(last: Case) -> str:
    """An opaque keyset cursor: the queue position of the last case on the page."""
    raw = json.dumps([last.priority.rank, last.received_at.isoformat(), last.case_number])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_page_token(token: str) -> QueueCursor:
    try:
        padded = token + "=" * (-len(token) % 4)
        rank, received, number = json.loads(base64.urlsafe_b64decode(padded.encode()))
        cursor = (int(rank), datetime.fromisoformat(received), str(number))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidArgument(
            FieldViolation("page.page_token", "is not a token from a previous page")
        ) from exc
    if cursor[1].tzinfo is None:
        raise InvalidArgument(FieldViolation("page.page_token", "is not a token from a previous page"))
    return cursor
