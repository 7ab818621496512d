"""`issue-pilot demo`: the whole loop on this machine, as a person would see it on GitHub.

Starts ghsim (the local GitHub), the web app and a worker (and, without a configured model, the
embedded one), then acts as alice: creates a small Python project with a failing test and a
workflow, opens an issue about it and labels it. It follows the run live until the run rests
(ready, asking a person, failed), prints the links and a one-line verdict, and keeps everything
up for a look until Ctrl-C, which stops what it started and nothing else.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bot.core.feed import RunFeedReader, RunSummary
from bot.core.settings import Settings
from bot.dev.display import event_lines, frame, settled, verdict
from bot.dev.local_model import DEFAULT_MODEL, SMOLLM2, LocalModel, find_local_model
from bot.dev.person import FULL_NAME, Person
from bot.dev.scripted_model import ScriptedModel, load_script
from bot.dev.stack import DemoError, Processes, answers, free_port
from bot.run.state import run_dir_name

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "demo_script.yaml"
MARKER = ".issue-pilot-demo"  # only a directory carrying it is emptied at start


@dataclass(frozen=True)
class DemoOptions:
    data_dir: Path
    redis_url: str
    sim_port: int = 3000
    web_port: int = 8000
    model_port: int = 8081
    local_model_venv: Path = ROOT / ".run" / "llm"
    local_model: str = DEFAULT_MODEL  # which embedded model, without PILOT_LLM_BASE_URL
    sandbox_image: str | None = None
    docker_host: str | None = None
    timeout_s: float = 1800.0
    stay: bool = True
    scripted: bool = False  # the scripted model answering the demo issue's solution


@dataclass
class Demo:
    options: DemoOptions
    settings: Settings
    procs: Processes
    out: Callable[[str], None]
    local: LocalModel | None = None
    scripted: ScriptedModel | None = None
    sim_url: str = ""
    web_url: str = ""
    dashboard_token: str = ""

    # starting ------------------------------------------------------------------------------
    def start(self) -> None:
        o = self.options
        sim_port, web_port = free_port(o.sim_port), free_port(o.web_port)
        self.sim_url, self.web_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{web_port}"
        cli = [sys.executable, "-m", "bot.cli"]
        base = {k: v for k, v in os.environ.items() if not k.startswith("PILOT_")}
        base.update(PYTHONUNBUFFERED="1", PILOT_LOG_LEVEL="INFO")
        if o.docker_host:
            base["DOCKER_HOST"] = o.docker_host
        if o.sandbox_image:
            base["PILOT_SANDBOX_IMAGE"] = o.sandbox_image
        sim_data = o.data_dir / "ghsim"
        self.out(f"starting ghsim (the local GitHub) on {self.sim_url}")
        self.procs.start(
            "ghsim",
            [*cli, "sim", "--port", str(sim_port), "--data-dir", str(sim_data),
             "--webhook-url", f"{self.web_url}/webhooks/github"],
            base, ROOT,
        )  # fmt: skip
        self.procs.wait_for(lambda: answers(f"{self.sim_url}/"), "ghsim", 60)
        app = json.loads((sim_data / "app.json").read_text())
        self.dashboard_token = secrets.token_urlsafe(18)
        web_env = {
            **base,
            "PILOT_GITHUB_WEBHOOK_SECRET": str(app["webhook_secret"]),
            "PILOT_REDIS_URL": o.redis_url,
            "PILOT_DASHBOARD_TOKEN": self.dashboard_token,
        }
        self.out(f"starting the web app on {self.web_url}")
        self.procs.start("web", [*cli, "serve", "--port", str(web_port)], web_env, ROOT)
        self.procs.wait_for(lambda: answers(f"{self.web_url}/healthz"), "the web app", 60)
        worker_env = {
            **web_env,
            "PILOT_GITHUB_APP_ID": str(app["app_id"]),
            "PILOT_GITHUB_PRIVATE_KEY_PATH": str(sim_data / "app.pem"),
            "PILOT_GITHUB_API_URL": f"{self.sim_url}/api/v3",
            "PILOT_RUNS_DIR": str(o.data_dir / "runs"),
            "PILOT_CACHE_DIR": str(o.data_dir / "cache"),
            "PILOT_CI_TIMEOUT_S": "900",
            **self.model_settings(),
        }
        self.out("starting a worker")
        self.procs.start("worker", [*cli, "worker"], worker_env, ROOT)

    def model_settings(self) -> dict[str, str]:
        s = self.settings
        if self.options.scripted:
            self.scripted = ScriptedModel().start()
            self.scripted.set_script(load_script(SCRIPT))
            self.out(
                f"model: the scripted one at {self.scripted.base_url}, answering {SCRIPT.name}"
            )
            return {
                "PILOT_LLM_BASE_URL": self.scripted.base_url,
                "PILOT_LLM_MODEL": "scripted",
                "PILOT_LLM_API_KEY": "scripted",
            }
        if s.llm_base_url:
            self.out(f"model: {s.llm_model or '(default)'} at {s.llm_base_url}")
            configured = {
                "PILOT_LLM_BASE_URL": s.llm_base_url,
                "PILOT_LLM_MODEL": s.llm_model or "",
                "PILOT_LLM_FORCE_TOOLS": str(s.llm_force_tools).lower(),
                "PILOT_LLM_CONTEXT_TOKENS": str(s.llm_context_tokens),
                "PILOT_LLM_DRAFTS": str(s.llm_drafts),
                "PILOT_LLM_PLAN_MAX_REQUIREMENTS": str(s.llm_plan_max_requirements),
            }
            if s.llm_temperature is not None:
                configured["PILOT_LLM_TEMPERATURE"] = str(s.llm_temperature)
            if s.llm_max_output_tokens is not None:
                configured["PILOT_LLM_MAX_OUTPUT_TOKENS"] = str(s.llm_max_output_tokens)
            if s.llm_api_key is not None:
                configured["PILOT_LLM_API_KEY"] = s.llm_api_key.get_secret_value()
            return configured
        self.local = find_local_model(self.options.local_model_venv, self.options.local_model)
        port = free_port(self.options.model_port)
        shown = self.local.kind.shown
        if self.local.kind is SMOLLM2:
            self.out(
                f"model: none configured (PILOT_LLM_BASE_URL), so the embedded {shown} runs "
                "locally\n  in llama.cpp, in forced-tool mode. So small a model will probably not "
                "solve the issue:\n  expect the bot to ask a person for help."
            )
        else:
            self.out(
                f"model: none configured (PILOT_LLM_BASE_URL), so the embedded {shown} runs "
                "locally\n  in llama.cpp (CPU only): the issue as one requirement, then up to 8 "
                "drafts of the fix,\n  each checked by the failing tests, before its tool loop. "
                "So small a model fixes\n  some one-line bugs in a minute or two, but this issue "
                "(lower case, punctuation\n  and runs of separators at once) it mostly does not "
                "solve: expect the bot to ask\n  a person then. Set PILOT_LLM_BASE_URL, "
                "PILOT_LLM_API_KEY and PILOT_LLM_MODEL to use\n  a larger model "
                "(`--model smollm2` runs the tiny one)."
            )
        self.procs.start("model", self.local.command(port), dict(os.environ), ROOT, stateless=True)
        self.procs.wait_for(
            lambda: answers(f"http://127.0.0.1:{port}/v1/models"), "the local model", 120
        )
        return self.local.settings(port)

    # acting as a person --------------------------------------------------------------------
    def open_issue(self) -> int:
        person = Person(self.sim_url, self.settings.trigger_label)
        with person.client() as gh:
            person.push_project(gh)
            self.out(f"alice pushed {FULL_NAME} (a failing test and a CI workflow)")
            number = person.open_issue(gh)
        self.out(f"alice opened issue #{number} and labelled it `{self.settings.trigger_label}`")
        return number

    # following -----------------------------------------------------------------------------
    async def follow(self, number: int, live: bool) -> tuple[RunSummary | None, float]:
        """Shows the run as it moves until it rests; returns its last summary and the time."""
        run_id = run_dir_name(FULL_NAME, number)
        redis = aioredis.Redis.from_url(self.options.redis_url)
        reader = RunFeedReader(redis)
        started = time.monotonic()
        events: list[dict[str, Any]] = []
        upto = 0  # the number of the next timeline event: numbers survive the feed's cap
        drawn = 0
        phase = None
        summary: RunSummary | None = None
        try:
            while time.monotonic() - started < self.options.timeout_s:
                self.procs.check()
                summary = await reader.run(run_id)
                timeline = await reader.timeline(run_id, since=upto)
                fresh, upto = timeline.events, timeline.next
                events = [*events, *fresh][-200:]
                elapsed = time.monotonic() - started
                if live:
                    lines = frame(summary, events, elapsed, _width())
                    sys.stdout.write((f"\x1b[{drawn}F\x1b[J" if drawn else "") + "\n".join(lines))
                    sys.stdout.write("\n")
                    sys.stdout.flush()
                    drawn = len(lines)
                else:
                    if summary is not None and summary.phase != phase:
                        phase = summary.phase
                        self.out(f"[{elapsed:6.1f}s] state: {phase} — {summary.headline}")
                    for event in fresh:
                        for line in event_lines(event):
                            self.out(f"[{elapsed:6.1f}s]   {line}")
                if settled(summary):
                    break
                await asyncio.sleep(0.5)
        finally:
            await redis.aclose()
        return summary, time.monotonic() - started

    def links(self, number: int, summary: RunSummary | None) -> list[str]:
        run_id = run_dir_name(FULL_NAME, number)
        repo = f"{self.sim_url}/{FULL_NAME}"
        lines = [f"issue:        {repo}/issues/{number}"]
        if summary is not None and summary.pr_number:
            lines.append(f"pull request: {repo}/pull/{summary.pr_number}")
        token = self.dashboard_token
        lines.append(f"dashboard:    {self.web_url}/dashboard/runs/{run_id}?token={token}")
        return lines


def _width() -> int:
    return max(60, min(120, shutil.get_terminal_size((100, 24)).columns - 1))


def _reset_data(options: DemoOptions) -> None:
    """Each demo starts from an empty GitHub: ghsim's data, runs and mirrors from the last one go,
    and so does its Redis database (the dashboard's runs, dedupe keys, queues)."""
    data = options.data_dir
    if data.exists() and any(data.iterdir()) and not (data / MARKER).exists():
        raise DemoError(f"{data} is not empty and not a demo's directory: it is left alone")
    if data.exists():
        shutil.rmtree(data)
    (data / "logs").mkdir(parents=True)
    (data / MARKER).write_text("made by `issue-pilot demo`, which empties it at every start\n")

    async def flush() -> None:
        client = aioredis.Redis.from_url(options.redis_url)
        try:
            await client.flushdb()
        except Exception as exc:
            raise DemoError(f"Redis does not answer at {options.redis_url}: {exc}") from exc
        finally:
            await client.aclose()

    asyncio.run(flush())


def _say(line: str) -> None:
    """Print, unless nobody reads any more: Ctrl-C on `make demo | tee log` ends the reader
    first, and a broken pipe must not keep the demo from stopping its children."""
    try:
        print(line, flush=True)
    except OSError:
        pass


def _sigterm_as_interrupt() -> None:
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def run_demo(options: DemoOptions, settings: Settings) -> int:
    """The demo from start to verdict; 0 when the issue was solved or the bot asked a person
    (both are the product working), 1 otherwise."""
    _sigterm_as_interrupt()
    began = time.monotonic()
    out = _say
    try:
        _reset_data(options)
    except DemoError as exc:
        out(f"demo: {exc}")
        return 1
    demo = Demo(options, settings, Processes(options.data_dir / "logs"), out)
    try:
        demo.start()
        number = demo.open_issue()
        live = sys.stdout.isatty()
        summary, took = asyncio.run(demo.follow(number, live))
        result = verdict(summary, took, demo.local is not None and demo.local.kind is SMOLLM2)
        out("")
        for line in demo.links(number, summary):
            out(line)
        out(f"logs:         {options.data_dir / 'logs'}")
        out(f"{result.line} ({time.monotonic() - began:.0f} s since `demo` started)")
        asked = summary is not None and summary.phase == "asked"
        if options.stay:
            if asked:
                out(Person(demo.sim_url, settings.trigger_label).how_to_answer(number))
            out("Everything stays up so you can look around; Ctrl-C stops it.")
            while True:
                demo.procs.check()
                time.sleep(1)
        return 0 if result.solved or asked else 1
    except KeyboardInterrupt:
        out("")
        return 130
    except DemoError as exc:
        out(f"demo: {exc}")
        return 1
    except BrokenPipeError:
        return 1  # the terminal's reader went first; the children are stopped all the same
    finally:
        # A second Ctrl-C (or uv passing on the terminal's) must not cut the clean-up short
        # and orphan a child; each stop is bounded anyway (SIGKILL after 30 s).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if demo.procs.procs:
            out("stopping what the demo started…")
        stopped = demo.procs.stop()
        if demo.scripted is not None:
            demo.scripted.stop()
            stopped.append("scripted model")
        if stopped:
            out(f"stopped: {', '.join(stopped)}")
