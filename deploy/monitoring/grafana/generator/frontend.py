"""Frontend: real-user page load times, web vitals and JS errors. Timings come from the
collector's histograms (Prometheus); messages and per-page detail come from Loki."""
import re
from pathlib import Path

from panels import (bargauge, dashboard, logs, loki, prom, row, stat, textbox_variable, thresholds,
                    timeseries)

JS_ERRORS = '{app="frontend", kind="error"}'
PAGELOADS = '{app="frontend", kind="pageload"}'
RULES = Path(__file__).resolve().parents[2] / "loki" / "rules" / "fake" / "nginx-access.yaml"


def page_route():
    """`page` (location.pathname) with ids replaced by :id, with the regular expression of the
    access-log rules' route template: grouped by the raw page, an application with ids in its
    URLs makes one series per id and the panel fails at Loki's series limit (issue 12)."""
    [pattern] = set(re.findall(r'regexReplaceAll "([^"]+)"', RULES.read_text()))
    once = f'regexReplaceAll "{pattern}" .page "/:id${{2}}"'
    return f'| label_format page=`{{{{ regexReplaceAll "{pattern}" ({once}) "/:id${{2}}" }}}}`'


def quantile(metric, q, window="$__rate_interval", fn="rate"):
    return (f"histogram_quantile({q}, sum by (le) ({fn}(lookout_frontend_{metric}_bucket"
            f"[{window}])))")


def p75_stat(title, metric, unit, good, poor, description):
    """P75 over the selected range: the percentile web-vitals thresholds are defined on."""
    return stat(title, description,
                [prom(quantile(metric, 0.75, "$__range", "increase"), instant=True)],
                w=8 if metric in ("lcp_seconds", "inp_seconds", "cls") else 6,
                unit=unit, decimals=2 if unit is None else None,
                colours=thresholds(("green", None), ("orange", good), ("red", poor)))


def percentiles(title, metric, unit, description, w=12, threshold=None):
    return timeseries(title, description,
                      [prom(quantile(metric, q), f"P{int(q * 100)}") for q in (0.5, 0.75, 0.95)],
                      w=w, unit=unit, threshold_line=threshold)


def build():
    panels = [
        row("Page load (Navigation Timing)"),
        p75_stat("TTFB (P75)", "ttfb_seconds", "s", 0.8, 1.8,
                 "Time to first byte measured in the browser (includes network)."),
        p75_stat("DOMContentLoaded (P75)", "dom_content_loaded_seconds", "s", 2, 4,
                 "Navigation start to DOMContentLoaded."),
        p75_stat("Full load (P75)", "load_seconds", "s", 3, 6,
                 "Navigation start to the load event."),
        stat("Page loads", "Page loads reported by browsers in the selected range.",
             [prom("sum(increase(lookout_frontend_load_seconds_count[$__range]))",
                   instant=True)], decimals=0, colours=thresholds(("blue", None))),
        percentiles("DOMContentLoaded", "dom_content_loaded_seconds", "s", ""),
        percentiles("Full page load", "load_seconds", "s", ""),
        percentiles("TTFB (browsers)", "ttfb_seconds", "s",
                    "Compare with the blackbox TTFB on the Performance dashboard: the "
                    "difference is the users' network."),
        timeseries("Page loads per second", "",
                   [prom("sum(rate(lookout_frontend_load_seconds_count[$__rate_interval]))",
                         "page loads")]),
        bargauge("Slowest pages (average full load)",
                 "From the pageload events in Loki (milliseconds, as browsers report them); "
                 "pages with ids replaced by :id, as routes are.",
                 [loki(f'topk(10, avg_over_time({PAGELOADS} | json | __error__="" {page_route()} '
                       '| unwrap load | __error__="" [$__auto]) by (page))', "{{page}}",
                       instant=True)],
                 w=24, unit="ms"),
        row("Core Web Vitals"),
        p75_stat("LCP (P75)", "lcp_seconds", "s", 2.5, 4,
                 "Largest Contentful Paint; good below 2.5 s, poor above 4 s."),
        p75_stat("INP (P75)", "inp_seconds", "s", 0.2, 0.5,
                 "Interaction to Next Paint; good below 200 ms, poor above 500 ms."),
        p75_stat("CLS (P75)", "cls", None, 0.1, 0.25,
                 "Cumulative Layout Shift (unitless); good below 0.1, poor above 0.25."),
        percentiles("LCP", "lcp_seconds", "s", "", w=8, threshold=2.5),
        percentiles("INP", "inp_seconds", "s", "", w=8, threshold=0.2),
        percentiles("CLS", "cls", None, "", w=8, threshold=0.1),
        row("JavaScript errors"),
        stat("JS errors", "Errors reported by browsers in the selected range.",
             [prom("sum(increase(lookout_frontend_js_errors_total[$__range]))", instant=True)],
             decimals=0, colours=thresholds(("green", None), ("orange", 1), ("red", 50))),
        timeseries("JS errors per minute by type", "error, resource or unhandledrejection.",
                   [prom("sum by (type) (rate(lookout_frontend_js_errors_total"
                         "[$__rate_interval])) * 60", "{{type}}")],
                   w=18, bars=True, stack=True),
        bargauge("Top JS error messages", "From the error events in Loki.",
                 [loki(f'topk(10, sum by (message) (count_over_time({JS_ERRORS} | json '
                       '| __error__="" [$__auto])))', "{{message}}", instant=True)], decimals=0),
        bargauge("Pages with the most JS errors", "",
                 [loki(f'topk(10, sum by (page) (count_over_time({JS_ERRORS} | json '
                       f'| __error__="" {page_route()} [$__auto])))', "{{page}}",
                       instant=True)], decimals=0),
        logs("JS error events", "Message, source, line, stack and page of each error.",
             f"{JS_ERRORS} |~ `(?i)$filter`"),
        row("Collector (browser telemetry receiver)"),
        timeseries("Events received", "Accepted, rejected (by reason) and rate-limited events.",
                   [prom("sum(rate(lookout_collector_events_accepted_total[$__rate_interval]))",
                         "accepted"),
                    prom("sum by (reason) (rate(lookout_collector_events_rejected_total"
                         "[$__rate_interval]))", "rejected: {{reason}}"),
                    prom("sum(rate(lookout_collector_rate_limited_total[$__rate_interval]))",
                         "rate-limited")], w=8, unit="ops"),
        timeseries("Forwarding to Loki", "Events forwarded, retried and dropped.",
                   [prom("sum(rate(lookout_collector_events_forwarded_total[$__rate_interval]))",
                         "forwarded"),
                    prom("sum(rate(lookout_collector_forward_retries_total[$__rate_interval]))",
                         "retries"),
                    prom("sum(rate(lookout_collector_events_dropped_total[$__rate_interval]))",
                         "dropped")], w=8, unit="ops"),
        timeseries("Queue depth", "Events waiting to be forwarded to Loki.",
                   [prom("max(lookout_collector_queue_depth)", "queued")], w=8, decimals=0),
    ]
    variables = [
        textbox_variable("filter", "Line filter (regex)", "",
                         "Case-insensitive RE2 regex applied to the JS error log panel"),
    ]
    return dashboard("lookout-frontend", "Lookout / Frontend",
                     "Real-user page load times, Core Web Vitals and JS errors from logger.js.",
                     panels, variables)
