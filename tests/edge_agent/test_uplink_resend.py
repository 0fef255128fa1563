"""A server slow to ack is not buried under resends: a batch waits for its ack several times the
smoothed ack latency (at least 3 s, at most 60 s) before it is sent again."""

from __future__ import annotations

import json
import time
from pathlib import Path

from zctest_edge import write_gateway

from config import load_gateway
from edge_agent.buffer import Buffer, Sample
from edge_agent.uplink import MAX_RESEND_S, Uplink


def test_resend_waits_follow_the_ack_latency(tmp_path: Path) -> None:
    device = {"meter": "grid-main", "bus": "lan", "unit_id": 1, "profile": "janitza-umg604"}
    gw = load_gateway(
        write_gateway(tmp_path / "gw.yaml", mqtt_url="mqtt://127.0.0.1:1", devices=[device])
    )
    buf = Buffer(tmp_path / "b.sqlite", 10)
    up = Uplink(gw, buf, on_setpoints=lambda payload: None)
    assert up.resend_after() == 3.0  # no ack seen yet: the configured wait
    for i in range(3):
        buf.put([Sample(f"2026-11-23T08:00:0{i}.000Z", "grid-main", "active_power_kw", 1.0)])
        buf.form_batches(1, 0.0, now=time.time() + 1)
    seqs = buf.due(10, 3.0, live_window_s=10.0)
    assert len(seqs) == 3
    for seq, late in zip(seqs, (8.0, 8.0, 500.0), strict=True):
        buf.mark_sent(seq)
        up._sent_at[seq] = time.monotonic() - late  # sent ``late`` seconds ago
    up._on_ack(json.dumps({"batch": seqs[0]}).encode())
    assert up.ack_latency_s is not None and 7.9 < up.ack_latency_s < 8.5
    assert 31 < up.resend_after() < 34  # four times the latency
    up._on_ack(json.dumps({"batch": seqs[1]}).encode())
    up._on_ack(json.dumps({"batch": seqs[2]}).encode())  # one very late ack: capped
    assert up.resend_after() <= MAX_RESEND_S
    assert up.acked == 3
    buf.close()
