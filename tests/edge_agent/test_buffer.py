"""The durable buffer: batches leave only on ack, numbering survives restarts and a lost file, acks
for batches not in flight delete nothing, the size limit drops the oldest samples and counts them,
and a failed write loses and duplicates nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from edge_agent.buffer import Buffer, Sample, SampleSink


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


FIRST = 1_000_000  # the first batch number of a buffer made at epoch 1000 s (its time in ms)


def test_batches_leave_only_when_acked_and_numbers_survive_restart(tmp_path: Path) -> None:
    b = Buffer(tmp_path / "q.sqlite", max_mb=10, clock=lambda: 1000.0)
    b.put(_samples(250))
    assert b.form_batches(max_samples=100, max_age_s=60, now=1000.0) == 2  # 50 wait for age
    assert b.form_batches(max_samples=100, max_age_s=60, now=1000.0) == 0
    assert b.form_batches(max_samples=100, max_age_s=60, now=1061.0) == 1  # old enough now
    due = b.due(limit=10, resend_after_s=30, live_window_s=5, now=1061.0)
    assert sorted(due) == [FIRST, FIRST + 1, FIRST + 2]
    body = json.loads(b.payload(FIRST, "huolingol", "gw-1") or b"{}")
    assert body["batch"] == FIRST and len(body["samples"]) == 100
    assert body["samples"][0]["value"] == 0.0
    for seq in due:
        b.mark_sent(seq, now=1061.0)
    assert b.due(limit=10, resend_after_s=30, live_window_s=5, now=1070.0) == []  # in flight
    assert sorted(b.due(limit=10, resend_after_s=30, live_window_s=5, now=1100.0)) == sorted(due)
    assert b.ack(FIRST + 1) == 100
    assert b.stats()["queue_samples"] == 150
    b.close()
    # restart: unacked batches are due again at once, and new batches get new numbers
    b = Buffer(tmp_path / "q.sqlite", max_mb=10, clock=lambda: 1100.0)
    assert sorted(b.due(limit=10, resend_after_s=30, live_window_s=5, now=1101.0)) == [
        FIRST,
        FIRST + 2,
    ]
    b.put(_samples(100, start=1000))
    assert b.form_batches(max_samples=100, max_age_s=60, now=1102.0) == 1
    assert FIRST + 3 in b.due(limit=10, resend_after_s=30, live_window_s=5, now=1102.0)
    b.close()


def test_live_batches_are_not_starved_by_a_backlog(tmp_path: Path) -> None:
    b = Buffer(tmp_path / "q.sqlite", max_mb=10, clock=lambda: 1000.0)
    b.put(_samples(1000))
    b.form_batches(max_samples=10, max_age_s=1, now=1000.0)  # backlog: 100 batches
    b.put(_samples(10, start=5000))
    b.form_batches(max_samples=10, max_age_s=1, now=2000.0)  # live: the 101st
    due = b.due(limit=8, resend_after_s=30, live_window_s=5, now=2000.0)
    assert due[0] == FIRST + 100 and due[1:] == [FIRST + i for i in range(7)]


def test_size_limit_drops_oldest_and_counts(tmp_path: Path) -> None:
    b = Buffer(tmp_path / "q.sqlite", max_mb=0.25, clock=lambda: 1000.0)
    for k in range(20):
        b.put(_samples(1000, start=k * 1000))
    dropped = b.enforce_limit()
    st = b.stats()
    assert dropped > 0 and st["dropped_samples"] == dropped
    assert st["queue_samples"] == 20_000 - dropped
    assert b._size() <= b.max_bytes
    b.form_batches(max_samples=50_000, max_age_s=0, now=1e9)
    body = json.loads(b.payload(FIRST, "p", "g") or b"{}")
    values = [s["value"] for s in body["samples"]]
    assert values[0] == float(dropped) and values[-1] == 19_999.0  # the oldest went, newest stay
    b.close()
    assert Buffer(tmp_path / "q.sqlite", max_mb=1).dropped == dropped  # the count is durable


class _DiskFullOnce:
    """An injected fault: the next bulk insert writes half its rows, then fails as a full disk does.
    Everything else goes to the real SQLite connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.armed = True

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        if self.armed:
            self.armed = False
            rows = list(rows)
            self.db.executemany(sql, rows[: len(rows) // 2])
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.executemany(sql, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


def _stored_values(b: Buffer) -> list[float]:
    b.form_batches(max_samples=100_000, max_age_s=0, now=2e9)
    values: list[float] = []
    for seq in sorted(b.due(limit=1000, resend_after_s=0, live_window_s=0, now=2e9)):
        body = json.loads(b.payload(seq, "p", "g") or b"{}")
        values += [s["value"] for s in body["samples"]]
    return values


def test_a_failed_write_is_requeued_nothing_lost_nothing_duplicated(tmp_path: Path) -> None:
    b = Buffer(tmp_path / "q.sqlite", max_mb=10)
    sink = SampleSink(b)
    sink.background = True  # only flush() writes, as with the agent's flush task
    sink.emit(_samples(100))
    b._db = _DiskFullOnce(b._db)  # type: ignore[assignment]
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        sink.flush()
    # the failed write is undone whole and its samples are held again, in their order
    assert b.stats()["queue_samples"] == 0
    assert [s.value for s in sink.pending] == [float(i) for i in range(100)]
    sink.emit(_samples(10, start=100))  # polls go on while the disk is failing
    sink.flush()
    assert sink.pending == []
    assert _stored_values(b) == [float(i) for i in range(110)]  # each once, in order

    # a poll that has to write (no flush task) keeps its samples when the write fails, and the
    # poll goes on: the error is not the poll's
    sink.background = False
    sink.max_delay_s = 0.0
    b._db = _DiskFullOnce(b._db.db)  # type: ignore[attr-defined]
    sink.emit(_samples(5, start=200))
    assert [s.value for s in sink.pending] == [200.0, 201.0, 202.0, 203.0, 204.0]
    assert sink.status() == {"unwritten_samples": 5, "dropped_samples": 0}
    sink.emit(_samples(1, start=205))
    assert sink.pending == []
    assert _stored_values(b)[-6:] == [200.0, 201.0, 202.0, 203.0, 204.0, 205.0]
    assert b.stats()["queue_samples"] == 116
    b.close()


def test_samples_held_past_the_memory_limit_drop_oldest_and_are_counted(tmp_path: Path) -> None:
    b = Buffer(tmp_path / "q.sqlite", max_mb=10)
    sink = SampleSink(b, max_held=50)
    sink.background = True
    sink.emit(_samples(40))
    b._db = _DiskFullOnce(b._db)  # type: ignore[assignment]
    with pytest.raises(sqlite3.OperationalError):
        sink.flush()
    sink.emit(_samples(30, start=40))  # 70 held, 50 allowed: the 20 oldest go, counted
    assert sink.status() == {"unwritten_samples": 50, "dropped_samples": 20}
    sink.flush()
    assert _stored_values(b) == [float(i) for i in range(20, 70)]
    b.close()


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)


def test_a_recreated_buffer_numbers_batches_above_every_earlier_one(tmp_path: Path) -> None:
    t0 = 1_795_000_000.0  # 2026-11-18T11:06:40Z, pinned
    path = tmp_path / "q.sqlite"
    b = Buffer(path, max_mb=10, clock=lambda: t0)
    b.put(_samples(300))
    assert b.form_batches(max_samples=100, max_age_s=0, now=t0 + 1) == 3
    first_life = sorted(b.due(limit=10, resend_after_s=0, live_window_s=0, now=t0 + 1))
    assert len(first_life) == 3 and first_life == list(range(first_life[0], first_life[0] + 3))
    b.close()
    b = Buffer(path, max_mb=10, clock=lambda: t0 + 3600)  # the numbers survive a restart
    b.put(_samples(100))
    b.form_batches(max_samples=100, max_age_s=0, now=t0 + 3601)
    assert max(b.due(limit=10, resend_after_s=0, live_window_s=0, now=t0 + 3601)) == (
        first_life[-1] + 1
    )
    b.close()

    _remove(path)  # the file is lost (a new SD card, a wiped gateway) 60 s later
    b = Buffer(path, max_mb=10, clock=lambda: t0 + 3660)
    b.put(_samples(200))
    assert b.form_batches(max_samples=100, max_age_s=0, now=t0 + 3661) == 2
    second_life = sorted(b.due(limit=10, resend_after_s=0, live_window_s=0, now=t0 + 3661))
    assert second_life[0] > first_life[-1] + 1, (first_life, second_life)
    assert second_life[1] == second_life[0] + 1  # and they keep increasing by one
    b.close()


def test_acks_for_batches_not_in_flight_delete_nothing(tmp_path: Path) -> None:
    b = Buffer(tmp_path / "q.sqlite", max_mb=10, clock=lambda: 1_795_000_000.0)
    b.put(_samples(200))
    b.form_batches(max_samples=100, max_age_s=0, now=1_795_000_001.0)
    sent, formed = sorted(b.due(limit=10, resend_after_s=0, live_window_s=0, now=1_795_000_001.0))
    b.mark_sent(sent, now=1_795_000_001.0)
    assert b.ack(formed) is None  # formed but never sent: the ack cannot be for it
    assert b.ack(sent + 10_000) is None  # unknown
    assert b.ack(-1) is None
    assert b.stats()["queue_samples"] == 200 and b.stats()["queue_batches"] == 2
    assert b.ack(sent) == 100  # the one in flight
    assert b.ack(sent) is None  # and only once
    assert b.stats()["queue_samples"] == 100
    b.close()
