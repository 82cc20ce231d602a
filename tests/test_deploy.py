"""The Docker deployment, checked without Docker: its settings go through the real settings
loader, its Dovecot config through doveconf, and the files it names exist."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from dataclasses import fields
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from intake.config import SECRET_KEYS, Settings, load_settings
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
COMPOSE = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def example_secret(name: str) -> str:
    return (DEPLOY / "secrets" / f"{name}.example").read_text(encoding="utf-8").strip()


def test_compose_settings_load_with_the_real_loader(tmp_path: Path) -> None:
    env = env_file(DEPLOY / "intake.env")
    known = {f.name for f in fields(Settings)}
    for key in env:
        assert key.startswith("INTAKE_"), key
        name = key.removeprefix("INTAKE_").lower()
        if name.endswith("_file"):
            # Only secrets are read from files; any other *_FILE would be silently ignored.
            assert name.removesuffix("_file") in SECRET_KEYS, key
        else:
            assert name in known, f"{key} is not a setting"
    # Stand in for the files compose mounts under /run/secrets.
    for key, value in list(env.items()):
        if key.endswith("_FILE"):
            secret = Path(value).name
            local = tmp_path / secret
            local.write_text(example_secret(secret) + "\n", encoding="utf-8")
            env[key] = str(local)
    settings = load_settings(environ=env)
    assert urlsplit(settings.database_url).hostname == "db"
    assert settings.database_url.startswith("postgresql+psycopg://intake:")
    assert (settings.imap_host, settings.imap_port, settings.imap_security) == ("imap", 143, "none")
    assert settings.imap_password == example_secret("imap_password")
    assert settings.imap_idle and settings.timezone == "Asia/Shanghai"
    assert settings.data_dir == Path("/data")


def test_compose_names_files_that_exist_and_agree() -> None:
    assert "env_file: [deploy/intake.env]" in COMPOSE
    # Settings belong in deploy/intake.env, where the test above checks them.
    assert not re.search(r"^\s+INTAKE_\w+:", COMPOSE, re.MULTILINE)
    for secret in re.findall(r"file: \./deploy/secrets/(\w+)", COMPOSE):
        assert (DEPLOY / "secrets" / f"{secret}.example").is_file(), secret
    for mount in re.findall(r"- \./(deploy/[\w./-]+):", COMPOSE):
        assert (ROOT / mount).is_file(), mount
    # The demo secrets fit together: PostgreSQL's password is the one in the URL, and the IMAP
    # password is the demo Dovecot account's.
    url = urlsplit(example_secret("database_url"))
    assert url.password == example_secret("db_password")
    users = (DEPLOY / "dovecot" / "users").read_text(encoding="utf-8")
    assert f"intake:{{PLAIN}}{example_secret('imap_password')}" in users


def test_dockerfile_has_the_tools_and_every_package() -> None:
    for package in ("ffmpeg", "libreoffice-writer-nogui", "unar", "tzdata", "fonts-noto-cjk"):
        assert package in DOCKERFILE
    include = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]["packages"]["find"]["include"]
    for pattern in include:
        package = pattern.rstrip("*")
        assert f"COPY {package} {package}" in DOCKERFILE, package
    assert 'CMD ["intake", "run"]' in DOCKERFILE
    assert "chown intake:intake /data" in DOCKERFILE


def test_demo_dovecot_config_is_valid() -> None:
    doveconf = shutil.which("doveconf")
    if doveconf is None:
        if os.environ.get("CI"):
            pytest.fail("doveconf is not installed (Debian: dovecot-core)")
        pytest.skip("doveconf is not installed")
    run = subprocess.run(
        [doveconf, "-n", "-c", str(DEPLOY / "dovecot" / "dovecot.conf")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "ssl = no" in run.stdout and "disable_plaintext_auth = no" in run.stdout
