"""docker-compose.yml cannot be run here (no Docker engine), so this keeps it honest:
every command, module, probe and environment variable it names must exist in the code."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.stack import GRPC_SERVICE_NAMES
from services.common.healthcheck import build_parser
from services.common.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
OURS = {name: svc for name, svc in SERVICES.items() if svc.get("image", "").startswith("civic-bylaw")}
OFFICIAL_IMAGES = {
    "postgres": "postgres:",
    "nats": "nats:",
    "minio": "minio/minio:",
    "temporal": "temporalio/",
    "temporal-ui": "temporalio/ui:",
}
SETTINGS_ENV = {f"BYLAW_{name.upper()}" for name in Settings.model_fields}


def _module_runnable(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    if spec is None:
        return False
    if spec.submodule_search_locations:  # a package: needs __main__
        return importlib.util.find_spec(f"{module}.__main__") is not None
    return True


def test_infrastructure_uses_the_official_images() -> None:
    for name, prefix in OFFICIAL_IMAGES.items():
        assert name in SERVICES, f"compose lacks {name}"
        assert SERVICES[name]["image"].startswith(prefix), f"{name} should use an official {prefix} image"


def test_every_part_of_the_system_runs_from_our_one_image() -> None:
    expected = {
        "services.gateway",
        "services.intake",
        "services.cases",
        "services.evidence",
        "services.notices",
        "services.reporting",
        "workflows.worker",
    }
    commands = {}
    for name, svc in OURS.items():
        cmd = svc["command"]
        assert cmd[:2] == ["python", "-m"], f"{name}: command should be python -m <module>"
        commands[cmd[2]] = name
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
    assert set(commands) == expected


@pytest.mark.parametrize("name", sorted(OURS))
def test_commands_name_runnable_modules(name: str) -> None:
    module = OURS[name]["command"][2]
    assert _module_runnable(module), f"{name}: `python -m {module}` has no such module"


def test_environment_variables_exist_in_settings() -> None:
    named: set[str] = set()
    for svc in OURS.values():
        named |= {k for k in svc["environment"] if k.startswith("BYLAW_")}
    assert named, "our services get no BYLAW_ settings"
    unknown = sorted(named - SETTINGS_ENV)
    assert not unknown, f"compose sets variables the code never reads: {unknown}"


def test_service_addresses_point_at_compose_services_and_ports() -> None:
    defaults = Settings()
    env = OURS["gateway"]["environment"]
    for service in GRPC_SERVICE_NAMES:
        host, port = env[f"BYLAW_{service.upper()}_ADDR"].split(":")
        assert host in SERVICES, f"BYLAW_{service.upper()}_ADDR names unknown host {host}"
        assert int(port) == getattr(defaults, f"{service}_port")


@pytest.mark.parametrize("name", sorted(n for n, s in SERVICES.items() if "healthcheck" in s and n in OURS))
def test_healthchecks_use_our_probe_correctly(name: str) -> None:
    test = OURS[name]["healthcheck"]["test"]
    assert test[:4] == ["CMD", "python", "-m", "services.common.healthcheck"]
    args = build_parser().parse_args(test[4:])
    if args.kind == "grpc":
        expected = GRPC_SERVICE_NAMES[name]
        assert args.service == expected, f"{name} probes {args.service}, serves {expected}"
        port = int(args.address.rsplit(":", 1)[1])
        assert port == getattr(Settings(), f"{name}_port")


def test_depends_on_conditions_refer_to_services_with_healthchecks() -> None:
    for name, svc in SERVICES.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in SERVICES, f"{name} depends on unknown {dep}"
            if cond.get("condition") == "service_healthy":
                assert "healthcheck" in SERVICES[dep], f"{name} waits for unhealthcheckable {dep}"


def test_dockerfile_copies_paths_that_exist() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    for src in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, flags=re.MULTILINE):
        assert (ROOT / src).exists(), f"Dockerfile copies missing {src}"
    for src in re.findall(r"^COPY (?!--from)(?:\S+ )*?(\S+) \./", dockerfile, flags=re.MULTILINE):
        assert (ROOT / src).exists()
    assert (ROOT / "deploy" / "apt-packages.txt").exists()
