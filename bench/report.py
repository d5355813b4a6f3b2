"""The page benchmarks' figures, table and verdicts: pure functions over measured
latencies (``bench/pages.py`` measures them), tested in tests/unit/test_bench_pages.py."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

BARE = "bare (sign-in page)"

# The targets (the "Page benchmarks"), checked at the scale database.
TARGET_CLIENTS = 50  # the ratios to the bare route are checked at this concurrency
MAX_X_BARE_MEDIAN = 3.0
MAX_X_BARE_P95 = 5.0
MAX_X_DEMO_MEDIAN = 1.5  # no growth with the data
MAX_WORKER_RSS_MB = 250.0


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks
    (numpy's default): the median of [1, 2, 3, 4] is 2.5."""
    if not values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not within 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Measurement:
    """One page at one concurrency on one database: every request's latency (seconds)
    that started within the window, and the outcome of every request that was not a 200."""

    page: str
    clients: int
    seconds: float  # the measurement window
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def median_ms(self) -> float:
        return percentile(self.latencies, 50) * 1000

    @property
    def p95_ms(self) -> float:
        return percentile(self.latencies, 95) * 1000

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else math.nan

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_json(self) -> dict:
        return {
            "page": self.page,
            "clients": self.clients,
            "seconds": self.seconds,
            "requests": len(self.latencies),
            "median_ms": self.median_ms,
            "p95_ms": self.p95_ms,
            "rps": self.rps,
            "errors": dict(self.errors),
            "latencies_ms": [round(x * 1000, 3) for x in self.latencies],
        }


def ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(b) else math.nan


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


HEADERS = (
    "page",
    "clients",
    "median ms",
    "p95 ms",
    "req/s",
    "× bare median",
    "× bare p95",
    "demo median",
    "× demo",
    "statements demo/scale",
    "errors",
)


def rows(
    scale: list[Measurement],
    demo: list[Measurement],
    statements: dict[str, tuple[int | None, int | None]],
) -> list[tuple[str, ...]]:
    """One row per page and concurrency of the scale run, beside the bare route of the same
    run and concurrency and the same page on the demo data."""
    bare = {m.clients: m for m in scale if m.page == BARE}
    on_demo = {(m.page, m.clients): m for m in demo}
    out = []
    for m in scale:
        base = bare.get(m.clients)
        d = on_demo.get((m.page, m.clients))
        counts = statements.get(m.page)
        out.append(
            (
                m.page,
                str(m.clients),
                fmt(m.median_ms),
                fmt(m.p95_ms),
                fmt(m.rps),
                fmt(ratio(m.median_ms, base.median_ms) if base else None, 2),
                fmt(ratio(m.p95_ms, base.p95_ms) if base else None, 2),
                fmt(d.median_ms if d else None),
                fmt(ratio(m.median_ms, d.median_ms) if d else None, 2),
                "/".join("-" if c is None else str(c) for c in counts) if counts else "-",
                str(m.error_count) + (f" {dict(m.errors)}" if m.errors else ""),
            )
        )
    return out


def table(headers: tuple[str, ...], body: list[tuple[str, ...]]) -> str:
    """A Markdown table, columns padded to their widest cell (text left, figures right)."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *body, strict=True)]
    numeric = [all(_is_figure(r[i]) for r in body) and bool(body) for i in range(len(headers))]

    def line(cells) -> str:
        padded = (
            str(c).rjust(w) if right else str(c).ljust(w)
            for c, w, right in zip(cells, widths, numeric, strict=True)
        )
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if r else ("-" * (w + 2))
            for w, r in zip(widths, numeric, strict=True)
        )
        + "|"
    )
    return "\n".join([line(headers), rule, *(line(r) for r in body)])


def _is_figure(cell: str) -> bool:
    return cell == "-" or cell.replace(".", "", 1).replace("/", "").isdigit()


@dataclass(frozen=True)
class Verdict:
    target: str
    subject: str
    value: float
    limit: float
    passed: bool


def verdicts(
    scale: list[Measurement],
    demo: list[Measurement],
    statements: dict[str, tuple[int | None, int | None]],
    worker_rss_mb: list[float],
) -> list[Verdict]:
    """The targets, each checked on every page it concerns. A figure that could not be
    measured (no bare route at 50 clients, a page missing from the demo run, no workers)
    fails its target; without a demo run the targets against it are not checked."""
    out: list[Verdict] = []
    bare = {m.clients: m for m in scale if m.page == BARE}
    on_demo = {(m.page, m.clients): m for m in demo}
    for m in scale:
        # A window without one answered request is a miss too (the page took longer).
        ok = not m.errors and bool(m.latencies)
        errors = m.error_count if m.latencies or m.errors else math.nan
        out.append(Verdict("no errors", f"{m.page} @{m.clients}", errors, 0, ok))
        if m.page == BARE:
            continue
        if m.clients == TARGET_CLIENTS:
            base = bare.get(m.clients)
            for name, mine, theirs, limit in (
                (
                    "median ≤ 3× bare at 50 clients",
                    m.median_ms,
                    base and base.median_ms,
                    MAX_X_BARE_MEDIAN,
                ),
                ("p95 ≤ 5× bare at 50 clients", m.p95_ms, base and base.p95_ms, MAX_X_BARE_P95),
            ):
                x = ratio(mine, theirs) if theirs else math.nan
                out.append(Verdict(name, f"{m.page} @{m.clients}", x, limit, x <= limit))
        if not demo:
            continue  # no demo run (--skip-demo): the target is not checked
        d = on_demo.get((m.page, m.clients))
        x = ratio(m.median_ms, d.median_ms) if d else math.nan
        limit = MAX_X_DEMO_MEDIAN
        out.append(Verdict("median ≤ 1.5× demo", f"{m.page} @{m.clients}", x, limit, x <= limit))
    for page, (on_demo_count, on_scale_count) in statements.items():
        if page == BARE or not demo:
            continue
        same = on_demo_count is not None and on_demo_count == on_scale_count
        value = math.nan if on_scale_count is None else float(on_scale_count)
        limit = math.nan if on_demo_count is None else float(on_demo_count)
        out.append(Verdict("statements as on demo", page, value, limit, same))
    rss_target, limit = "worker RSS ≤ 250 MB", MAX_WORKER_RSS_MB
    if not worker_rss_mb:
        out.append(Verdict(rss_target, "no worker found", math.nan, limit, False))
    for i, rss in enumerate(worker_rss_mb):
        out.append(Verdict(rss_target, f"worker {i}", rss, limit, rss <= limit))
    return out


def summary(verdicts: list[Verdict]) -> list[str]:
    """One line per target, in the order first checked: PASS when every subject met it,
    else FAIL with the subjects that missed and their figures."""
    by_target: dict[str, list[Verdict]] = {}
    for v in verdicts:
        by_target.setdefault(v.target, []).append(v)
    lines = []
    for target, checked in by_target.items():
        missed = [v for v in checked if not v.passed]
        met = f"{len(checked) - len(missed)} of {len(checked)} met"
        if not missed:
            lines.append(f"PASS  {target}: {met}")
            continue
        figures = ", ".join(f"{v.subject} {fmt(v.value, 2)}" for v in missed)
        lines.append(f"FAIL  {target}: {met}; missed: {figures}")
    return lines
