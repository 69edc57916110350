"""Intake's own settings (prefix ``BYLAW_INTAKE_``), beside the system-wide
``services.common.settings.Settings``: the data files it classifies with and how often its
background sweeps run."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BYLAW_INTAKE_", extra="ignore")

    # Service-level targets per priority (policy 6.5.4, 6.8.5).
    sla_file: Path = CONFIG_DIR / "sla_targets.yaml"
    # Referral-only services (policy 6.2.1 g, 6.5.9, 6.11.2).
    referral_file: Path = CONFIG_DIR / "referral_services.yaml"
    # Overdue acknowledgement alerts, workflow signals, pending case closures.
    ack_sweep_seconds: float = 10.0
    # Janitor pass over the 311 stream (erasure of acked requests).
    erase_sweep_seconds: float = 10.0
