"""Open311 GeoReport v2 documents as pydantic models (the JSON Schemas in
``tests/fixtures/open311/`` are the reference), plus our two extension fields on every
request object: ``case_number`` and ``external_request_id`` (DESIGN.md section 3)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]


class Open311Service(BaseModel):
    """One row of the Service Level Matrix offered as a service type."""

    service_code: str
    service_name: str
    description: str | None = None
    metadata: bool = Field(description="true: GET services/{code}.json lists the attributes to fill in")
    type: Literal["realtime", "batch", "blackbox"] = "realtime"
    keywords: str | None = None
    group: str | None = None


class Open311AttributeValue(BaseModel):
    key: str
    name: str


class Open311Attribute(BaseModel):
    variable: bool
    code: str
    datatype: Datatype
    required: bool
    datatype_description: str | None = None
    order: int | None = None
    description: str | None = None
    values: list[Open311AttributeValue] = Field(default_factory=list)


class Open311ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Open311Attribute]


class Open311Request(BaseModel):
    """A complaint as the public sees it: status, case number and a neutral note. Never the
    complainant's identity, the written complaint or investigation details (policy 6.3.4,
    6.3.8), so ``description`` and ``media_url`` are always null."""

    model_config = ConfigDict(populate_by_name=True)

    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None = None
    service_name: str | None = None
    service_code: str
    description: None = None
    agency_responsible: str | None = None
    service_notice: str | None = None
    requested_datetime: datetime
    updated_datetime: datetime | None = None
    expected_datetime: datetime | None = None
    address: str | None = None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: None = None
    case_number: str | None = Field(None, description="extension: the case this complaint created or joined")
    external_request_id: str | None = Field(
        None, description="extension: the 311 system's id for complaints received over NATS"
    )


class Open311RequestCreated(BaseModel):
    """The answer to POST requests.json: the id at once (no token round trip)."""

    service_request_id: str
    service_notice: str | None = None
    account_id: None = None
    token: None = None
    case_number: str | None = Field(None, description="extension: null when referred or rejected")


class Open311Token(BaseModel):
    service_request_id: str
    token: str


class Open311ErrorItem(BaseModel):
    code: int
    description: str
