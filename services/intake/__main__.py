"""``python -m services.intake``: the intake service process."""

from services.common.runtime import run_service
from services.intake.bootstrap import serve

if __name__ == "__main__":
    run_service("intake", serve)
