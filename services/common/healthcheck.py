"""Container health probes (docker-compose healthchecks; Kubernetes can use its native
gRPC probe for the services instead). Exit 0 when healthy, 1 otherwise.

    python -m services.common.healthcheck grpc 127.0.0.1:50052 bylaw.v1.CasesService
    python -m services.common.healthcheck http http://127.0.0.1:8000/livez
    python -m services.common.healthcheck worker            # a poller on case-lifecycle
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def check_grpc(address: str, service: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        resp = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=3.0
        )
        return bool(resp.status == health_pb2.HealthCheckResponse.SERVING)


def check_http(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=3) as resp:  # noqa: S310 - probe of our own URL
        return bool(resp.status == 200)


async def worker_polling(address: str, namespace: str, task_queue: str) -> bool:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.client import Client

    client = await Client.connect(address, namespace=namespace)
    resp = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len(resp.pollers) > 0


def check_worker() -> bool:
    from services.common.settings import get_settings

    s = get_settings()
    return asyncio.run(worker_polling(s.temporal_address, s.temporal_namespace, s.temporal_task_queue))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services.common.healthcheck")
    sub = parser.add_subparsers(dest="kind", required=True)
    g = sub.add_parser("grpc")
    g.add_argument("address")
    g.add_argument("service", nargs="?", default="")
    h = sub.add_parser("http")
    h.add_argument("url")
    sub.add_parser("worker")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.kind == "grpc":
            ok = check_grpc(args.address, args.service)
        elif args.kind == "http":
            ok = check_http(args.url)
        else:
            ok = check_worker()
    except Exception as exc:  # noqa: BLE001 - any failure is "unhealthy"
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
