"""The few choices the five dashboards share, on top of Grafana's foundation SDK
(grafana-foundation-sdk, the 11.6 line: it writes the classic dashboard model, schemaVersion 41,
that Grafana 12.x provisions from files; docs/decisions.md says why not another line).

The SDK's builders and models do the JSON; this module only keeps what would otherwise be
repeated in every dashboard: the provisioned datasources, units, legends, thresholds, the
variables' "All" handling, and panel numbering.
"""
from grafana_foundation_sdk.builders import bargauge as bargauge_builder
from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as builder
from grafana_foundation_sdk.builders import logs as logs_builder
from grafana_foundation_sdk.builders import loki as loki_builder
from grafana_foundation_sdk.builders import prometheus as prometheus_builder
from grafana_foundation_sdk.builders import stat as stat_builder
from grafana_foundation_sdk.builders import table as table_builder
from grafana_foundation_sdk.builders import timeseries as timeseries_builder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

PROMETHEUS = model.DataSourceRef(type_val="prometheus", uid="prometheus")
LOKI = model.DataSourceRef(type_val="loki", uid="loki")
# Grafana's built-in "-- Mixed --" datasource: each target then names its own datasource.
MIXED = model.DataSourceRef(type_val="datasource", uid="-- Mixed --")
GRID_WIDTH = 24
REF_IDS = "ABCDEFGHIJ"


def prom(expr, legend="", instant=False, table=False):
    """A Prometheus target. Instant queries feed stats, bar gauges and tables."""
    target = (prometheus_builder.Dataquery().datasource(PROMETHEUS).editor_mode("code")
              .expr(expr).legend_format(legend))
    target = target.instant() if instant else target.range()
    if table:
        target = target.format("table")
    return target


def loki(expr, legend="", instant=False):
    """A Loki target: log queries for log panels, metric queries for charts."""
    return (loki_builder.Dataquery().datasource(LOKI).editor_mode("code").expr(expr)
            .legend_format(legend).query_type("instant" if instant else "range"))


def thresholds(*steps):
    """steps: ("green", None), ("red", 0.05), ... — the first step has no lower bound."""
    return (builder.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE)
            .steps([model.Threshold(color=colour, value=value) for colour, value in steps]))


def value_mapping(values):
    """{"0": ("DOWN", "red"), ...}: a value mapping with colours, in the given order."""
    return [model.ValueMap(options={
        value: model.ValueMappingResult(text=text, color=colour, index=index)
        for index, (value, (text, colour)) in enumerate(values.items())})]


def transformation(kind, options=None):
    return model.DataTransformerConfig(id_val=kind, options=options or {})


def _datasource(targets):
    kinds = {t.build().datasource.uid for t in targets}
    return PROMETHEUS if kinds == {"prometheus"} else LOKI if kinds == {"loki"} else MIXED


def _common(panel, title, description, targets, w, h, unit=None, decimals=None, min=None,
            max=None, colours=None, mappings=None, no_value=None, interval=None,
            transformations=(), overrides=()):
    panel = (panel.title(title).description(description).datasource(_datasource(targets))
             .span(w).height(h))
    for ref_id, target in zip(REF_IDS, targets):
        panel = panel.with_target(target.ref_id(ref_id))
    for setting, value in (("unit", unit), ("decimals", decimals), ("min", min), ("max", max),
                           ("thresholds", colours), ("mappings", mappings),
                           ("no_value", no_value), ("interval", interval)):
        if value is not None:
            panel = getattr(panel, setting)(value)
    for item in transformations:
        panel = panel.with_transformation(item)
    for name, unit_of_field in overrides:
        panel = panel.override_by_name(name, [model.DynamicConfigValue(id_val="unit",
                                                                       value=unit_of_field)])
    return panel


def timeseries(title, description, targets, w=12, h=8, unit=None, stack=False, bars=False,
               threshold_line=None, step_line=False, **extra):
    panel = (timeseries_builder.Panel()
             .draw_style(common.GraphDrawStyle.BARS if bars else common.GraphDrawStyle.LINE)
             .fill_opacity(60 if bars else 20 if step_line else 10).line_width(1)
             .show_points(common.VisibilityMode.NEVER).span_nulls(False)
             .stacking(common_builder.StackingConfig().group("A").mode(
                 common.StackingMode.NORMAL if stack else common.StackingMode.NONE))
             .legend(common_builder.VizLegendOptions().display_mode(common.LegendDisplayMode.LIST)
                     .placement(common.LegendPlacement.BOTTOM).show_legend(True))
             .tooltip(common_builder.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI)
                      .sort(common.SortOrder.DESCENDING)))
    if step_line:
        panel = panel.line_interpolation(common.LineInterpolation.STEP_AFTER)
    if threshold_line is not None:
        # Draws the alert threshold on the chart so a reader sees how close the line is.
        panel = panel.thresholds_style(common_builder.GraphThresholdsStyleConfig().mode(
            common.GraphThresholdsStyleMode.LINE))
        extra.setdefault("colours", thresholds(("green", None), ("red", threshold_line)))
    return _common(panel, title, description, targets, w, h, unit, **extra)


def stat(title, description, targets, w=6, h=4, unit=None, **extra):
    panel = (stat_builder.Panel()
             .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"])
                             .fields("").values(False))
             .color_mode(common.BigValueColorMode.BACKGROUND)
             .graph_mode(common.BigValueGraphMode.NONE).text_mode(common.BigValueTextMode.AUTO)
             .justify_mode(common.BigValueJustifyMode.AUTO)
             .orientation(common.VizOrientation.AUTO))
    extra.setdefault("colours", thresholds(("green", None)))
    return _common(panel, title, description, targets, w, h, unit, **extra)


def bargauge(title, description, targets, w=12, h=8, unit=None, **extra):
    """Horizontal bars, one per series: how top-N lists (topk) read best."""
    panel = (bargauge_builder.Panel()
             .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"])
                             .fields("").values(False))
             .display_mode(common.BarGaugeDisplayMode.BASIC)
             .orientation(common.VizOrientation.HORIZONTAL).show_unfilled(True)
             .value_mode(common.BarGaugeValueMode.COLOR)
             .name_placement(common.BarGaugeNamePlacement.TOP))
    extra.setdefault("colours", thresholds(("blue", None)))
    return _common(panel, title, description, targets, w, h, unit, **extra)


def table(title, description, targets, w=24, h=8, unit=None, **extra):
    panel = table_builder.Panel().show_header(True).cell_height(common.TableCellHeight.SM)
    return _common(panel, title, description, targets, w, h, unit, **extra)


# Lines a log panel asks Loki for (Grafana's default too): the newest first, so a log panel
# stays a bounded read whatever the time range.
MAX_LINES = 1000


def logs(title, description, expr, w=24, h=10):
    panel = (logs_builder.Panel().show_time(True).show_labels(False).show_common_labels(False)
             .wrap_log_message(True).prettify_log_message(False).enable_log_details(True)
             .dedup_strategy(common.LogsDedupStrategy.NONE)
             .sort_order(common.LogsSortOrder.DESCENDING))
    return _common(panel, title, description, [loki(expr).max_lines(MAX_LINES)], w, h)


def row(title):
    return builder.Row(title)


ALL = model.VariableOption(selected=True, text=["All"], value=["$__all"])


def query_variable(name, label, query, all_value=".*"):
    """A Prometheus label_values() variable. With "All" selected it becomes all_value, so
    the variable must be used with =~ in queries."""
    return (builder.QueryVariable(name).label(label).datasource(PROMETHEUS)
            .query({"query": query, "refId": f"PrometheusVariableQueryEditor-{name}"})
            .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(model.VariableSort.ALPHABETICAL_ASC)
            .include_all(True).all_value(all_value).multi(True).current(ALL))


def custom_variable(name, label, values, all_value=".*"):
    return (builder.CustomVariable(name).label(label).values(",".join(values))
            .include_all(True).all_value(all_value).multi(True).current(ALL))


def textbox_variable(name, label, default, description):
    return (builder.TextBoxVariable(name).label(label).description(description)
            .default_value(default).current(model.VariableOption(text=default, value=default)))


def dashboard(uid, title, description, items, variables=(), time_from="now-6h"):
    """The dashboard model: items are rows and panels in reading order; the SDK places them
    left to right on the 24-column grid, a row starts a new line (a line may end short)."""
    board = (builder.Dashboard(title).uid(uid).description(description).tags(["lookout"])
             .timezone("browser")
             # Panels can be explored and tweaked; saving over a provisioned dashboard is
             # refused (allowUiUpdates: false), "Save as" keeps a personal copy.
             .editable().tooltip(model.DashboardCursorSync.CROSSHAIR).refresh("1m").version(1)
             .time(time_from, "now")
             .link(builder.DashboardLink("Lookout dashboards")
                   .type(model.DashboardLinkType.DASHBOARDS).tags(["lookout"]).as_dropdown(True)
                   .include_vars(False).keep_time(True)))
    line_width = 0
    for item in items:
        if isinstance(item, builder.Row):
            board, line_width = board.with_row(item), 0
            continue
        width = item.build().grid_pos.w
        # The SDK only wraps after a line overflows: every line must fill the grid exactly.
        assert line_width + width <= GRID_WIDTH, f"{item.build().title!r} overflows its line"
        board, line_width = board.with_panel(item), (line_width + width) % GRID_WIDTH
    for variable in variables:
        board = board.with_variable(variable)
    result = board.build()
    for number, panel in enumerate(result.panels, start=1):
        panel.id_val = number
    return result
