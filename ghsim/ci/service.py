"""The CI service: plans runs from webhooks, runs jobs on a bounded pool, records outcomes.

Planning runs on one thread (so runs are created in event order) and jobs on a pool of
``ci_max_jobs`` threads, so a push answers at once. Jobs a stop or crash interrupted are
marked cancelled on the next start (re-running them silently could surprise whoever is
waiting on the old result; `rerun-failed-jobs` re-runs them on request).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

from ghsim.ci.contexts import github_context, job_scope, runner_env
from ghsim.ci.events import CIEvents
from ghsim.ci.executor import JobExecutor, StepState
from ghsim.ci.expressions import ExpressionError, Scope, interpolate
from ghsim.ci.jobs import queue_job
from ghsim.ci.logs import JobLog, log_path
from ghsim.ci.planner import Trigger, plan, trigger_from_event, workflows_at
from ghsim.ci.progress import advance, complete_if_done
from ghsim.ci.records import refresh_suite
from ghsim.ci.reruns import jobs_to_rerun
from ghsim.ci.sandbox import SandboxConfig, remove_instance_containers
from ghsim.ci.workflow import Job, Workflow
from ghsim.git_refs import archive
from ghsim.sim import Sim
from ghsim.state import now_iso
from ghsim.store import Doc

log = logging.getLogger("ghsim.ci")
DEFAULT_IMAGE = "issue-pilot-sandbox:bookworm-1"
UNFINISHED = ("queued", "in_progress")


def sandbox_config(sim: Sim) -> SandboxConfig:
    image = sim.config.ci_image or os.environ.get("PILOT_SANDBOX_IMAGE") or DEFAULT_IMAGE
    instance = hashlib.sha256(str(sim.config.data_dir.resolve()).encode()).hexdigest()[:16]
    return SandboxConfig(image=image, instance=instance)


class CIService:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.events = CIEvents(sim)
        self.sandbox = sandbox_config(sim)
        self.executor = JobExecutor(self.sandbox)
        self._planner = ThreadPoolExecutor(1, thread_name_prefix="ghsim-ci-plan")
        self._jobs = ThreadPoolExecutor(
            max(1, sim.config.ci_max_jobs), thread_name_prefix="ghsim-ci-job"
        )
        self._cancel = threading.Event()
        self._finish_lock = threading.Lock()

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self.sim.webhooks.subscribe(self.on_event)
        self._planner.submit(self._recover)

    def stop(self) -> None:
        self._cancel.set()
        self._planner.shutdown(wait=True, cancel_futures=True)
        self._jobs.shutdown(wait=True, cancel_futures=True)

    def _recover(self) -> None:
        try:
            remove_instance_containers(self.sandbox.instance)
        except Exception as exc:  # docker may be absent; CI then fails job by job
            log.warning("could not look for leftover CI containers: %s", exc)
        for job in self.sim.store.query("workflow_job"):
            if job["status"] in UNFINISHED:
                JobLog(log_path(self.sim.config.data_dir, job["id"])).line(
                    "##[error]ghsim stopped while this job was pending; it was cancelled."
                )
                self._finish(job, "cancelled", job["steps"])

    # triggers ----------------------------------------------------------------------------
    def on_event(self, event: str, payload: dict[str, Any]) -> None:
        """Webhook subscriber: a push or pull_request plans runs in the background."""
        trigger = trigger_from_event(self.sim, event, payload)
        if trigger is not None and not self._cancel.is_set():
            self._planner.submit(self._plan, trigger)

    def _plan(self, trigger: Trigger) -> None:
        try:
            for job_id in plan(self.sim, self.events, trigger):
                self._jobs.submit(self._run, job_id)
        except Exception:
            log.exception("planning CI for %s failed", trigger)

    def rerun_failed(self, run: Doc, actor: Doc) -> None:
        """A new attempt of a run: its failed, cancelled and timed-out jobs queued again, the
        jobs that depend on them decided again once they complete."""
        workflow = self._workflow(run)
        suite = self.sim.store.get("check_suite", run["suite_id"])
        assert suite is not None
        with self._finish_lock:
            run = self.sim.store.update(
                "workflow_run",
                run["id"],
                {
                    "run_attempt": run["run_attempt"] + 1,
                    "status": "queued",
                    "conclusion": None,
                    "updated_at": now_iso(),
                    "run_started_at": now_iso(),
                    "triggering_actor_id": actor["id"],
                },
            )
            self.events.workflow_run("requested", run)
            again, set_aside = jobs_to_rerun(self.sim.store, run["id"], workflow)
            for old in set_aside:
                self.sim.store.update("workflow_job", old["id"], {"superseded": True})
                self.sim.store.update("check_run", old["check_run_id"], {"superseded": True})
            definitions = {} if workflow is None else {j.key: j for j in workflow.jobs}
            for old in again:
                self.sim.store.update("check_run", old["check_run_id"], {"superseded": True})
                job = queue_job(
                    self.sim,
                    self.events,
                    run,
                    suite,
                    definitions[old["job_key"]],
                    old.get("instance", 0),
                    old["name"],
                    old.get("matrix", {}),
                    old.get("needs", {}),
                )
                self._submit([job["id"]])
            if workflow is not None:
                self._submit(advance(self.sim, self.events, run, suite, workflow))
                complete_if_done(self.sim, self.events, run, workflow)

    def approve(self, run: Doc) -> None:
        """A writer approved a held run: its jobs start as if it had just been requested."""
        workflow = self._workflow(run)
        suite = self.sim.store.get("check_suite", run["suite_id"])
        assert suite is not None
        with self._finish_lock:
            run = self.sim.store.update(
                "workflow_run",
                run["id"],
                {"status": "queued", "conclusion": None, "updated_at": now_iso()},
            )
            self.sim.store.update(
                "check_suite",
                suite["id"],
                {"status": "queued", "conclusion": None, "updated_at": now_iso()},
            )
            if workflow is None:
                return
            self._submit(advance(self.sim, self.events, run, suite, workflow))
            complete_if_done(self.sim, self.events, run, workflow)

    def _submit(self, job_ids: list[int]) -> None:
        for job_id in job_ids:
            if not self._cancel.is_set():
                self._jobs.submit(self._run, job_id)

    def _workflow(self, run: Doc) -> Workflow | None:
        git_dir = self.sim.git_dir(self.sim.repo(run["repo_id"]))
        for workflow in workflows_at(git_dir, run["head_sha"]):
            if isinstance(workflow, Workflow) and workflow.path == run["path"]:
                return workflow
        return None

    # running -----------------------------------------------------------------------------
    def _run(self, job_id: int) -> None:
        if self._cancel.is_set():
            return
        job = self.sim.store.get("workflow_job", job_id)
        if job is None or job["status"] != "queued":
            return
        try:
            self._execute(job)
        except Exception:
            log.exception("CI job %s crashed", job_id)
            latest = self.sim.store.get("workflow_job", job_id)
            if latest is not None and latest["status"] != "completed":
                self._finish(latest, "failure", latest["steps"])

    def _execute(self, job: Doc) -> None:
        store = self.sim.store
        run = store.get("workflow_run", job["run_id"])
        assert run is not None
        workflow = self._workflow(run)
        definition = None
        if workflow is not None:
            definition = next((j for j in workflow.jobs if j.key == job["job_key"]), None)
        job_log = JobLog(log_path(self.sim.config.data_dir, job["id"]))
        if workflow is None or definition is None:
            job_log.line("##[error]The job is no longer in the workflow file at this commit.")
            self._finish(job, "failure", [])
            return
        steps = {s.number: StepState(s.number, s.name) for s in definition.steps}
        job = store.update(
            "workflow_job",
            job["id"],
            {
                "status": "in_progress",
                "started_at": now_iso(),
                "steps": [_step(s) for s in steps.values()],
            },
        )
        check_run = store.update(
            "check_run",
            job["check_run_id"],
            {"status": "in_progress", "started_at": job["started_at"]},
        )
        with self._finish_lock:
            if run["status"] == "queued":
                run = store.update(
                    "workflow_run", run["id"], {"status": "in_progress", "updated_at": now_iso()}
                )
                self.events.workflow_run("in_progress", run)
            refresh_suite(store, check_run["suite_id"])
        self.events.workflow_job("in_progress", job)

        def on_step(state: StepState) -> None:
            steps[state.number] = state
            store.update("workflow_job", job["id"], {"steps": [_step(s) for s in steps.values()]})

        repo = self.sim.repo(run["repo_id"])
        try:
            env, scope = self._env(run, job, workflow, definition)
        except ExpressionError as exc:
            job_log.line(f"##[error]The job's env could not be evaluated: {exc}")
            self._finish(job, "failure", [_step(s) for s in steps.values()])
            return
        outcome = self.executor.run(
            job["id"],
            definition,
            env,
            lambda: archive(self.sim.git_dir(repo), run["head_sha"]),
            job_log,
            self._cancel,
            on_step,
            scope,
        )
        self._finish(job, outcome.conclusion, [_step(s) for s in outcome.steps])

    def _env(
        self, run: Doc, job: Doc, workflow: Workflow, definition: Job
    ) -> tuple[dict[str, str], Scope]:
        """The job's variables (workflow, then job `env:`, each value's expressions
        evaluated) and the scope its steps' expressions see."""
        github = github_context(self.sim, run, definition.key)
        env = runner_env(self.sim, run, definition.key, job["run_attempt"])
        matrix, needs = job.get("matrix", {}), job.get("needs", {})
        for layer in (workflow.env, definition.env):
            scope = job_scope(github, matrix, needs, dict(env))
            env.update({k: interpolate(v, scope) for k, v in layer.items()})
        return env, job_scope(github, matrix, needs, env)

    def _finish(self, job: Doc, conclusion: str, steps: list[dict[str, Any]]) -> None:
        """Complete a job and its check run; complete the run and suite when they are done."""
        store = self.sim.store
        now = now_iso()
        with self._finish_lock:
            job = store.update(
                "workflow_job",
                job["id"],
                {
                    "status": "completed",
                    "conclusion": conclusion,
                    "completed_at": now,
                    "started_at": job["started_at"] or now,
                    "steps": steps,
                },
            )
            check_run = store.update(
                "check_run",
                job["check_run_id"],
                {
                    "status": "completed",
                    "conclusion": conclusion,
                    "completed_at": now,
                    "output": {
                        "title": f"{job['name']}: {conclusion}",
                        "summary": f"Job '{job['name']}' finished with {conclusion}.",
                        "text": None,
                    },
                },
            )
            self.events.workflow_job("completed", job)
            self.events.check_run("completed", check_run)
            run = store.get("workflow_run", job["run_id"])
            assert run is not None
            suite = store.get("check_suite", run["suite_id"])
            assert suite is not None
            workflow = self._workflow(run)
            if workflow is not None and not self._cancel.is_set():
                self._submit(advance(self.sim, self.events, run, suite, workflow))
            complete_if_done(self.sim, self.events, run, workflow)


def _step(state: StepState) -> dict[str, Any]:
    out = asdict(state)
    for key in ("started_at", "completed_at"):
        value = out[key]
        out[key] = None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out
