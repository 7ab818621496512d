"""The one typed settings object, read from `PILOT_*` variables and `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SANDBOX_IMAGE = "issue-pilot-sandbox:bookworm-1"

# Values people paste from examples; a bot signing webhooks with one of these is not secured.
PLACEHOLDER_SECRETS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "change_me",
        "secret",
        "xxx",
        "todo",
        "your-secret",
        "placeholder",
    }
)


# The dashboard token is typed into URLs and guessable ones would open every run's timeline.
MIN_DASHBOARD_TOKEN = 16


class SettingsError(RuntimeError):
    """A setting the command needs is missing or unusable; the message names the variable."""


def _usable(secret: SecretStr, variable: str) -> str:
    """The secret's value, refusing an empty or placeholder one by its variable's name."""
    value = secret.get_secret_value()
    if value.strip().lower() in PLACEHOLDER_SECRETS:
        raise SettingsError(f"{variable} is empty or a placeholder value")
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PILOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    github_app_id: int | None = None
    github_private_key: SecretStr | None = None
    github_private_key_path: Path | None = None
    github_webhook_secret: SecretStr | None = None
    github_api_url: str = "https://api.github.com"

    redis_url: str = "redis://localhost:6379/0"

    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None
    # true: every agent step names its tool in a first call, then forces that tool; "required":
    # one call per step that must call some tool (`tool_choice: required`), for servers that
    # support it (the embedded model's does).
    llm_force_tools: bool | Literal["required"] = False
    # The temperature of calls that do not set their own (the first candidate, the planner);
    # None leaves it to the provider, whose default (0.8 in llama.cpp's server) is too loose
    # for a small model writing exact edits.
    llm_temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    # The most tokens one reply may write (None: the provider's limit). A small model under a
    # grammar can ramble on for minutes; the agent answers a cut reply with a hint.
    llm_max_output_tokens: PositiveInt | None = None
    llm_timeout_s: float = 300.0
    llm_max_tries: int = 5
    # The agent trims its conversation to fit this; a small local model's window is smaller.
    llm_context_tokens: int = 48_000
    # Before its tool loop, the agent asks for this many drafts of the fix in plain code and
    # keeps the first the failing tests accept (bot/agent/drafts.py): a small model writes a
    # whole function far better than exact edits in JSON. 0: straight to the tool loop.
    llm_drafts: NonNegativeInt = 0
    # At most this many requirements in a plan: 1 for a model too small to judge a plan's size
    # (the embedded Qwen split one-line fixes into eight requirements, six minutes of writing).
    llm_plan_max_requirements: int = Field(default=20, ge=1, le=20)

    trigger_label: str = "pilot"
    command_prefix: str = "/pilot"
    sandbox_image: str = DEFAULT_SANDBOX_IMAGE
    runs_dir: Path = Path("runs")
    cache_dir: Path = Path("cache")
    run_timeout_s: int = 3 * 3600
    ci_timeout_s: float = 1800.0
    # At most one edit of a run's status comment this often; endings and questions go at once.
    status_edit_interval_s: float = 5.0
    # Candidates of one requirement (`attempts` in .github/pilot.yml) working at once.
    max_parallel_attempts: PositiveInt = 2
    # How often the worker compares unfinished runs with GitHub and asks GitHub again for
    # deliveries that failed: a lost event, or a wiped Redis, costs at most this long.
    reconcile_interval_s: PositiveFloat = 60.0
    # Trajectories of runs idle this long (and dead run clones as old) are pruned: two working
    # weeks covers a run resting on a review or an answer, while people still ask about it.
    prune_after_days: PositiveFloat = 14.0
    # Mirrors are evicted least recently used first while they take more than this (MiB).
    mirror_cache_mb: PositiveInt = 2048

    @field_validator("runs_dir", "cache_dir", "github_private_key_path", mode="after")
    @classmethod
    def _absolute(cls, path: Path | None) -> Path | None:
        # Resolved once, where the process started: git and the workspace run commands in
        # other working directories, where a relative `cache` would name another folder.
        return None if path is None else path.expanduser().absolute()

    max_body_bytes: int = 25 * 1024 * 1024
    body_read_timeout_s: float = 30.0
    dedupe_ttl_s: int = 7 * 24 * 3600
    handler_max_tries: int = 5
    log_level: str = "INFO"

    # Unset: the dashboard's routes answer 404 and the rest of the web app works as before.
    dashboard_token: SecretStr | None = None
    # After this many wrong tokens from one client address within the window, the dashboard
    # answers 429 without looking at the token until the oldest of them leaves the window.
    dashboard_max_failures: PositiveInt = 10
    dashboard_failure_window_s: PositiveFloat = 300.0
    # Unset: /metrics is open (scraped from inside the network); set: it needs the bearer.
    metrics_token: SecretStr | None = None

    def webhook_secret(self) -> bytes:
        """The webhook secret as bytes, refusing a missing or placeholder one."""
        if self.github_webhook_secret is None:
            raise SettingsError("PILOT_GITHUB_WEBHOOK_SECRET is not set")
        return _usable(self.github_webhook_secret, "PILOT_GITHUB_WEBHOOK_SECRET").encode()

    def dashboard_secret(self) -> bytes | None:
        """The dashboard's access token as bytes, None when unset; a weak one is refused."""
        if self.dashboard_token is None:
            return None
        value = _usable(self.dashboard_token, "PILOT_DASHBOARD_TOKEN")
        if len(value) < MIN_DASHBOARD_TOKEN:
            raise SettingsError(
                f"PILOT_DASHBOARD_TOKEN is shorter than {MIN_DASHBOARD_TOKEN} characters"
            )
        return value.encode()

    def metrics_secret(self) -> bytes | None:
        """The bearer token /metrics requires, None when it is open; a placeholder is refused."""
        if self.metrics_token is None:
            return None
        return _usable(self.metrics_token, "PILOT_METRICS_TOKEN").encode()

    def app_id(self) -> int:
        if self.github_app_id is None:
            raise SettingsError("PILOT_GITHUB_APP_ID is not set")
        return self.github_app_id

    def private_key(self) -> str:
        """The App's PEM key, from the variable itself or from the file it names."""
        if self.github_private_key is not None:
            key = self.github_private_key.get_secret_value().replace("\\n", "\n")
        elif self.github_private_key_path is not None:
            try:
                key = self.github_private_key_path.read_text()
            except OSError as exc:
                raise SettingsError(
                    f"PILOT_GITHUB_PRIVATE_KEY_PATH={self.github_private_key_path} "
                    f"cannot be read: {exc.strerror}"
                ) from exc
        else:
            raise SettingsError(
                "PILOT_GITHUB_PRIVATE_KEY or PILOT_GITHUB_PRIVATE_KEY_PATH is not set"
            )
        if "PRIVATE KEY-----" not in key:
            raise SettingsError("the GitHub App private key is not a PEM private key")
        return key

    def check_web_ready(self) -> None:
        """`serve` verifies signatures and never calls GitHub: the App's key stays out of it."""
        self.webhook_secret()
        self.dashboard_secret()

    def check_worker_ready(self) -> None:
        """What `worker` needs before it starts; raises naming what is missing."""
        self.webhook_secret()
        self.app_id()
        self.private_key()


def get_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = exc.errors()
        names = ", ".join(f"PILOT_{str(e['loc'][0]).upper()}" for e in errors if e["loc"])
        raise SettingsError(f"{names or 'a setting'} is not valid: {errors[0]['msg']}") from exc
