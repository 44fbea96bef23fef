"""Uptime: is the application answering 200, and how often was it not (blackbox probes)."""
from panels import (dashboard, prom, query_variable, row, stat, table, thresholds, timeseries,
                    transformation, value_mapping)

PROBE = '{site=~"$site", instance=~"$instance"}'
UP_DOWN = value_mapping({"0": ("DOWN", "red"), "1": ("UP", "green")})
UPTIME_COLOURS = thresholds(("red", None), ("orange", 0.99), ("green", 0.999))


def uptime_stat(title, window, description):
    return stat(title, description,
                [prom(f"avg_over_time(probe_success{PROBE}[{window}])", "{{instance}}",
                      instant=True)],
                w=5, unit="percentunit", decimals=3, colours=UPTIME_COLOURS)


def build():
    panels = [
        row("Now"),
        stat("Status now", "Result of the latest blackbox probe: UP means HTTP 200 within the "
             "timeout (module http_2xx accepts only 200).",
             [prom(f"probe_success{PROBE}", "{{instance}}", instant=True)],
             w=4, mappings=UP_DOWN, colours=thresholds(("red", None), ("green", 1))),
        uptime_stat("Uptime (selected range)", "$__range",
                    "Share of successful probes over the dashboard's time range."),
        uptime_stat("Uptime (24 h)", "24h", "Share of successful probes over the last day."),
        uptime_stat("Uptime (7 days)", "7d",
                    "Share of successful probes over the retention period (7 days)."),
        stat("HTTP status now", "Status code of the latest probe (0 when there was no answer).",
             [prom(f"probe_http_status_code{PROBE}", "{{instance}}", instant=True)],
             w=5, colours=thresholds(("red", None), ("green", 200), ("red", 201))),
        row("History"),
        timeseries("Probe result (1 = up, 0 = down)",
                   "Every probe, once a minute. LookoutSiteDown fires after two failed "
                   "probes in a row.",
                   [prom(f"probe_success{PROBE}", "{{instance}}")],
                   min=0, max=1, step_line=True),
        timeseries("Failed probes",
                   "Probes that did not get a 200, per interval.",
                   [prom(f"sum by (instance) (count_over_time(probe_success{PROBE}[$__interval])"
                         f" - sum_over_time(probe_success{PROBE}[$__interval]))",
                         "{{instance}}")],
                   bars=True, min=0, decimals=0, interval="1m"),
        timeseries("HTTP status code", "Status code returned to each probe.",
                   [prom(f"probe_http_status_code{PROBE}", "{{instance}}")], decimals=0),
        timeseries("Probe time by phase",
                   "Where each probe spends its time: resolve (DNS), connect, tls, "
                   "processing (time to first byte) and transfer.",
                   [prom(f"probe_http_duration_seconds{PROBE}", "{{instance}} {{phase}}")],
                   unit="s", stack=True),
        row("DNS, TLS and alerts"),
        stat("DNS lookup", "Time the last probe took to resolve the target's name.",
             [prom(f"probe_dns_lookup_time_seconds{PROBE}", "{{instance}}", instant=True)],
             w=6, unit="s", colours=thresholds(("green", None), ("orange", 0.5))),
        stat("TLS certificate expires in",
             "Only for https targets; the default target http://application:80 has none.",
             [prom(f"probe_ssl_earliest_cert_expiry{PROBE} - time()", "{{instance}}",
                   instant=True)],
             w=6, unit="dtdurations", no_value="no TLS (plain HTTP target)",
             colours=thresholds(("red", None), ("orange", 7 * 86400), ("green", 21 * 86400))),
        table("Firing Lookout alerts",
              "Alerts Prometheus is firing right now (Alertmanager sends the e-mails).",
              [prom('ALERTS{alertstate="firing", alertname=~"Lookout.*"}', instant=True,
                    table=True)],
              w=12, h=4, transformations=[transformation("organize", {
                  "excludeByName": {"Time": True, "Value": True, "__name__": True,
                                    "alertstate": True}})]),
    ]
    variables = [
        query_variable("site", "Site", "label_values(probe_success, site)"),
        query_variable("instance", "Probe target",
                       'label_values(probe_success{site=~"$site"}, instance)'),
    ]
    return dashboard("lookout-uptime", "Lookout / Uptime",
                     "Blackbox probes of the application: up/down, uptime %, status codes.",
                     panels, variables, time_from="now-24h")
