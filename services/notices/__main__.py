"""``python -m services.notices``: run the notices gRPC service."""

from services.common.runtime import run_service
from services.notices.bootstrap import serve

if __name__ == "__main__":
    run_service("notices", serve)
