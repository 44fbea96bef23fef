"""Logs: errors, Python exceptions, 4xx/5xx, slow requests, JS errors and filterable log
panels. The stream labels are the ones in docs/signals.md.

Counts over the nginx access log come from the series the Loki ruler records
(nginx-access.yaml, remote-written to Prometheus), grouped by the normalised route: parsing
days of access lines at every refresh is slow, and grouping by the raw path makes one series
per URL and fails at Loki's series limit (issue 12). Loki is asked for lines only (log panels).
"""
from panels import (bargauge, custom_variable, dashboard, logs, loki, prom, query_variable, row,
                    textbox_variable, timeseries)

# The free-text filter: a case-insensitive RE2 regex; empty matches every line. Backticks
# keep backslashes literal, so \d+ or \.py work as typed.
FILTER = "|~ `(?i)$filter`"
ACCESS = '{job="nginx", logtype="access", site=~"$site"}'
# Parsed access lines of the selected methods and paths; __error__="" drops lines that are
# not JSON instead of failing the whole query.
ACCESS_JSON = f'{ACCESS} {FILTER} | json | __error__="" | method=~"$method" | path=~`$path`'
APP = '{job="app", site=~"$site"}'
TRACEBACK = '|= "Traceback (most recent call last)"'
JS_ERRORS = '{app="frontend", kind="error"}'
# The recorded series of the selected site, methods and endpoints.
ROUTES = 'site=~"$site", method=~"$method", route=~"$route"'


def per_interval(series, by=""):
    """Requests per chart interval from a recorded rate: each sample is the rate over one
    minute, so the samples of the interval summed and times 60 are the requests in it
    (the panels set a 1 m minimum interval, so no sample is counted twice)."""
    grouping = f"sum by ({by}) " if by else "sum "
    return f"{grouping}(sum_over_time({series}[$__interval])) * 60"


def in_range(series, by):
    """The ten largest request counts over the dashboard's time range."""
    return f"topk(10, sum by ({by}) (sum_over_time({series}[$__range])) * 60)"


def build():
    panels = [
        row("Errors"),
        timeseries(
            "Errors by source",
            "App log lines at ERROR/CRITICAL, nginx 4xx and 5xx answers (recorded series, "
            "selected methods and endpoints), nginx error-log entries, Python tracebacks and "
            "browser JS errors, per interval.",
            [loki(f'sum(count_over_time({{job="app", site=~"$site", '
                  f'level=~"(?i)error|critical"}} [$__auto]))', "app ERROR/CRITICAL"),
             prom(per_interval(f'nginx:requests:rate1m{{{ROUTES}, status_class=~"4xx|5xx"}}',
                               "status_class"), "nginx {{status_class}}"),
             loki('sum(count_over_time({job="nginx", logtype="error", site=~"$site", '
                  'level=~"error|crit|alert|emerg"} [$__auto]))', "nginx error log"),
             loki(f"sum(count_over_time({APP} {TRACEBACK} [$__auto]))", "Python exceptions"),
             loki(f"sum(count_over_time({JS_ERRORS} [$__auto]))", "JS errors")],
            w=24, bars=True, stack=True, decimals=0, interval="1m"),
        timeseries("HTTP 4xx / 5xx by status code",
                   "Requests answered with a status >= 400, per status code.",
                   [prom(per_interval(f"nginx:error_requests:rate1m{{{ROUTES}}}", "status"),
                         "{{status}}")],
                   bars=True, stack=True, decimals=0, interval="1m"),
        timeseries("Python exceptions by component",
                   "app.log entries holding a traceback (Promtail joins the traceback lines "
                   "to their log line); component is fastapi or celery.",
                   [loki(f"sum by (component) (count_over_time({APP} {TRACEBACK} [$__auto]))",
                         "{{component}}")],
                   bars=True, stack=True, decimals=0),
        logs("Python tracebacks", "Log entries with a traceback, newest first.",
             f"{APP} {TRACEBACK} {FILTER}"),
        row("Slow requests (> 1 s)"),
        timeseries("Slow requests", "nginx requests whose request_time was above 1 second.",
                   [prom(per_interval(f"nginx:slow_requests:rate1m{{{ROUTES}}}"),
                         "requests > 1 s")], w=8, bars=True, decimals=0, interval="1m"),
        bargauge("Slowest endpoints (requests > 1 s)",
                 "Method and route with the most requests over 1 s in the selected range.",
                 [prom(in_range(f"nginx:slow_requests:rate1m{{{ROUTES}}}", "method, route"),
                       "{{method}} {{route}}", instant=True)], w=8, decimals=0),
        logs("Slow request lines", "request_time in seconds, status, method and URI.",
             f"{ACCESS_JSON} | request_time > 1"
             " | line_format `{{.request_time}}s {{.status}} {{.method}} {{.request_uri}}`",
             w=8, h=8),
        row("HTTP methods and endpoints"),
        timeseries("Requests by method", "Requests per interval of the selected endpoints.", [
            prom(per_interval(f"nginx:requests:rate1m{{{ROUTES}}}", "method"), "{{method}}")],
            w=8, bars=True, stack=True, decimals=0, interval="1m"),
        bargauge("Top endpoints", "Most requested method + route in the selected range.",
                 [prom(in_range(f"nginx:requests:rate1m{{{ROUTES}}}", "method, route"),
                       "{{method}} {{route}}", instant=True)],
                 w=8, decimals=0),
        bargauge("Top endpoints answered 4xx/5xx",
                 "Status, method and route with the most error answers in the selected range.",
                 [prom(in_range(f"nginx:error_requests:rate1m{{{ROUTES}}}",
                                "status, method, route"),
                       "{{status}} {{method}} {{route}}", instant=True)],
                 w=8, decimals=0),
        row("JavaScript errors (browsers)"),
        timeseries("JS errors by type", "error, resource or unhandledrejection.",
                   [loki(f'sum by (type) (count_over_time({JS_ERRORS} | json | __error__="" '
                         "[$__auto]))", "{{type}}")], bars=True, stack=True, decimals=0),
        bargauge("Top JS error messages", "",
                 [loki(f'topk(10, sum by (message) (count_over_time({JS_ERRORS} | json '
                       '| __error__="" [$__auto])))', "{{message}}", instant=True)],
                 decimals=0),
        logs("JS error events", "As the browser reported them (message, source, stack, page).",
             f"{JS_ERRORS} {FILTER}"),
        row("Log streams"),
        logs("nginx access log", "Filtered by method, path regex and the free-text filter.",
             ACCESS_JSON),
        logs("FastAPI and Celery (app.log)", "Filtered by level and the free-text filter.",
             f'{{job="app", site=~"$site", level=~"(?i)$level"}} {FILTER}'),
        logs("nginx error log", "", f'{{job="nginx", logtype="error", site=~"$site"}} {FILTER}',
             w=12),
        logs("Redis", "", f'{{job="redis", site=~"$site"}} {FILTER}', w=12),
        logs("Container output (Docker logging driver)",
             "stdout/stderr of the containers that use the loki logging driver.",
             f'{{job="docker"}} {FILTER}'),
    ]
    variables = [
        query_variable("site", "Site", "label_values(probe_success, site)"),
        custom_variable("method", "Method",
                        ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
        query_variable("route", "Endpoint",
                       'label_values(nginx:requests:rate1m{site=~"$site"}, route)'),
        textbox_variable("path", "Path (regex, log lines)", ".*",
                         "RE2 regex matched against the whole request path of the log lines, "
                         "e.g. /api/items/42; the counts use Endpoint"),
        custom_variable("level", "App log level",
                        ["debug", "info", "warning", "error", "critical"]),
        textbox_variable("filter", "Line filter (regex)", "",
                         "Case-insensitive RE2 regex applied to every log panel; empty shows all"),
    ]
    return dashboard("lookout-logs", "Lookout / Logs",
                     "Errors, Python exceptions, 4xx/5xx, slow requests and JS errors, with "
                     "filterable log panels.", panels, variables, time_from="now-3h")
