"""Settings: embedded defaults, then a TOML file, then INTAKE_… environment variables.

TOML keys are the environment names without the prefix, lower-case, flat (`imap_host = …`) or
grouped (`[imap]` `host = …`).  A secret may also come from a file named by `<KEY>_FILE`
(e.g. INTAKE_IMAP_PASSWORD_FILE), the way Docker secrets are mounted.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from campaign import BUNDLED_CAMPAIGN, Campaign, load_campaign

# Settings that may come from a `<KEY>_FILE` secret; a database URL carries its password.
SECRET_KEYS = ("imap_password", "smtp_password", "database_url", "web_session_secret")
REPLY_REVIEW = ("none", "deficiency", "all")


# The settings deployments and outside checks rely on (SPEC.md), for `intake --help`.
DOCUMENTED = {
    "INTAKE_CONFIG": "TOML settings file",
    "INTAKE_DATABASE_URL": "SQLAlchemy URL (default sqlite:///./var/intake.db)",
    "INTAKE_DATA_DIR": "blobs, reports and outbox live under it (default ./var)",
    "INTAKE_CAMPAIGN": "path of the campaign file (default: the bundled 2023 campaign)",
    "INTAKE_DRY_RUN": "true: replies go to the outbox folder, nothing is sent (default true)",
    "INTAKE_OUTBOX_DIR": "where dry-run replies are written (default <data dir>/outbox)",
    "INTAKE_REPORTS_DIR": "where reports are written (default <data dir>/reports)",
    "INTAKE_IMAP_HOST": "the inbox; also _PORT, _USER, _PASSWORD(_FILE), _FOLDER, _SECURITY",
    "INTAKE_SMTP_HOST": "outgoing mail; also _PORT, _USER, _PASSWORD(_FILE), _SECURITY, _FROM",
    "INTAKE_TIMEZONE": "local time for schedules and reports (default Asia/Shanghai)",
    "INTAKE_WEB": "true: `intake run` also serves the staff console (default false)",
    "INTAKE_WEB_HOST": "staff console address; also _PORT (default 127.0.0.1:8470)",
    "INTAKE_WEB_BASE_URL": "the console's URL as staff open it; the daily report links to it",
    "INTAKE_REPLY_REVIEW": "none, deficiency or all: which replies wait for staff approval",
    "INTAKE_RETRY_FIRST_S": "wait before retrying a message whose run died (default 60, doubling)",
    "INTAKE_RETRY_LIMIT": "attempts before such a message is quarantined (default 5; also"
    " INTAKE_QUARANTINE_AFTER_S, default 3600, and INTAKE_RETRY_MAX_S)",
}


def settings_help() -> str:
    width = max(map(len, DOCUMENTED))
    lines = [f"  {name:<{width}}  {text}" for name, text in DOCUMENTED.items()]
    return "environment (every setting has an INTAKE_… variable):\n" + "\n".join(lines)


class ConfigError(ValueError):
    """A setting is missing or malformed; the CLI exits with status 2."""


def env_name(key: str) -> str:
    """The environment variable of a setting: `database_url` → `INTAKE_DATABASE_URL`."""
    return f"INTAKE_{key.upper()}"


class SettingError(ConfigError):
    """One setting is wrong: the line names it (variable and TOML key), what is wrong, and what
    would be right, so that an office's IT staff can fix it without reading code."""

    def __init__(self, key: str, problem: str, fix: str = "") -> None:
        self.key, self.problem, self.fix = key, problem, fix
        line = f"{env_name(key)} ({key} in the TOML file): {problem}"
        super().__init__(f"{line}; {fix}" if fix else line)


@dataclass
class Settings:
    database_url: str = ""
    data_dir: Path = Path("./var")
    campaign: Path = BUNDLED_CAMPAIGN
    dry_run: bool = True
    outbox_dir: Path | None = None
    reports_dir: Path | None = None
    templates_dir: Path | None = None
    timezone: str = "Asia/Shanghai"
    workers: int = field(default_factory=lambda: os.cpu_count() or 2)
    libreoffice: str = ""
    # "warm": one supervised LibreOffice (unoserver) per run, shared by its workers; "cold": one
    # per batch.
    converter: str = "warm"
    unoserver: str = ""
    imap_host: str = ""
    imap_port: int = 0
    imap_user: str = ""
    imap_password: str = field(default="", repr=False)
    imap_folder: str = "INBOX"
    imap_security: str = "ssl"
    imap_batch: int = 20
    imap_processed_flag: str = ""
    imap_move_to: str = ""
    imap_idle: bool = False
    # Re-issue IDLE this often (s): well inside RFC 2177's 29 min and the 5 min of common NATs,
    # and each renewal also proves the connection is still there.
    imap_idle_renew_s: float = 120.0
    smtp_host: str = ""
    smtp_port: int = 0
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_security: str = "starttls"
    smtp_from: str = ""
    staff_copy: str = ""
    report_to: str = ""
    replies_per_address_per_day: int = 3
    poll_minutes: float = 5.0
    report_time: str = "08:00"
    # The staff console (`intake web`, or `intake run` with web = true).
    web: bool = False
    web_host: str = "127.0.0.1"
    web_port: int = 8470
    web_base_url: str = ""
    # Signs the console's session cookies; generated once under the data dir when not given.
    web_session_secret: str = field(default="", repr=False)
    web_session_hours: float = 12.0
    web_upload_max_mb: int = 512
    # Which replies wait in `held` until staff approve them: none, deficiency notices, all.
    reply_review: str = "none"
    # A message whose processing was cut short by the process dying (see `intake.claims`):
    # retried after retry_first_s, then twice as long each time (capped at retry_max_s), and
    # quarantined only after retry_limit attempts that span at least quarantine_after_s.
    retry_first_s: float = 60.0
    retry_max_s: float = 3600.0
    retry_limit: int = 5
    quarantine_after_s: float = 3600.0

    def __post_init__(self) -> None:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'intake.db'}"
        if self.outbox_dir is None:
            self.outbox_dir = self.data_dir / "outbox"
        if self.reports_dir is None:
            self.reports_dir = self.data_dir / "reports"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def outbox(self) -> Path:
        assert self.outbox_dir is not None
        return self.outbox_dir

    @property
    def reports(self) -> Path:
        assert self.reports_dir is not None
        return self.reports_dir

    @property
    def selected_file(self) -> Path:
        """The office's list of earlier selected cases (`intake selected import`)."""
        return self.data_dir / "selected-cases.csv"

    def load_campaign(self) -> Campaign:
        return load_campaign(self.campaign, selected_file=self.selected_file)


def _flatten(raw: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{prefix}{key}".lower().replace("-", "_")
        if isinstance(value, dict):
            out.update(_flatten(value, name + "_"))
        else:
            out[name] = value
    return out


SECURITY = ("ssl", "starttls", "none")
CONVERTERS = ("warm", "cold")
_KIND_WORDS = {"bool": "true or false", "int": "a whole number", "float": "a number"}


def _coerce(name: str, value: Any, kind: Any) -> Any:
    text = str(value).strip()
    try:
        if kind in (bool, "bool"):
            if isinstance(value, bool):
                return value
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(text)
        if kind in (int, "int"):
            return int(value)
        if kind in (float, "float"):
            return float(value)
        if kind in (Path, "Path", "Path | None"):
            return Path(os.path.expanduser(text)) if text else None
    except ValueError as exc:
        raise SettingError(
            name, f"cannot read {value!r} as {_KIND_WORDS.get(str(kind), kind)}"
        ) from exc
    return text


def load_settings(
    config_file: Path | None = None, environ: dict[str, str] | None = None
) -> Settings:
    env = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    path = config_file or (Path(env["INTAKE_CONFIG"]) if env.get("INTAKE_CONFIG") else None)
    if path is not None:
        try:
            values.update(_flatten(tomllib.loads(path.read_text(encoding="utf-8"))))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read configuration {path}: {exc}") from exc
    known = {f.name: f.type for f in fields(Settings)}
    for key in known:
        env_key = f"INTAKE_{key.upper()}"
        if env.get(env_key) is not None:
            values[key] = env[env_key]
        secret_file = env.get(f"{env_key}_FILE") or values.pop(f"{key}_file", None)
        if key in SECRET_KEYS and secret_file:
            try:
                values[key] = Path(secret_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingError(
                    f"{key}_file", f"cannot read the secret file {secret_file}: {exc.strerror}"
                ) from exc
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(unknown)}")
    settings = Settings(**{k: _coerce(k, v, known[k]) for k, v in values.items()})
    if settings.converter not in CONVERTERS:
        raise SettingError(
            "converter", f"{settings.converter!r} is not a converter mode", "use warm or cold"
        )
    for key in ("imap_security", "smtp_security"):
        if getattr(settings, key) not in SECURITY:
            raise SettingError(
                key,
                f"{getattr(settings, key)!r} is not a security mode",
                "use ssl, starttls or none",
            )
    if settings.reply_review not in REPLY_REVIEW:
        raise SettingError(
            "reply_review",
            f"{settings.reply_review!r} is not a review mode",
            "use none, deficiency or all",
        )
    return settings


def describe(settings: Settings) -> dict[str, Any]:
    """Settings for logs and `intake status`, with secrets masked."""
    out = {k: str(v) for k, v in dataclasses.asdict(settings).items()}
    for key in SECRET_KEYS:
        if out.get(key):
            out[key] = "***"
    return out
