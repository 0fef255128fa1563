"""The durable buffer: batches leave only on ack, numbering survives restarts, the size limit
drops the oldest samples and counts them."""

from __future__ import annotations

import json
from pathlib import Path

from edge_agent.buffer import Buffer, Sample


def _samples(n: int, start: int = 0) -> list[Sample]:
    return [
        Sample(
            f"2026-11-23T08:{(start + i) // 60 % 60:02d}:{(start + i) % 60:02d}.000Z",
            "grid-main",
            "active_power_kw",
            float(start + i),
        )
        for i in range(n)
    ]


def test_batches_leave_only_when_acked_and_numbers_survive_restart(tmp_path: Path) -> None:
    b = Buffer(tmp_path / "q.sqlite", max_mb=10)
    b.put(_samples(250))
    assert b.form_batches(max_samples=100, max_age_s=60, now=1000.0) == 2  # 50 wait for age
    assert b.form_batches(max_samples=100, max_age_s=60, now=1000.0) == 0
    assert b.form_batches(max_samples=100, max_age_s=60, now=1061.0) == 1  # old enough now
    due = b.due(limit=10, resend_after_s=30, live_window_s=5, now=1061.0)
    assert sorted(due) == [1, 2, 3]
    body = json.loads(b.payload(1, "huolingol", "gw-1") or b"{}")
    assert body["batch"] == 1 and len(body["samples"]) == 100 and body["samples"][0]["value"] == 0.0
    for seq in due:
        b.mark_sent(seq, now=1061.0)
    assert b.due(limit=10, resend_after_s=30, live_window_s=5, now=1070.0) == []  # in flight
    assert sorted(b.due(limit=10, resend_after_s=30, live_window_s=5, now=1100.0)) == [1, 2, 3]
    assert b.ack(2) == 100
    assert b.stats()["queue_samples"] == 150
    b.close()
    # restart: unacked batches are due again at once, and new batches get new numbers
    b = Buffer(tmp_path / "q.sqlite", max_mb=10)
    assert sorted(b.due(limit=10, resend_after_s=30, live_window_s=5, now=1101.0)) == [1, 3]
    b.put(_samples(100, start=1000))
    assert b.form_batches(max_samples=100, max_age_s=60, now=1102.0) == 1
    assert 4 in b.due(limit=10, resend_after_s=30, live_window_s=5, now=1102.0)
    b.close()


def test_live_batches_are_not_starved_by_a_backlog(tmp_path: Path) -> None:
    b = Buffer(tmp_path / "q.sqlite", max_mb=10)
    b.put(_samples(1000))
    b.form_batches(max_samples=10, max_age_s=1, now=1000.0)  # backlog: batches 1..100
    b.put(_samples(10, start=5000))
    b.form_batches(max_samples=10, max_age_s=1, now=2000.0)  # live: batch 101
    due = b.due(limit=8, resend_after_s=30, live_window_s=5, now=2000.0)
    assert due[0] == 101 and due[1:] == [1, 2, 3, 4, 5, 6, 7]


def test_size_limit_drops_oldest_and_counts(tmp_path: Path) -> None:
    b = Buffer(tmp_path / "q.sqlite", max_mb=0.25)
    for k in range(20):
        b.put(_samples(1000, start=k * 1000))
    dropped = b.enforce_limit()
    st = b.stats()
    assert dropped > 0 and st["dropped_samples"] == dropped
    assert st["queue_samples"] == 20_000 - dropped
    assert b._size() <= b.max_bytes
    b.form_batches(max_samples=50_000, max_age_s=0, now=1e9)
    body = json.loads(b.payload(1, "p", "g") or b"{}")
    values = [s["value"] for s in body["samples"]]
    assert values[0] == float(dropped) and values[-1] == 19_999.0  # the oldest went, newest stay
    b.close()
    assert Buffer(tmp_path / "q.sqlite", max_mb=1).dropped == dropped  # the count is durable
