"""Run ghsim with uvicorn: ``serve(...)`` is what ``issue-pilot sim`` calls."""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
from pathlib import Path
from typing import IO

import uvicorn

from ghsim.app import create_app
from ghsim.config import SimConfig
from ghsim.faults import ApiRule, DeliveryFaults
from ghsim.rate_rules import RateLimits

LOCK_FILE = "ghsim.lock"


def lock_data_dir(data_dir: Path) -> IO[str]:
    """Hold an exclusive lock on ``data_dir`` for the life of the process (the OS drops it).

    Two ghsim processes on one data dir would corrupt each other's repositories and ids;
    raises ``SystemExit`` with a clear message when another process holds the lock.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / LOCK_FILE, "a+")  # held open until the process exits
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise SystemExit(
            f"ghsim: data dir {data_dir} is in use by {holder}; "
            "stop that ghsim or choose another --data-dir"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"ghsim pid {os.getpid()}\n")
    handle.flush()
    return handle


def serve(
    host: str,
    port: int,
    data_dir: str | Path,
    webhook_url: str | None,
    ci_image: str | None = None,
    ci_max_jobs: int = 2,
    public_url: str | None = None,
    ci_approval_required: bool = False,
    rate_limits: list[str] | None = None,
    delivery_faults: list[str] | None = None,
    api_faults: list[str] | None = None,
) -> None:
    """Serve ghsim until interrupted; state lives in ``data_dir`` and survives restarts.

    ``delivery_faults`` are ``NAME=VALUE`` settings of `faults.DeliveryFaults`, ``api_faults``
    rules as `faults.ApiRule.parse` reads them: the fault mode from the start."""
    config = SimConfig(
        host=host,
        port=port,
        data_dir=Path(data_dir),
        webhook_url=webhook_url or None,
        ci_image=ci_image,
        ci_max_jobs=ci_max_jobs,
        public_url=public_url,
        ci_approval_required=ci_approval_required,
        rate_limits=RateLimits().with_overrides(rate_limits or []),
        delivery_faults=DeliveryFaults().with_overrides(delivery_faults or []),
        api_faults=tuple(ApiRule.parse(spec) for spec in api_faults or []),
    )
    lock = lock_data_dir(config.data_dir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # One line per webhook POST drowns the log; deliveries are listed by the API instead.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # ghsim serves no websockets: "none" spares importing a websockets implementation.
    try:
        uvicorn.run(
            create_app(config),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            ws="none",
        )
    finally:
        lock.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ghsim", description="A local GitHub.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8808)
    parser.add_argument("--data-dir", default="data/ghsim")
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--ci-image", default=None)
    parser.add_argument("--ci-max-jobs", type=int, default=2)
    parser.add_argument("--public-url", default=None)
    parser.add_argument(
        "--ci-approval-required",
        action="store_true",
        help="hold every new workflow run (action_required) until approved through the API",
    )
    parser.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change one of GitHub's rate limits (ghsim/rate_rules.py RateLimits), e.g. "
        "content_per_minute=1000 or enabled=false; repeatable",
    )
    parser.add_argument(
        "--delivery-fault",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fault mode for webhook deliveries (ghsim/faults.py DeliveryFaults): drop=0.3, "
        "reorder_window=5, reorder_hold_ms=200, delay_ms=500, delay_random=true, seed=7; "
        "repeatable",
    )
    parser.add_argument(
        "--api-fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="answer matching API requests with an error: 'METHOD PATH_REGEX STATUS "
        "[seconds=N] [count=N] [retry_after=N]', e.g. 'PATCH /repos/.+/issues/comments/\\d+ "
        "502 seconds=60'; repeatable",
    )
    args = parser.parse_args(argv)
    try:
        DeliveryFaults().with_overrides(args.delivery_fault)
        for spec in args.api_fault:
            ApiRule.parse(spec)
    except ValueError as exc:
        parser.error(str(exc))
    serve(
        args.host,
        args.port,
        args.data_dir,
        args.webhook_url,
        args.ci_image,
        args.ci_max_jobs,
        args.public_url,
        args.ci_approval_required,
        args.rate_limit,
        args.delivery_fault,
        args.api_fault,
    )
