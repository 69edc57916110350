"""Settings only the cases service reads (environment prefix ``BYLAW_CASES_``), next to
the system-wide :class:`services.common.settings.Settings`.

- ``BYLAW_CASES_MATCH_RADIUS_M`` (25): how close a GPS point must be to a parcel to match
  it, and to another GPS-only complaint to count as the same place (policy 6.6.5).
- ``BYLAW_CASES_REPEAT_LOOKBACK_DAYS`` (180): how long after compliance was confirmed a
  new complaint about the same matter is a repeat not acted on without new information
  (policy 6.6.3).
- ``BYLAW_CASES_REMEDIATION_PAYMENT_DAYS`` (30): the payment period of a remediation invoice;
  a balance unpaid after it is added to the tax roll (policy 6.7.9; Municipal Act s.446).
- ``BYLAW_CASES_CHECKLISTS_DIR`` (``config/checklists``): the by-law-specific inspection
  checklists (seed spec 2.2), one YAML file each.
- ``BYLAW_CASES_SET_FINES_FILE`` (``config/set_fines.yaml``): Part I set fines and
  administrative monetary penalties an officer picks by code.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.cases.adapters.reference import DEFAULT_CHECKLISTS_DIR, DEFAULT_SET_FINES
from services.cases.service_layer.remediation import RemediationPolicy
from services.cases.service_layer.services import CasesPolicy


class CasesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BYLAW_CASES_", extra="ignore")

    match_radius_m: float = Field(default=25.0, gt=0, le=500)
    repeat_lookback_days: int = Field(default=180, ge=0, le=3650)
    remediation_payment_days: int = Field(default=30, ge=1, le=365)
    checklists_dir: Path = DEFAULT_CHECKLISTS_DIR
    set_fines_file: Path = DEFAULT_SET_FINES

    def policy(self, timezone: str) -> CasesPolicy:
        return CasesPolicy(
            match_radius_m=self.match_radius_m,
            repeat_lookback=timedelta(days=self.repeat_lookback_days),
            timezone=timezone,
        )

    def remediation_policy(self, timezone: str) -> RemediationPolicy:
        return RemediationPolicy(payment_period_days=self.remediation_payment_days, timezone=timezone)
