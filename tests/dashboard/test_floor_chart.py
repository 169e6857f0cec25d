"""The floor's last-hour chart spans the hour (a trial found its axis label the same minute
under each sample of a floor minutes old: 12:39 12:39 12:39)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from dashboard.views.floor import history_chart
from tests.helpers import BASE_TIME

NOW_MS = int(BASE_TIME.timestamp() * 1000)
HOUR_MS = 3_600_000


def test_a_floor_minutes_old_is_drawn_across_the_whole_hour_in_its_own_clock() -> None:
    # Three minutes of samples, every 30 s, as live/history.py keeps them.
    points = [(NOW_MS - k * 30_000, {"billing": k % 3, "jp-support": 1}) for k in range(6, -1, -1)]
    chart = history_chart(points, (NOW_MS - HOUR_MS, NOW_MS), "Asia/Tokyo", "Asia/Tokyo (JST)")
    assert chart is not None
    spec = chart.to_dict()
    x = spec["encoding"]["x"]
    start, end = (pd.Timestamp(t) for t in x["scale"]["domain"])
    assert end - start == timedelta(hours=1)
    assert x["axis"]["tickMinStep"] == 60_000 and x["axis"]["format"] == "%H:%M"
    # Tokyo's wall clock, zone-less (UTC+9), at the hour's end: the newest sample's time.
    tokyo_now = pd.Timestamp(NOW_MS, unit="ms") + timedelta(hours=9)
    assert end == tokyo_now
    rows = pd.DataFrame(spec["datasets"][spec["data"]["name"]])
    assert len(rows) == 7 * 2  # every team at every point
    assert pd.Timestamp(rows["time"].max()) == tokyo_now


def test_nothing_to_draw_is_no_chart() -> None:
    assert history_chart([], (NOW_MS - HOUR_MS, NOW_MS), "UTC", "UTC") is None
    assert history_chart([(NOW_MS, {})], (NOW_MS - HOUR_MS, NOW_MS), "UTC", "UTC") is None
