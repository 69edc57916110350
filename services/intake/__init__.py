"""Intake: validates and classifies complaints from every channel (policy 4.10, 6.5),
keeps the complainant identity vault, gets cases from the cases service, starts the case
workflow and reports outcomes (DESIGN.md section 2)."""
