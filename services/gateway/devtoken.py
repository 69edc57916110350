"""``python -m services.gateway.devtoken --role supervisor --sub alice [--hours 8]``: print
a bearer token for the development gateway. Refuses outside ``BYLAW_ENV=dev``/``test``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from services.common.settings import Settings
from services.gateway.security import Role, mint_dev_token

# devstack (`make run`) prints a ready-made token with this.
__all__ = ["main", "mint_dev_token"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.gateway.devtoken",
        description="Mint a staff bearer token for the development gateway (HS256, BYLAW_JWT_SECRET).",
    )
    parser.add_argument(
        "--role",
        action="append",
        required=True,
        choices=[r.value for r in Role],
        help="staff role; repeat for several",
    )
    parser.add_argument("--sub", required=True, help="staff user id (token subject)")
    parser.add_argument("--name", default="", help="display name")
    parser.add_argument("--hours", type=float, default=8.0, help="lifetime in hours (default 8)")
    args = parser.parse_args(argv)
    if args.hours <= 0:
        parser.error("--hours must be positive")
    settings = Settings()
    try:
        token = mint_dev_token(
            settings, subject=args.sub, roles=args.role, hours=args.hours, display_name=args.name
        )
    except PermissionError as exc:
        print(f"devtoken: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
