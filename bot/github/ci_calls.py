"""CI calls of the installation client: check runs, commit statuses, job logs, a
branch's head (to compare CI with), and re-running a workflow run's failed jobs."""

from __future__ import annotations

import asyncio

from githubkit import AppInstallationAuthStrategy, GitHub
from githubkit.exception import RequestFailed
from githubkit_schemas.latest.models import Status

from bot.github.api import (
    FAILED_CONCLUSIONS,
    CheckRunInfo,
    CheckSuiteInfo,
    JobLog,
    Repo,
    StatusInfo,
    WorkflowRunInfo,
)

# Pages of 100 read at most from one list; a commit with more checks than this is odd.
MAX_PAGES = 10
# Jobs whose logs are read to count their tests (bot/run/phases/test_guard.py): each is a
# download, and a matrix of hundreds of jobs must not cost hundreds.
MAX_JOB_LOGS = 10
# Jobs that ran to their end: a cancelled or timed-out one's log counts only part of its tests.
RAN_CONCLUSIONS = frozenset({"success", "failure"})


def _latest_statuses(statuses: list[Status]) -> list[StatusInfo]:
    """One per context: the newest (highest id) wins, as GitHub's combined status says."""
    latest: dict[str, Status] = {}
    for s in statuses:
        if s.context not in latest or s.id > latest[s.context].id:
            latest[s.context] = s
    return [
        StatusInfo(
            context=s.context,
            state=s.state,
            description=s.description or "",
            target_url=s.target_url or "",
            creator=s.creator.login if s.creator else "",
        )
        for s in sorted(latest.values(), key=lambda s: s.id)
    ]


class CiCalls:
    """Mixed into `InstallationClient`, which provides `gh`."""

    gh: GitHub[AppInstallationAuthStrategy]

    async def check_runs(self, repo: Repo, sha: str) -> list[CheckRunInfo]:
        # Read as JSON, not models: GitHub adds conclusions (stale, startup_failure) that
        # githubkit's models reject.
        runs: list[CheckRunInfo] = []
        for page in range(1, MAX_PAGES + 1):
            resp = await self.gh.rest.checks.async_list_for_ref(
                repo.owner, repo.name, sha, filter_="latest", per_page=100, page=page
            )
            data = resp.json()
            for run in data["check_runs"]:
                app = run.get("app")
                output = run["output"]
                runs.append(
                    CheckRunInfo(
                        id=run["id"],
                        name=run["name"],
                        status=run["status"],
                        conclusion=run.get("conclusion"),
                        app_slug=(app.get("slug") or "") if app else "",
                        title=output.get("title") or "",
                        summary=output.get("summary") or "",
                        text=output.get("text") or "",
                        html_url=run.get("html_url") or "",
                    )
                )
            if len(data["check_runs"]) < 100 or len(runs) >= data["total_count"]:
                break
        return runs

    async def commit_statuses(self, repo: Repo, sha: str) -> list[StatusInfo]:
        # The combined status endpoint names no creator; the full list (newest first) does,
        # and its newest status per context is what the combined status reports.
        statuses: list[Status] = []
        for page in range(1, MAX_PAGES + 1):
            resp = await self.gh.rest.repos.async_list_commit_statuses_for_ref(
                repo.owner, repo.name, sha, per_page=100, page=page
            )
            statuses.extend(resp.parsed_data)
            if len(resp.parsed_data) < 100:
                break
        return _latest_statuses(statuses)

    async def failed_job_logs(self, repo: Repo, sha: str) -> list[JobLog]:
        return await self._job_logs(repo, sha, FAILED_CONCLUSIONS)

    async def job_logs(self, repo: Repo, sha: str, limit: int = MAX_JOB_LOGS) -> list[JobLog]:
        return await self._job_logs(repo, sha, RAN_CONCLUSIONS, limit)

    async def _job_logs(
        self, repo: Repo, sha: str, conclusions: frozenset[str], limit: int | None = None
    ) -> list[JobLog]:
        newest: dict[tuple[str, str], tuple[int, str, str | None, str]] = {}
        for page in range(1, MAX_PAGES + 1):
            resp = await self.gh.rest.actions.async_list_workflow_runs_for_repo(
                repo.owner, repo.name, head_sha=sha, per_page=100, page=page
            )
            runs = resp.json()["workflow_runs"]
            # Newest run first: when a workflow ran more than once for the commit (a push
            # and its pull request), its newest job of each name decides.
            for run in sorted(runs, key=lambda r: r["id"], reverse=True):
                for job in await self._jobs(repo, run["id"]):
                    newest.setdefault((run["path"], job[1]), job)
            if len(runs) < 100:
                break
        chosen = sorted(
            (job_id, name, conclusion)
            for job_id, name, conclusion, status in newest.values()
            if status == "completed" and conclusion in conclusions
        )[:limit]
        logs = await asyncio.gather(*(self._job_log(repo, job_id) for job_id, _, _ in chosen))
        return [
            JobLog(job_id, name, conclusion, log)
            for (job_id, name, conclusion), log in zip(chosen, logs, strict=True)
        ]

    async def workflow_runs(self, repo: Repo, sha: str) -> list[WorkflowRunInfo]:
        # JSON, not models, for the same reason as check runs: conclusions GitHub adds.
        found: list[WorkflowRunInfo] = []
        for page in range(1, MAX_PAGES + 1):
            resp = await self.gh.rest.actions.async_list_workflow_runs_for_repo(
                repo.owner, repo.name, head_sha=sha, per_page=100, page=page
            )
            runs = resp.json()["workflow_runs"]
            found.extend(
                WorkflowRunInfo(
                    r["id"],
                    r.get("name") or "",
                    str(r["status"]),
                    r.get("conclusion"),
                    int(r.get("run_attempt") or 1),
                    r.get("check_suite_id"),
                )
                for r in runs
            )
            if len(runs) < 100:
                break
        return found

    async def check_suites(self, repo: Repo, sha: str) -> list[CheckSuiteInfo]:
        found: list[CheckSuiteInfo] = []
        for page in range(1, MAX_PAGES + 1):
            resp = await self.gh.rest.checks.async_list_suites_for_ref(
                repo.owner, repo.name, sha, per_page=100, page=page
            )
            suites = resp.json()["check_suites"]
            for suite in suites:
                app = suite.get("app")
                found.append(
                    CheckSuiteInfo(
                        id=suite["id"],
                        app_slug=(app.get("slug") or "") if app else "",
                        status=str(suite["status"]),
                        conclusion=suite.get("conclusion"),
                        check_runs=int(suite.get("latest_check_runs_count") or 0),
                    )
                )
            if len(suites) < 100:
                break
        return found

    async def branch_sha(self, repo: Repo, branch: str) -> str | None:
        try:
            resp = await self.gh.rest.repos.async_get_branch(repo.owner, repo.name, branch)
        except RequestFailed as exc:
            if exc.response.status_code == 404:
                return None
            raise
        return str(resp.json()["commit"]["sha"])

    async def changed_files(self, repo: Repo, base: str, head: str) -> list[str]:
        resp = await self.gh.rest.repos.async_compare_commits(
            repo.owner, repo.name, f"{base}...{head}"
        )
        return [f["filename"] for f in resp.json().get("files") or []]

    async def rerun_failed_jobs(self, repo: Repo, run_id: int) -> bool:
        # 403 is GitHub's refusal ("no failed jobs to re-run", a run not completed, an App
        # without actions: write); the run then goes on as if nothing were re-run.
        try:
            await self.gh.rest.actions.async_re_run_workflow_failed_jobs(
                repo.owner, repo.name, run_id
            )
        except RequestFailed as exc:
            if exc.response.status_code in (403, 404):
                return False
            raise
        return True

    async def _jobs(self, repo: Repo, run_id: int) -> list[tuple[int, str, str | None, str]]:
        """(id, name, conclusion, status) of the latest attempt's jobs of a workflow run."""
        found: list[tuple[int, str, str | None, str]] = []
        for page in range(1, MAX_PAGES + 1):
            resp = await self.gh.rest.actions.async_list_jobs_for_workflow_run(
                repo.owner, repo.name, run_id, filter_="latest", per_page=100, page=page
            )
            jobs = resp.json()["jobs"]
            found.extend((j["id"], j["name"], j.get("conclusion"), j["status"]) for j in jobs)
            if len(jobs) < 100:
                break
        return found

    async def _job_log(self, repo: Repo, job_id: int) -> str:
        # A redirect to a short-lived URL, which githubkit follows (httpx drops the token
        # when the URL is on another host, as GitHub's storage wants).
        try:
            resp = await self.gh.rest.actions.async_download_job_logs_for_workflow_run(
                repo.owner, repo.name, job_id
            )
        except RequestFailed as exc:
            if exc.response.status_code in (404, 410):
                return ""  # expired or deleted logs
            raise
        return resp.content.decode("utf-8", errors="replace")
