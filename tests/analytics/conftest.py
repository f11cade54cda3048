"""A private ClickHouse server for the transport tests: Debian's clickhouse-server (18.16).

It runs from a generated config in a temporary folder, on free ports, as the current user: no
system service, no /etc or /var paths. A missing binary fails the run, it never skips: CI must
install `clickhouse-server`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from clickhouse_driver import Client

# The private server runs in a zone that is not UTC, so that the tests prove the store never
# relies on the server's zone. Kolkata has no daylight saving time: the offset is always +05:30.
SERVER_TIMEZONE = "Asia/Kolkata"
USER = "tracker"
PASSWORD = "s3cret'\"pass"  # quotes, to prove the password travels outside any SQL
_START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ClickHouseServer:
    host: str
    port: int
    user: str
    password: str
    log: Path

    def url(self, database: str) -> str:
        credentials = f"{quote(self.user)}:{quote(self.password, safe='')}"
        return f"clickhouse://{credentials}@{self.host}:{self.port}/{database}"


def _server_command() -> list[str]:
    """Debian installs /usr/sbin/clickhouse-server; upstream packages a `clickhouse` binary."""
    for candidate in (shutil.which("clickhouse-server"), "/usr/sbin/clickhouse-server"):
        if candidate and os.access(candidate, os.X_OK):
            return [candidate]
    for candidate in (shutil.which("clickhouse"), "/usr/bin/clickhouse"):
        if candidate and os.access(candidate, os.X_OK):
            return [candidate, "server"]
    pytest.fail(
        "clickhouse-server is required for the native transport tests and is not installed: "
        "apt-get install clickhouse-server"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _write_config(folder: Path, tcp_port: int, http_port: int) -> Path:
    data = folder / "data"
    (folder / "users.xml").write_text(
        f"""<?xml version="1.0"?>
<yandex>
    <profiles><default></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
        <{USER}>
            <password>{_xml_text(PASSWORD)}</password>
            <networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </{USER}>
    </users>
    <quotas><default></default></quotas>
</yandex>
"""
    )
    config = folder / "config.xml"
    config.write_text(
        f"""<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>{folder}/server.log</log>
        <errorlog>{folder}/server.err.log</errorlog>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>{tcp_port}</tcp_port>
    <http_port>{http_port}</http_port>
    <path>{data}/</path>
    <tmp_path>{data}/tmp/</tmp_path>
    <user_files_path>{data}/user_files/</user_files_path>
    <format_schema_path>{data}/format_schemas/</format_schema_path>
    <users_config>{folder}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>{SERVER_TIMEZONE}</timezone>
    <mark_cache_size>134217728</mark_cache_size>
    <uncompressed_cache_size>134217728</uncompressed_cache_size>
    <max_concurrent_queries>50</max_concurrent_queries>
    <mlock_executable>false</mlock_executable>
</yandex>
"""
    )
    return config


def _log_tail(folder: Path) -> str:
    parts = []
    for name in ("stdout.log", "server.err.log"):
        path = folder / name
        if path.exists():
            parts.append(f"--- {name} ---\n" + "\n".join(path.read_text().splitlines()[-20:]))
    return "\n".join(parts)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def clickhouse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseServer]:
    """A ClickHouse server of its own for this test module, killed afterwards."""
    command = _server_command()
    folder = tmp_path_factory.mktemp("clickhouse-server")
    tcp_port = _free_port()
    config = _write_config(folder, tcp_port, _free_port())
    with (folder / "stdout.log").open("wb") as out:
        # Its own process group, so that stopping it never reaches the test process.
        process = subprocess.Popen(
            [*command, f"--config-file={config}"],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"clickhouse-server exited with {process.returncode}:\n{_log_tail(folder)}"
                )
            probe = Client("127.0.0.1", port=tcp_port, connect_timeout=1, send_receive_timeout=5)
            try:
                probe.execute("SELECT 1")
                break
            except Exception:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"clickhouse-server did not answer within {_START_TIMEOUT_S:.0f} s:\n"
                        + _log_tail(folder)
                    )
                time.sleep(0.2)
            finally:
                probe.disconnect()
        yield ClickHouseServer("127.0.0.1", tcp_port, USER, PASSWORD, folder / "server.log")
    finally:
        _stop(process)
