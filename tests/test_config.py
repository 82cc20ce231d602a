"""Settings: embedded default, TOML file, INTAKE_ environment, secret files."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from intake.config import DOCUMENTED, ConfigError, Settings, describe, load_settings


def test_embedded_default(tmp_path: Path) -> None:
    s = load_settings(environ={})
    assert s.database_url == "sqlite:///var/intake.db"
    assert (s.dry_run, s.imap_folder, s.imap_security, s.timezone) == (
        True,
        "INBOX",
        "ssl",
        "Asia/Shanghai",
    )
    assert s.outbox == Path("var/outbox") and s.reports == Path("var/reports")


def test_toml_groups_then_environment_win(tmp_path: Path) -> None:
    conf = tmp_path / "intake.toml"
    conf.write_text(
        'dry_run = false\n[imap]\nhost = "imap.example.cn"\nport = 993\n', encoding="utf-8"
    )
    s = load_settings(conf, environ={"INTAKE_IMAP_PORT": "1143", "INTAKE_DATA_DIR": str(tmp_path)})
    assert (s.dry_run, s.imap_host, s.imap_port) == (False, "imap.example.cn", 1143)
    assert s.outbox == tmp_path / "outbox"
    via_env = load_settings(environ={"INTAKE_CONFIG": str(conf)})
    assert via_env.imap_host == "imap.example.cn"


def test_secret_from_file_is_masked(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    s = load_settings(environ={"INTAKE_IMAP_PASSWORD_FILE": str(secret)})
    assert s.imap_password == "s3cret"
    assert "s3cret" not in repr(s) and describe(s)["imap_password"] == "***"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"INTAKE_DRY_RUN": "maybe"}, "dry_run"),
        ({"INTAKE_IMAP_SECURITY": "tls"}, "imap_security"),
        ({"INTAKE_IMAP_PASSWORD_FILE": "/nonexistent/pw"}, "secret file"),
    ],
)
def test_bad_values_are_config_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=env)


def test_documented_variables_are_real_settings() -> None:
    names = {f"INTAKE_{f.name.upper()}" for f in fields(Settings)} | {"INTAKE_CONFIG"}
    assert set(DOCUMENTED) <= names
