"""The durable store-and-forward queue (SQLite, WAL).

Every sample is written here first. Samples are grouped into numbered batches; a batch leaves the
queue only when the server's ``ack`` for its number arrives. The batch counter and the count of
dropped samples live in the same file, so both survive restarts and ``kill -9``.

Past ``max_mb`` the oldest samples are dropped, counted and reported — never silently.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

SCHEMA = """
CREATE TABLE IF NOT EXISTS sample (
    id INTEGER PRIMARY KEY,  -- rowid: new rows always above the highest id in use
    ts TEXT NOT NULL, meter TEXT NOT NULL, quantity TEXT NOT NULL,
    value REAL NOT NULL, quality TEXT NOT NULL,
    batch INTEGER
);
CREATE INDEX IF NOT EXISTS sample_batch ON sample (batch);
CREATE TABLE IF NOT EXISTS batch (
    seq INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    sent REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    live INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Sample(NamedTuple):
    ts: str
    meter: str
    quantity: str
    value: float
    quality: str = "good"


class Buffer:
    def __init__(self, path: str | Path, max_mb: float) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = int(max_mb * 1024 * 1024)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        # batches formed but not yet acked were in flight when the agent stopped: send again
        self._db.execute("UPDATE batch SET sent = NULL")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- meta
    def _meta(self, key: str, default: int = 0) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else default

    def _set_meta(self, key: str, value: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))

    @property
    def dropped(self) -> int:
        with self._lock:
            return self._meta("dropped")

    # -- writing
    def put(self, samples: list[Sample]) -> None:
        if not samples:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO sample (ts, meter, quantity, value, quality) VALUES (?,?,?,?,?)",
                samples,  # NamedTuples in column order
            )
            self._db.execute("COMMIT")

    def enforce_limit(self) -> int:
        """Drop the oldest samples while the file is over ``max_mb``; return how many."""
        dropped = 0
        with self._lock:
            while self._size() > self.max_bytes:
                n = self._db.execute("SELECT COUNT(*) FROM sample").fetchone()[0]
                if n == 0:
                    break
                chunk = max(1, n // 10)
                self._db.execute("BEGIN")
                self._db.execute(
                    "DELETE FROM sample WHERE id IN (SELECT id FROM sample ORDER BY id LIMIT ?)",
                    (chunk,),
                )
                self._db.execute(
                    "DELETE FROM batch WHERE seq NOT IN (SELECT DISTINCT batch FROM "
                    "sample WHERE batch IS NOT NULL)"
                )
                self._set_meta("dropped", self._meta("dropped") + chunk)
                self._db.execute("COMMIT")
                dropped += chunk  # freed pages are reused: _size counts only pages in use
        return dropped

    def _size(self) -> int:
        page_count = self._db.execute("PRAGMA page_count").fetchone()[0]
        page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
        freelist = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        return int((page_count - freelist) * page_size)

    # -- batching and sending
    def form_batches(self, max_samples: int, max_age_s: float, now: float | None = None) -> int:
        """Group unbatched samples into batches of up to ``max_samples``; a partial batch is made
        only once its oldest sample has waited ``max_age_s``. Return how many batches were made."""
        now = time.time() if now is None else now
        made = 0
        with self._lock:
            while True:
                rows = self._db.execute(
                    "SELECT id FROM sample WHERE batch IS NULL ORDER BY id LIMIT ?", (max_samples,)
                ).fetchall()
                if not rows:
                    break
                if len(rows) < max_samples:
                    oldest = self._meta("oldest_unbatched_since", 0) / 1000
                    if oldest == 0:  # first seen now: the age counts from here
                        oldest = now
                        self._set_meta("oldest_unbatched_since", int(now * 1000))
                    if now - oldest < max_age_s:
                        break
                self._db.execute("BEGIN")
                seq = self._meta("next_batch", 1)
                self._set_meta("next_batch", seq + 1)
                first, last = rows[0][0], rows[-1][0]
                self._db.execute(
                    "UPDATE sample SET batch = ? WHERE batch IS NULL AND id BETWEEN ? AND ?",
                    (seq, first, last),
                )
                self._db.execute("INSERT INTO batch (seq, created) VALUES (?, ?)", (seq, now))
                self._set_meta("oldest_unbatched_since", 0)
                self._db.execute("COMMIT")
                made += 1
        return made

    def due(
        self, limit: int, resend_after_s: float, live_window_s: float, now: float | None = None
    ) -> list[int]:
        """Batches to send now: newest live batches first (so live data is never starved behind a
        backlog), then the oldest backlog; a sent batch is due again after ``resend_after_s``."""
        now = time.time() if now is None else now
        with self._lock:
            cond = "(sent IS NULL OR sent < ?)"
            live = self._db.execute(
                f"SELECT seq FROM batch WHERE {cond} AND created >= ? ORDER BY seq DESC LIMIT ?",
                (now - resend_after_s, now - live_window_s, max(1, limit // 4)),
            ).fetchall()
            backlog = self._db.execute(
                f"SELECT seq FROM batch WHERE {cond} ORDER BY seq LIMIT ?",
                (now - resend_after_s, limit),
            ).fetchall()
        seqs: list[int] = []
        for (s,) in live + backlog:
            if s not in seqs:
                seqs.append(s)
        return seqs[:limit]

    def payload(self, seq: int, park: str, gateway: str) -> bytes | None:
        with self._lock:
            rows = self._db.execute(
                "SELECT ts, meter, quantity, value, quality FROM sample WHERE batch = ? ORDER BY id",
                (seq,),
            ).fetchall()
        if not rows:
            return None
        body: dict[str, Any] = {
            "v": 1,
            "park": park,
            "gateway": gateway,
            "batch": seq,
            "samples": [
                {"ts": r[0], "meter": r[1], "quantity": r[2], "value": r[3], "quality": r[4]}
                for r in rows
            ],
        }
        return json.dumps(body, separators=(",", ":")).encode()

    def mark_sent(self, seq: int, now: float | None = None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE batch SET sent = ?, attempts = attempts + 1 WHERE seq = ?",
                (time.time() if now is None else now, seq),
            )

    def mark_all_unsent(self) -> None:
        """After a reconnect: whatever was in flight may be lost, so every batch is due again."""
        with self._lock:
            self._db.execute("UPDATE batch SET sent = NULL")

    def ack(self, seq: int) -> int:
        """The server has committed batch ``seq``: forget it. Return how many samples left."""
        with self._lock:
            self._db.execute("BEGIN")
            n = self._db.execute("DELETE FROM sample WHERE batch = ?", (seq,)).rowcount
            self._db.execute("DELETE FROM batch WHERE seq = ?", (seq,))
            self._db.execute("COMMIT")
        return int(n)

    def forget_empty(self) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM batch WHERE seq NOT IN (SELECT DISTINCT batch FROM sample "
                "WHERE batch IS NOT NULL)"
            )

    def stats(self) -> dict[str, Any]:
        with self._lock:
            n = self._db.execute("SELECT COUNT(*) FROM sample").fetchone()[0]
            oldest = self._db.execute("SELECT MIN(ts) FROM sample").fetchone()[0]
            batches = self._db.execute("SELECT COUNT(*) FROM batch").fetchone()[0]
            dropped = self._meta("dropped")
        return {
            "queue_samples": int(n),
            "oldest_unsent": oldest,
            "queue_batches": int(batches),
            "dropped_samples": dropped,
        }


class SampleSink:
    """Group commit in front of the buffer: samples of one short window go to disk together.

    A poll's samples are written within ``max_delay_s`` (20 ms), by the next emit or by the
    agent's flush timer; one transaction then holds every device's samples of that window instead
    of one transaction per poll. A ``kill -9`` can lose at most that window.
    """

    def __init__(self, buffer: Buffer, max_delay_s: float = 0.02, max_pending: int = 5000) -> None:
        self.buffer = buffer
        self.max_delay_s = max_delay_s
        self.max_pending = max_pending
        self.pending: list[Sample] = []
        self.since = 0.0
        self._lock = threading.Lock()
        #: True when a flusher (the agent's, in a worker thread) writes every ``max_delay_s``;
        #: then polls only append, and disk writes stay off the polling path
        self.background = False

    def emit(self, samples: list[Sample]) -> None:
        now = time.monotonic()
        with self._lock:
            if not self.pending:
                self.since = now
            self.pending.extend(samples)
            due = len(self.pending) >= self.max_pending or (
                not self.background and now - self.since >= self.max_delay_s
            )
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self.pending = self.pending, []
        self.buffer.put(batch)
