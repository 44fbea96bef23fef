"""Every query behind the Lookout Grafana dashboards, with Grafana's variables filled in.

Used by test_dashboards.py (structure, and every PromQL expression run by a real Prometheus)
and meant for the lab end-to-end test, which can run each Prometheus query against a live
Prometheus:

    from dashboard_queries import prometheus_queries
    for dashboard_uid, panel_title, expr in prometheus_queries({"site": "application"}):
        ...  # GET /api/v1/query?query=expr

Grafana substitutes variables before a query reaches Prometheus or Loki; we do the same with
values a dashboard could really hold: a variable's "All" value (its allValue), a textbox's
default, and fixed stand-ins for Grafana's own $__range, $__interval and friends.
"""
import json
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GRAFANA_DIR = REPO / "deploy" / "monitoring" / "grafana"
DASHBOARD_DIR = GRAFANA_DIR / "dashboards"

# Stand-ins for Grafana's built-in variables. $__rate_interval is at least four scrape
# intervals (the datasource's timeInterval, 30 s), so 2m; $__auto is the step of a range query or the whole range of an
# instant query.
BUILTIN_VALUES = {
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "__interval": "1m",
    "__interval_ms": "60000",
    "__rate_interval": "2m",
    "__auto": "1m",
}

# $name, ${name}, ${name:format} and the old [[name]] form.
VARIABLE_REFERENCE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]")


class UnresolvedVariable(ValueError):
    """A query uses a variable that neither the dashboard nor Grafana defines."""


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str  # dashboard uid
    panel: str  # panel title
    panel_type: str
    ref_id: str
    datasource: dict
    expr: str  # as written in the dashboard, variables unresolved
    instant: bool

    @property
    def name(self):
        return f"{self.dashboard}/{self.panel}/{self.ref_id}"


def load_dashboards(directory=DASHBOARD_DIR):
    """{file name: parsed JSON} for every dashboard file, in name order."""
    return {path.name: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(Path(directory).glob("*.json"))}


def panels(dashboard):
    """Every panel, including those nested in collapsed rows."""
    for item in dashboard.get("panels", []):
        yield item
        yield from item.get("panels", [])


def panel_queries(dashboard):
    queries = []
    for item in panels(dashboard):
        for target in item.get("targets", []):
            datasource = target.get("datasource") or item.get("datasource") or {}
            instant = bool(target.get("instant")) or target.get("queryType") == "instant"
            queries.append(PanelQuery(dashboard["uid"], item.get("title", ""), item["type"],
                                      target.get("refId", ""), datasource,
                                      target.get("expr", ""), instant))
    return queries


def variable_values(dashboard, overrides=None):
    """The value each template variable stands for when nothing is selected."""
    values = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        name = variable["name"]
        if variable.get("includeAll"):
            values[name] = variable.get("allValue") or ".*"
        elif variable["type"] in ("textbox", "constant"):
            values[name] = variable.get("query", "")
        else:
            options = [o for o in str(variable.get("query", "")).split(",") if o]
            values[name] = options[0] if options else ""
    values.update(overrides or {})
    return values


def variable_definition(variable):
    """The query a query variable runs: `definition` when set, else its query (a string or
    Grafana's {"query": ..., "refId": ...} object, as the foundation SDK writes it)."""
    if variable.get("definition"):
        return variable["definition"]
    query = variable.get("query", "")
    return query.get("query", "") if isinstance(query, dict) else query


def variable_references(text):
    return [next(group for group in match.groups() if group)
            for match in VARIABLE_REFERENCE.finditer(text)]


def resolve(text, values):
    """Replaces every variable reference; unknown variables raise UnresolvedVariable."""
    known = {**BUILTIN_VALUES, **values}

    def substitute(match):
        name = next(group for group in match.groups() if group)
        if name.isdigit():
            # ${2} in a template is a regex group reference, not a variable; Grafana leaves
            # references to variables it does not have as they are.
            return match.group(0)
        if name not in known:
            raise UnresolvedVariable(f"${name} is not a variable of this dashboard: {text}")
        return known[name]

    return VARIABLE_REFERENCE.sub(substitute, text)


def resolved_queries(datasource_type, overrides=None, directory=DASHBOARD_DIR):
    """(dashboard uid, panel title, expr with variables filled in) for one datasource type."""
    result = []
    for dashboard in load_dashboards(directory).values():
        values = variable_values(dashboard, overrides)
        for query in panel_queries(dashboard):
            if query.datasource.get("type") == datasource_type:
                result.append((query.dashboard, query.panel, resolve(query.expr, values)))
    return result


def prometheus_queries(overrides=None, directory=DASHBOARD_DIR):
    """Every PromQL expression of every dashboard, ready to send to /api/v1/query."""
    return resolved_queries("prometheus", overrides, directory)


def loki_queries(overrides=None, directory=DASHBOARD_DIR):
    """Every LogQL expression of every dashboard, ready to send to Loki's query API."""
    return resolved_queries("loki", overrides, directory)
