"""The Loki ruler's recording rules (deploy/monitoring/loki/rules/fake/*.yaml), evaluated in
Python over log lines that already lie in the past, so that their series can be backfilled
into Prometheus (the real ruler only ever evaluates "now").

Nothing here restates a rule: each rule's expression is read from the rule file and
interpreted. What is understood is the shape the rule files use (and nothing else, so that a
new shape fails loudly instead of being computed wrongly):

    sum by (L...) (rate|count_over_time(PIPELINE [R] offset O))
    quantile_over_time(q, PIPELINE | unwrap F | __error__="" [R] offset O) by (L...)

with PIPELINE = a stream selector, `| json`, `| __error__=""`, label filters (`F > 1`,
`F >= 400`, `F = "x"`, `F =~ "re"`) and `| label_format a=`template`, ...` whose Go templates
may use .field, "strings", numbers, ( ), if/else/end, eq, substr and regexReplaceAll: the
functions the rules use, with the semantics of Loki's template functions (Go regexp, ${n}
expansion). bench/dashboards/run.py checks the result against a real Loki where one is on
PATH; deploy/tests/test_bench_dashboards.py runs it on sample lines in CI.

Evaluation times are every minute (the rule groups' interval), at whole minutes or at a given
phase within the minute; a window (T-O-R, T-O] holds the lines whose timestamp t satisfies
T-O-R < t <= T-O, as Loki's range vectors do (checked against a real Loki and its ruler,
lines on the edges included, by deploy/tests/test_bench_dashboards.py). Loki keeps one copy
of entries identical in time and text; this evaluator counts every entry it is given, so it
must be given no such duplicates (the generator's lines carry unique request ids).
"""
from __future__ import annotations

import functools
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
RULE_DIR = REPO / "deploy/monitoring/loki/rules/fake"
NS = 1_000_000_000
UNITS = {"s": 1, "m": 60, "h": 3600}


class Unsupported(ValueError):
    """A rule uses a LogQL or template construct this evaluator does not implement."""


# --- Go templates (the subset Loki's label_format rules use) ------------------------------

TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<field>\.[A-Za-z_]\w*)|(?P<num>-?\d+)'
                   r'|(?P<open>\()|(?P<close>\))|(?P<ident>[A-Za-z_]\w*))')


@functools.lru_cache(maxsize=256)
def go_replacement(repl: str) -> str:
    """Go's Regexp.Expand syntax ($1, ${1}, $name) as a Python re.sub template."""
    out, i = [], 0
    while i < len(repl):
        c = repl[i]
        if c == "$" and i + 1 < len(repl):
            m = re.match(r"\{(\w+)\}|(\w+)", repl[i + 1:])
            if repl[i + 1] == "$":
                out.append("$")
                i += 2
                continue
            if m:
                out.append(r"\g<%s>" % (m.group(1) or m.group(2)))
                i += 1 + m.end()
                continue
        out.append("\\\\" if c == "\\" else c)
        i += 1
    return "".join(out)


def _substr(start, end, s):  # sprig's substr
    start, end = int(start), int(end)
    if start < 0:
        return s[:end]
    if end < 0 or end > len(s):
        return s[start:]
    return s[start:end]


FUNCTIONS = {
    "eq": lambda a, *b: any(a == x for x in b),
    "substr": _substr,
    "regexReplaceAll": lambda regex, s, repl: re.sub(regex, go_replacement(repl), s),
    "regexReplaceAllLiteral": lambda regex, s, repl: re.sub(regex, lambda _: repl, s),
    "ToLower": str.lower, "toLower": str.lower, "ToUpper": str.upper, "toUpper": str.upper,
}


def _parse_pipeline(text: str):
    """A template action's pipeline as nested tuples: ("call", name, args) | ("field", f) |
    ("lit", value)."""
    tokens = [m for m in TOKEN.finditer(text) if m.group(0).strip()]
    if sum(len(m.group(0)) for m in TOKEN.finditer(text)) != len(text.rstrip()):
        raise Unsupported(f"template action not understood: {text!r}")
    pos = 0

    def operand():
        nonlocal pos
        m = tokens[pos]
        pos += 1
        if m.group("str"):
            return ("lit", json.loads(m.group("str")))
        if m.group("num"):
            return ("lit", int(m.group("num")))
        if m.group("field"):
            return ("field", m.group("field")[1:])
        if m.group("open"):
            inner = command()
            if pos >= len(tokens) or not tokens[pos].group("close"):
                raise Unsupported(f"unbalanced ( in {text!r}")
            pos += 1
            return inner
        if m.group("ident"):
            return ("call", m.group("ident"), [])
        raise Unsupported(f"unexpected {m.group(0)!r} in {text!r}")

    def command():
        nonlocal pos
        m = tokens[pos]
        if m.group("ident"):
            name = m.group("ident")
            if name not in FUNCTIONS:
                raise Unsupported(f"template function {name!r} is not implemented ({text!r})")
            pos += 1
            args = []
            while pos < len(tokens) and not tokens[pos].group("close"):
                args.append(operand())
            return ("call", name, args)
        return operand()

    node = command()
    if pos != len(tokens):
        raise Unsupported(f"pipes or trailing tokens are not implemented: {text!r}")
    return node


def _evaluate(node, labels):
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "field":
        return labels.get(node[1], "")
    return FUNCTIONS[node[1]](*[_evaluate(a, labels) for a in node[2]])


def _fields(node, found):
    if node[0] == "field":
        found.add(node[1])
    elif node[0] == "call":
        for a in node[2]:
            _fields(a, found)


@dataclass
class Template:
    """A compiled Go text/template: literal text, {{ pipeline }}, {{ if }}/{{ else }}/{{ end }}."""
    source: str
    fields: tuple = ()
    body: list = field(default_factory=list)

    def __post_init__(self):
        parts = re.split(r"\{\{-?\s*(.*?)\s*-?\}\}", self.source)
        stack = [self.body]
        found: set[str] = set()
        for i, part in enumerate(parts):
            if i % 2 == 0:
                if part:
                    stack[-1].append(("text", part))
                continue
            if part.startswith("if "):
                cond = _parse_pipeline(part[3:])
                _fields(cond, found)
                node = ("if", cond, [], [])
                stack[-1].append(node)
                stack.append(node[2])
            elif part == "else":
                stack.pop()
                stack.append(self._open_if(stack)[3])
            elif part == "end":
                stack.pop()
            else:
                pipe = _parse_pipeline(part)
                _fields(pipe, found)
                stack[-1].append(("out", pipe))
        if len(stack) != 1:
            raise Unsupported(f"unclosed {{{{ if }}}} in {self.source!r}")
        self.fields = tuple(sorted(found))
        self._cache: dict = {}

    @staticmethod
    def _open_if(stack):
        node = stack[-1][-1]
        if node[0] != "if":
            raise Unsupported("{{ else }} without {{ if }}")
        return node

    def _run(self, nodes, labels, out):
        for node in nodes:
            if node[0] == "text":
                out.append(node[1])
            elif node[0] == "out":
                out.append(str(_evaluate(node[1], labels)))
            else:
                cond = _evaluate(node[1], labels)
                self._run(node[2] if cond not in (False, "", 0, None) else node[3], labels, out)

    def render(self, labels: dict) -> str:
        key = tuple(labels.get(f, "") for f in self.fields)
        value = self._cache.get(key)
        if value is None:
            out: list[str] = []
            self._run(self.body, labels, out)
            value = self._cache[key] = "".join(out)
        return value


# --- LogQL rules -----------------------------------------------------------------------------

def _split_top(text: str, sep: str) -> list[str]:
    """`text` split at `sep` outside backticks, double quotes and parentheses."""
    parts, depth, quote, start, i = [], 0, None, 0, 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"`":
            quote = c
        elif c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i + len(sep)
            i += len(sep)
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _matcher(text: str):
    m = re.fullmatch(r'\s*(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*', text)
    if not m:
        raise Unsupported(f"matcher not understood: {text!r}")
    name, op, value = m.group(1), m.group(2), json.loads(f'"{m.group(3)}"')
    if op in ("=~", "!~"):
        rx = re.compile(value)
        return lambda l: bool(rx.fullmatch(l.get(name, ""))) == (op == "=~")
    return lambda l: (l.get(name, "") == value) == (op == "=")


COMPARE = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__,
           "==": float.__eq__, "!=": float.__ne__}


def _stage(text: str):
    """One pipeline stage as a function labels -> labels (possibly changed) or None (dropped)."""
    if text == "json":
        def parse(labels):
            extracted = labels["__json__"]()  # parsed once per line, shared by every rule
            if extracted is None:
                labels["__error__"] = "JSONParserErr"
            else:
                labels.update(extracted)
            return labels
        return parse
    if text == '__error__=""':
        return lambda labels: None if labels.get("__error__") else labels
    if text.startswith("label_format "):
        assignments = []
        for part in _split_top(text[len("label_format "):], ","):
            m = re.fullmatch(r"(\w+)\s*=\s*`([^`]*)`", part)
            if not m:
                raise Unsupported(f"label_format assignment not understood: {part!r}")
            assignments.append((m.group(1), Template(m.group(2))))

        def relabel(labels):
            values = [(name, t.render(labels)) for name, t in assignments]
            labels.update(values)
            return labels
        return relabel
    m = re.fullmatch(r"(\w+)\s*(>=|<=|==|!=|>|<)\s*(-?[\d.]+)", text)
    if m:
        name, op, number = m.group(1), COMPARE[m.group(2)], float(m.group(3))

        def compare(labels):
            try:
                return labels if op(float(labels.get(name, "")), number) else None
            except ValueError:
                labels["__error__"] = "LabelFilterErr"
                return labels
        return compare
    if re.fullmatch(r'\w+\s*(=~|!~|!=|=)\s*".*"', text):
        match = _matcher(text)
        return lambda labels: labels if match(labels) else None
    raise Unsupported(f"pipeline stage not implemented: {text!r}")


def json_fields(line: str, stream: dict):
    """Loki's `| json` on one line: every top-level field, keys with other characters than
    [A-Za-z0-9_] sanitised to _ (and suffixed _extracted where a stream label has the name),
    values as text; None when the line is not a JSON object."""
    try:
        fields = json.loads(line)
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    out = {}
    for k, v in fields.items():
        if isinstance(v, (dict, list)):
            raise Unsupported("nested JSON is not implemented")
        k = _key(k)
        out[k + "_extracted" if k in stream else k] = v if isinstance(v, str) else json.dumps(v)
    return out


@functools.lru_cache(maxsize=4096)
def _key(k: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", k)


def json_fields_of(line: str, stream: dict):
    """A memo of json_fields(line, stream), for one line."""
    memo = []

    def get():
        if not memo:
            memo.append(json_fields(line, stream))
        return memo[0]
    return get


def duration_seconds(text: str) -> int:
    m = re.fullmatch(r"(\d+)([smh])", text)
    if not m:
        raise Unsupported(f"duration {text!r}")
    return int(m.group(1)) * UNITS[m.group(2)]


@dataclass
class Rule:
    record: str
    expr: str
    function: str = ""
    quantile: float | None = None
    by: tuple = ()
    range_s: int = 0
    offset_s: int = 0
    selector: list = field(default_factory=list)
    stages: list = field(default_factory=list)
    unwrap: str | None = None
    _selected: dict = field(default_factory=dict)

    def __post_init__(self):
        expr = " ".join(self.expr.split())
        ranges = list(re.finditer(r"\[(\d+[smh])\](?: offset (\d+[smh]))?", expr))
        if not ranges:
            raise Unsupported(f"{self.record}: no range")
        r = ranges[-1]
        self.range_s = duration_seconds(r.group(1))
        self.offset_s = duration_seconds(r.group(2)) if r.group(2) else 0
        head, pipeline, tail = expr[:expr.index("{")], expr[expr.index("{"):r.start()].strip(), expr[r.end():]
        sum_by = re.fullmatch(r"sum by \(([^)]*)\) \( ?(rate|count_over_time)\( ?", head)
        quantile = re.fullmatch(r"quantile_over_time\( ?([\d.]+), ?", head)
        if sum_by and re.fullmatch(r" ?\) ?\)", tail):
            self.function, by = sum_by.group(2), sum_by.group(1)
        elif quantile and re.fullmatch(r" ?\) by \(([^)]*)\)", tail):
            self.function, self.quantile = "quantile_over_time", float(quantile.group(1))
            by = re.fullmatch(r" ?\) by \(([^)]*)\)", tail).group(1)
        else:
            raise Unsupported(f"{self.record}: expression shape not implemented: {expr}")
        self.by = tuple(l.strip() for l in by.split(","))
        selector, *stages = _split_top(pipeline, "|")
        if not (selector.startswith("{") and selector.endswith("}")):
            raise Unsupported(f"{self.record}: selector {selector!r}")
        self.selector = [_matcher(m) for m in _split_top(selector[1:-1], ",")]
        for stage in stages:
            if stage.startswith("unwrap "):
                if self.function != "quantile_over_time":
                    raise Unsupported(f"{self.record}: unwrap outside quantile_over_time")
                self.unwrap = stage.split()[1]
                self.stages.append(self._unwrap_stage(self.unwrap))
            else:
                self.stages.append(_stage(stage))
        if (self.function == "quantile_over_time") != (self.unwrap is not None):
            raise Unsupported(f"{self.record}: quantile_over_time needs exactly one unwrap")

    @staticmethod
    def _unwrap_stage(name):
        def unwrap(labels):
            try:
                labels["__value__"] = float(labels.get(name, ""))
            except ValueError:
                labels["__error__"] = "SampleExtractionErr"
            return labels
        return unwrap

    def sample(self, stream: dict, line: str, parsed=None, key=None):
        """(group key, value) this line contributes, or None when the pipeline drops it.
        `parsed` returns the line's JSON fields (or None), computed once for all rules;
        `key` identifies the stream (its sorted labels)."""
        key = key or tuple(sorted(stream.items()))
        selected = self._selected.get(key)
        if selected is None:
            selected = self._selected[key] = all(m(stream) for m in self.selector)
        if not selected:
            return None
        labels = dict(stream)
        labels["__line__"] = line
        labels["__json__"] = parsed or json_fields_of(line, stream)
        for stage in self.stages:
            labels = stage(labels)
            if labels is None:
                return None
        return tuple([labels.get(l, "") for l in self.by]), labels.get("__value__", 1.0)


def load_rules(rule_dir: Path = RULE_DIR) -> list[Rule]:
    rules = []
    for path in sorted(Path(rule_dir).glob("*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            interval = duration_seconds(group.get("interval", "1m"))
            if interval != 60:
                raise Unsupported(f"{path.name}: group interval {interval}s (only 1m is implemented)")
            rules += [Rule(r["record"], r["expr"]) for r in group["rules"] if "record" in r]
    return rules


def quantile(q: float, values: list[float]) -> float:
    """Prometheus's quantile (promql/quantile.go, which Loki's quantile_over_time uses)."""
    if not values:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    values = sorted(values)
    rank = q * (len(values) - 1)
    lower = max(0, math.floor(rank))
    upper = min(len(values) - 1, lower + 1)
    weight = rank - math.floor(rank)
    return values[lower] * (1 - weight) + values[upper] * weight


def evaluate(entries, rules: list[Rule], start_s: int, end_s: int, phase_ms: int = 0):
    """Yields (evaluation time in s, rule, {label tuple: value}) for every evaluation time
    T = whole minute + phase_ms in [start_s, end_s], from `entries` = (ts_ns, stream labels,
    line) in time order. (The real ruler evaluates each group at a phase of its own.)"""
    for rule in rules:
        if rule.range_s % 60:
            raise Unsupported(f"{rule.record}: range {rule.range_s}s is not whole minutes")
    # buckets[rule][m][key] holds the values of minute m: lines with
    # (m-1)*60 < t + offset <= m*60, so that the window of evaluation time k*60 is the
    # minutes k - range/60 + 1 .. k.
    buckets = [defaultdict(lambda: defaultdict(list)) for _ in rules]
    first = math.ceil((start_s - phase_ms / 1000) / 60)
    last = math.floor((end_s - phase_ms / 1000) / 60)

    def emit(k):
        for i, rule in enumerate(rules):
            minutes = range(k - rule.range_s // 60 + 1, k + 1)
            merged: dict = defaultdict(list)
            for m in minutes:
                for key, values in buckets[i].get(m, {}).items():
                    merged[key].extend(values)
            out = {}
            for key, values in merged.items():
                if rule.function == "rate":
                    out[key] = len(values) / rule.range_s
                elif rule.function == "count_over_time":
                    out[key] = float(len(values))
                else:
                    out[key] = quantile(rule.quantile, values)
            yield (k * 60 + phase_ms / 1000 if phase_ms else k * 60), rule, out
            buckets[i].pop(k - rule.range_s // 60 + 1, None)  # never needed again

    k = first
    next_check = -math.inf
    # shifted so that evaluation k*60 + phase reads the minutes k - range/60 + 1 .. k
    offsets, MINUTE = [r.offset_s * NS - phase_ms * 1_000_000 for r in rules], 60 * NS
    for ts, stream, line in entries:
        parsed = json_fields_of(line, stream)
        key = tuple(sorted(stream.items()))
        for i, rule in enumerate(rules):
            minute = -((-ts - offsets[i]) // MINUTE)  # ceil((ts + offset) / 60 s)
            sample = rule.sample(stream, line, parsed, key)
            if sample is not None:
                buckets[i][minute][sample[0]].append(sample[1])
        if ts < next_check:
            continue
        # Minute k is complete once every rule's bucket index has moved past it.
        horizon = min(-((-ts - off) // MINUTE) for off in offsets) - 1
        while k <= min(horizon, last):
            yield from emit(k)
            k += 1
        next_check = k * MINUTE - min(offsets)  # before this some rule still collects minute k
    while k <= last:
        yield from emit(k)
        k += 1


def openmetrics(results, out_dir: Path, stream_labels_first=("site",)) -> dict:
    """Writes the evaluated series as one OpenMetrics file (families one after another, as
    the format requires) for promtool tsdb create-blocks-from openmetrics; returns
    {record: samples written}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    parts, counts = {}, defaultdict(int)
    try:
        for t, rule, values in results:
            f = parts.get(rule.record)
            if f is None:
                f = parts[rule.record] = open(out_dir / f"{rule.record.replace(':', '_')}.part", "w")
                f.write(f"# TYPE {rule.record} gauge\n")
            for key, value in values.items():
                labels = ",".join(f'{n}="{_escape(v)}"' for n, v in zip(rule.by, key) if v != "")
                f.write(f"{rule.record}{{{labels}}} {value!r} {t}\n")
                counts[rule.record] += 1
    finally:
        for f in parts.values():
            f.close()
    with open(out_dir / "recorded.om", "w") as out:
        for record in parts:
            part = out_dir / f"{record.replace(':', '_')}.part"
            with open(part) as f:
                for chunk in iter(lambda: f.read(1 << 20), ""):
                    out.write(chunk)
            part.unlink()
        out.write("# EOF\n")
    return dict(counts)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
