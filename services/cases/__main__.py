"""``python -m services.cases``: run the cases gRPC service until SIGTERM/SIGINT."""

from services.cases.bootstrap import serve
from services.common.runtime import run_service

if __name__ == "__main__":
    run_service("cases", serve)
