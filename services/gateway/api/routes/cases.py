"""Staff work queue and case reads (``/api/v1/cases``). The caller's identity travels to
the cases service as an Actor so restricted cases (policy 6.10) are filtered there."""

from __future__ import annotations

from typing import Annotated

from bylaw.v1 import cases_pb2, common_pb2
from fastapi import APIRouter, Path, Query

from services.gateway.api.deps import CaseReader, ClientsDep
from services.gateway.api.models import CaseOut, CasePage, CaseStatusName, PriorityName
from services.gateway.clients import READ_TIMEOUT
from services.gateway.errors import rpc

router = APIRouter(prefix="/cases", tags=["cases"])

CASE_NUMBER_PATTERN = r"^BL-\d{4}-\d{6}$"
MAX_PAGE_SIZE = 200


@router.get(
    "",
    summary="Work queue: cases by priority, then age (policy 6.5.4)",
    response_model=CasePage,
)
async def list_cases(
    clients: ClientsDep,
    principal: CaseReader,
    status: Annotated[list[CaseStatusName] | None, Query(description="repeat for several")] = None,
    priority: PriorityName | None = None,
    zone: Annotated[str | None, Query(max_length=50)] = None,
    officer: Annotated[str | None, Query(max_length=100, description="assigned officer id")] = None,
    service_code: Annotated[str | None, Query(max_length=100)] = None,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    page_token: Annotated[str | None, Query(max_length=500)] = None,
) -> CasePage:
    request = cases_pb2.ListCasesRequest(
        statuses=[s.to_proto() for s in status or []],
        priority=priority.to_proto() if priority else common_pb2.PRIORITY_UNSPECIFIED,
        zone_code=zone or "",
        assigned_officer_id=officer or "",
        service_code=service_code or "",
        page=common_pb2.PageRequest(page_size=page_size, page_token=page_token or ""),
        actor=principal.to_actor(),
    )
    reply = await rpc("cases", clients.cases.ListCases(request, timeout=READ_TIMEOUT))
    return CasePage(
        items=[CaseOut.from_proto(c) for c in reply.cases],
        next_page_token=reply.next_page_token or None,
        total=reply.total,
    )


@router.get(
    "/{case_number}",
    summary="One case",
    response_model=CaseOut,
    responses={404: {"description": "no such case"}, 403: {"description": "restricted (policy 6.10)"}},
)
async def get_case(
    case_number: Annotated[str, Path(pattern=CASE_NUMBER_PATTERN, examples=["BL-2026-000001"])],
    clients: ClientsDep,
    principal: CaseReader,
) -> CaseOut:
    case = await rpc(
        "cases",
        clients.cases.GetCase(
            cases_pb2.GetCaseRequest(case_number=case_number, actor=principal.to_actor()),
            timeout=READ_TIMEOUT,
        ),
    )
    return CaseOut.from_proto(case)
