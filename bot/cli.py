"""The `issue-pilot` command, and where the pieces are composed: the handler router is built
here and handed to the web app (as its subscriptions), the worker and the App manifest, as
bedevere's `__main__` does; no room imports `handlers`.

Each command imports only what it runs, so `serve` loads no run engine, sandbox or model client.
"""

from __future__ import annotations

import argparse
import importlib
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.core.settings import SettingsError, get_settings
from bot.dev.local_model import DEFAULT_MODEL, MODELS
from handlers import router


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.core import jsonlog
    from bot.web.app import create_app

    settings = get_settings()
    settings.check_web_ready()
    jsonlog.configure(settings.log_level)
    uvicorn.run(
        create_app(settings, router.subscriptions()),
        host=args.host,
        port=args.port,
        access_log=False,
        log_config=None,
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    import asyncio

    from bot.core import jsonlog
    from bot.workers import run_workers

    settings = get_settings()
    settings.check_worker_ready()
    jsonlog.configure(settings.log_level)
    asyncio.run(run_workers(settings, router))
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
        rate_limits=args.rate_limit,
    )
    return 0


def _scripted_model(args: argparse.Namespace) -> int:
    from bot.dev.scripted_model import ScriptError, serve

    try:
        serve(Path(args.script), host=args.host, port=args.port)
    except ScriptError as exc:
        print(f"issue-pilot scripted-model: {exc}", file=sys.stderr)
        return 2
    return 0


def _run_local(args: argparse.Namespace) -> int:
    from bot.agent.llm import llm_from_settings
    from bot.core import jsonlog
    from bot.run.local import main_run_local
    from bot.run.worker import run_deps_from
    from bot.sandbox.docker_sandboxes import DockerSandboxes

    settings = get_settings()
    jsonlog.configure("WARNING")
    deps = run_deps_from(settings, llm_from_settings(settings), DockerSandboxes())
    assert deps is not None
    return main_run_local(deps, Path(args.repo), Path(args.issue_file), args.issue_number)


def _demo(args: argparse.Namespace) -> int:
    import os

    from bot.dev.demo import DemoOptions, run_demo

    options = DemoOptions(
        data_dir=Path(args.data_dir).resolve(),
        redis_url=args.redis_url,
        sim_port=args.sim_port,
        web_port=args.web_port,
        model_port=args.model_port,
        local_model_venv=Path(args.local_model).resolve(),
        local_model=args.model,
        sandbox_image=os.environ.get("PILOT_SANDBOX_IMAGE"),
        docker_host=os.environ.get("DOCKER_HOST"),
        timeout_s=args.timeout,
        stay=not args.exit,
        scripted=args.scripted,
    )
    return run_demo(options, get_settings())


def _export_preferences(args: argparse.Namespace) -> int:
    from bot.run.preferences import export_preferences, parse_since

    try:
        since = parse_since(args.since) if args.since else 0.0
    except ValueError:
        print(f"issue-pilot export-preferences: not a date: {args.since!r}", file=sys.stderr)
        return 2
    runs_dir = Path(args.runs_dir) if args.runs_dir else get_settings().runs_dir
    counts = export_preferences(runs_dir, since, Path(args.out))
    print(
        f"{sum(counts.values())} pairs ({counts['candidates']} from candidates, "
        f"{counts['ci']} from CI fixes) written to {args.out}"
    )
    return 0


def _setup(args: argparse.Namespace) -> int:
    from bot.github.setup import SetupOptions, run_setup

    options = SetupOptions(
        webhook_url=args.webhook_url,
        name=args.name or f"issue-pilot-{socket.gethostname()}"[:34],
        github_url=args.github_url,
        api_url=args.api_url,
        org=args.org,
        env_file=Path(args.env_file),
        key_file=Path(args.key_file) if args.key_file else None,
        port=args.port,
        force=args.force,
        events=tuple(sorted(router.events())),
    )
    return run_setup(options, open_browser=not args.no_browser, timeout_s=args.timeout)


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

    demo = sub.add_parser("demo", help="the whole loop locally: ghsim, web, worker, a run")
    demo.add_argument("--data-dir", default=".run/demo", help="emptied at start")
    demo.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6390/2",
        help="a database the demo owns: it is flushed at start (default: set-up's Redis, db 2)",
    )
    demo.add_argument("--sim-port", type=int, default=3000)
    demo.add_argument("--web-port", type=int, default=8000)
    demo.add_argument("--model-port", type=int, default=8081)
    demo.add_argument("--local-model", default=".run/llm", help="venv of the embedded model")
    demo.add_argument(
        "--model",
        choices=sorted(MODELS),
        default=DEFAULT_MODEL,
        help="the embedded model, without PILOT_LLM_BASE_URL (default qwen; smollm2 is tiny)",
    )
    demo.add_argument("--timeout", type=float, default=1800.0, help="seconds to follow the run")
    demo.add_argument("--exit", action="store_true", help="stop everything after the verdict")
    demo.add_argument(
        "--scripted", action="store_true", help="a scripted model that solves the demo issue"
    )
    demo.set_defaults(run=_demo)

    sim = sub.add_parser("sim", help="run ghsim, the local GitHub")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=3000)
    sim.add_argument("--data-dir", default="data/ghsim")
    sim.add_argument("--webhook-url", default="http://127.0.0.1:8000/webhooks/github")
    sim.add_argument("--ci-image", default=None, help="image CI jobs run in")
    sim.add_argument("--ci-max-jobs", type=int, default=2, help="CI jobs run at once")
    sim.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change one of GitHub's rate limits ghsim enforces (docs/ghsim.md), repeatable",
    )
    sim.set_defaults(run=_sim)

    setup = sub.add_parser("setup", help="register the GitHub App from its manifest, write .env")
    setup.add_argument("--webhook-url", required=True, help="where GitHub delivers webhooks")
    setup.add_argument("--name", default=None, help="the App's name (unique on GitHub)")
    setup.add_argument("--org", default=None, help="register it for this organization")
    setup.add_argument("--github-url", default="https://github.com")
    setup.add_argument("--api-url", default="https://api.github.com")
    setup.add_argument("--env-file", default=".env")
    setup.add_argument("--key-file", default=None, help="default: github-app.pem beside .env")
    setup.add_argument("--port", type=int, default=8765, help="local port GitHub returns to")
    setup.add_argument("--no-browser", action="store_true", help="only print the URL to open")
    setup.add_argument("--force", action="store_true", help="replace App settings in .env")
    setup.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait")
    setup.set_defaults(run=_setup)

    prefs = sub.add_parser(
        "export-preferences",
        help="preference pairs for TRL's DPOTrainer from the runs' trajectories",
    )
    prefs.add_argument("--since", default=None, help="a date or ISO time (UTC unless it says)")
    prefs.add_argument("--out", required=True, help="the JSON lines file to write")
    prefs.add_argument("--runs-dir", default=None, help="default: PILOT_RUNS_DIR")
    prefs.set_defaults(run=_export_preferences)

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
