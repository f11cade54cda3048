"""App secrets sealed at rest: unreadable in the database, keys rotatable, the key file of the
embedded default, production's refusal, and the migration that seals secrets stored in clear."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from pydantic import SecretStr, ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.accounts import sealing, service
from app.accounts.models import App
from app.accounts.sealing import Keyring, KeyringError
from app.db import make_engine, session_scope
from app.relational_migrations import alembic_config, upgrade
from app.settings import Settings

KEY_A = sealing.generate_key()
KEY_B = sealing.generate_key()


def _settings(tmp_path: Path, key: str | None = None) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        data_dir=tmp_path / "data",
        secret_key=None if key is None else SecretStr(key),
    )


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return sealing.configure(_settings(tmp_path, KEY_A))


def _app_with_a_previous_secret(session: Session) -> App:
    workspace, _ = service.create_workspace(session, name="Acme", plan_key="growth")
    app = service.create_app(session, workspace_id=workspace.id, name="Web")
    return service.rotate_app_secret(
        session, workspace_id=workspace.id, app_uuid=app.uuid, grace=timedelta(hours=1)
    )


def _stored(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT api_secret, previous_secret FROM apps"))
        return [(row[0], row[1]) for row in rows]


def test_app_secrets_are_unreadable_in_the_sqlite_file(
    keyring: Keyring, engine: Engine, database_url: str
) -> None:
    with session_scope(engine) as session:
        app = _app_with_a_previous_secret(session)
    secrets = [app.api_secret, app.previous_secret]
    with Session(engine) as session:
        stored = session.get(App, app.uuid)
        assert stored is not None
        assert [stored.api_secret, stored.previous_secret] == secrets
    engine.dispose()
    path = Path(sa.make_url(database_url).database or "")
    files = b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))
    assert [secret for secret in secrets if secret and secret.encode() in files] == []


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_app_secrets_are_unreadable_in_the_postgresql_row(keyring: Keyring, engine: Engine) -> None:
    with session_scope(engine) as session:
        app = _app_with_a_previous_secret(session)
    [(api_secret, previous_secret)] = _stored(engine)
    assert previous_secret is not None
    assert (api_secret.startswith("gAAAAA"), previous_secret.startswith("gAAAAA")) == (True, True)
    assert (keyring.open(api_secret), keyring.open(previous_secret)) == (
        app.api_secret,
        app.previous_secret,
    )
    assert app.api_secret not in api_secret + previous_secret


def test_an_old_key_still_opens_and_reencrypting_seals_with_the_newest(
    tmp_path: Path, engine: Engine
) -> None:
    sealing.configure(_settings(tmp_path, KEY_A))
    with session_scope(engine) as session:
        app = _app_with_a_previous_secret(session)
    rotated = sealing.configure(_settings(tmp_path, f"{KEY_B},{KEY_A}"))
    with Session(engine) as session:
        assert session.get(App, app.uuid) is not None
    with session_scope(engine) as session:
        assert sealing.reseal_all(session, rotated) == 2
    newest_only = sealing.configure(_settings(tmp_path, KEY_B))
    assert [tuple(newest_only.open(v) for v in row if v) for row in _stored(engine)] == [
        (app.api_secret, app.previous_secret)
    ]


def test_a_secret_sealed_with_a_dropped_key_is_refused_without_revealing_it(
    tmp_path: Path,
) -> None:
    sealed = Keyring(sealing.parse_keys(KEY_A)).seal("the secret")
    with pytest.raises(KeyringError) as refused:
        Keyring(sealing.parse_keys(KEY_B)).open(sealed)
    assert str(refused.value) == (
        "A sealed app secret opens with none of the configured keys: "
        "SAAS_TRACKER_SECRET_KEY must still list the key that sealed it."
    )


def test_a_malformed_key_is_refused_without_being_echoed(tmp_path: Path) -> None:
    with pytest.raises(KeyringError) as refused:
        sealing.load_keyring(_settings(tmp_path, f"{KEY_A},not-a-key-at-all"))
    assert str(refused.value) == (
        "Key #2 of SAAS_TRACKER_SECRET_KEY is not a Fernet key (32 url-safe base64-encoded bytes)."
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            env="production",
            data_dir=tmp_path,
            database_url="postgresql+psycopg://tracker:hunter2@db/tracker",
        )
    message = str(refused.value)
    assert "SAAS_TRACKER_SECRET_KEY is required in production" in message
    assert "hunter2" not in message


def test_the_embedded_default_generates_an_owner_only_key_file_once(tmp_path: Path) -> None:
    first = sealing.load_keyring(_settings(tmp_path))
    path = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = sealing.load_keyring(_settings(tmp_path))
    assert again.open(first.seal("the secret")) == "the secret"


@pytest.fixture
def database_at_0004(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    command.upgrade(alembic_config(url), "0004")
    yield url


def test_the_migration_seals_the_secrets_stored_in_clear(
    tmp_path: Path, database_at_0004: str
) -> None:
    keyring = sealing.configure(_settings(tmp_path, KEY_A))
    engine = make_engine(database_at_0004)
    clear = "ab" * 32
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO plans (key, name, rank, apps_max, events_monthly_limit, "
                "retention_days, features) VALUES ('growth', 'Growth', 1, 10, 10, 10, '[]')"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO workspaces (id, name, plan_key, created_at) "
                "VALUES ('11111111111111111111111111111111', 'Acme', 'growth', '2026-01-01')"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO apps (uuid, workspace_id, name, api_secret, active, created_at) "
                "VALUES ('22222222222222222222222222222222', "
                "'11111111111111111111111111111111', 'Web', :secret, 1, '2026-01-01')"
            ),
            {"secret": clear},
        )
    upgrade(database_at_0004)
    [(sealed, previous)] = _stored(engine)
    assert (sealed.startswith("gAAAAA"), keyring.open(sealed), previous) == (True, clear, None)
    with Session(engine) as session:
        app = session.exec(select(App)).one()
        assert app.api_secret == clear
    engine.dispose()
