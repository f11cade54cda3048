"""The `saas-tracker` command."""

from __future__ import annotations

import contextlib
import json
import shlex
import signal
import sys
import threading
from contextlib import AbstractContextManager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

from app.settings import Settings

if TYPE_CHECKING:
    from sqlmodel import Session
    from starlette.types import ASGIApp

cli = typer.Typer(
    help="SaaS Tracker: exact AI cost analytics from signed events.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
admin = typer.Typer(help="Operator commands (print JSON).", no_args_is_help=True)
cli.add_typer(admin, name="admin")


class OutputFormat(StrEnum):
    json = "json"
    shell = "shell"


_output = {"format": OutputFormat.json}


@admin.callback()
def _admin_options(
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            help="json, or shell: NAME='value' lines to `eval`, e.g. "
            '`eval "$(saas-tracker admin --format shell create-workspace Acme)"` sets '
            "WORKSPACE_ID and TOKEN.",
        ),
    ] = OutputFormat.json,
) -> None:
    _output["format"] = output


def _print_json(data: dict[str, object]) -> None:
    if _output["format"] is OutputFormat.shell:
        for name, value in data.items():
            text = value if isinstance(value, str) else json.dumps(value)
            typer.echo(f"{name.upper()}={shlex.quote(text)}")
        return
    typer.echo(json.dumps(data))


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    no_workers: Annotated[
        bool,
        typer.Option(
            "--no-workers",
            help="Serve HTTP only; separate `saas-tracker worker` processes write to ClickHouse "
            "(needs Redis and a ClickHouse server).",
        ),
    ] = False,
    ingest_only: Annotated[
        bool,
        typer.Option(
            "--ingest-only",
            help="Serve only POST /v1/ingest (and health, metrics) into Redis, without "
            "ClickHouse or GraphQL: run several beside the process that owns the engine.",
        ),
    ] = False,
    fd: Annotated[
        int | None,
        typer.Option(
            "--fd",
            help="Serve on this inherited, already listening socket instead of --host/--port: "
            "several processes (e.g. --ingest-only ones) can share one port this way.",
        ),
    ] = None,
    single_process: Annotated[
        bool,
        typer.Option(
            "--single-process",
            help="Serve everything from one process. By default, with two cores or more, a "
            "front process answers ingest and health checks and an engine process (at a lower "
            "CPU priority) writes events and serves GraphQL behind it.",
        ),
    ] = False,
    engine_socket: Annotated[
        str | None,
        typer.Option("--engine-socket", hidden=True, help="Internal: the engine of a split serve."),
    ] = None,
) -> None:
    """Apply migrations, serve HTTP and (unless --no-workers) run the ingest workers."""
    import os
    import socket

    import uvicorn

    from app import served_address
    from app.log_config import configure_logging
    from app.runtime import EmbeddedEngineRefused, check_process_shape
    from app.served_address import local_url, with_served_url

    settings = Settings()
    configure_logging(settings)
    try:
        check_process_shape(settings, workers=not no_workers, ingest_only=ingest_only)
    except EmbeddedEngineRefused as exc:
        _fail(str(exc))
    if engine_socket is not None:
        _serve_engine(settings, engine_socket)
        return
    split = (
        not (single_process or no_workers or ingest_only or fd is not None)
        and (os.cpu_count() or 1) >= 2
    )
    url = None if fd is not None else local_url(host, port)
    if url is not None:
        settings = with_served_url(settings, url)
    split_serve = _start_engine(settings) if split else None
    if split_serve is not None:
        app: ASGIApp = split_serve.asgi
    else:
        from app.server import create_app

        app = create_app(settings, workers=not no_workers, ingest_only=ingest_only)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=30,
    )
    server = uvicorn.Server(config)
    if url is not None:
        served_address.record(settings, url)
    try:
        # socket(fileno=…) reads the inherited socket's family (uvicorn's --fd assumes AF_UNIX).
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=None if fd is None else [socket.socket(fileno=fd)])
    finally:
        if url is not None:
            served_address.forget(settings)
        if split_serve is not None:
            split_serve.stop()
    if not server.started:
        raise typer.Exit(code=3)  # as uvicorn.run: startup failed


def _start_engine(settings: Settings) -> SplitServe:
    """Start the engine process of a split `serve` and return the front that proxies to it;
    exit as the engine did if it could not start (its error is already on stderr)."""
    from app.front.engine import EngineFailed

    split = SplitServe(settings)
    try:
        split.engine.start()
    except EngineFailed as exc:
        split.cleanup()
        raise typer.Exit(code=exc.exit_code or 3) from None
    except BaseException:
        split.stop()
        raise
    split.engine.supervise()
    return split


class SplitServe:
    """The two halves of a split `serve`: the engine process and the front app before it."""

    def __init__(self, settings: Settings) -> None:
        import os
        import tempfile
        from pathlib import Path

        from app.front.app import create_front_app
        from app.front.engine import EngineProcess
        from app.front.proxy import EngineProxy

        # A private folder (0700): only this user's processes reach the engine's socket, which
        # trusts the client address the front forwards. Short: a socket path has 108 bytes.
        self.folder = Path(tempfile.mkdtemp(prefix="saas-tracker-"))
        socket_path = self.folder / "engine.sock"
        env = dict(os.environ)
        env["SAAS_TRACKER_PUBLIC_URL"] = settings.public_url
        self.engine = EngineProcess(socket_path, env)
        self.asgi = create_front_app(settings, EngineProxy(socket_path))

    def stop(self) -> None:
        self.engine.stop()
        self.cleanup()

    def cleanup(self) -> None:
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)


def _serve_engine(settings: Settings, socket_path: str) -> None:
    """The engine of a split `serve`: the whole app on a Unix socket, behind the front."""
    import uvicorn

    from app.server import create_app

    config = uvicorn.Config(
        create_app(settings),
        uds=socket_path,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=30,
        # Only the front reaches this socket (its folder is private): the client address and
        # scheme it forwards are the real ones.
        proxy_headers=True,
        forwarded_allow_ips="*",
    )
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        raise typer.Exit(code=3)


@cli.command()
def worker() -> None:
    """Consume the Redis queue and write batches to ClickHouse (needs a ClickHouse server)."""
    from app.log_config import configure_logging
    from app.runtime import open_runtime

    settings = Settings()
    configure_logging(settings)
    if not settings.uses_redis:
        _fail(
            "`worker` consumes Redis: set SAAS_TRACKER_REDIS_URL (without it, `serve` runs "
            "the workers in-process)."
        )
    if settings.clickhouse_is_embedded:
        _fail(
            "the embedded engine (chdb://) can be opened by one process only, the one running "
            "`saas-tracker serve`; separate workers need SAAS_TRACKER_CLICKHOUSE_URL="
            "clickhouse://… (a ClickHouse server)."
        )
    runtime = open_runtime(settings, workers=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runtime.start()
    typer.echo("worker running; Ctrl-C to stop", err=True)
    stop.wait()
    runtime.stop()


@cli.command()
def migrate() -> None:
    """Apply relational (Alembic) and ClickHouse migrations and seed data; idempotent."""
    from app.db import make_engine
    from app.migrate import migrate_all
    from app.store.interface import open_store

    settings = Settings()
    engine = make_engine(settings.resolved_database_url)
    store = open_store(settings.resolved_clickhouse_url, cluster=settings.clickhouse_cluster)
    migrate_all(settings.resolved_database_url, engine, store, settings.clickhouse_cluster)
    typer.echo("migrations applied", err=True)


@cli.command()
def demo(
    url: Annotated[
        str | None,
        typer.Option(
            help="Base URL of a running `saas-tracker serve`; default: SAAS_TRACKER_PUBLIC_URL, "
            "else the address the server of this data folder listens on."
        ),
    ] = None,
    plan: Annotated[
        str, typer.Option(help="free, ai_cost, starter, growth or enterprise.")
    ] = "growth",
    events: Annotated[
        int, typer.Option(min=1, max=100_000, help="How many events to send.")
    ] = 2000,
    days: Annotated[
        int, typer.Option(min=1, max=730, help="Spread them over the last N days.")
    ] = 30,
    seed: Annotated[int, typer.Option(help="Same seed, same traffic.")] = 20_240_501,
    progress: Annotated[bool, typer.Option(help="Show a progress bar (stderr).")] = True,
) -> None:
    """Create a demo workspace and fill it with realistic signed traffic via the real ingest.

    The server at --url must share this command's database (SAAS_TRACKER_DATABASE_URL).
    Prints the admin token and a GraphQL query to try.
    """
    from saas_tracker_client import TrackerError

    from app.demo import format_summary, run_demo
    from app.errors import SaasTrackerError
    from app.served_address import served_url

    settings = Settings()
    url = url or served_url(settings)
    try:
        result = run_demo(
            base_url=url,
            database_url=settings.resolved_database_url,
            plan=plan,
            events=events,
            days=days,
            progress=progress,
            seed=seed,
        )
    except SaasTrackerError as exc:
        _fail(exc.message)
    except TrackerError as exc:
        _fail(str(exc))
    typer.echo(format_summary(result, base_url=url))


def _admin_session() -> AbstractContextManager[Session]:
    from app.db import make_engine, session_scope
    from app.migrate import migrate_relational

    settings = Settings()
    url = settings.resolved_database_url
    # The default database is a file of the current folder's ./data: run from another folder,
    # the command would silently work on a new, empty database the server never reads.
    created = settings.database_url is None and not settings.default_database_path.exists()
    engine = make_engine(url)
    migrate_relational(url, engine)
    if created:
        typer.echo(
            f"note: created a new, empty database at {settings.default_database_path.resolve()}."
            " If `saas-tracker serve` runs from another folder, it uses another database: run"
            " this command there, or set SAAS_TRACKER_DATA_DIR (or SAAS_TRACKER_DATABASE_URL)"
            " to the server's.",
            err=True,
        )
    return session_scope(engine)


@admin.command("create-workspace")
def create_workspace(
    name: str, plan: Annotated[str, typer.Option(help="free, ai_cost, starter, growth, enterprise")]
) -> None:
    """Create a workspace; prints {"workspace_id", "token"} (an admin API token)."""
    from app.accounts import service
    from app.errors import SaasTrackerError

    try:
        with _admin_session() as session:
            workspace, token = service.create_workspace(session, name=name, plan_key=plan)
    except SaasTrackerError as exc:
        _fail(exc.message)
    _print_json({"workspace_id": str(workspace.id), "token": token})


@admin.command("create-superuser")
def create_superuser(email: str) -> None:
    """Create an operator; prints {"token"}."""
    from app.accounts import service
    from app.errors import SaasTrackerError

    try:
        with _admin_session() as session:
            token = service.create_superuser(session, email=email)
    except SaasTrackerError as exc:
        _fail(exc.message)
    _print_json({"token": token})


@admin.command("create-app")
def create_app(workspace_id: UUID, name: str) -> None:
    """Create an app within the plan's apps_max; prints {"app_uuid", "api_secret"}."""
    from app.accounts import service
    from app.errors import SaasTrackerError

    try:
        with _admin_session() as session:
            app = service.create_app(session, workspace_id=workspace_id, name=name)
    except SaasTrackerError as exc:
        _fail(exc.message)
    _print_json({"app_uuid": str(app.uuid), "api_secret": app.api_secret})


@admin.command("replay-dead-letters")
def replay_dead_letters(
    limit: Annotated[int, typer.Option(help="At most this many, oldest first.")] = 1000,
) -> None:
    """Queue dead-lettered events again (once their cause is fixed); prints {"replayed"}.

    The running server's writer stores each once; a row still refused is dead-lettered again."""
    from app.db import make_engine
    from app.runtime import open_queue
    from app.workers.dead_letters import DeadLetterStore

    settings = Settings()
    engine = make_engine(settings.resolved_database_url)
    queue = open_queue(settings)
    try:
        replayed = DeadLetterStore(engine).replay(queue.put, actor="cli", limit=limit)
    finally:
        queue.close()
        engine.dispose()
    _print_json({"replayed": replayed})


class WorkspaceRole(StrEnum):
    admin = "admin"
    member = "member"


def _password_from_stdin() -> str:
    # One line: `printf '%s\n' "$PASSWORD" | saas-tracker admin create-user … --password-stdin`.
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        _fail("--password-stdin: standard input holds no password (one line expected).")
    return password


@admin.command("create-user")
def create_user(
    email: str,
    workspace: Annotated[UUID, typer.Option("--workspace", help="The workspace's id.")],
    role: Annotated[WorkspaceRole, typer.Option(help="The person's role in the workspace.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from standard input (one line) instead of printing a "
            "single-use link that sets it.",
        ),
    ] = False,
) -> None:
    """Create a person in a workspace; prints {"user_id", "set_password_url"} (the URL, a
    single-use expiring link to hand them, is null with --password-stdin)."""
    from datetime import timedelta

    from app.accounts import people
    from app.accounts.models import Role
    from app.accounts.passwords import passwords_for
    from app.errors import SaasTrackerError
    from app.served_address import served_url

    settings = Settings()
    password = _password_from_stdin() if password_stdin else None
    try:
        with _admin_session() as session:
            user, link = people.create_user(
                session,
                email=email,
                workspace_id=workspace,
                role=Role(role.value),
                actor="cli",
                passwords=passwords_for(settings),
                password=password,
                link_ttl=timedelta(seconds=settings.invitation_ttl_s),
            )
    except SaasTrackerError as exc:
        _fail(exc.message)
    url = None if link is None else link.url(served_url(settings))
    _print_json({"user_id": str(user.id), "set_password_url": url})


@admin.command("reset-password")
def reset_password(email: str) -> None:
    """A single-use expiring link that sets the person's password and ends their sessions;
    prints {"set_password_url", "expires_at"}."""
    from datetime import timedelta

    from app.accounts import people
    from app.errors import SaasTrackerError
    from app.served_address import served_url

    settings = Settings()
    try:
        with _admin_session() as session:
            link = people.create_password_reset(
                session,
                email=email,
                actor="cli",
                ttl=timedelta(seconds=settings.password_reset_ttl_s),
            )
    except SaasTrackerError as exc:
        _fail(exc.message)
    _print_json(
        {
            "set_password_url": link.url(served_url(settings)),
            "expires_at": link.expires_at.isoformat(),
        }
    )


@admin.command("reencrypt-secrets")
def reencrypt_secrets() -> None:
    """Seal every app secret with the newest key of SAAS_TRACKER_SECRET_KEY; prints
    {"resealed"}. Rotation: put the new key first (every process), run this, then drop the
    old key."""
    from app.accounts import sealing

    try:
        keyring = sealing.configure(Settings())
        with _admin_session() as session:
            resealed = sealing.reseal_all(session, keyring)
    except sealing.KeyringError as exc:
        _fail(str(exc))
    _print_json({"resealed": resealed})


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
