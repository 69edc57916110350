"""Probes: ``/livez`` (the process answers) and ``/healthz`` (it and every service it
needs are reachable; DESIGN.md section 3)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.gateway.api.deps import ClientsDep
from services.gateway.health import probe_dependencies

router = APIRouter(tags=["health"])


class DependencyOut(BaseModel):
    status: str  # "up" | "down"
    detail: str
    latency_ms: float


class HealthOut(BaseModel):
    status: str  # "ok" | "unavailable"
    down: list[str]
    dependencies: dict[str, DependencyOut]


@router.get("/livez", summary="Liveness: the gateway process is running")
async def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/healthz",
    summary="Readiness: 200 when intake, cases, evidence, notices, reporting and Temporal answer",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "one or more dependencies are down"}},
)
async def healthz(clients: ClientsDep) -> JSONResponse:
    states = await probe_dependencies(clients)
    down = [s.name for s in states if not s.up]
    body = HealthOut(
        status="unavailable" if down else "ok",
        down=down,
        dependencies={
            s.name: DependencyOut(status="up" if s.up else "down", detail=s.detail, latency_ms=s.latency_ms)
            for s in states
        },
    )
    return JSONResponse(body.model_dump(), status_code=503 if down else 200)
