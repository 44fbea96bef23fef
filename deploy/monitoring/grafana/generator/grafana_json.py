"""Small builders for classic Grafana dashboard JSON (schema the file provisioner accepts).

Why a generator: five dashboards share datasources, units, layout and variable shapes; writing
that JSON by hand invites typos that Grafana silently renders as empty panels. The generated
files under ../dashboards are committed, and a test fails when they drift from this code.
"""

PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}
LOKI = {"type": "loki", "uid": "loki"}

# Grafana 12.x migrates older classic dashboards on load; 41 is the 12.0 classic schema.
SCHEMA_VERSION = 41
GRID_WIDTH = 24


def prom(expr, legend="", instant=False, table=False):
    """A Prometheus target. Instant queries feed stats, bar gauges and tables."""
    target = {
        "datasource": PROMETHEUS,
        "editorMode": "code",
        "expr": expr,
        "legendFormat": legend,
        "range": not instant,
        "instant": instant,
    }
    if table:
        target["format"] = "table"
    return target


def loki(expr, legend="", instant=False):
    """A Loki target: log queries for log panels, metric queries for charts."""
    return {
        "datasource": LOKI,
        "editorMode": "code",
        "expr": expr,
        "legendFormat": legend,
        "queryType": "instant" if instant else "range",
    }


def thresholds(*steps):
    """steps: ("green", None), ("red", 0.05), ... — the first step has no lower bound."""
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def panel(kind, title, description, targets, w, h=8, unit=None, **extra):
    """One panel. extra keys: min, max, decimals, thresholds, mappings, noValue, custom,
    options, overrides, transformations, interval."""
    defaults = {}
    for key in ("unit", "min", "max", "decimals", "thresholds", "mappings", "noValue", "custom"):
        value = unit if key == "unit" else extra.pop(key, None)
        if value is not None:
            defaults[key] = value
    datasource = targets[0]["datasource"]
    for ref_id, target in zip("ABCDEFGHIJ", targets):
        target["refId"] = ref_id
    result = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": datasource,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": extra.pop("overrides", [])},
        "options": extra.pop("options", {}),
        "_size": (w, h),
    }
    result.update(extra)
    return result


def timeseries(title, description, targets, w=12, h=8, unit=None, stack=False, bars=False,
               threshold_line=None, **extra):
    custom = {
        "drawStyle": "bars" if bars else "line",
        "fillOpacity": 60 if bars else 10,
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
    }
    if threshold_line is not None:
        # Draws the alert threshold on the chart so a reader sees how close the line is.
        custom["thresholdsStyle"] = {"mode": "line"}
        extra.setdefault("thresholds", thresholds(("green", None), ("red", threshold_line)))
    extra.setdefault("custom", custom)
    extra.setdefault("options", {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    })
    return panel("timeseries", title, description, targets, w, h, unit, **extra)


def stat(title, description, targets, w=6, h=4, unit=None, **extra):
    extra.setdefault("options", {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "background",
        "graphMode": "none",
        "textMode": "auto",
        "justifyMode": "auto",
        "orientation": "auto",
    })
    extra.setdefault("thresholds", thresholds(("green", None)))
    return panel("stat", title, description, targets, w, h, unit, **extra)


def bargauge(title, description, targets, w=12, h=8, unit=None, **extra):
    """Horizontal bars, one per series: how top-N lists (topk) read best."""
    extra.setdefault("options", {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "displayMode": "basic",
        "orientation": "horizontal",
        "showUnfilled": True,
        "valueMode": "color",
        "namePlacement": "top",
    })
    extra.setdefault("thresholds", thresholds(("blue", None)))
    return panel("bargauge", title, description, targets, w, h, unit, **extra)


def table(title, description, targets, w=24, h=8, unit=None, **extra):
    extra.setdefault("options", {"showHeader": True, "cellHeight": "sm"})
    return panel("table", title, description, targets, w, h, unit, **extra)


def logs(title, description, expr, w=24, h=10):
    return panel("logs", title, description, [loki(expr)], w, h, options={
        "showTime": True,
        "showLabels": False,
        "showCommonLabels": False,
        "wrapLogMessage": True,
        "prettifyLogMessage": False,
        "enableLogDetails": True,
        "dedupStrategy": "none",
        "sortOrder": "Descending",
    })


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "_size": (24, 1)}


def layout(panels):
    """Places panels left to right, wrapping at the grid width, and numbers them."""
    x = y = line_height = 0
    placed = []
    for number, item in enumerate(panels, start=1):
        w, h = item.pop("_size")
        if item["type"] == "row" or x + w > GRID_WIDTH:
            x, y, line_height = 0, y + line_height, 0
        item["id"] = number
        item["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
        placed.append(item)
        x += w
        line_height = max(line_height, h)
        if item["type"] == "row":
            x, y, line_height = 0, y + h, 0
    return placed


def query_variable(name, label, query, all_value=".*", multi=True):
    """A Prometheus label_values() variable. With "All" selected it becomes all_value, so
    the variable must be used with =~ in queries."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": PROMETHEUS,
        "definition": query,
        "query": {"query": query, "refId": f"PrometheusVariableQueryEditor-{name}"},
        "refresh": 2,
        "includeAll": True,
        "allValue": all_value,
        "multi": multi,
        "sort": 1,
        "regex": "",
        "hide": 0,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
    }


def custom_variable(name, label, values, all_value=".*"):
    return {
        "name": name,
        "label": label,
        "type": "custom",
        "query": ",".join(values),
        "includeAll": True,
        "allValue": all_value,
        "multi": True,
        "hide": 0,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
    }


def textbox_variable(name, label, default, description):
    return {
        "name": name,
        "label": label,
        "description": description,
        "type": "textbox",
        "query": default,
        "hide": 0,
        "current": {"text": default, "value": default},
        "options": [{"selected": True, "text": default, "value": default}],
    }


def dashboard(uid, title, description, panels, variables=(), time_from="now-6h"):
    return {
        "id": None,
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["lookout"],
        "timezone": "browser",
        # Panels can be explored and tweaked; saving over a provisioned dashboard is refused
        # (allowUiUpdates: false), "Save as" keeps a personal copy.
        "editable": True,
        "graphTooltip": 1,
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "templating": {"list": list(variables)},
        "annotations": {"list": []},
        "links": [{
            "title": "Lookout dashboards",
            "type": "dashboards",
            "tags": ["lookout"],
            "asDropdown": True,
            "includeVars": False,
            "keepTime": True,
        }],
        "panels": layout(list(panels)),
    }
