"""Run ghsim with uvicorn: ``serve(...)`` is what ``issue-pilot sim`` calls."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import uvicorn

from ghsim.app import create_app
from ghsim.config import SimConfig


def serve(
    host: str,
    port: int,
    data_dir: str | Path,
    webhook_url: str | None,
    ci_image: str | None = None,
    ci_max_jobs: int = 2,
    public_url: str | None = None,
) -> None:
    """Serve ghsim until interrupted; state lives in ``data_dir`` and survives restarts."""
    config = SimConfig(
        host=host,
        port=port,
        data_dir=Path(data_dir),
        webhook_url=webhook_url or None,
        ci_image=ci_image,
        ci_max_jobs=ci_max_jobs,
        public_url=public_url,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # One line per webhook POST drowns the log; deliveries are listed by the API instead.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # ghsim serves no websockets: "none" spares importing a websockets implementation.
    uvicorn.run(
        create_app(config), host=host, port=port, log_level="warning", access_log=False, ws="none"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ghsim", description="A local GitHub.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8808)
    parser.add_argument("--data-dir", default="data/ghsim")
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--ci-image", default=None)
    parser.add_argument("--ci-max-jobs", type=int, default=2)
    parser.add_argument("--public-url", default=None)
    args = parser.parse_args(argv)
    serve(
        args.host,
        args.port,
        args.data_dir,
        args.webhook_url,
        args.ci_image,
        args.ci_max_jobs,
        args.public_url,
    )
