"""Does a dashboard page cost its slowest section, or the sum of its sections?

One `saas-tracker serve` (the default shape: split on 2+ cores) on a temporary data folder,
filled by `saas-tracker demo` through the real ingest endpoint. Then the AI Cost page as the
dashboard sends it — ONE request with five `aiCost` sections (totals with latency, rows by
model, by customer and by feature, a daily series split by model) — against each section sent
alone, one after the other. Each round sends the sections alone first, then the page; the
table prints the medians over `--rounds` (after one warm-up round) side by side: the page, the
sum of its sections alone, the slowest of them, and page / sum. A page that runs its
sections concurrently costs about its slowest section (page / sum ≈ 1 / sections on enough
cores); one whose sections wait for each other costs their sum (page / sum ≈ 1).

Usage: `python -m bench.page [--events 5000] [--rounds 7] [--single-process] [--keep]`
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.concurrency import demo
from bench.ingest import Credentials, Server, base_env, free_port, spawn, stop, wait_healthy

RANGE_DAYS = 30
FIGURES = (
    "key costEur calls callsWithUnknownCost inputTokens outputTokens failedCalls errorRate "
    "acceptedOutputs rejectedOutputs editedOutputs acceptanceRate costPerAcceptedOutputEur"
)
# The AI Cost page's sections, as its query's aliases: name -> selection.
SECTIONS: dict[str, str] = {
    "totals": (
        "totals: aiCost(from: $from, to: $to) { totalCostEur calls callsWithUnknownCost "
        "failedCalls errorRate acceptanceRate latency { p50Ms p90Ms p99Ms } "
        "editRatioDistribution { lower upper count } }"
    ),
    "byModel": (
        "byModel: aiCost(from: $from, to: $to, by: MODEL) { rows(limit: 100) { " + FIGURES + " } }"
    ),
    "byCustomer": (
        "byCustomer: aiCost(from: $from, to: $to, by: CUSTOMER) { rows(limit: 100) { "
        + FIGURES
        + " } }"
    ),
    "byFeature": (
        "byFeature: aiCost(from: $from, to: $to, by: FEATURE) { rows(limit: 100) { "
        + FIGURES
        + " latency { p50Ms p99Ms } } }"
    ),
    "series": (
        "series: aiCost(from: $from, to: $to) { series(granularity: DAY, by: MODEL, top: 5) { "
        "start costEur calls rows { key costEur calls } } }"
    ),
}


def document(*sections: str) -> str:
    return "query Page($from: DateTime, $to: DateTime) { " + " ".join(sections) + " }"


def timed(client: httpx.Client, token: str, query: str, variables: dict[str, str]) -> float:
    """Seconds one request took; it must answer without errors."""
    started = time.perf_counter()
    response = client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
    )
    elapsed = time.perf_counter() - started
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"the request failed: {response.status_code} {body}")
    return elapsed


def run(args: argparse.Namespace, workdir: Path) -> None:
    data_dir = workdir / "data"
    env = base_env(data_dir)
    port = free_port()
    log = workdir / "serve.log"
    flags = ["--single-process"] if args.single_process else []
    process = spawn(["saas-tracker", "serve", "--port", str(port), *flags], env, workdir, log)
    server = Server("serve", port, process, log, Credentials("", "", ""), data_dir=data_dir)
    try:
        wait_healthy(server)
        started = time.perf_counter()
        made = demo(env, workdir, server.url, args.events)
        print(f"loaded {args.events} events with saas-tracker demo in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        time.sleep(2)  # the last batch reaches ClickHouse
        now = datetime.now(UTC)
        variables = {
            "from": (now - timedelta(days=RANGE_DAYS)).isoformat(),
            "to": now.isoformat(),
        }
        page = document(*SECTIONS.values())
        alone: dict[str, list[float]] = {name: [] for name in SECTIONS}
        pages: list[float] = []
        with httpx.Client(base_url=server.url, timeout=120) as client:
            for round_ in range(args.rounds + 1):
                times = {
                    name: timed(client, made["token"], document(section), variables)
                    for name, section in SECTIONS.items()
                }
                page_time = timed(client, made["token"], page, variables)
                if round_ == 0:
                    continue  # warm-up: caches, the first statement of each shape
                for name, seconds in times.items():
                    alone[name].append(seconds)
                pages.append(page_time)
    finally:
        stop(server)
        if args.keep:
            print(f"kept {workdir}")
    print(table(alone, pages, args))


def table(alone: dict[str, list[float]], pages: list[float], args: argparse.Namespace) -> str:
    medians = {name: statistics.median(times) * 1000 for name, times in alone.items()}
    page_ms = statistics.median(pages) * 1000
    total = sum(medians.values())
    slowest = max(medians.values())
    shape = "single process" if args.single_process else "default serve"
    rows = [
        f"\nAI Cost page, {args.events} demo events, {RANGE_DAYS} days, {shape}; medians of "
        f"{args.rounds} rounds, ms:\n",
        "| section | alone |",
        "| --- | ---: |",
        *(f"| {name} | {ms:.1f} |" for name, ms in medians.items()),
        "",
        "| page (one request, 5 sections) | sum of sections alone | slowest section | page / sum |",
        "| ---: | ---: | ---: | ---: |",
        f"| {page_ms:.1f} | {total:.1f} | {slowest:.1f} | {page_ms / total:.2f} |",
    ]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--single-process", action="store_true", help="serve --single-process")
    parser.add_argument("--keep", action="store_true", help="keep the data folder and log")
    args = parser.parse_args()
    if shutil.which("saas-tracker") is None:
        raise SystemExit("saas-tracker is not installed: pip install -e .")
    workdir = Path(tempfile.mkdtemp(prefix="bench-page-"))
    try:
        run(args, workdir)
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"{exc.cmd} failed:\n{exc.stderr.decode(errors='replace')}") from exc
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
