from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.core.settings import Settings, SettingsError


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_reads_pilot_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PILOT_GITHUB_APP_ID", "17")
    monkeypatch.setenv("PILOT_TRIGGER_LABEL", "robot")
    monkeypatch.setenv("PILOT_GITHUB_API_URL", "http://127.0.0.1:3000/api/v3")
    settings = make()
    assert (settings.github_app_id, settings.trigger_label) == (17, "robot")
    assert settings.github_api_url == "http://127.0.0.1:3000/api/v3"
    assert settings.command_prefix == "/pilot"


def test_reads_dotenv(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("PILOT_GITHUB_WEBHOOK_SECRET=from-dotenv-1234\nPILOT_LLM_MODEL=m\n")
    settings = Settings(_env_file=env)  # type: ignore[call-arg]
    assert settings.webhook_secret() == b"from-dotenv-1234"
    assert settings.llm_model == "m"


@pytest.mark.parametrize("secret", [None, "", "changeme", "secret"])
def test_missing_or_placeholder_secret_is_refused(secret: str | None) -> None:
    with pytest.raises(SettingsError, match="PILOT_GITHUB_WEBHOOK_SECRET"):
        make(github_webhook_secret=secret).webhook_secret()


def test_private_key_from_a_file(tmp_path: Path, app_private_key: str) -> None:
    path = tmp_path / "app.pem"
    path.write_text(app_private_key)
    assert make(github_private_key_path=path).private_key() == app_private_key
    with pytest.raises(SettingsError, match="PILOT_GITHUB_PRIVATE_KEY_PATH"):
        make(github_private_key_path=tmp_path / "absent.pem").private_key()
    with pytest.raises(SettingsError, match="PILOT_GITHUB_PRIVATE_KEY or"):
        make().private_key()


@pytest.mark.parametrize(
    ("command", "env", "missing"),
    [
        ("serve", {}, "PILOT_GITHUB_WEBHOOK_SECRET"),
        ("serve", {"PILOT_GITHUB_WEBHOOK_SECRET": "changeme"}, "PILOT_GITHUB_WEBHOOK_SECRET"),
        ("worker", {}, "PILOT_GITHUB_WEBHOOK_SECRET"),
        ("worker", {"PILOT_GITHUB_WEBHOOK_SECRET": "s3cr3t-value"}, "PILOT_GITHUB_APP_ID"),
        (
            "worker",
            {"PILOT_GITHUB_WEBHOOK_SECRET": "s3cr3t-value", "PILOT_GITHUB_APP_ID": "1"},
            "PILOT_GITHUB_PRIVATE_KEY",
        ),
        ("worker", {"PILOT_GITHUB_APP_ID": "one"}, "PILOT_GITHUB_APP_ID"),
        ("serve", {"PILOT_MAX_BODY_BYTES": "lots"}, "PILOT_MAX_BODY_BYTES"),
    ],
)
def test_serve_and_worker_refuse_to_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    missing: str,
    command: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in (
        "PILOT_GITHUB_WEBHOOK_SECRET",
        "PILOT_GITHUB_APP_ID",
        "PILOT_GITHUB_PRIVATE_KEY",
        "PILOT_GITHUB_PRIVATE_KEY_PATH",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main([command]) == 2
    assert missing in capsys.readouterr().err


def test_relative_paths_resolve_where_the_process_started(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PILOT_CACHE_DIR", raising=False)
    monkeypatch.delenv("PILOT_RUNS_DIR", raising=False)
    monkeypatch.setenv("PILOT_GITHUB_PRIVATE_KEY_PATH", "keys/app.pem")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.cache_dir == tmp_path / "cache"
    assert settings.runs_dir == tmp_path / "runs"
    assert settings.github_private_key_path == tmp_path / "keys" / "app.pem"
    monkeypatch.chdir("/")
    # A later change of directory (git runs elsewhere) names the same folders.
    assert settings.cache_dir == tmp_path / "cache"
