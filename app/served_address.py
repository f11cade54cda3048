"""Where `saas-tracker serve` answers, for the commands run beside it.

Tracking snippets and the demo must name the address the server really listens on (`serve
--port 9000` is not port 8000), unless SAAS_TRACKER_PUBLIC_URL says how integrators reach it.
`serve` writes its address into its data folder; the demo, which works on the same data, reads
it from there.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from app.settings import Settings

DEFAULT_URL = "http://127.0.0.1:8000"


def local_url(host: str, port: int) -> str:
    """The URL of a server bound to `host`:`port`, as a client on this machine reaches it."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def with_served_url(settings: Settings, url: str) -> Settings:
    """The settings of a server listening at `url`: its public URL unless one was configured."""
    if "public_url" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"public_url": url})


def _path(settings: Settings) -> Path:
    return settings.data_dir / "serve.json"


def record(settings: Settings, url: str) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _path(settings).write_text(json.dumps({"url": url}))


def forget(settings: Settings) -> None:
    _path(settings).unlink(missing_ok=True)


def served_url(settings: Settings) -> str:
    """The configured public URL, else the address the server of this data folder recorded,
    else the default."""
    if "public_url" in settings.model_fields_set:
        return settings.public_url
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        return str(json.loads(_path(settings).read_text())["url"])
    return DEFAULT_URL
