"""Every panel query of the dashboards as Grafana 12 sends it for a time range, so that the
benchmark times what an operator's browser really asks Prometheus and Loki for.

What Grafana computes (grafana/grafana pkg/promlib/models/query.go, pkg/tsdb/loki/step.go and
parse_query.go, grafana-plugin-sdk-go backend/gtime), reproduced here:

- maxDataPoints: the panel's own maxDataPoints, else its width in pixels. Widths are those
  of a 1920 px wide browser: a 24-column grid 1896 px wide, less the gap and the panel's
  padding (PANEL_PIXELS).
- the query interval: range / maxDataPoints rounded by gtime.RoundInterval, raised to the
  datasource's minimum (Prometheus: jsonData.timeInterval = 30s; Loki: none).
- Prometheus: step = max(interval, RoundInterval(range / 11000)); start and end aligned down
  to a multiple of the step; $__interval = step; $__rate_interval = max(interval + 30s,
  4 * 30s); $__range = the range in whole seconds.
- Loki: step = max(interval, range / 11000) rounded up to a millisecond; $__auto = the step
  for range queries and the whole range for instant queries; $__interval = interval;
  $__range = the range in seconds. Log panels fetch at most the datasource's maxLines
  (1000), newest first.
- Template variables: their "All" value (dashboard_queries.variable_values).
"""
from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "deploy/tests"))
import dashboard_queries as dq  # noqa: E402
import yaml  # noqa: E402

DATASOURCES = yaml.safe_load((dq.GRAFANA_DIR / "provisioning/datasources/datasources.yml").read_text()) \
    if (dq.GRAFANA_DIR / "provisioning/datasources/datasources.yml").exists() else None
GRID_PIXELS, GRID_COLUMNS, GAP, PADDING = 1896, 24, 8, 16
SECOND, MINUTE, HOUR, DAY = 1000, 60_000, 3_600_000, 86_400_000

# gtime.RoundInterval: (upper bound inclusive in ms, rounded interval in ms)
ROUND = [(10, 1), (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500),
         (1500, 1000), (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000),
         (25000, 20000), (45000, 30000), (90000, 60000), (210000, 120000), (450000, 300000),
         (750000, 600000), (1050000, 900000), (1500000, 1200000), (2700000, 1800000),
         (5400000, 3600000), (9000000, 7200000), (16200000, 10800000), (32400000, 21600000),
         (86400000, 43200000), (172800000, 86400000), (604800000, 86400000),
         (1814400000, 604800000)]


def round_interval(ms: float) -> int:
    for bound, rounded in ROUND:
        if ms <= bound:
            return rounded
    return 2592000000 if ms < 3628800000 else 31536000000


def format_interval(ms: int) -> str:
    """gtime.FormatInterval: the largest whole unit (1d, 2h, 10m, 30s, 500ms)."""
    for unit, size in (("y", 365 * DAY), ("d", DAY), ("h", HOUR), ("m", MINUTE), ("s", SECOND)):
        if ms >= size:
            return f"{ms // size}{unit}"
    return f"{max(ms, 1)}ms"


def go_duration(ms: int) -> str:
    """Go's time.Duration.String() for whole milliseconds ($__rate_interval is formatted so)."""
    if ms % 1000:
        return f"{ms / 1000:g}s" if ms < MINUTE else f"{ms // MINUTE}m{ms % MINUTE / 1000:g}s"
    s = ms // 1000
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return (f"{h}h" if h else "") + (f"{m}m" if h or m else "") + f"{sec}s"


def parse_duration_ms(text: str) -> int:
    units = {"ms": 1, "s": SECOND, "m": MINUTE, "h": HOUR, "d": DAY, "w": 7 * DAY}
    total, rest = 0, text
    for number, unit in re.findall(r"(\d+)(ms|s|m|h|d|w)", text):
        total += int(number) * units[unit]
        rest = rest.replace(number + unit, "", 1)
    if rest or not total:
        raise ValueError(f"duration {text!r}")
    return total


def datasource_settings():
    found = {"prometheus": {"timeInterval": "30s"}, "loki": {"maxLines": 1000}}
    if DATASOURCES:
        for ds in DATASOURCES.get("datasources", []):
            found[ds["type"]] = ds.get("jsonData", {})
    return found


@dataclass(frozen=True)
class Request:
    dashboard: str
    panel: str
    panel_type: str
    ref_id: str
    datasource: str          # prometheus | loki
    kind: str                # range | instant | logs
    expr: str                # with every variable filled in
    start_ms: int
    end_ms: int
    step_ms: int
    limit: int | None = None

    @property
    def name(self):
        return f"{self.dashboard} / {self.panel} / {self.ref_id}"

    def params(self) -> dict:
        """The query API parameters (seconds for Prometheus, nanoseconds for Loki)."""
        if self.datasource == "prometheus":
            if self.kind == "instant":
                return {"query": self.expr, "time": f"{self.end_ms / 1000:.3f}"}
            return {"query": self.expr, "start": f"{self.start_ms / 1000:.3f}",
                    "end": f"{self.end_ms / 1000:.3f}", "step": f"{self.step_ms / 1000:g}"}
        if self.kind == "instant":
            return {"query": self.expr, "time": str(self.end_ms * 1_000_000), "limit": "100"}
        params = {"query": self.expr, "start": str(self.start_ms * 1_000_000),
                  "end": str(self.end_ms * 1_000_000), "step": f"{self.step_ms / 1000:g}s"}
        if self.kind == "logs":
            params.update(limit=str(self.limit), direction="backward")
        return params

    @property
    def path(self):
        if self.datasource == "prometheus":
            return "/api/v1/query" if self.kind == "instant" else "/api/v1/query_range"
        return "/loki/api/v1/query" if self.kind == "instant" else "/loki/api/v1/query_range"


def panel_pixels(panel: dict) -> int:
    width = panel.get("gridPos", {}).get("w", 12)
    return round(width * (GRID_PIXELS + GAP) / GRID_COLUMNS) - GAP - PADDING


def requests_for(end_ms: int, range_ms: int, directory=dq.DASHBOARD_DIR, overrides=None):
    """Every query of every panel of every dashboard, as Grafana sends it for the range
    [end - range, end]."""
    settings = datasource_settings()
    scrape_ms = parse_duration_ms(settings["prometheus"].get("timeInterval", "15s"))
    max_lines = int(settings["loki"].get("maxLines", 1000))
    out = []
    for dashboard in dq.load_dashboards(directory).values():
        values = dq.variable_values(dashboard, overrides)
        for panel in dq.panels(dashboard):
            for target in panel.get("targets", []):
                ds = (target.get("datasource") or panel.get("datasource") or {}).get("type")
                if ds not in ("prometheus", "loki") or not target.get("expr"):
                    continue
                out.append(_request(dashboard, panel, target, ds, values, end_ms, range_ms,
                                    scrape_ms, max_lines))
    return out


def _request(dashboard, panel, target, ds, values, end_ms, range_ms, scrape_ms, max_lines):
    max_points = panel.get("maxDataPoints") or panel_pixels(panel)
    min_interval = panel.get("interval") or target.get("interval") or ""
    low_ms = parse_duration_ms(min_interval) if min_interval and "$" not in min_interval else (
        scrape_ms if ds == "prometheus" else 1)
    interval_ms = max(round_interval(range_ms / max_points), low_ms)
    instant = bool(target.get("instant")) and not target.get("range") or target.get("queryType") == "instant"
    start_ms = end_ms - range_ms
    builtins = {"__range": f"{round(range_ms / 1000)}s", "__range_s": str(round(range_ms / 1000)),
                "__range_ms": str(range_ms)}
    if ds == "prometheus":
        # intervalv2: the raw range/maxDataPoints is compared with the minimum before rounding
        raw = range_ms / max_points
        calculated = low_ms if raw < low_ms else round_interval(raw)
        step_ms = max(calculated, round_interval(range_ms / 11000))
        rate_ms = max(interval_ms + scrape_ms, 4 * scrape_ms)
        builtins.update(__interval=format_interval(step_ms), __interval_ms=str(step_ms),
                        __rate_interval=go_duration(rate_ms), __rate_interval_ms=str(rate_ms))
        kind = "instant" if instant else "range"
        if kind == "range":
            start_ms, end_ms = start_ms // step_ms * step_ms, end_ms // step_ms * step_ms
    else:
        step_ms = math.ceil(max(interval_ms, range_ms / 11000))
        builtins.update(__interval=format_interval(interval_ms), __interval_ms=str(interval_ms),
                        __auto=f"{round(range_ms / 1000)}s" if instant else format_interval(step_ms))
        kind = "instant" if instant else ("logs" if panel["type"] == "logs" else "range")
    expr = dq.resolve(target["expr"], {**values, **builtins})
    limit = int(target.get("maxLines") or max_lines) if kind == "logs" else None
    return Request(dashboard["uid"], panel.get("title", ""), panel["type"], target.get("refId", ""),
                   ds, kind, expr, start_ms, end_ms, step_ms, limit)
