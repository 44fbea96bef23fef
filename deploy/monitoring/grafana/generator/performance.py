"""Performance: latency percentiles and errors from real traffic (nginx access log series
recorded by the Loki ruler) next to the outside view from blackbox probes."""
from panels import (dashboard, prom, query_variable, row, stat, table, thresholds, timeseries,
                    transformation)

SITE = '{site=~"$site"}'
REQUESTS = '{site=~"$site", method=~"$method", route=~"$route"}'
ERRORS = '{site=~"$site", method=~"$method", route=~"$route", status_class=~"4xx|5xx"}'
LATENCY_COLOURS = thresholds(("green", None), ("orange", 1), ("red", 2))


def build():
    panels = [
        # Four stats of width 5 leave 4 columns free at the end of this line: room for the
        # SLO's "Error budget left (30 d)" stat.
        row("Now"),
        stat("P95 latency (nginx)", "95th percentile of request_time over 5 minutes. "
             "LookoutSlowRequests fires above 2 s.",
             [prom(f"max by (site) (nginx:request_time_seconds:p95_5m{SITE})", "{{site}}",
                   instant=True)],
             w=5, unit="s", colours=LATENCY_COLOURS),
        stat("Error rate", "Share of requests answered 4xx or 5xx over 5 minutes. "
             "LookoutHighErrorRate fires above 5 %.",
             [prom(f"site:http_errors:ratio_rate5m{SITE}", "{{site}}", instant=True)],
             w=5, unit="percentunit", decimals=2,
             colours=thresholds(("green", None), ("orange", 0.02), ("red", 0.05))),
        stat("Requests per second", "All requests nginx answered (selected methods/routes).",
             [prom(f"sum(nginx:requests:rate1m{REQUESTS})", instant=True)], w=5, unit="reqps"),
        stat("Slow requests now (> 1 s)", "Requests whose request_time was above 1 second "
             "(selected methods/routes).",
             [prom(f"sum(nginx:slow_requests:rate1m{REQUESTS})", instant=True)], w=5,
             unit="reqps", colours=thresholds(("green", None), ("orange", 0.01))),
        row("Latency"),
        timeseries("Request latency P50 / P95 / P99 (nginx)",
                   "Percentiles of nginx request_time (server-side time per request).",
                   [prom(f"nginx:request_time_seconds:p50_5m{SITE}", "{{site}} P50"),
                    prom(f"nginx:request_time_seconds:p95_5m{SITE}", "{{site}} P95"),
                    prom(f"nginx:request_time_seconds:p99_5m{SITE}", "{{site}} P99")],
                   unit="s", threshold_line=2),
        timeseries("P95 latency by endpoint (top 10)",
                   "Slowest method + route pairs; routes have ids replaced by :id.",
                   [prom("topk(10, nginx:request_time_seconds:p95_5m_by_route"
                         f"{REQUESTS})", "{{method}} {{route}}")],
                   unit="s", threshold_line=2),
        timeseries("TTFB (blackbox)",
                   "Time to first byte seen by the probe: the processing phase of the request.",
                   [prom(f'probe_http_duration_seconds{{phase="processing", site=~"$site"}}',
                         "{{instance}}")], w=8, unit="s"),
        timeseries("Probe duration",
                   "Total probe time and its P95 over 10 minutes. LookoutSlowProbe fires "
                   "when the P95 is above 2 s.",
                   [prom(f"probe_duration_seconds{SITE}", "{{instance}}"),
                    prom(f"probe:duration_seconds:p95_10m{SITE}", "{{instance}} P95 10m")],
                   w=8, unit="s", threshold_line=2),
        timeseries("Probe time by phase", "resolve, connect, tls, processing, transfer.",
                   [prom(f"probe_http_duration_seconds{SITE}", "{{phase}}")],
                   w=8, unit="s", stack=True),
        row("Errors"),
        timeseries("Error rate (4xx + 5xx share)", "The series LookoutHighErrorRate uses.",
                   [prom(f"site:http_errors:ratio_rate5m{SITE}", "{{site}}")],
                   unit="percentunit", min=0, threshold_line=0.05),
        timeseries("4xx vs 5xx share of requests",
                   "Client errors (4xx) and server errors (5xx), each as a share of all "
                   "requests of the selected methods and routes.",
                   [prom(f"sum by (site, status_class) (nginx:requests:rate1m{ERRORS}) / "
                         "ignoring (status_class) group_left "
                         f"sum by (site) (nginx:requests:rate1m{REQUESTS})",
                         "{{site}} {{status_class}}")],
                   unit="percentunit", min=0),
        row("Traffic by status, method and endpoint"),
        timeseries("Requests by status class", "",
                   [prom(f"sum by (status_class) (nginx:requests:rate1m{REQUESTS})",
                         "{{status_class}}")], w=8, unit="reqps", stack=True),
        timeseries("Requests by method", "",
                   [prom(f"sum by (method) (nginx:requests:rate1m{REQUESTS})", "{{method}}")],
                   w=8, unit="reqps", stack=True),
        timeseries("Requests by endpoint (top 10)", "",
                   [prom(f"topk(10, sum by (route) (nginx:requests:rate1m{REQUESTS}))",
                         "{{route}}")], w=8, unit="reqps"),
        timeseries("Slow requests (> 1 s)", "nginx requests whose request_time was above 1 s, "
                   "per method and route (the ten with the most).",
                   [prom(f"topk(10, sum by (method, route) (nginx:slow_requests:rate1m{REQUESTS}))",
                         "{{method}} {{route}}")], w=24, unit="reqps"),
        table("Endpoints", "Per method and route: request rate, error share and P95 latency.",
              [prom(f"sum by (method, route) (nginx:requests:rate1m{REQUESTS})",
                    instant=True, table=True),
               prom(f"sum by (method, route) (nginx:requests:rate1m{ERRORS}) / "
                    f"sum by (method, route) (nginx:requests:rate1m{REQUESTS})",
                    instant=True, table=True),
               prom("max by (method, route) (nginx:request_time_seconds:p95_5m_by_route"
                    f"{REQUESTS})", instant=True, table=True)],
              h=10,
              transformations=[
                  transformation("merge"),
                  transformation("organize", {
                      "excludeByName": {"Time": True},
                      "renameByName": {"Value #A": "Requests/s", "Value #B": "Error share",
                                       "Value #C": "P95 latency"}}),
                  transformation("sortBy", {"sort": [{"field": "Requests/s", "desc": True}]}),
              ],
              overrides=[("Requests/s", "reqps"), ("Error share", "percentunit"),
                         ("P95 latency", "s")]),
    ]
    variables = [
        query_variable("site", "Site", "label_values(probe_success, site)"),
        query_variable("method", "Method",
                       'label_values(nginx:requests:rate1m{site=~"$site"}, method)'),
        query_variable("route", "Endpoint",
                       'label_values(nginx:requests:rate1m{site=~"$site"}, route)'),
    ]
    return dashboard("lookout-performance", "Lookout / Performance",
                     "Latency (P50/P95/P99), TTFB, error rates and traffic by endpoint and method.",
                     panels, variables)
