"""The Open311 service-definition attributes every matrix service asks for.

Open311's POST fields cover the location, the description and the complainant's name and
contact, but not everything policy 6.5.3 requires; the rest is asked for as attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.intake.domain.model import PREFERRED_CONTACT_METHODS

COMPLAINANT_ADDRESS = "complainant_address"
PREFERRED_CONTACT = "preferred_contact"
ABOUT_STAFF_OR_COUNCIL = "about_staff_or_council"

YES_NO = (("yes", "Yes"), ("no", "No"))


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    code: str
    datatype: str  # Open311: string | number | datetime | text | singlevaluelist | multivaluelist
    required: bool
    description: str
    datatype_description: str
    order: int
    values: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    max_length: int = 300

    def allows(self, value: str) -> bool:
        if self.values:
            return value in {key for key, _ in self.values}
        return len(value) <= self.max_length


ATTRIBUTES: tuple[AttributeSpec, ...] = (
    AttributeSpec(
        code=COMPLAINANT_ADDRESS,
        datatype="string",
        required=True,  # policy 4.10, 6.5.3
        description=(
            "Your own address (street and number, town). The By-law Enforcement Policy asks "
            "every complainant for it (sections 4.10 and 6.5.3); it is kept confidential "
            "(section 6.3.5)."
        ),
        datatype_description="Civic address, e.g. 123 Dundas St E, Napanee",
        order=1,
    ),
    AttributeSpec(
        code=PREFERRED_CONTACT,
        datatype="singlevaluelist",
        required=False,
        description=(
            "How you prefer to be contacted about this complaint (section 6.5.3). "
            "If left empty, we use the email address or phone number you gave."
        ),
        datatype_description="email, phone or mail",
        order=2,
        values=tuple((m, m.capitalize()) for m in PREFERRED_CONTACT_METHODS),
    ),
    AttributeSpec(
        code=ABOUT_STAFF_OR_COUNCIL,
        datatype="singlevaluelist",
        required=False,
        description=(
            "Is the complaint about a Town employee or a member of Council? Such complaints "
            "are handled like any other, with access restricted (section 6.10)."
        ),
        datatype_description="yes or no",
        order=3,
        values=YES_NO,
    ),
)

ATTRIBUTES_BY_CODE = {a.code: a for a in ATTRIBUTES}
