"""Operator tools of intake (``python -m services.intake.tools.<name>``)."""
