"""The people commands of the CLI: `admin create-user`, `admin reset-password` and
`admin reencrypt-secrets`, on a data folder of their own (the embedded default)."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from app import served_address
from app.accounts import people, sealing, service
from app.accounts.login_limits import LoginPolicy
from app.accounts.passwords import passwords_for
from app.cli import cli
from app.db import make_engine, session_scope
from app.settings import Settings
from tests.accounts.people import CHEAP, PASSWORD, unique_email


@pytest.fixture
def env(tmp_path: Path, sqlite_template: Path) -> dict[str, str]:
    """The environment of an operator whose database is the default one of `data_dir`."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(sqlite_template, data / "saas_tracker.sqlite3")
    return {
        "SAAS_TRACKER_DATA_DIR": str(data),
        **{f"SAAS_TRACKER_{name.upper()}": str(value) for name, value in CHEAP.items()},
    }


def _settings(env: dict[str, str]) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        **{name.removeprefix("SAAS_TRACKER_").lower(): value for name, value in env.items()},
    )


def _admin(env: dict[str, str], *args: str, stdin: str | None = None) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["admin", *args], env=env, input=stdin)
    assert result.exit_code == 0, result.output
    printed: dict[str, Any] = json.loads(result.stdout)
    return printed


def _workspace(env: dict[str, str]) -> str:
    engine = make_engine(_settings(env).resolved_database_url)
    with session_scope(engine) as session:
        workspace, _ = service.create_workspace(session, name="Acme", plan_key="growth")
    engine.dispose()
    return str(workspace.id)


def _token(url: str) -> str:
    return parse_qs(urlsplit(urlsplit(url).fragment).query)["token"][0]


def _signs_in(settings: Settings, email: str, password: str) -> bool:
    engine = make_engine(settings.resolved_database_url)
    with session_scope(engine) as session:
        outcome = people.login(
            session,
            email=email,
            password=password,
            address="cli-test",
            passwords=passwords_for(settings),
            policy=LoginPolicy.of(settings),
            session_ttl=timedelta(hours=1),
        )
    engine.dispose()
    return isinstance(outcome, people.IssuedSession)


def test_create_user_prints_a_link_at_the_served_address_that_sets_the_password(
    env: dict[str, str],
) -> None:
    settings = _settings(env)
    served_address.record(settings, "http://127.0.0.1:9000")
    email = unique_email("ada")
    printed = _admin(env, "create-user", email, "--workspace", _workspace(env), "--role", "admin")
    assert set(printed) == {"user_id", "set_password_url"}
    url = printed["set_password_url"]
    assert url == f"http://127.0.0.1:9000/#/set-password?token={_token(url)}"
    engine = make_engine(settings.resolved_database_url)
    with session_scope(engine) as session:
        issued = people.set_password(
            session,
            token=_token(url),
            password=PASSWORD,
            passwords=passwords_for(settings),
            session_ttl=timedelta(hours=1),
        )
        assert [(w.name, w.role.value) for w in issued.workspaces] == [("Acme", "admin")]
    engine.dispose()
    assert _signs_in(settings, email, PASSWORD)


def test_create_user_with_password_stdin_prints_no_link(env: dict[str, str]) -> None:
    email = unique_email("ada")
    printed = _admin(
        env,
        "create-user",
        email,
        "--workspace",
        _workspace(env),
        "--role",
        "member",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert printed["set_password_url"] is None
    assert _signs_in(_settings(env), email, PASSWORD)


def test_create_user_refuses_a_weak_password(env: dict[str, str]) -> None:
    email, workspace = unique_email("ada"), _workspace(env)
    arguments = ["create-user", email, "--workspace", workspace, "--role", "admin"]
    result = CliRunner().invoke(
        cli,
        ["admin", *arguments, "--password-stdin"],
        env=env,
        input="short\n",
    )
    assert (result.exit_code, result.stderr) == (
        2,
        "error: A password needs at least 10 characters.\n",
    )


def test_reset_password_prints_a_link_that_replaces_the_password(env: dict[str, str]) -> None:
    email = unique_email("ada")
    workspace = _workspace(env)
    _admin(
        env,
        "create-user",
        email,
        "--workspace",
        workspace,
        "--role",
        "member",
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )
    printed = _admin(env, "reset-password", email)
    settings = _settings(env)
    engine = make_engine(settings.resolved_database_url)
    with session_scope(engine) as session:
        people.set_password(
            session,
            token=_token(printed["set_password_url"]),
            password="a brand new one",
            passwords=passwords_for(settings),
            session_ttl=timedelta(hours=1),
        )
    engine.dispose()
    assert (
        _signs_in(settings, email, PASSWORD),
        _signs_in(settings, email, "a brand new one"),
    ) == (
        False,
        True,
    )


def test_reencrypt_secrets_seals_every_secret_with_the_newest_key(env: dict[str, str]) -> None:
    old, new = sealing.generate_key(), sealing.generate_key()
    workspace = _workspace(env)
    with_old = {**env, "SAAS_TRACKER_SECRET_KEY": old}
    # What a new process of this environment loads (commands run in this test's process).
    sealing.configure(_settings(with_old))
    created = _admin(with_old, "create-app", workspace, "Web")
    rotated = {**env, "SAAS_TRACKER_SECRET_KEY": f"{new},{old}"}
    assert _admin(rotated, "reencrypt-secrets") == {"resealed": 1}
    engine = make_engine(_settings(env).resolved_database_url)
    with engine.connect() as connection:
        [stored] = connection.execute(sa.text("SELECT api_secret FROM apps")).scalars()
    engine.dispose()
    assert sealing.Keyring(sealing.parse_keys(new)).open(stored) == created["api_secret"]
