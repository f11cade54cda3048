"""Does analytics starve ingest? Ingest and /healthz latency, idle and under the heaviest
dashboard requests the API accepts.

One `saas-tracker serve` on a temporary data folder, filled by `saas-tracker demo` through the
real ingest endpoint. Then twice, for `--seconds` each: single signed events posted one after
the other and `GET /healthz` polled beside them, measuring each answer — first with nothing
else running, then while `--clients` clients each send the heaviest request within the cost
budget (the shape of the one that stalled the server: hourly series split by feature over
75 days, 1,000 rows, latency and edit ratios, as many aliases as fit) again and again, all
with the demo's token. Prints the p50/p99 of both phases, their ratio, what the heavy
requests got, and the server's peak RSS (VmHWM).

Each serve shape in turn (`--shapes split,single`): the default split serve (a front process
for ingest and health, an engine process at a lower CPU priority for GraphQL and the writer)
and `serve --single-process`.

Usage: `python -m bench.concurrency [--events 5000] [--seconds 10] [--clients 4] [--keep]`
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
from graphql import parse

from app.graphql.cost import QUERY_BUDGET, request_cost
from app.graphql.schema import MAX_ALIASES, make_schema
from app.ingest.signature import sign_headers
from bench.ingest import (
    Credentials,
    Server,
    base_env,
    free_port,
    make_event,
    percentile,
    spawn,
    stop,
    wait_healthy,
)

RANGE_DAYS = 75
FIGURES = "key costEur calls latency { p50Ms p99Ms } editRatioDistribution { lower count }"
ALIAS = (
    "aN: aiCost(from: $from, to: $to, by: FEATURE) { totalCostEur "
    "rows(limit: 1000) { " + FIGURES + " } "
    "series(granularity: HOUR, by: FEATURE, top: TOP) { start costEur latency { p50Ms } "
    "rows { " + FIGURES + " } } }"
)


def heavy_request(variables: dict[str, str]) -> tuple[str, int]:
    """The costliest request of the ALIAS shape within the budget: the most split keys one
    alias may have, then as many aliases as fit. Returns the query and its cost."""
    schema = make_schema(production=False)._schema

    def build(aliases: int, top: int) -> tuple[str, int]:
        fields = " ".join(
            ALIAS.replace("aN:", f"a{i}:").replace("TOP", str(top)) for i in range(aliases)
        )
        query = f"query ($from: DateTime, $to: DateTime) {{ {fields} }}"
        cost = request_cost(schema, parse(query), None, variables)
        assert cost is not None
        return query, cost

    top = next(t for t in range(50, 0, -1) if build(1, t)[1] <= QUERY_BUDGET)
    aliases = max(a for a in range(1, MAX_ALIASES + 1) if build(a, top)[1] <= QUERY_BUDGET)
    return build(aliases, top)


@dataclass
class Phase:
    name: str
    ingest_ms: list[float] = field(default_factory=list)
    healthz_ms: list[float] = field(default_factory=list)
    ingest_errors: int = 0


async def timed_get(client: httpx.AsyncClient, url: str) -> float:
    started = time.perf_counter()
    (await client.get(url)).raise_for_status()
    return (time.perf_counter() - started) * 1000


async def measure(url: str, creds: Credentials, phase: Phase, seconds: float) -> Phase:
    """Events posted one after the other, /healthz polled beside them, for `seconds`."""
    deadline = time.monotonic() + seconds

    async def ingest(client: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            body = orjson.dumps(make_event())
            headers = {
                "content-type": "application/json",
                **sign_headers(creds.secret, body, int(time.time()), app_uuid=creds.app_uuid),
            }
            started = time.perf_counter()
            response = await client.post(f"{url}/v1/ingest", content=body, headers=headers)
            if response.status_code == 202:
                phase.ingest_ms.append((time.perf_counter() - started) * 1000)
            else:
                phase.ingest_errors += 1
            await asyncio.sleep(0.01)

    async def healthz(client: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            phase.healthz_ms.append(await timed_get(client, f"{url}/healthz"))
            await asyncio.sleep(0.01)

    # Two clients: a request never waits for a connection the other holds.
    async with httpx.AsyncClient(timeout=60) as a, httpx.AsyncClient(timeout=60) as b:
        await asyncio.gather(ingest(a), healthz(b))
    return phase


async def heavy_clients(
    url: str, token: str, query: str, variables: dict[str, str], clients: int, stop: asyncio.Event
) -> tuple[Counter[str], list[float]]:
    """`clients` loops sending the heavy request until `stop`; answers by outcome, durations."""
    outcomes: Counter[str] = Counter()
    durations: list[float] = []

    async def loop(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            response = await client.post(
                f"{url}/graphql",
                json={"query": query, "variables": variables},
                headers={"authorization": f"Bearer {token}"},
            )
            body = response.json()
            codes = {e["extensions"]["code"] for e in body.get("errors") or ()}
            outcomes[",".join(sorted(codes)) or "answered"] += 1
            if not codes:
                durations.append(time.perf_counter() - started)

    async with httpx.AsyncClient(timeout=300) as client:
        await asyncio.gather(*(loop(client) for _ in range(clients)))
    return outcomes, durations


def peak_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else float("nan")


def demo(env: dict[str, str], cwd: Path, url: str, events: int) -> dict[str, str]:
    """`saas-tracker demo`'s workspace: its token, app and secret (parsed from what it prints)."""
    done = subprocess.run(
        ["saas-tracker", "demo", "--url", url, "--events", str(events), "--no-progress"],
        env=env,
        cwd=cwd,
        capture_output=True,
        check=True,
    )
    out = done.stdout.decode()
    found = dict(re.findall(r"^  (token|app_uuid|api_secret)\s+(\S+)", out, re.MULTILINE))
    if len(found) != 3:
        raise RuntimeError(f"unexpected demo output:\n{out}")
    return found


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


async def run(args: argparse.Namespace, workdir: Path, shape: str) -> None:
    """One `serve` of `shape`: "split" (the default: a front process answers ingest and
    health, an engine process the rest) or "single" (`--single-process`)."""
    print(f"\n## serve, {shape}")
    workdir = workdir / shape
    workdir.mkdir()
    data_dir = workdir / "data"
    env = base_env(data_dir)
    port = free_port()
    log = workdir / "serve.log"
    flags = ["--single-process"] if shape == "single" else []
    process = spawn(["saas-tracker", "serve", "--port", str(port), *flags], env, workdir, log)
    server = Server("serve", port, process, log, Credentials("", "", ""), data_dir=data_dir)
    try:
        wait_healthy(server)
        url = server.url
        started = time.perf_counter()
        made = demo(env, workdir, url, args.events)
        print(
            f"loaded {args.events} events with saas-tracker demo in "
            f"{time.perf_counter() - started:.1f} s"
        )
        creds = Credentials(made["app_uuid"], made["api_secret"], "")
        await asyncio.sleep(2)  # the last batch reaches ClickHouse
        now = datetime.now(UTC)
        variables = {
            "from": (now - timedelta(days=RANGE_DAYS)).isoformat(),
            "to": now.isoformat(),
        }
        query, cost = heavy_request(variables)
        aliases = query.count("aiCost(")
        print(f"heavy request: {aliases} aliases, cost {cost} of the budget {QUERY_BUDGET}")

        idle = await measure(url, creds, Phase("idle"), args.seconds)
        stop_heavy = asyncio.Event()
        heavy = asyncio.create_task(
            heavy_clients(url, made["token"], query, variables, args.clients, stop_heavy)
        )
        await asyncio.sleep(1.0)  # the heavy requests are under way
        loaded = await measure(url, creds, Phase(f"{args.clients} heavy"), args.seconds)
        stop_heavy.set()
        outcomes, durations = await heavy
        rss = sum(peak_rss_mib(pid) for pid in [process.pid, *children(process.pid)])
    finally:
        stop(server)
        if args.keep:
            print(f"kept {workdir}")
    print(table(idle, loaded))
    answered = f"{percentile(durations, 0.5):.1f} s p50" if durations else "none answered"
    print(f"\nheavy requests: {dict(outcomes)}; answered in {answered}")
    print(f"server peak RSS (VmHWM, its processes together): {rss:.0f} MiB")


def table(idle: Phase, loaded: Phase) -> str:
    rows = [
        "| phase | ingest p50 ms | ingest p99 ms | /healthz p50 ms | /healthz p99 ms | "
        "ingest errors |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for phase in (idle, loaded):
        rows.append(
            f"| {phase.name} | {percentile(phase.ingest_ms, 0.5):.1f} | "
            f"{percentile(phase.ingest_ms, 0.99):.1f} | {percentile(phase.healthz_ms, 0.5):.1f} | "
            f"{percentile(phase.healthz_ms, 0.99):.1f} | {phase.ingest_errors} |"
        )
    ingest = percentile(loaded.ingest_ms, 0.99) / percentile(idle.ingest_ms, 0.99)
    health = percentile(loaded.healthz_ms, 0.99) / percentile(idle.healthz_ms, 0.99)
    rows.append(f"| ratio loaded / idle (p99) | | {ingest:.2f}x | | {health:.2f}x | |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--shapes", default="split,single", help="serve shapes, in this order")
    parser.add_argument("--keep", action="store_true", help="keep the data folder and log")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-concurrency-"))
    try:
        for shape in args.shapes.split(","):
            asyncio.run(run(args, workdir, shape))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
