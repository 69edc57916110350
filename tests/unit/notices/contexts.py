"""Valid template contexts for the shipped templates (no complainant identity)."""

from __future__ import annotations

from typing import Any


def acknowledgement() -> dict[str, Any]:
    return {
        "received_on": "2026-05-27",
        "matter": "Long grass and weeds",
        "location": "123 Dundas St E",
        "next_steps": [
            "An officer will inspect the property within the time set for low-priority matters.",
            "If a by-law is contravened, the owner will be asked to comply.",
        ],
        "update_by": "2026-06-10",
        "priority": "low",
    }


def compliance_notice() -> dict[str, Any]:
    return {
        "recipient_name": "Jordan Owner",
        "recipient_address": "12 Sample Rd\nNapanee ON K7R 0A0",
        "property_address": "123 Dundas St E",
        "issued_on": "2026-06-01",
        "bylaw_number": "2000-0066",
        "bylaw_title": "Grass Cutting By-law",
        "bylaw_section": "3(1)",
        "contravention": "Grass and weeds on the property are taller than 20 cm.",
        "inspection_date": "2026-05-28",
        "evidence": [
            "Grass about 45 cm high across the front yard (photo 1)",
            "Weeds along the east lot line",
        ],
        "required_action": "Cut the grass and weeds to under 20 cm and remove the clippings.",
        "comply_by": "2026-06-15",
        "officer_name": "A. Officer",
        "officer_badge": "114",
    }


def plain() -> dict[str, Any]:
    return {"subject": "Site visit", "body": "An officer will attend on Monday.\n\nThank you."}
