"""How one ghsim instance is configured."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ghsim.faults import ApiRule, DeliveryFaults
from ghsim.rate_rules import RateLimits


@dataclass(frozen=True)
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 8808
    data_dir: Path = Path("data/ghsim")
    webhook_url: str | None = None
    ci_image: str | None = None
    ci_max_jobs: int = 2
    # Every new workflow run waits (`action_required`) until a writer approves it through
    # `POST /repos/{o}/{r}/actions/runs/{id}/approve`; a repository can ask for it alone.
    ci_approval_required: bool = False
    # Every account's GitHub plan until `PUT /api/v3/_ghsim/users/{login}/plan` sets its own:
    # on `free` (GitHub's default) and `pro`, private repositories refuse draft pull requests.
    default_plan: str = "free"
    # Public address when clients reach ghsim by another name than host:port.
    public_url: str | None = None
    # The fault mode (`faults.py`), on from the start; `/api/v3/_ghsim/faults` changes it
    # while running. A failed delivery is never retried, as on GitHub, faults or not.
    delivery_faults: DeliveryFaults = field(default_factory=DeliveryFaults)
    api_faults: tuple[ApiRule, ...] = ()
    # GitHub's primary and secondary rate limits, on at GitHub's numbers (`rate_rules.py`).
    rate_limits: RateLimits = field(default_factory=RateLimits)

    def __post_init__(self) -> None:
        # Absolute from the start: git runs ghsim's hooks and repositories in other working
        # directories, where `--data-dir .run/ghsim` would name another folder.
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser().absolute())

    @property
    def base_url(self) -> str:
        """Origin used in every URL ghsim hands out (html_url, clone_url, api urls)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v3"

    @property
    def repos_dir(self) -> Path:
        return Path(self.data_dir) / "repos"
