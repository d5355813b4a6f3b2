"""The page benchmarks' pure parts: percentiles, the table and the verdicts on the targets
(bench/report.py). Nothing here starts a server."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from bench import pages, report
from bench.report import BARE, Measurement


def measured(page: str, clients: int, latencies_ms: list[float], **errors: int) -> Measurement:
    return Measurement(page, clients, 10.0, [x / 1000 for x in latencies_ms], Counter(errors or {}))


def test_percentiles_interpolate_between_closest_ranks():
    assert report.percentile([4, 1, 3, 2], 50) == 2.5
    assert report.percentile([1, 2, 3, 4, 5], 50) == 3
    assert report.percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert report.percentile([7], 95) == 7
    assert report.percentile([1, 2], 0) == 1 and report.percentile([1, 2], 100) == 2
    assert math.isnan(report.percentile([], 50))
    with pytest.raises(ValueError):
        report.percentile([1], 101)


def test_a_measurement_gives_median_p95_and_throughput():
    m = measured("report", 10, [10.0] * 19 + [100.0])
    assert m.median_ms == pytest.approx(10.0)
    assert m.p95_ms == pytest.approx(14.5)  # rank 18.05: 10 + 0.05 * 90
    assert m.rps == pytest.approx(2.0)  # 20 requests in 10 s
    assert measured("report", 10, [1.0], **{"500": 2, "ReadTimeout": 1}).error_count == 3


def test_the_table_sets_each_page_beside_the_bare_route_and_the_demo_run():
    scale = [measured(BARE, 50, [10.0] * 10), measured("plan", 50, [25.0] * 10, **{"500": 1})]
    demo = [measured("plan", 50, [20.0] * 10)]
    rows = report.rows(scale, demo, {"plan": (12, 14)})
    assert rows[1] == (
        "plan",
        "50",
        "25.0",
        "25.0",
        "1.0",
        "2.50",
        "2.50",
        "20.0",
        "1.25",
        "12/14",
        "1 {'500': 1}",
    )
    text = report.table(report.HEADERS, rows).splitlines()
    assert len(text) == 4 and text[0].startswith("| page ")
    assert len({len(line) for line in text}) == 1  # every column padded to one width
    assert text[1].startswith("|---") and text[1].split("|")[2].endswith(":")  # figures right
    assert text[3].startswith("| plan ") and " 12/14 | 1 {" in text[3]


def targets(verdicts, passed: bool) -> set[tuple[str, str]]:
    return {(v.target, v.subject) for v in verdicts if v.passed is passed}


def test_verdicts_check_each_target_and_fail_what_was_not_measured():
    scale = [
        measured(BARE, 10, [5.0] * 10),
        measured(BARE, 50, [10.0] * 10),
        measured("report", 10, [9.0] * 10),
        measured("report", 50, [29.0] * 19 + [60.0]),  # median 2.9×; p95 ≈ 3.05×
        measured("plan", 50, [31.0] * 10, **{"503": 1}),  # 3.1× and an error
    ]
    demo = [measured("report", 10, [9.0] * 10), measured("report", 50, [10.0] * 10)]
    statements = {"report": (12, 12), "plan": (8, 9), BARE: (0, 0)}
    verdicts = report.verdicts(scale, demo, statements, [120.0, 260.0])
    assert targets(verdicts, True) == {
        ("no errors", f"{BARE} @10"),
        ("no errors", f"{BARE} @50"),
        ("no errors", "report @10"),
        ("no errors", "report @50"),
        ("median ≤ 3× bare at 50 clients", "report @50"),
        ("p95 ≤ 5× bare at 50 clients", "report @50"),
        ("p95 ≤ 5× bare at 50 clients", "plan @50"),
        ("median ≤ 1.5× demo", "report @10"),
        ("statements as on demo", "report"),
        ("worker RSS ≤ 250 MB", "worker 0"),
    }
    assert targets(verdicts, False) == {
        ("median ≤ 1.5× demo", "report @50"),  # 2.9×: grows with the data
        ("no errors", "plan @50"),
        ("median ≤ 3× bare at 50 clients", "plan @50"),
        ("median ≤ 1.5× demo", "plan @50"),  # no demo figure: not met
        ("statements as on demo", "plan"),
        ("worker RSS ≤ 250 MB", "worker 1"),
    }
    assert not any(v.passed for v in report.verdicts([], [], {}, []))  # no worker: a miss
    alone = report.verdicts(scale[:3], [], statements, [100.0])  # no demo run
    assert {v.target for v in alone} == {"no errors", "worker RSS ≤ 250 MB"}
    slow = report.verdicts([measured("report", 10, [])], [], {}, [100.0])[0]
    assert (slow.target, slow.passed) == ("no errors", False)  # nothing answered in the window


def test_the_summary_gives_one_line_per_target_with_what_missed():
    Verdict = report.Verdict  # noqa: N806
    lines = report.summary(
        [
            Verdict("no errors", "plan @10", 0, 0, True),
            Verdict("median ≤ 1.5× demo", "plan @10", 1.2, 1.5, True),
            Verdict("no errors", "plan @50", 2, 0, False),
            Verdict("median ≤ 1.5× demo", "plan @50", math.nan, 1.5, False),
            Verdict("no errors", "report @50", math.nan, 0, False),
        ]
    )
    assert lines == [
        "FAIL  no errors: 1 of 3 met; missed: plan @50 2.00, report @50 -",
        "FAIL  median ≤ 1.5× demo: 1 of 2 met; missed: plan @50 -",
    ]
    assert report.summary([Verdict("worker RSS ≤ 250 MB", "worker 0", 99, 250, True)]) == [
        "PASS  worker RSS ≤ 250 MB: 1 of 1 met"
    ]


def test_every_page_of_the_issue_is_measured_beside_the_bare_route():
    names = [p.name for p in pages.PAGES]
    assert names[0] == BARE and len(set(names)) == len(names) == 12
    assert pages.PAGES[0].who == "anonymous"  # the baseline carries no session
    assert {p.who for p in pages.PAGES[1:]} == {"counsellor", "agent", "client", "api"}
    args = pages.parse_args([])
    assert args.clients == [10, 50] and args.pages is None
    with pytest.raises(SystemExit):
        pages.parse_args(["--clients", "51"])
