"""Type-confused, huge and deeply nested batches (the issue-14 probe): each is a per-sample or
per-batch refusal with a reason that repeats at most ~64 characters of the input, never a crash."""

from __future__ import annotations

import json
from typing import Any

import pytest

from park_server.db.crud import MeterInfo, ParkMeters
from park_server.ingest.batches import (
    ECHO_CHARS,
    BatchError,
    NotJson,
    echo,
    parse_batch,
    sample_json,
    validate_batch,
)
from park_server.state import ServerState
from park_server.timeutil import format_ts

NOW_MS = 1_795_000_000_000  # a pinned clock: 2026-11-18
PARK = ParkMeters("p", {"m": MeterInfo(1)})
GOOD = {"ts": format_ts(NOW_MS - 60_000), "meter": "m", "quantity": "active_power_kw", "value": 1.0}

HOSTILE: list[tuple[dict[str, Any], str]] = [
    ({**GOOD, "quantity": []}, "unknown quantity []"),
    ({**GOOD, "quantity": {"a": 1}}, "unknown quantity {'a': 1}"),
    ({**GOOD, "quality": []}, "quality [] is not good, uncertain or bad"),
    ({**GOOD, "meter": ["m"]}, "unknown meter ['m'] in park p"),
    ({**GOOD, "value": int("9" * 400)}, "value <an integer of 400 digits> is beyond the range"),
    ({**GOOD, "value": -(10**309)}, "value <an integer of 310 digits> is beyond the range"),
    ({**GOOD, "ts": float("inf")}, "ts: inf is not a finite time stamp"),
    ({**GOOD, "ts": float("-inf")}, "ts: -inf is not a finite time stamp"),
    ({**GOOD, "ts": float("nan")}, "ts: nan is not a finite time stamp"),
    ({**GOOD, "ts": [1, 2]}, "ts: missing or not a string"),
    ({**GOOD, "ts": 10**400}, "ts <an integer of 401 digits> is more than 300 s in the future"),
    ({**GOOD, "value": [[[[1]]]]}, "value [[[...]]] is not a finite number"),
]


def _body(samples: list[Any], batch: Any = 7) -> dict[str, Any]:
    return {"v": 1, "park": "p", "gateway": "g", "batch": batch, "samples": samples}


def test_each_type_confused_sample_is_refused_alone_and_the_valid_ones_kept() -> None:
    samples: list[Any] = []
    for s, _ in HOSTILE:
        samples += [s, {**GOOD, "ts": format_ts(NOW_MS - 1000 * (len(samples) + 1))}]
    rows, rejected, batch = validate_batch(
        _body(samples), park=PARK, gateway_id="g", received_ms=NOW_MS
    )
    assert batch == 7
    assert len(rows) == len(HOSTILE)  # every valid neighbour stored
    assert [r["index"] for r in rejected] == list(range(0, 2 * len(HOSTILE), 2))
    for r, (_, reason) in zip(rejected, HOSTILE, strict=True):
        assert r["reason"].startswith(reason), (r, reason)


@pytest.mark.parametrize("number", [2**63, 2**64 + 5, 10**400, -1, True, 1.5, "7", [7]])
def test_a_batch_number_outside_0_to_2_63_is_a_batch_reject_without_a_number(number: Any) -> None:
    with pytest.raises(BatchError, match="is not an integer from 0 to 9223372036854775807") as e:
        validate_batch(_body([GOOD], batch=number), park=PARK, gateway_id="g", received_ms=NOW_MS)
    assert e.value.batch is None and len(str(e.value)) < 200


def test_the_largest_batch_number_is_taken() -> None:
    rows, _, batch = validate_batch(
        _body([GOOD], batch=2**63 - 1), park=PARK, gateway_id="g", received_ms=NOW_MS
    )
    assert batch == 2**63 - 1 and len(rows) == 1


def test_a_batch_reject_keeps_the_number_and_says_whether_to_retry() -> None:
    with pytest.raises(BatchError) as e:
        validate_batch({**_body([]), "samples": "x"}, park=PARK, gateway_id="g")
    assert e.value.batch == 7 and not e.value.retry
    with pytest.raises(BatchError) as e:
        validate_batch({**_body([]), "v": 2}, park=PARK, gateway_id="g")
    assert e.value.batch == 7 and e.value.retry  # a newer server may take it: keep it buffered


def test_echoes_are_cut_to_about_64_characters() -> None:
    huge = "x" * 5_000_000
    s = {**GOOD, "meter": huge}
    _, rejected, _ = validate_batch(_body([s]), park=PARK, gateway_id="g", received_ms=NOW_MS)
    reason = rejected[0]["reason"]
    assert reason.startswith("unknown meter 'xxxx") and reason.endswith("'… in park p")
    assert len(reason) < ECHO_CHARS + 40
    assert len(echo(huge)) == ECHO_CHARS + 3  # quotes and the ellipsis
    assert len(echo({"k": huge, "l": list(range(10**5))})) <= ECHO_CHARS + 1
    assert echo("short") == "'short'"
    with pytest.raises(BatchError) as e:
        validate_batch({**_body([]), "park": huge}, park=PARK, gateway_id="g")
    assert len(str(e.value)) < 150
    assert len(sample_json(s)) == 4000  # the stored copy of the sample stays capped too


def test_nesting_too_deep_to_decode_is_a_batch_reject_that_keeps_its_number() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    payload = '{"v": 1, "park": "p", "gateway": "g", "batch": 4711, "samples": ' + deep + "}"
    with pytest.raises(BatchError, match="nested too deeply") as e:
        parse_batch(payload.encode())
    assert e.value.batch == 4711 and not isinstance(e.value, NotJson)
    # a "batch" key inside the nesting is not the batch's number
    inner = '{"samples": ' + "[" * 50_000 + '{"batch": 9}' + "]" * 50_000 + "}"
    with pytest.raises(BatchError) as e:
        parse_batch(inner)
    assert e.value.batch is None


def test_other_undecodable_bodies() -> None:
    with pytest.raises(NotJson, match="not JSON"):
        parse_batch(b"{not json")
    with pytest.raises(NotJson, match="not UTF-8"):
        parse_batch(b'{"v": 1, "park": "\xff"}')
    with pytest.raises(BatchError, match="not usable JSON") as e:
        parse_batch('{"batch": 12, "samples": [{"value": ' + "9" * 5000 + "}]}")
    assert e.value.batch == 12
    assert parse_batch(json.dumps(_body([GOOD]))) == _body([GOOD])


def test_only_meters_of_the_park_are_remembered_for_a_gateway(tmp_path: Any) -> None:
    from park_server.db.engine import make_engine
    from park_server.settings import Settings

    state = ServerState(Settings(), make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    junk = [{**GOOD, "meter": f"junk-{i}-" + "x" * 1000} for i in range(1000)]
    assert state.note_meters("p", "g", [*junk, {"meter": []}, 5], PARK.meters) is False
    assert state.gateway_meters() == {("p", "g"): set()}
    assert state.note_meters("p", "g", [*junk, GOOD], PARK.meters) is True
    assert state.gateway_meters() == {("p", "g"): {"m"}}
