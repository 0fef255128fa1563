"""Weather forecasts from a park's configured source: file/HTTP polling, MQTT, use in forecasts."""

from __future__ import annotations

import csv
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import Session, select
from zctest_server import make_server, pv_kw, store_power

from config import Park
from config.park import WeatherForecastSource
from park_server.db import crud
from park_server.db.tables import ParkRow, WeatherForecastRow
from park_server.ingest.weather import WeatherError
from park_server.jobs import weather
from park_server.jobs.forecast import issue_forecast
from park_server.state import ServerState
from park_server.timeutil import QUARTER_MS, format_ts, now_ms

TZ = ZoneInfo("Asia/Shanghai")
DAY = 86_400_000


def _ghi(ms: int, factor: float) -> float:
    local = datetime.fromtimestamp(ms / 1000, TZ)
    hour = local.hour + local.minute / 60
    return 1000 * max(0.0, float(np.sin((hour - 6) / 12 * np.pi))) * factor


def _with_source(session: Session, src: WeatherForecastSource) -> Park:
    park = crud.park_config(session, park_id="huolingol")
    assert park is not None
    park = park.model_copy(update={"weather_forecast": src})
    row = session.get(ParkRow, "huolingol")
    assert row is not None
    row.config_json = park.model_dump_json()
    session.add(row)
    session.commit()
    return park


def test_file_source_is_checked_stored_and_drives_the_pv_forecast(tmp_path: Path) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'w.db'}")
    rng = np.random.default_rng(7)
    now = now_ms()
    start = now - now % QUARTER_MS - 17 * DAY
    days = 21
    factors = rng.uniform(0.3, 1.0, days)
    local_today = datetime.fromtimestamp(now / 1000, TZ).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    today_ms = int(local_today.timestamp() * 1000)
    cloudy, clear = today_ms + DAY, today_ms + 2 * DAY  # tomorrow overcast, the day after clear

    def factor(ms: int) -> float:
        if cloudy <= ms < clear:
            return 0.15
        if clear <= ms < clear + DAY:
            return 1.0
        return float(factors[(ms - start) // DAY])

    history = range(start, now - now % QUARTER_MS, QUARTER_MS)
    path = tmp_path / "forecast.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["valid_time", "ghi_wm2", "t2m", "ws100"])
        for t in range(start, clear + DAY, QUARTER_MS):
            out.writerow([format_ts(t), round(_ghi(t, factor(t)), 1), 5.0, 9.0])
        out.writerow(["not a time", 100, 5, 9])
        out.writerow([format_ts(start), -40, 5, ""])
    src = WeatherForecastSource(
        source="file",
        url=str(path),
        columns={"time": "valid_time", "ghi": "ghi_wm2", "temp_air": "t2m", "wind_speed": "ws100"},
    )
    state = ServerState(server.settings, server.engine)
    store_power(server, "pv-1", [(t, pv_kw(t, factor(t))) for t in history])
    with Session(server.engine) as session:
        park = _with_source(session, src)
        summary = weather.fetch_park(session, park, state)
        assert len(summary["rejected"]) == 2
        assert summary["rejected"][0].startswith("row ") and "valid_time" in summary["rejected"][0]
        assert "ghi_wm2: -40 outside 0..1500" in summary["rejected"][1]
        assert state.counters.weather_rows_rejected == 2
        n = len(session.exec(select(WeatherForecastRow)).all())
        assert n == summary["stored"] == 3 * len(range(start, clear + DAY, QUARTER_MS))
    with Session(server.engine) as session:
        row = issue_forecast(session, park, "pv", now)
        assert row is not None and row.model != "fallback"
        meta = json.loads(row.meta_json)
        assert (
            meta["weather"].startswith(f"file {path}, newest issue ") and "ghi" in meta["weather"]
        )
        noon = format_ts(cloudy + 12 * 3_600_000)  # tomorrow, 12:00 local: in every horizon
        p50 = {p["ts"]: p["p50"] for p in json.loads(row.values_json)}[noon]
        assert p50 < 60_000  # the overcast forecast (clear sky 200 MW, recent days 60-200 MW)
        # no wind measured yet: the fallback puts the forecast wind through the turbines' curves
        wind = issue_forecast(session, park, "wind", now)
        assert wind is not None and wind.model == "fallback"
        meta = json.loads(wind.meta_json)
        assert meta["fallback"].startswith("configured power curves × forecast wind speed")
        first = json.loads(wind.values_json)[0]["p50"]
        assert first == 170 * 2900  # 130 + 40 turbines of 5 MW at 9 m/s
        # a forecast that stops short of the horizon is not used, and the metadata says so
        session.connection().exec_driver_sql(
            f"DELETE FROM weather_forecast WHERE valid_ms >= {cloudy}"
        )
        session.commit()
        again = issue_forecast(session, park, "pv", now)
        assert again is not None
        assert "forecast without weather" in json.loads(again.meta_json)["weather"]
        blind = {p["ts"]: p["p50"] for p in json.loads(again.values_json)}[noon]
        assert blind > 80_000  # what the recent days suggest


def test_mqtt_source_stores_good_rows_and_counts_bad_ones(tmp_path: Path, mqtt_broker: Any) -> None:
    topic = f"provider/{tmp_path.name}/huolingol"
    server = make_server(f"sqlite:///{tmp_path / 'm.db'}", mqtt_url=mqtt_broker.url)
    with Session(server.engine) as session:
        _with_source(
            session,
            WeatherForecastSource(source="mqtt", topic=topic, columns={"wind_speed": "ws100"}),
        )
    with server.client(background=True) as client:
        app_state = client.app.state  # type: ignore[attr-defined]
        assert app_state.mqtt.wait_connected(10)
        time.sleep(0.5)  # the subscription follows the connection
        pub = mqtt.Client(CallbackAPIVersion.VERSION2)
        pub.connect(mqtt_broker.host, mqtt_broker.port)
        pub.loop_start()
        t0 = now_ms() - now_ms() % QUARTER_MS
        rows: list[dict[str, object]] = [
            {"time": format_ts(t0 + i * QUARTER_MS), "ws100": 5.0 + i} for i in range(8)
        ]
        rows.append({"time": format_ts(t0), "ws100": "fast"})
        body = json.dumps({"issued": format_ts(t0), "rows": rows})
        pub.publish(topic, body, qos=1).wait_for_publish()
        pub.publish(topic, b"not json", qos=1).wait_for_publish()
        counters = app_state.zcpark.counters
        deadline = time.monotonic() + 10
        stored: list[WeatherForecastRow] = []
        while time.monotonic() < deadline:
            with Session(server.engine) as session:
                stored = list(session.exec(select(WeatherForecastRow)).all())
            if len(stored) == 8 and counters.weather_rows_rejected == 2:
                break
            time.sleep(0.1)
        pub.loop_stop()
        pub.disconnect()
        assert sorted(r.value for r in stored) == [5.0 + i for i in range(8)]
        assert {r.variable for r in stored} == {"wind_speed"}
        assert all(r.issued_ms == t0 for r in stored)
        assert counters.weather_rows_rejected == 2  # the bad row and the bad message


def test_http_source_is_fetched_and_a_failing_feed_is_named(tmp_path: Path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    t0 = now_ms() - now_ms() % QUARTER_MS
    body = "time,temp_air\n" + "".join(
        f"{format_ts(t0 + i * QUARTER_MS)},{i / 10}\n" for i in range(16)
    )

    class Feed(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/forecast.csv":
                self.send_error(404)
                return
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            """No access log on the test's stderr."""

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    server = make_server(f"sqlite:///{tmp_path / 'h.db'}")
    try:
        with Session(server.engine) as session:
            park = _with_source(
                session, WeatherForecastSource(source="http", url=f"{url}/forecast.csv")
            )
            assert weather.fetch_park(session, park)["stored"] == 16
            values = sorted(r.value for r in session.exec(select(WeatherForecastRow)).all())
            assert values == [i / 10 for i in range(16)]
            missing = park.model_copy(
                update={"weather_forecast": WeatherForecastSource(source="http", url=f"{url}/nope")}
            )
            try:
                weather.fetch_park(session, missing)
            except WeatherError as exc:
                assert f"cannot fetch {url}/nope" in str(exc) and "404" in str(exc)
            else:
                raise AssertionError("a 404 must raise WeatherError")
        with server.client() as client:
            admin = server.token(client, "ada")
            r = client.get("/api/v1/parks/huolingol/weather", headers=admin)
            assert r.status_code == 200
            got = r.json()
            assert got["source"] == f"http {url}/forecast.csv" and got["variables"] == ["temp_air"]
            assert len(got["points"]) == 192 and got["newest_issue"] is not None
            known = [p["temp_air"] for p in got["points"] if p["temp_air"] is not None]
            assert known == [i / 10 for i in range(16)][-len(known) :] and len(known) >= 15
            r = client.get("/api/v1/parks/baotou_aluminum/weather", headers=admin)
            assert r.status_code == 200 and r.json()["source"] is None
            r = client.get("/api/v1/parks/huolingol/weather?hours=0", headers=admin)
            assert r.status_code == 422
    finally:
        httpd.shutdown()
