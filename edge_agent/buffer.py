"""The durable store-and-forward queue (SQLite, WAL).

Every sample is written here first. Samples are grouped into numbered batches; a batch leaves the
queue only when the server's ``ack`` for its number arrives, and only once it has been sent: an
ack for a batch never sent, or unknown, deletes nothing. The batch counter and the count of
dropped samples live in the same file, so both survive restarts and ``kill -9``.

A new file numbers its batches from its creation time in epoch milliseconds (kept in the file as
``created_ms``), so a buffer that is lost and made again numbers above every batch of its earlier
life (as long as the earlier one made fewer than 1000 batches a second and the clock did not go
back), and an ack the broker still holds for an old number cannot delete a new batch.

Past ``max_mb`` the oldest samples are dropped, counted and reported — never silently. Every write
is one transaction, rolled back whole when it fails.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

log = logging.getLogger("zcpark.edge.buffer")

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
    def __init__(
        self, path: str | Path, max_mb: float, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = int(max_mb * 1024 * 1024)
        self.clock = clock
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        with self._tx():
            if self._meta("created_ms", -1) < 0:
                created_ms = int(clock() * 1000)
                self._set_meta("created_ms", created_ms)
                # a file of before created_ms keeps its numbers; a new one starts at its birth
                newest = self._db.execute("SELECT MAX(seq) FROM batch").fetchone()[0] or 0
                if self._meta("next_batch", -1) < 0:
                    self._set_meta("next_batch", max(created_ms, newest + 1))
            # batches formed but not yet acked were in flight when the agent stopped: send again
            self._db.execute("UPDATE batch SET sent = NULL")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        """One transaction: committed whole, or rolled back whole when anything in it fails."""
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            if self._db.in_transaction:  # SQLite rolls back by itself on some errors (disk full)
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

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
        with self._lock, self._tx():
            self._db.executemany(
                "INSERT INTO sample (ts, meter, quantity, value, quality) VALUES (?,?,?,?,?)",
                samples,  # NamedTuples in column order
            )

    def enforce_limit(self) -> int:
        """Drop the oldest samples while the file is over ``max_mb``; return how many."""
        dropped = 0
        with self._lock:
            while self._size() > self.max_bytes:
                n = self._db.execute("SELECT COUNT(*) FROM sample").fetchone()[0]
                if n == 0:
                    break
                chunk = max(1, n // 10)
                with self._tx():
                    self._db.execute(
                        "DELETE FROM sample WHERE id IN (SELECT id FROM sample ORDER BY id LIMIT ?)",
                        (chunk,),
                    )
                    self._db.execute(
                        "DELETE FROM batch WHERE seq NOT IN (SELECT DISTINCT batch FROM "
                        "sample WHERE batch IS NOT NULL)"
                    )
                    self._set_meta("dropped", self._meta("dropped") + chunk)
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
        now = self.clock() if now is None else now
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
                with self._tx():
                    seq = self._meta("next_batch", 1)
                    self._set_meta("next_batch", seq + 1)
                    first, last = rows[0][0], rows[-1][0]
                    self._db.execute(
                        "UPDATE sample SET batch = ? WHERE batch IS NULL AND id BETWEEN ? AND ?",
                        (seq, first, last),
                    )
                    self._db.execute("INSERT INTO batch (seq, created) VALUES (?, ?)", (seq, now))
                    self._set_meta("oldest_unbatched_since", 0)
                made += 1
        return made

    def due(
        self, limit: int, resend_after_s: float, live_window_s: float, now: float | None = None
    ) -> list[int]:
        """Batches to send now: newest live batches first (so live data is never starved behind a
        backlog), then the oldest backlog; a sent batch is due again after ``resend_after_s``."""
        now = self.clock() if now is None else now
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
                (self.clock() if now is None else now, seq),
            )

    def mark_all_unsent(self) -> None:
        """After a reconnect: whatever was in flight may be lost, so every batch is due again."""
        with self._lock:
            self._db.execute("UPDATE batch SET sent = NULL")

    def ack(self, seq: int) -> int | None:
        """The server has committed batch ``seq``: forget it and return how many samples left.

        None, and nothing deleted, when no batch ``seq`` has been sent: the ack is for another
        life of this buffer (or for nothing), and taking it would lose unsent samples."""
        with self._lock, self._tx():
            row = self._db.execute("SELECT attempts FROM batch WHERE seq = ?", (seq,)).fetchone()
            if row is None or row[0] == 0:
                return None
            n = self._db.execute("DELETE FROM sample WHERE batch = ?", (seq,)).rowcount
            self._db.execute("DELETE FROM batch WHERE seq = ?", (seq,))
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

    A write that fails (a full or failing disk) is rolled back whole and its samples are held
    again, ahead of newer ones, for the next write: none is lost or written twice. While writes
    fail, at most ``max_held`` samples wait in memory; past that the oldest are dropped, counted
    (``dropped``) and logged.
    """

    def __init__(
        self,
        buffer: Buffer,
        max_delay_s: float = 0.02,
        max_pending: int = 5000,
        max_held: int = 200_000,
    ) -> None:
        self.buffer = buffer
        self.max_delay_s = max_delay_s
        self.max_pending = max_pending
        self.max_held = max_held
        self.pending: list[Sample] = []
        self.since = 0.0
        self.dropped = 0
        self.failing: str | None = None  # the last write error, while writes fail
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one write at a time keeps samples in order
        self._drop_logged = -1e9
        #: True when a flusher (the agent's, in a worker thread) writes every ``max_delay_s``;
        #: then polls only append, and disk writes stay off the polling path
        self.background = False

    def emit(self, samples: list[Sample]) -> None:
        """Take a poll's samples; write them now when they are due and no flusher runs.

        A failed write here is not the poll's failure: the samples stay held (see the class),
        the failure is logged once, and the next write takes them."""
        now = time.monotonic()
        with self._lock:
            if not self.pending:
                self.since = now
            self.pending.extend(samples)
            self._hold_limit()
            due = len(self.pending) >= self.max_pending or (
                not self.background and now - self.since >= self.max_delay_s
            )
        if due:
            with contextlib.suppress(Exception):  # held and logged by flush(); retried next time
                self.flush()

    def flush(self) -> None:
        """Write what is pending; on failure hold it again and raise."""
        with self._write_lock:
            with self._lock:
                batch, since, self.pending = self.pending, self.since, []
            try:
                self.buffer.put(batch)
            except Exception as exc:
                with self._lock:
                    self.pending[:0] = batch
                    self.since = since
                    self._hold_limit()
                    held = len(self.pending)
                if self.failing is None:
                    log.error(
                        "buffer write failed, %d samples held in memory until one succeeds: %s: %s",
                        held,
                        type(exc).__name__,
                        exc,
                    )
                self.failing = f"{type(exc).__name__}: {exc}"
                raise
            if self.failing is not None:
                log.warning("buffer writes work again (%d samples written)", len(batch))
                self.failing = None

    def _hold_limit(self) -> None:
        """Past ``max_held``, drop the oldest held samples and count them (under ``_lock``)."""
        excess = len(self.pending) - self.max_held
        if excess <= 0:
            return
        del self.pending[:excess]
        self.dropped += excess
        now = time.monotonic()
        if now - self._drop_logged >= 10:  # one line per 10 s while it lasts, with the total
            self._drop_logged = now
            log.error(
                "buffer not writable (%s): dropped the %d oldest samples held in memory "
                "(%d in all)",
                self.failing,
                excess,
                self.dropped,
            )

    def status(self) -> dict[str, int]:
        """``unwritten_samples`` (held in memory, not yet on disk) and the samples dropped here."""
        with self._lock:
            return {"unwritten_samples": len(self.pending), "dropped_samples": self.dropped}
