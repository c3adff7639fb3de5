"""Makespan of a distributed run on an internet-scale web, simulated (no network, pure Python).

    python bench/fleet_sim.py [--hosts 100000] [--zipf 0.7] [--top 40000] [--latency 0.5]
        [--per-host 1,2,4] [--workers 1,2,4,...,64] [--worker-rate 250] [--batch 150]
        [--claim-ms 12] [--svg bench/fleet_sim.svg]

The web: ``--hosts`` hosts whose sizes follow Zipf's law, host k (1-based) having
``max(1, top / k**zipf)`` links (defaults: 100,000 hosts, zipf 0.7: 4.05 million links,
7 hosts of 10,000+, the largest 40,000). Every request takes ``--latency`` seconds; a host
serves ``per_host`` requests at once, so it cannot be checked faster than
``links * latency / per_host`` (the per-host floor: politeness, not the fleet, bounds it).

The fleet, as :mod:`monitor.distributed` plans it: a host with more than ``--batch`` links is
cut into batches locked by host (a chain: batch i+1 starts after batch i ends, on any worker);
the other hosts are packed whole into mixed batches without a lock. A worker checks
``--worker-rate`` URLs/s at most (530 URLs/s was measured on this 2-core machine; 250 is one
core), i.e. it runs ``worker-rate * latency / per_host`` batches at once, each at
``per_host / latency`` URLs/s per host. Batches are claimed in plan order (biggest hosts first)
by free slots; each claim costs ``--claim-ms`` of the queue database's time, serialised
(procrastinate's claim was measured at ~12 ms with thousands of queued jobs). Mixed batches
run their hosts side by side: a mixed batch takes as long as its biggest host, or as its
links at the slot's rate, whichever is longer.

Printed: makespan per (per_host, workers) with the two lower bounds (capacity:
links / (workers * rate); floor: the biggest host), and the same fleet with one job per host
(no packing) to show what per-job claim cost does at 100,000 hosts. ``--svg`` writes the
chart.
"""

from __future__ import annotations

import argparse
import heapq
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Batch:
    """One job: ``links`` resources, ``biggest`` of them on its biggest host."""

    links: int
    biggest: int
    chain: int | None  # the split host it belongs to (batches of a chain run one at a time)


def zipf_sizes(hosts: int, top: int, exponent: float) -> list[int]:
    """Links per host, biggest first."""
    return [max(1, int(top / k ** exponent)) for k in range(1, hosts + 1)]


def plan(sizes: list[int], batch: int, pack: bool = True) -> list[Batch]:
    """Batches in claim order, as monitor.distributed.jobs.plan_batches plans them."""
    out: list[Batch] = []
    small: list[int] = []
    for host, n in enumerate(sizes):
        if n > batch:
            full, rest = divmod(n, batch)
            out += [Batch(batch, batch, host)] * full + ([Batch(rest, rest, host)] if rest else [])
        elif pack:
            small.append(n)
        else:
            out.append(Batch(n, n, None))
    mixed, links, biggest = [], 0, 0
    for n in small:
        if links + n > batch:
            mixed.append(Batch(links, biggest, None))
            links, biggest = 0, 0
        links, biggest = links + n, max(biggest, n)
    if links:
        mixed.append(Batch(links, biggest, None))
    return out + mixed


def duration(b: Batch, latency: float, per_host: int, slot_rate: float) -> float:
    """Seconds one batch takes in one slot (see the module docstring)."""
    host_bound = math.ceil(b.biggest / per_host) * latency
    return max(host_bound, b.links / slot_rate)


def simulate(batches: list[Batch], workers: int, latency: float, per_host: int,
             worker_rate: float, claim: float) -> float:
    """Makespan (seconds) of list scheduling with per-chain locks and a serial claim server."""
    slots_per_worker = max(1, int(worker_rate * latency / per_host))
    slot_rate = per_host / latency
    free = workers * slots_per_worker
    nxt: dict[int, int] = {}  # index -> next index of the same chain
    last: dict[int, int] = {}
    ready: list[int] = []
    for i, b in enumerate(batches):
        if b.chain is None or b.chain not in last:
            ready.append(i)
        else:
            nxt[last[b.chain]] = i
        if b.chain is not None:
            last[b.chain] = i
    heapq.heapify(ready)
    running: list[tuple[float, int]] = []
    now = claim_free = 0.0
    while ready or running:
        while free and ready:
            i = heapq.heappop(ready)
            start = max(now, claim_free) + claim
            claim_free = start
            heapq.heappush(running, (start + duration(batches[i], latency, per_host,
                                                      slot_rate), i))
            free -= 1
        now, i = heapq.heappop(running)
        free += 1
        if i in nxt:
            heapq.heappush(ready, nxt[i])
    return now


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h"


def svg(series: dict[str, list[tuple[int, float]]], floors: dict[str, float], path: str) -> None:
    """A log-log chart of makespan (hours) against workers, one line per series, the per-host
    floors dashed."""
    width, height, pad = 640, 400, 60
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts] + list(floors.values())
    lx0, lx1 = math.log10(min(xs)), math.log10(max(xs))
    ly0, ly1 = math.log10(min(ys) / 1.5), math.log10(max(ys) * 1.5)

    def px(x: float) -> float:
        return pad + (math.log10(x) - lx0) / (lx1 - lx0) * (width - 2 * pad)

    def py(y: float) -> float:
        return height - pad - (math.log10(y) - ly0) / (ly1 - ly0) * (height - 2 * pad)

    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="13">Makespan '
             'against workers (log-log); dashed: per-host floor</text>']
    for x in sorted(set(xs)):
        parts.append(f'<text x="{px(x):.1f}" y="{height - pad + 16}" '
                     f'text-anchor="middle">{x}</text>')
    for h in (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32):
        y = h * 3600
        if ly0 <= math.log10(y) <= ly1:
            parts.append(f'<line x1="{pad}" x2="{width - pad}" y1="{py(y):.1f}" '
                         f'y2="{py(y):.1f}" stroke="#ddd"/>')
            parts.append(f'<text x="{pad - 6}" y="{py(y) + 4:.1f}" '
                         f'text-anchor="end">{h:g} h</text>')
    parts.append(f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">'
                 'workers (each 250 URLs/s)</text>')
    for n, (name, pts) in enumerate(series.items()):
        colour = colours[n % len(colours)]
        line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" '
                     'stroke-width="2"/>')
        if name in floors:
            y = py(floors[name])
            parts.append(f'<line x1="{pad}" x2="{width - pad}" y1="{y:.1f}" y2="{y:.1f}" '
                         f'stroke="{colour}" stroke-dasharray="5,4"/>')
        parts.append(f'<text x="{width - pad - 150}" y="{40 + 14 * n}" '
                     f'fill="{colour}">{name}</text>')
    parts.append("</svg>")
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(parts) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=100_000)
    parser.add_argument("--zipf", type=float, default=0.7)
    parser.add_argument("--top", type=int, default=40_000)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--per-host", default="1,2,4")
    parser.add_argument("--workers", default="1,2,4,8,16,32,64")
    parser.add_argument("--worker-rate", type=float, default=250.0)
    parser.add_argument("--batch", type=int, default=150)
    parser.add_argument("--claim-ms", type=float, default=12.0)
    parser.add_argument("--svg", default="")
    args = parser.parse_args()
    sizes = zipf_sizes(args.hosts, args.top, args.zipf)
    links = sum(sizes)
    workers = [int(w) for w in args.workers.split(",")]
    print(f"web: {args.hosts:,} hosts, {links:,} links; largest hosts "
          f"{', '.join(f'{s:,}' for s in sizes[:5])}; {sum(s >= 10_000 for s in sizes)} hosts "
          f"with 10,000+ links; latency {args.latency} s; worker {args.worker_rate:g} URLs/s; "
          f"batch {args.batch}; claim {args.claim_ms:g} ms\n")
    series: dict[str, list[tuple[int, float]]] = {}
    floors: dict[str, float] = {}
    print("| per_host | jobs | workers | makespan | capacity bound | per-host floor | "
          "one job per host |")
    print("|---|---|---|---|---|---|---|")
    for per_host in map(int, args.per_host.split(",")):
        batches = plan(sizes, args.batch)
        unpacked = plan(sizes, args.batch, pack=False)
        floor = math.ceil(sizes[0] / per_host) * args.latency
        name = f"per_host {per_host}"
        floors[name] = floor
        for w in workers:
            took = simulate(batches, w, args.latency, per_host, args.worker_rate,
                            args.claim_ms / 1000)
            single = simulate(unpacked, w, args.latency, per_host, args.worker_rate,
                              args.claim_ms / 1000)
            series.setdefault(name, []).append((w, took))
            print(f"| {per_host} | {len(batches):,} | {w} | {hours(took)} | "
                  f"{hours(links / (w * args.worker_rate))} | {hours(floor)} | "
                  f"{hours(single)} ({len(unpacked):,} jobs) |", flush=True)
    if args.svg:
        svg(series, floors, args.svg)
        print(f"\nchart: {args.svg}")


if __name__ == "__main__":
    main()
