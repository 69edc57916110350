"""``python -m services.evidence``: run the evidence gRPC service."""

from services.common.runtime import run_service
from services.evidence.bootstrap import serve

if __name__ == "__main__":
    run_service("evidence", serve)
