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

Each request's CPU time is measured too: the server's processes' (the front and, split, its
engine child: utime + stime of /proc/<pid>/stat, all their threads, in 10 ms ticks, hence the
mean over the rounds) from just before the request to its answer. Concurrent sections cannot
finish sooner than their CPU time spread over every core, so the page's lower bound is
max(slowest section, sum of the sections' CPU / cores); page / bound says how close it comes.
The machine may be shared: the CPU other processes (this client included) used during the
page, from /proc/stat, is printed in cores; the bound holds only when it is near 0.

Usage: `python -m bench.page [--events 5000] [--rounds 7] [--single-process] [--keep]`
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
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


_TICK = os.sysconf("SC_CLK_TCK")


def process_tree(root: int) -> list[int]:
    """`root` and every process below it: a split `serve` is a front and its engine child."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    tree = [root]
    for pid in tree:  # grows while it is walked: breadth first
        tree.extend(child for child, parent in parents.items() if parent == pid)
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system, every thread, exited ones too) the processes used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
    return ticks / _TICK


def machine_busy_seconds() -> float:
    """CPU time every core of the machine spent busy so far (/proc/stat: all but idle and
    iowait)."""
    with open("/proc/stat") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / _TICK


@dataclass(frozen=True)
class Timing:
    wall: float  # seconds, as the client saw the request
    cpu: float  # seconds of CPU the server's processes used meanwhile
    others: float  # seconds of CPU every other process (this client too) used meanwhile


def timed(
    client: httpx.Client, token: str, query: str, variables: dict[str, str], pids: list[int]
) -> Timing:
    """How long one request took, and the CPU time used meanwhile by the server and by the
    rest of the machine; it must answer without errors."""
    cpu_before, busy_before = cpu_seconds(pids), machine_busy_seconds()
    started = time.perf_counter()
    response = client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
    )
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(pids) - cpu_before
    others = machine_busy_seconds() - busy_before - cpu
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"the request failed: {response.status_code} {body}")
    return Timing(elapsed, cpu, others)


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
        alone: dict[str, list[Timing]] = {name: [] for name in SECTIONS}
        pages: list[Timing] = []
        with httpx.Client(base_url=server.url, timeout=120) as client:
            for round_ in range(args.rounds + 1):
                pids = process_tree(process.pid)  # the engine may have been restarted
                times = {
                    name: timed(client, made["token"], document(section), variables, pids)
                    for name, section in SECTIONS.items()
                }
                page_time = timed(client, made["token"], page, variables, pids)
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


def wall_ms(timings: list[Timing]) -> float:
    return statistics.median(t.wall for t in timings) * 1000


def cpu_ms(timings: list[Timing]) -> float:
    # The mean, not the median: CPU time is counted in 10 ms ticks.
    return statistics.fmean(t.cpu for t in timings) * 1000


def table(alone: dict[str, list[Timing]], pages: list[Timing], args: argparse.Namespace) -> str:
    cores = len(os.sched_getaffinity(0))
    walls = {name: wall_ms(times) for name, times in alone.items()}
    cpus = {name: cpu_ms(times) for name, times in alone.items()}
    page_ms, page_cpu = wall_ms(pages), cpu_ms(pages)
    total, total_cpu = sum(walls.values()), sum(cpus.values())
    slowest = max(walls.values())
    bound = max(slowest, total_cpu / cores)
    # Cores the rest of the machine kept busy during the page, on average over the rounds:
    # near 0, the bound holds; near `cores`, the page had about one core, not `cores`.
    taken = sum(t.others for t in pages) / sum(t.wall for t in pages)
    shape = "single process" if args.single_process else "default serve"
    rows = [
        f"\nAI Cost page, {args.events} demo events, {RANGE_DAYS} days, {shape}, {cores} "
        f"cores; {args.rounds} rounds: wall medians, server CPU means, ms:\n",
        "| section | wall alone | server CPU alone |",
        "| --- | ---: | ---: |",
        *(f"| {name} | {walls[name]:.1f} | {cpus[name]:.1f} |" for name in walls),
        "",
        "| page wall | sum of sections' wall | slowest section | page / sum | sum of sections' "
        f"CPU | page CPU | bound: max(slowest, CPU sum / {cores}) | page / bound | cores other "
        "processes took during the page |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {page_ms:.1f} | {total:.1f} | {slowest:.1f} | {page_ms / total:.2f} | "
        f"{total_cpu:.1f} | {page_cpu:.1f} | {bound:.1f} | {page_ms / bound:.2f} | {taken:.2f} |",
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
