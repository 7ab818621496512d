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
    import asyncio

    from bot import jsonlog
    from bot.worker_process import run_workers

    settings = get_settings()
    settings.check_worker_ready()
    jsonlog.configure(settings.log_level)
    asyncio.run(run_workers(settings))
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


def _scripted_model(args: argparse.Namespace) -> int:
    from bot.scripted_model import ScriptError, serve

    try:
        serve(Path(args.script), host=args.host, port=args.port)
    except ScriptError as exc:
        print(f"issue-pilot scripted-model: {exc}", file=sys.stderr)
        return 2
    return 0


def _run_local(args: argparse.Namespace) -> int:
    from bot import jsonlog
    from bot.docker_sandbox import DockerSandboxes
    from bot.llm import llm_from_settings
    from bot.run_local import main_run_local
    from bot.run_worker import run_deps_from

    settings = get_settings()
    jsonlog.configure("WARNING")
    deps = run_deps_from(settings, llm_from_settings(settings), DockerSandboxes())
    assert deps is not None
    return main_run_local(deps, Path(args.repo), Path(args.issue_file), args.issue_number)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="issue-pilot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the webhook web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=_serve)

    worker = sub.add_parser("worker", help="run the worker: deliveries and runs")
    worker.set_defaults(run=_worker)

    local = sub.add_parser("run-local", help="one run on a local checkout, without GitHub")
    local.add_argument("--repo", required=True, help="path of the local git repository")
    local.add_argument("--issue-file", required=True, help="markdown (first line: title) or JSON")
    local.add_argument("--issue-number", type=int, default=1)
    local.set_defaults(run=_run_local)

    sim = sub.add_parser("sim", help="run ghsim, the local GitHub")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=3000)
    sim.add_argument("--data-dir", default="data/ghsim")
    sim.add_argument("--webhook-url", default="http://127.0.0.1:8000/webhooks/github")
    sim.add_argument("--ci-image", default=None, help="image CI jobs run in")
    sim.add_argument("--ci-max-jobs", type=int, default=2, help="CI jobs run at once")
    sim.set_defaults(run=_sim)

    scripted = sub.add_parser("scripted-model", help="serve a scripted OpenAI-compatible model")
    scripted.add_argument("--script", required=True, help="JSON or YAML list of steps")
    scripted.add_argument("--host", default="127.0.0.1")
    scripted.add_argument("--port", type=int, default=8081)
    scripted.set_defaults(run=_scripted_model)
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
