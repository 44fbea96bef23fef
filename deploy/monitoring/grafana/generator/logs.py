"""Logs: errors, Python exceptions, 4xx/5xx, slow requests, JS errors and filterable log
panels, all straight from Loki. The stream labels are the ones in docs/signals.md."""
from grafana_json import (bargauge, custom_variable, dashboard, logs, loki, query_variable, row,
                          textbox_variable, timeseries)

# The free-text filter: a case-insensitive RE2 regex; empty matches every line. Backticks
# keep backslashes literal, so \d+ or \.py work as typed.
FILTER = "|~ `(?i)$filter`"
ACCESS = '{job="nginx", logtype="access", site=~"$site"}'
# Parsed access lines of the selected methods and paths; __error__="" drops lines that are
# not JSON instead of failing the whole query.
ACCESS_JSON = (f'{ACCESS} | json | __error__="" | method=~"$method" | path=~`$path`')
APP = '{job="app", site=~"$site"}'
TRACEBACK = '|= "Traceback (most recent call last)"'
JS_ERRORS = '{app="frontend", kind="error"}'


def build():
    panels = [
        row("Errors"),
        timeseries(
            "Errors by source",
            "App log lines at ERROR/CRITICAL, nginx 4xx and 5xx answers, nginx error-log "
            "entries, Python tracebacks and browser JS errors, per interval.",
            [loki(f'sum(count_over_time({{job="app", site=~"$site", '
                  f'level=~"(?i)error|critical"}} [$__auto]))', "app ERROR/CRITICAL"),
             loki(f'sum by (status_class) (count_over_time({ACCESS_JSON} | status >= 400 '
                  '| label_format status_class=`{{ substr 0 1 .status }}xx` [$__auto]))',
                  "nginx {{status_class}}"),
             loki('sum(count_over_time({job="nginx", logtype="error", site=~"$site", '
                  'level=~"error|crit|alert|emerg"} [$__auto]))', "nginx error log"),
             loki(f"sum(count_over_time({APP} {TRACEBACK} [$__auto]))", "Python exceptions"),
             loki(f"sum(count_over_time({JS_ERRORS} [$__auto]))", "JS errors")],
            w=24, bars=True, stack=True, decimals=0),
        timeseries("HTTP 4xx / 5xx by status code",
                   "nginx access-log lines with status >= 400.",
                   [loki(f"sum by (status) (count_over_time({ACCESS_JSON} | status >= 400 "
                         "[$__auto]))", "{{status}}")],
                   bars=True, stack=True, decimals=0),
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
                   [loki(f"sum(count_over_time({ACCESS_JSON} | request_time > 1 [$__auto]))",
                         "requests > 1 s")], w=8, bars=True, decimals=0),
        bargauge("Slowest endpoints (requests > 1 s)",
                 "Method and path with the most requests over 1 s in the selected range.",
                 [loki(f"topk(10, sum by (method, path) (count_over_time({ACCESS_JSON} "
                       "| request_time > 1 [$__auto])))", "{{method}} {{path}}",
                       instant=True)], w=8, decimals=0),
        logs("Slow request lines", "request_time in seconds, status, method and URI.",
             f"{ACCESS} {FILTER} | json | __error__=\"\" | method=~\"$method\" | path=~`$path`"
             " | request_time > 1"
             " | line_format `{{.request_time}}s {{.status}} {{.method}} {{.request_uri}}`",
             w=8, h=8),
        row("HTTP methods and endpoints"),
        timeseries("Requests by method", "", [
            loki(f"sum by (method) (count_over_time({ACCESS_JSON} [$__auto]))", "{{method}}")],
            w=8, bars=True, stack=True, decimals=0),
        bargauge("Top endpoints", "Most requested method + path in the selected range.",
                 [loki(f"topk(10, sum by (method, path) (count_over_time({ACCESS_JSON} "
                       "[$__auto])))", "{{method}} {{path}}", instant=True)],
                 w=8, decimals=0),
        bargauge("Top endpoints answered 4xx/5xx", "",
                 [loki(f"topk(10, sum by (status, path) (count_over_time({ACCESS_JSON} "
                       "| status >= 400 [$__auto])))", "{{status}} {{path}}", instant=True)],
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
             f"{ACCESS} {FILTER} | json | __error__=\"\" | method=~\"$method\" "
             "| path=~`$path`"),
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
        textbox_variable("path", "Path (regex)", ".*",
                         "RE2 regex matched against the whole request path, e.g. /api/.*"),
        custom_variable("level", "App log level",
                        ["debug", "info", "warning", "error", "critical"]),
        textbox_variable("filter", "Line filter (regex)", "",
                         "Case-insensitive RE2 regex applied to every log panel; empty shows all"),
    ]
    return dashboard("lookout-logs", "Lookout / Logs",
                     "Errors, Python exceptions, 4xx/5xx, slow requests and JS errors from Loki, "
                     "with filterable log panels.", panels, variables, time_from="now-3h")
