"""``python -m services.reporting``: run the reporting gRPC service and its event consumer."""

from services.common.runtime import run_service
from services.reporting.bootstrap import serve

if __name__ == "__main__":
    run_service("reporting", serve)
