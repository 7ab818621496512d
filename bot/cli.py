"""The `issue-pilot` command."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import SettingsError, get_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot import jsonlog
    from bot.web import create_app

    settings = get_settings()
    settings.check_web_ready()
    jsonlog.configure(settings.log_level)
    uvicorn.run(
        create_app(settings), host=args.host, port=args.port, access_log=False, log_config=None
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    from bot import jsonlog
    from bot.worker import build_worker

    settings = get_settings()
    settings.check_worker_ready()
    jsonlog.configure(settings.log_level)
    build_worker(settings).run()
    return 0


def _sim(args: argparse.Namespace) -> int:
    # The bot never imports ghsim; only this command, which runs it, does.
    server = importlib.import_module("ghsim.server")
    server.serve(
        host=args.host,
        port=args.port,
        data_dir=Path(args.data_dir),
        webhook_url=args.webhook_url,
        ci_image=args.ci_image,
        ci_max_jobs=args.ci_max_jobs,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="issue-pilot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the webhook web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=_serve)

    worker = sub.add_parser("worker", help="run the worker that handles deliveries")
    worker.set_defaults(run=_worker)

    sim = sub.add_parser("sim", help="run ghsim, the local GitHub")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=3000)
    sim.add_argument("--data-dir", default="data/ghsim")
    sim.add_argument("--webhook-url", default="http://127.0.0.1:8000/webhooks/github")
    sim.add_argument("--ci-image", default=None, help="image CI jobs run in")
    sim.add_argument("--ci-max-jobs", type=int, default=2, help="CI jobs run at once")
    sim.set_defaults(run=_sim)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except SettingsError as exc:
        print(f"issue-pilot {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
