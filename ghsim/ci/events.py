"""The webhooks CI state changes send: check_run, check_suite, workflow_run, workflow_job."""

from __future__ import annotations

from ghsim.ci.run_shapes import RunShapes
from ghsim.ci.shapes import CIShapes
from ghsim.serialize import Serializer
from ghsim.sim import Sim
from ghsim.store import Doc


class CIEvents:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.shapes = CIShapes(Serializer(sim))
        self.runs = RunShapes(self.shapes)

    def _full_name(self, doc: Doc) -> str:
        return str(self.sim.repo(doc["repo_id"])["full_name"])

    def _sender(self, doc: Doc) -> Doc | None:
        user_id = doc.get("actor_id")
        return None if user_id is None else self.sim.user(user_id)

    def check_run(self, action: str, run: Doc, sender: Doc | None = None) -> None:
        self.sim.webhooks.emit(
            "check_run",
            {
                "action": action,
                "check_run": self.shapes.check_run(run),
            },
            self._full_name(run),
            sender,
        )

    def check_suite(self, action: str, suite: Doc, sender: Doc | None = None) -> None:
        self.sim.webhooks.emit(
            "check_suite",
            {
                "action": action,
                "check_suite": self.shapes.check_suite_event(suite),
            },
            self._full_name(suite),
            sender,
        )

    def workflow_run(self, action: str, run: Doc) -> None:
        workflow = self.sim.store.get("workflow", run["workflow_id"])
        assert workflow is not None
        self.sim.webhooks.emit(
            "workflow_run",
            {
                "action": action,
                "workflow": self.runs.workflow(workflow),
                "workflow_run": self.runs.workflow_run(run),
            },
            self._full_name(run),
            self._sender(run),
        )

    def workflow_job(self, action: str, job: Doc) -> None:
        run = self.sim.store.get("workflow_run", job["run_id"])
        self.sim.webhooks.emit(
            "workflow_job",
            {
                "action": action,
                "workflow_job": self.runs.job(job),
            },
            self._full_name(job),
            None if run is None else self._sender(run),
        )
