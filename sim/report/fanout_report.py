#!/usr/bin/env python3
"""Render the results of `fanout-sim report` as a human-readable report with plots.

Usage: fanout_report.py <dir>

Input:  <dir>/report.json, format "fanout-report/1" (written by `fanout-sim report`, described
        in docs/report.md). Every number shown comes from that file, and every comparison in the
        text (ratios, "where Fanout is not better") is computed from it here.
Output: <dir>/index.html   one self-contained page (inline CSS) showing the plots below
        <dir>/README.md    the same content in GitHub Markdown
        <dir>/plots/<name>.svg and <dir>/plots/<name>.png (110 dpi), one figure per name
Exit:   0 on success. 2 when report.json is missing or malformed: one line
        "fanout_report: <path>: <problem, naming the key>" on stderr, and nothing is written.
        3 when this interpreter has no matplotlib (the message names the interpreter).

Output is deterministic for a given report.json (fixed figure sizes, fixed SVG hash salt, no
dates). Needs Python 3.11 and matplotlib (Debian: /usr/bin/python3 with python3-matplotlib).
"""

import dataclasses
import html
import json
import math
import os
import re
import sys

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
except ImportError:  # reported by main() with the interpreter named
    matplotlib = plt = None

FORMAT = "fanout-report/1"
BASELINE_MODES = ("unicast", "bier")  # every other mode is a Fanout mode
MODE_COLOURS = {"unicast": "#4c72b0", "bier": "#dd8452", "tree": "#55a868", "port": "#8172b3"}
SPARE_COLOURS = ("#c44e52", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd")
FANOUT_SET_COLOUR = "#2a7f3f"
FIG_SIZE = (7.5, 4.2)
PNG_DPI = 110
RC = {"svg.hashsalt": "fanout-report", "svg.fonttype": "path", "font.size": 9,
      "axes.grid": True, "grid.alpha": 0.3, "legend.fontsize": 8, "figure.dpi": 100}
FOOTER = ("All figures measured by fanout-sim (cycle-level NIC kernels, event-level links); "
          "see docs/report.md.")
BOLD, CODE = "\x01", "\x02"  # inline markup inside block text: bold and code spans

SCENARIO_KEYS = {"name": "str", "nodes": "int", "topology": "str", "leaves": "int",
                 "spines": "int", "link_gbps": "number", "link_delay_ns": "number",
                 "fanout": "int", "seed": "int", "payload_bytes": "int", "window": "int"}
RUN_NUMBERS = ("sim_time_ns", "wall_seconds", "messages", "messages_completed", "deliveries",
               "deliveries_expected", "sender_egress_bytes", "link_bytes",
               "busiest_link_utilization", "makespan_ns", "sender_packets", "acks_at_senders",
               "acks_per_message", "header_bytes_per_packet", "host_interface_bytes", "drops")
COMPLETION_KEYS = ("p50", "p90", "p99", "max")
HB_NUMBERS = ("k", "nodes", "fanout_set_mean", "fanout_set_max", "bier256_mean", "bier256_max",
              "bier_best_mean", "bier256_copies_mean")
KIND_NAMES = {"number": "a number", "int": "an integer", "str": "a string", "bool": "true or false",
              "list": "a list", "dict": "an object"}


class ReportError(Exception):
    """report.json is unusable; the message names the offending key."""


# ----------------------------------------------------------------------------- checking the input

def _json_type(value):
    """The JSON name of a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "a string", list: "a list", dict: "an object"}.get(type(value), "something else")


def _kind_ok(value, kind):
    """Whether value is of schema kind (number, int, str, bool, list, dict)."""
    if kind in ("number", "int"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if not math.isfinite(value):
            return False
        return kind == "number" or float(value).is_integer()
    return isinstance(value, {"str": str, "bool": bool, "list": list, "dict": dict}[kind])


def _join(path, key):
    """Key path of key inside path (dotted, lists as [i])."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def need(obj, key, path, kind, optional=False):
    """obj[key] checked against kind; raises ReportError naming the key. Optional keys may be
    absent or null (None is returned)."""
    where = _join(path, key)
    if key not in obj or (optional and obj[key] is None):
        if optional:
            return None
        raise ReportError(f"missing key '{where}'")
    value = obj[key]
    if not _kind_ok(value, kind):
        raise ReportError(f"key '{where}' should be {KIND_NAMES[kind]}, got {_json_type(value)}")
    return value


def check_run(run, path):
    """A RUN object. Failed runs (ok false) may leave any measurement absent or null."""
    if not isinstance(run, dict):
        raise ReportError(f"key '{path}' should be an object, got {_json_type(run)}")
    ok = need(run, "ok", path, "bool")
    for i, line in enumerate(need(run, "failures", path, "list")):
        if not isinstance(line, str):
            raise ReportError(f"key '{_join(_join(path, 'failures'), i)}' should be a string")
    optional = not ok
    for key in RUN_NUMBERS:
        need(run, key, path, "number", optional)
    need(run, "busiest_link", path, "str", optional)
    completion = need(run, "completion_ns", path, "dict", optional)
    for key in COMPLETION_KEYS:
        if completion is not None:
            need(completion, key, _join(path, "completion_ns"), "number", optional)
    steps = need(run, "steps", path, "list", optional) or []
    for i, step in enumerate(steps):
        where = _join(_join(path, "steps"), i)
        if not isinstance(step, dict):
            raise ReportError(f"key '{where}' should be an object, got {_json_type(step)}")
        need(step, "step", where, "int")
        need(step, "completion_ns", where, "number")


def check_runs(runs, path, modes):
    """A {mode: RUN} object; modes may be missing (reported as such), unknown ones may not."""
    for mode in sorted(runs):
        if mode not in modes:
            raise ReportError(f"key '{_join(path, mode)}' is not one of 'modes' ({', '.join(modes)})")
        check_run(runs[mode], _join(path, mode))


def check_modes(report):
    """modes (unique strings) and a description for each."""
    modes = need(report, "modes", "", "list")
    if not modes:
        raise ReportError("key 'modes' is empty")
    for i, mode in enumerate(modes):
        if not isinstance(mode, str) or not mode:
            raise ReportError(f"key 'modes[{i}]' should be a non-empty string")
    if len(set(modes)) != len(modes):
        raise ReportError("key 'modes' lists a mode twice")
    descriptions = need(report, "mode_descriptions", "", "dict")
    for mode in modes:
        need(descriptions, mode, "mode_descriptions", "str")
    return modes


def check_workloads(report, modes):
    """workloads: a non-empty list of workload objects with unique names."""
    workloads = need(report, "workloads", "", "list")
    if not workloads:
        raise ReportError("key 'workloads' is empty")
    names = set()
    for i, workload in enumerate(workloads):
        path = _join("workloads", i)
        if not isinstance(workload, dict):
            raise ReportError(f"key '{path}' should be an object, got {_json_type(workload)}")
        name = need(workload, "name", path, "str")
        if name in names:
            raise ReportError(f"key '{path}.name': workload '{name}' appears twice")
        names.add(name)
        for key in ("title", "description"):
            need(workload, key, path, "str")
        for key in ("messages", "deliveries"):
            need(workload, key, path, "int")
        for key in ("payload_bytes", "mean_receivers"):
            need(workload, key, path, "number")
        need(workload, "identical_delivery", path, "bool")
        check_runs(need(workload, "runs", path, "dict"), _join(path, "runs"), modes)


def check_k_sweep(report, modes):
    """k_sweep: parameters and a non-empty list of points, each with a k and runs."""
    sweep = need(report, "k_sweep", "", "dict")
    for key in ("nodes", "message_bytes", "messages"):
        need(sweep, key, "k_sweep", "int")
    for i, sender in enumerate(need(sweep, "senders", "k_sweep", "list")):
        if not _kind_ok(sender, "int"):
            raise ReportError(f"key 'k_sweep.senders[{i}]' should be an integer")
    points = need(sweep, "points", "k_sweep", "list")
    if not points:
        raise ReportError("key 'k_sweep.points' is empty")
    for i, point in enumerate(points):
        path = _join("k_sweep.points", i)
        if not isinstance(point, dict):
            raise ReportError(f"key '{path}' should be an object, got {_json_type(point)}")
        need(point, "k", path, "int")
        check_runs(need(point, "runs", path, "dict"), _join(path, "runs"), modes)


def check_header_bytes(report):
    """header_bytes.vs_k and header_bytes.vs_nodes: parameters and HB points."""
    section = need(report, "header_bytes", "", "dict")
    for name, fixed in (("vs_k", "nodes"), ("vs_nodes", "k")):
        path = _join("header_bytes", name)
        part = need(section, name, "header_bytes", "dict")
        need(part, fixed, path, "int")
        need(part, "samples", path, "int")
        points = need(part, "points", path, "list")
        if not points:
            raise ReportError(f"key '{path}.points' is empty")
        for i, point in enumerate(points):
            where = _join(_join(path, "points"), i)
            if not isinstance(point, dict):
                raise ReportError(f"key '{where}' should be an object, got {_json_type(point)}")
            for key in HB_NUMBERS:
                need(point, key, where, "number")


def check_report(report):
    """The whole report.json; raises ReportError on the first problem found."""
    if not isinstance(report, dict):
        raise ReportError(f"the top level should be an object, got {_json_type(report)}")
    fmt = need(report, "format", "", "str")
    if fmt != FORMAT:
        raise ReportError(f"key 'format' is '{fmt}', expected '{FORMAT}'")
    for key in ("title", "command"):
        need(report, key, "", "str")
    need(report, "generated_wall_seconds", "", "number")
    scenario = need(report, "scenario", "", "dict")
    for key, kind in SCENARIO_KEYS.items():
        need(scenario, key, "scenario", kind)
    modes = check_modes(report)
    check_workloads(report, modes)
    check_k_sweep(report, modes)
    check_header_bytes(report)


def load_report(path):
    """Parsed and checked report.json at path; raises ReportError."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ReportError(f"cannot read: {e.strerror}") from None
    try:
        report = json.loads(text)
    except json.JSONDecodeError as e:
        raise ReportError(f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    check_report(report)
    return report


# ----------------------------------------------------------------------------- numbers and words

def fmt_num(value):
    """A measured quantity with precision to match its size (thousands separated)."""
    if value is None:
        return "—"
    size = abs(value)
    if size == 0:
        return "0"
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def fmt_int(value):
    """A count, thousands separated."""
    return "—" if value is None else f"{round(value):,}"


def us(ns):
    """ns → µs (None stays None)."""
    return None if ns is None else ns / 1000.0


def mb(nbytes):
    """bytes → MB (10^6 bytes; None stays None)."""
    return None if nbytes is None else nbytes / 1e6


def fmt_ratio(ratio):
    """A baseline ÷ Fanout ratio; three decimals near 1 so 0.998× is not shown as 1.00×."""
    if ratio is None:
        return "n/a"
    if math.isinf(ratio):
        return "∞×"
    if ratio != 1.0 and 0.995 <= ratio < 1.005:
        return f"{ratio:.3f}×"
    if ratio >= 10:
        return f"{ratio:.1f}×"
    return f"{ratio:.2f}×"


def ratio_of(baseline, fanout):
    """baseline ÷ fanout for lower-is-better values (> 1: Fanout is better); None if undefined."""
    if baseline is None or fanout is None:
        return None
    if fanout == 0:
        return 1.0 if baseline == 0 else math.inf
    return baseline / fanout


def bold(text):
    """text in bold (inline markup for both renderers)."""
    return f"{BOLD}{text}{BOLD}"


def code(text):
    """text as a code span (inline markup for both renderers)."""
    return f"{CODE}{text}{CODE}"


def join_words(items):
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def fanout_modes(modes):
    """The modes that are Fanout offload modes (not a baseline), in report order."""
    return [m for m in modes if m not in BASELINE_MODES]


def mode_colours(modes):
    """A fixed colour per mode; unknown modes take spare colours by position in 'modes'."""
    colours, spare = {}, 0
    for mode in modes:
        if mode in MODE_COLOURS:
            colours[mode] = MODE_COLOURS[mode]
        else:
            colours[mode] = SPARE_COLOURS[spare % len(SPARE_COLOURS)]
            spare += 1
    return colours


def ok_run(runs, mode):
    """runs[mode] if it exists and succeeded, else None."""
    run = runs.get(mode)
    return run if run is not None and run["ok"] else None


def run_status(runs, mode):
    """'ok', 'FAILED' or 'missing' for a mode in a runs object."""
    run = runs.get(mode)
    if run is None:
        return "missing"
    return "ok" if run["ok"] else "FAILED"


def completion(run, key):
    """run.completion_ns[key] or None (failed runs may lack it)."""
    values = run.get("completion_ns") or {}
    return values.get(key)


# Lower-is-better metrics compared between a Fanout mode and a baseline:
# (label, value getter, value formatter).
METRICS = (
    ("completion p99", lambda r: completion(r, "p99"), lambda v: f"{fmt_num(us(v))} µs"),
    ("makespan", lambda r: r.get("makespan_ns"), lambda v: f"{fmt_num(us(v))} µs"),
    ("sender egress", lambda r: r.get("sender_egress_bytes"), lambda v: f"{fmt_num(mb(v))} MB"),
    ("total link bytes", lambda r: r.get("link_bytes"), lambda v: f"{fmt_num(mb(v))} MB"),
    ("ACKs at senders", lambda r: r.get("acks_at_senders"), fmt_int),
)


# ----------------------------------------------------------------------------- document model

@dataclasses.dataclass
class Heading:
    """A section heading (level 1..3)."""
    level: int
    text: str


@dataclasses.dataclass
class Para:
    """A paragraph; bad paragraphs are shown as a problem (red)."""
    text: str
    bad: bool = False


@dataclasses.dataclass
class Bullets:
    """A bullet list of (text, bad) items."""
    items: list


@dataclasses.dataclass
class Table:
    """A table; bad_rows (row indices) and bad_cells ((row, column)) are shown as problems."""
    headers: list
    rows: list
    bad_rows: set = dataclasses.field(default_factory=set)
    bad_cells: set = dataclasses.field(default_factory=set)


@dataclasses.dataclass
class Figure:
    """A plot: plots/<name>.svg and .png, with a title and a caption."""
    name: str
    title: str
    caption: str


# ----------------------------------------------------------------------------- report sections

def scenario_line(scenario):
    """The scenario in one sentence."""
    s = scenario
    shape = f"{s['topology']} topology"
    if s["topology"] != "star":
        shape += f" ({s['leaves']} leaves, {s['spines']} spines)"
    extra = [f"{k} = {s[k]}" for k in sorted(s) if k not in SCENARIO_KEYS]
    parts = [f"{fmt_int(s['nodes'])} nodes", shape, f"{fmt_num(s['link_gbps'])} Gb/s links",
             f"{fmt_num(s['link_delay_ns'])} ns link delay", f"fan-out F = {s['fanout']}",
             f"payload {fmt_int(s['payload_bytes'])} B", f"window {s['window']}",
             f"seed {s['seed']}"] + extra
    return f"Scenario {bold(s['name'])}: " + ", ".join(parts) + "."


def intro_blocks(report):
    """Title, command, scenario and 'How to read this'."""
    modes = report["modes"]
    fan = fanout_modes(modes)
    base = [m for m in modes if m in BASELINE_MODES]
    blocks = [
        Heading(1, report["title"]),
        Para(f"Produced by {code(report['command'])} in "
             f"{fmt_num(report['generated_wall_seconds'])} s of wall-clock time."),
        Para(scenario_line(report["scenario"])),
        Heading(2, "How to read this"),
        Para("Modes compared (the same traffic in each):"),
        Bullets([(f"{bold(m)}: {report['mode_descriptions'][m]}", False) for m in modes]),
        Para(f"Fanout modes: {join_words(bold(m) for m in fan) or 'none'}; baselines: "
             f"{join_words(bold(m) for m in base) or 'none'}. Times are simulated time in µs "
             "(completion = post to last delivery acknowledged for one message; makespan = first "
             "post to last completion). MB = 10^6 bytes. Ratios are baseline ÷ Fanout of "
             "lower-is-better quantities, so above 1.00× the Fanout mode is better and at or "
             "below 1.00× it is not."),
    ]
    return blocks


def best_fanout(runs, modes):
    """The successful Fanout mode with the smallest makespan (ties: report order), or None."""
    candidates = [m for m in fanout_modes(modes)
                  if ok_run(runs, m) is not None and ok_run(runs, m).get("makespan_ns") is not None]
    if not candidates:
        return None
    return min(candidates, key=lambda m: (runs[m]["makespan_ns"], modes.index(m)))


def comparison_text(runs, mode, modes):
    """'metric: value vs baseline value (ratio) and ...' for one Fanout run against the baselines."""
    fan = runs[mode]
    base = [m for m in modes if m in BASELINE_MODES]
    parts = []
    for label, get, fmt in METRICS:
        against = []
        for b in base:
            run = ok_run(runs, b)
            if run is None:
                against.append(f"{b} {run_status(runs, b)}")
                continue
            ratio = ratio_of(get(run), get(fan))
            against.append(f"{b} {fmt(get(run))} ({fmt_ratio(ratio)})")
        parts.append(f"{label} {fmt(get(fan))} vs " + " and ".join(against))
    return "; ".join(parts)


def not_better(runs, mode, modes):
    """[(baseline, label, text)] where the Fanout run's ratio against a baseline is ≤ 1.0."""
    found = []
    for b in (m for m in modes if m in BASELINE_MODES):
        run = ok_run(runs, b)
        if run is None:
            continue
        for label, get, fmt in METRICS:
            ratio = ratio_of(get(run), get(runs[mode]))
            if ratio is not None and ratio <= 1.0:
                found.append((b, label, f"{label} {fmt(get(runs[mode]))} vs {fmt(get(run))} "
                                        f"({fmt_ratio(ratio)})"))
    return found


def workload_wins(report):
    """Summary bullets: each workload's best Fanout mode against the baselines."""
    modes, items = report["modes"], []
    for w in report["workloads"]:
        best = best_fanout(w["runs"], modes)
        if best is None:
            items.append((f"{bold(w['name'])}: no successful Fanout run to compare.", True))
            continue
        items.append((f"{bold(w['name'])}: best Fanout mode by makespan is {bold(best)}: "
                      f"{comparison_text(w['runs'], best, modes)}.", False))
    return items


def sweep_points(report):
    """k_sweep points sorted by k."""
    return sorted(report["k_sweep"]["points"], key=lambda p: p["k"])


def sweep_wins(report):
    """Summary bullets: the k-sweep's smallest and largest k, best Fanout mode each."""
    points, modes, items = sweep_points(report), report["modes"], []
    ends = [points[0]] if len(points) == 1 else [points[0], points[-1]]
    for point in ends:
        best = best_fanout(point["runs"], modes)
        if best is None:
            items.append((f"k-sweep, k = {point['k']}: no successful Fanout run to compare.", True))
            continue
        items.append((f"k-sweep, k = {point['k']}: best Fanout mode by makespan is {bold(best)}: "
                      f"{comparison_text(point['runs'], best, modes)}.", False))
    return items


def header_extremes(part, axis):
    """The HB points with the smallest and largest value on axis ('k' or 'nodes')."""
    points = sorted(part["points"], key=lambda p: p[axis])
    return [points[0]] if len(points) == 1 else [points[0], points[-1]]


def header_point_text(p):
    """'k = 8, N = 1,024: Fanout set 16 B mean vs BIER-256 176 B (11×), best-BSL 150 B (9.4×)'."""
    return (f"k = {fmt_int(p['k'])}, N = {fmt_int(p['nodes'])}: Fanout receiver set "
            f"{fmt_num(p['fanout_set_mean'])} B mean vs BIER-256 {fmt_num(p['bier256_mean'])} B "
            f"({fmt_ratio(ratio_of(p['bier256_mean'], p['fanout_set_mean']))}) and BIER with its "
            f"best BSL {fmt_num(p['bier_best_mean'])} B "
            f"({fmt_ratio(ratio_of(p['bier_best_mean'], p['fanout_set_mean']))})")


def header_wins(report):
    """Summary bullets: header bytes at the ends of both header-byte sweeps."""
    hb = report["header_bytes"]
    items = []
    for name, axis in (("vs_k", "k"), ("vs_nodes", "nodes")):
        texts = [header_point_text(p) for p in header_extremes(hb[name], axis)]
        items.append((f"Header bytes per packet, {'; '.join(texts)}.", False))
    return items


def losses(report):
    """Bullets for every case where a Fanout mode's ratio against a baseline is ≤ 1.0."""
    modes, items = report["modes"], []
    for w in report["workloads"]:
        for mode in fanout_modes(modes):
            if ok_run(w["runs"], mode) is not None:
                items += loss_items(f"{bold(w['name'])}, {bold(mode)}",
                                    not_better(w["runs"], mode, modes))
    for point in sweep_points(report):
        for mode in fanout_modes(modes):
            if ok_run(point["runs"], mode) is not None:
                items += loss_items(f"k-sweep k = {point['k']}, {bold(mode)}",
                                    not_better(point["runs"], mode, modes))
    items += header_losses(report)
    return items


def loss_items(prefix, found):
    """One bullet per baseline from not_better() results."""
    items = []
    for b in sorted({f[0] for f in found}, key=lambda m: BASELINE_MODES.index(m)):
        texts = [f[2] for f in found if f[0] == b]
        items.append((f"{prefix} is not better than {bold(b)} on {'; '.join(texts)}.", False))
    return items


def header_losses(report):
    """Bullets for header-byte points where the Fanout set is not smaller than BIER's."""
    items = []
    for name in ("vs_k", "vs_nodes"):
        for p in report["header_bytes"][name]["points"]:
            for key, label in (("bier256_mean", "BIER-256"), ("bier_best_mean", "BIER best-BSL")):
                ratio = ratio_of(p[key], p["fanout_set_mean"])
                if ratio is not None and ratio <= 1.0:
                    items.append((f"Header bytes at k = {fmt_int(p['k'])}, N = "
                                  f"{fmt_int(p['nodes'])}: Fanout set {fmt_num(p['fanout_set_mean'])}"
                                  f" B vs {label} {fmt_num(p[key])} B ({fmt_ratio(ratio)}).", False))
    return items


def correctness(report):
    """Bullets: identical delivery per workload, then every failed or missing run."""
    items = []
    for w in report["workloads"]:
        same = w["identical_delivery"]
        items.append((f"{bold(w['name'])}: identical delivery across modes: "
                      f"{'yes' if same else bold('NO')}", not same))
    places = [(f"workload {w['name']}", w["runs"]) for w in report["workloads"]]
    places += [(f"k-sweep k = {p['k']}", p["runs"]) for p in sweep_points(report)]
    for where, runs in places:
        for mode in report["modes"]:
            status = run_status(runs, mode)
            if status == "missing":
                items.append((f"{where}, {bold(mode)}: no run in report.json (not plotted).", True))
            elif status == "FAILED":
                failures = runs[mode]["failures"] or ["(no failure lines given)"]
                items.append((f"{where}, {bold(mode)}: {bold('FAILED')} (not plotted): "
                              + "; ".join(failures), True))
    return items


def summary_blocks(report):
    """'Summary: where Fanout wins and where it does not' with computed bullets."""
    lost = losses(report)
    return [
        Heading(2, "Summary: where Fanout wins and where it does not"),
        Para("The best Fanout mode against each baseline (ratio = baseline ÷ Fanout; above "
             "1.00× the Fanout mode is better):"),
        Bullets(workload_wins(report) + sweep_wins(report) + header_wins(report)),
        Para("Where a Fanout mode is not better (every comparison with a ratio ≤ 1.00×):"),
        Bullets(lost or [("No such case in these measurements.", False)]),
        Para("Correctness:"),
        Bullets(correctness(report)),
    ]


RUN_HEADERS = ["mode", "completion p50 (µs)", "completion p99 (µs)", "makespan (µs)",
               "sender egress (MB)", "link bytes (MB)", "busiest link (%)", "busiest link",
               "sender packets", "ACKs at senders (per message)", "header B/packet",
               "host-interface (MB)", "drops", "deliveries / expected", "status"]


def run_row(mode, run):
    """One table row for a RUN (None: missing)."""
    if run is None:
        return [mode] + ["—"] * (len(RUN_HEADERS) - 2) + ["missing"]
    util = run.get("busiest_link_utilization")
    acks, per = run.get("acks_at_senders"), run.get("acks_per_message")
    return [mode, fmt_num(us(completion(run, "p50"))), fmt_num(us(completion(run, "p99"))),
            fmt_num(us(run.get("makespan_ns"))), fmt_num(mb(run.get("sender_egress_bytes"))),
            fmt_num(mb(run.get("link_bytes"))),
            "—" if util is None else f"{util * 100:.1f}", run.get("busiest_link") or "—",
            fmt_int(run.get("sender_packets")),
            f"{fmt_int(acks)} ({fmt_num(per)})" if per is not None else fmt_int(acks),
            fmt_num(run.get("header_bytes_per_packet")), fmt_num(mb(run.get("host_interface_bytes"))),
            fmt_int(run.get("drops")),
            f"{fmt_int(run.get('deliveries'))} / {fmt_int(run.get('deliveries_expected'))}",
            "ok" if run["ok"] else "FAILED"]


def runs_table(runs, modes):
    """A Table with one row per mode, failed and missing rows marked."""
    rows = [run_row(m, runs.get(m)) for m in modes]
    bad = {i for i, m in enumerate(modes) if run_status(runs, m) != "ok"}
    return Table(RUN_HEADERS, rows, bad_rows=bad)


def failure_bullets(runs, modes):
    """Red bullets listing each failed run's failure lines."""
    items = []
    for mode in modes:
        if run_status(runs, mode) == "FAILED":
            for line in runs[mode]["failures"] or ["(no failure lines given)"]:
                items.append((f"{bold(mode)} {bold('FAILED')}: {line}", True))
    return items


def steps_table(runs, modes):
    """Per-step completion (µs) by mode, or None when no run has steps."""
    steps = sorted({s["step"] for m in modes if ok_run(runs, m) for s in runs[m]["steps"]})
    if not steps:
        return None
    rows = []
    for step in steps:
        row = [str(step)]
        for mode in modes:
            run = ok_run(runs, mode)
            found = [s["completion_ns"] for s in (run["steps"] if run else []) if s["step"] == step]
            row.append(fmt_num(us(found[0])) if found else "—")
        rows.append(row)
    return Table(["step"] + [f"{m} (µs)" for m in modes], rows)


def workload_blocks(report):
    """One section per workload: facts, correctness, the runs table, failures, steps."""
    modes = report["modes"]
    blocks = [Heading(2, "Workloads")]
    for w in report["workloads"]:
        same = w["identical_delivery"]
        blocks += [
            Heading(3, f"{w['name']}: {w['title']}"),
            Para(w["description"]),
            Para(f"{fmt_int(w['messages'])} messages, {fmt_int(w['deliveries'])} deliveries, "
                 f"{fmt_num(mb(w['payload_bytes']))} MB of payload, "
                 f"{fmt_num(w['mean_receivers'])} receivers per message on average."),
            Para(f"Identical delivery across modes: {'yes' if same else bold('NO')}", bad=not same),
            runs_table(w["runs"], modes),
        ]
        failures = failure_bullets(w["runs"], modes)
        if failures:
            blocks.append(Bullets(failures))
        steps = steps_table(w["runs"], modes)
        if steps is not None:
            blocks += [Para(f"Per-step completion of {bold(w['name'])} (µs):"), steps]
    return blocks


SWEEP_HEADERS = ["k", "mode", "completion p50 (µs)", "completion p99 (µs)", "makespan (µs)",
                 "sender egress (MB)", "link bytes (MB)", "sender packets",
                 "ACKs at senders (per message)", "header B/packet", "status"]


def sweep_table(report):
    """Long-form k-sweep table: one row per (k, mode)."""
    rows, bad = [], set()
    for point in sweep_points(report):
        for mode in report["modes"]:
            run = point["runs"].get(mode)
            full = run_row(mode, run)
            rows.append([str(point["k"])] + [full[i] for i in (0, 1, 2, 3, 4, 5, 8, 9, 10, 14)])
            if run_status(point["runs"], mode) != "ok":
                bad.add(len(rows) - 1)
    return Table(SWEEP_HEADERS, rows, bad_rows=bad)


def sweep_ratio_table(report):
    """Ratios (baseline ÷ Fanout) per Fanout mode, baseline and metric across k; ≤ 1 marked."""
    points, modes = sweep_points(report), report["modes"]
    rows, bad = [], set()
    for mode in fanout_modes(modes):
        for b in (m for m in modes if m in BASELINE_MODES):
            for label, get, _ in METRICS:
                row = [mode, b, label]
                for point in points:
                    fan, base = ok_run(point["runs"], mode), ok_run(point["runs"], b)
                    ratio = ratio_of(get(base), get(fan)) if fan and base else None
                    if ratio is not None and ratio <= 1.0:
                        bad.add((len(rows), len(row)))
                    row.append(fmt_ratio(ratio))
                rows.append(row)
    if not rows:
        return None
    headers = ["Fanout mode", "baseline", "metric"] + [f"k = {p['k']}" for p in points]
    return Table(headers, rows, bad_cells=bad)


def sweep_blocks(report):
    """The k-sweep section: parameters, ratio table and full table."""
    s = report["k_sweep"]
    senders = ", ".join(str(x) for x in s["senders"])
    blocks = [
        Heading(2, "Receiver-set size sweep (k)"),
        Para(f"{fmt_int(s['nodes'])} nodes, sender node(s) {senders}, {fmt_int(s['messages'])} "
             f"messages of {fmt_int(s['message_bytes'])} B each to k receivers, k = "
             f"{', '.join(str(p['k']) for p in sweep_points(report))}."),
    ]
    ratios = sweep_ratio_table(report)
    if ratios is not None:
        blocks += [Para("Ratios baseline ÷ Fanout (above 1.00×: the Fanout mode is better; "
                        "marked cells are not better):"), ratios]
    blocks += [Para("All runs:"), sweep_table(report)]
    return blocks


def header_table(part):
    """HB points as a table, sorted by k then nodes."""
    rows = []
    for p in sorted(part["points"], key=lambda p: (p["k"], p["nodes"])):
        rows.append([fmt_int(p["k"]), fmt_int(p["nodes"]), fmt_num(p["fanout_set_mean"]),
                     fmt_num(p["fanout_set_max"]), fmt_num(p["bier256_mean"]),
                     fmt_num(p["bier256_max"]), fmt_num(p["bier_best_mean"]),
                     fmt_num(p["bier256_copies_mean"]),
                     fmt_ratio(ratio_of(p["bier256_mean"], p["fanout_set_mean"]))])
    return Table(["k", "nodes", "Fanout set mean (B)", "Fanout set max (B)", "BIER-256 mean (B)",
                  "BIER-256 max (B)", "BIER best-BSL mean (B)", "BIER-256 copies per packet",
                  "BIER-256 ÷ Fanout (mean)"], rows)


def header_blocks(report):
    """The header-bytes section: both sweeps as tables."""
    hb = report["header_bytes"]
    return [
        Heading(2, "Receiver-set header bytes"),
        Para(f"Bytes a packet carries to name its receivers, over {fmt_int(hb['vs_k']['samples'])} "
             f"random receiver sets per point, against k at N = {fmt_int(hb['vs_k']['nodes'])} "
             f"nodes, and against N at k = {fmt_int(hb['vs_nodes']['k'])} "
             f"({fmt_int(hb['vs_nodes']['samples'])} sets per point). BIER-256 counts all copies "
             "the ingress sends (copies × (12 + 32) B)."),
        header_table(hb["vs_k"]),
        header_table(hb["vs_nodes"]),
    ]


# ----------------------------------------------------------------------------- plots

def save_figure(fig, plots_dir, name):
    """Write fig as plots/<name>.svg and .png and close it."""
    fig.tight_layout()
    fig.savefig(os.path.join(plots_dir, name + ".svg"), format="svg", metadata={"Date": None})
    fig.savefig(os.path.join(plots_dir, name + ".png"), format="png", dpi=PNG_DPI)
    plt.close(fig)


def outside_legend(ax):
    """The legend to the right of the axes, so it never hides data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def wide_range(values, factor=30.0):
    """Whether positive values span more than factor (then a log axis reads better)."""
    values = [v for v in values if v is not None and v > 0]
    return len(values) > 1 and max(values) / min(values) > factor


def sweep_series(report, mode, get):
    """(ks, values, omitted) of a mode over the k-sweep; failed/missing runs omitted."""
    ks, values, omitted = [], [], []
    for point in sweep_points(report):
        run = ok_run(point["runs"], mode)
        value = get(run) if run else None
        if value is None:
            omitted.append(f"{mode} at k = {point['k']} ({run_status(point['runs'], mode)})")
        else:
            ks.append(point["k"])
            values.append(value)
    return ks, values, omitted


def omitted_note(omitted):
    """Caption suffix naming points that are not plotted."""
    return f" Not plotted (run failed or missing): {'; '.join(omitted)}." if omitted else ""


def k_axis(ax, report):
    """x axis of the k-sweep: ticks at the measured k."""
    ks = [p["k"] for p in sweep_points(report)]
    ax.set_xlabel("receivers per message k")
    ax.set_xticks(ks)
    ax.set_xticklabels([str(k) for k in ks])


def plot_sweep_completion(report, colours, plots_dir):
    """Plot 1: completion p50 (solid) and p99 (dashed) vs k per mode."""
    fig, ax = plt.subplots(figsize=FIG_SIZE)
    omitted, everything = [], []
    for mode in report["modes"]:
        for key, style in (("p50", "-"), ("p99", "--")):
            ks, values, gone = sweep_series(report, mode, lambda r, key=key: completion(r, key))
            omitted += gone if key == "p50" else []
            values = [us(v) for v in values]
            everything += values
            if ks:
                ax.plot(ks, values, style, marker="o", markersize=3, color=colours[mode],
                        label=f"{mode} {key}")
    k_axis(ax, report)
    ax.set_ylabel("message completion time (µs)")
    if wide_range(everything):
        ax.set_yscale("log")
    ax.set_title("Completion time vs receivers per message (p50 solid, p99 dashed)")
    outside_legend(ax)
    save_figure(fig, plots_dir, "completion_vs_k")
    s = report["k_sweep"]
    return Figure("completion_vs_k", "Completion time vs k",
                  f"k-sweep ({fmt_int(s['messages'])} messages of {fmt_int(s['message_bytes'])} B, "
                  f"{fmt_int(s['nodes'])} nodes): per-message completion p50 (solid) and p99 "
                  f"(dashed) by mode.{omitted_note(omitted)}")


def plot_sweep_metric(report, colours, plots_dir, spec):
    """Plots 4 and 7: one k-sweep metric per mode. spec = (name, title, ylabel, getter, scale)."""
    name, title, ylabel, get, scale = spec
    fig, ax = plt.subplots(figsize=FIG_SIZE)
    omitted, everything = [], []
    for mode in report["modes"]:
        ks, values, gone = sweep_series(report, mode, get)
        omitted += gone
        values = [v * scale for v in values]
        everything += values
        if ks:
            ax.plot(ks, values, "-", marker="o", markersize=3, color=colours[mode], label=mode)
    k_axis(ax, report)
    ax.set_ylabel(ylabel)
    if wide_range(everything):
        ax.set_yscale("log")
    ax.set_title(title)
    outside_legend(ax)
    save_figure(fig, plots_dir, name)
    return Figure(name, title, f"k-sweep, by mode: {ylabel}.{omitted_note(omitted)}")


def plot_header(report, plots_dir, which):
    """Plots 2 and 3: receiver-set header bytes vs k ('vs_k') or vs N ('vs_nodes')."""
    part = report["header_bytes"][which]
    axis = "k" if which == "vs_k" else "nodes"
    points = sorted(part["points"], key=lambda p: p[axis])
    xs = [p[axis] for p in points]
    bier = MODE_COLOURS["bier"]
    series = (("fanout_set_mean", "Fanout set, mean", FANOUT_SET_COLOUR, "-"),
              ("fanout_set_max", "Fanout set, max", FANOUT_SET_COLOUR, ":"),
              ("bier256_mean", "BIER-256, mean", bier, "-"),
              ("bier256_max", "BIER-256, max", bier, ":"),
              ("bier_best_mean", "BIER best BSL, mean", bier, "-."))
    fig, ax = plt.subplots(figsize=FIG_SIZE)
    for key, label, colour, style in series:
        ax.plot(xs, [p[key] for p in points], style, marker="o", markersize=3, color=colour,
                label=label)
    ax.set_yscale("log")
    if which == "vs_nodes" or wide_range(xs, 15):
        ax.set_xscale("log", base=2)
    ax.set_xticks(xs)
    ax.set_xticklabels([fmt_int(x) for x in xs])
    ax.minorticks_off()
    ax.set_ylabel("receiver-set header bytes per packet (B)")
    if which == "vs_k":
        ax.set_xlabel("receivers per message k")
        title = f"Header bytes vs k (N = {fmt_int(part['nodes'])} nodes)"
    else:
        ax.set_xlabel("nodes N")
        title = f"Header bytes vs N (k = {fmt_int(part['k'])})"
    ax.set_title(title)
    outside_legend(ax)
    name = "header_bytes_vs_k" if which == "vs_k" else "header_bytes_vs_nodes"
    save_figure(fig, plots_dir, name)
    return Figure(name, title, f"{title}: mean and maximum over {fmt_int(part['samples'])} random "
                               "receiver sets per point; BIER-256 counts every copy the ingress "
                               "sends; log scale.")


def plot_workload_bars(report, colours, plots_dir, spec):
    """Plots 5 and 6: grouped bars, one group per workload, one bar per mode. spec = (name,
    title, ylabel, run key)."""
    name, title, ylabel, key = spec
    workloads, modes = report["workloads"], report["modes"]
    width = 0.8 / len(modes)
    fig, ax = plt.subplots(figsize=FIG_SIZE)
    gaps, everything = [], []
    for j, mode in enumerate(modes):
        xs, values = [], []
        for i, w in enumerate(workloads):
            run = ok_run(w["runs"], mode)
            x = i - 0.4 + width * (j + 0.5)
            if run is None or run.get(key) is None:
                gaps.append((x, f"{mode} in {w['name']} ({run_status(w['runs'], mode)})"))
            else:
                xs.append(x)
                values.append(mb(run[key]))
        everything += values
        ax.bar(xs, values, width, color=colours[mode], label=mode)
    if wide_range(everything):
        ax.set_yscale("log")
    for x, _ in gaps:
        ax.text(x, 0.02, "n/a", transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                rotation=90, fontsize=7, color="#c00000")
    ax.grid(False, axis="x")
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels([w["name"] for w in workloads])
    ax.set_xlabel("workload")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    outside_legend(ax)
    save_figure(fig, plots_dir, name)
    note = f" n/a (run failed or missing): {'; '.join(g[1] for g in gaps)}." if gaps else ""
    return Figure(name, title, f"{ylabel} by workload and mode.{note}")


def make_plots(report, plots_dir):
    """Draw all plots; returns their Figure blocks in report order."""
    colours = mode_colours(report["modes"])
    with matplotlib.rc_context(RC):
        return [
            plot_sweep_completion(report, colours, plots_dir),
            plot_header(report, plots_dir, "vs_k"),
            plot_header(report, plots_dir, "vs_nodes"),
            plot_sweep_metric(report, colours, plots_dir, (
                "acks_per_message_vs_k", "ACKs at the sender per message vs k",
                "ACKs reaching the sender per message", lambda r: r.get("acks_per_message"), 1.0)),
            plot_workload_bars(report, colours, plots_dir, (
                "link_bytes_by_workload", "Total link bytes by workload",
                "bytes on all links (MB)", "link_bytes")),
            plot_workload_bars(report, colours, plots_dir, (
                "sender_egress_by_workload", "Sender egress bytes by workload",
                "bytes sent by sender NICs (MB)", "sender_egress_bytes")),
            plot_sweep_metric(report, colours, plots_dir, (
                "sender_egress_vs_k", "Sender egress bytes vs k",
                "bytes sent by the sender NIC (MB)", lambda r: r.get("sender_egress_bytes"), 1e-6)),
        ]


# ----------------------------------------------------------------------------- rendering

def inline_html(text):
    """Block text → HTML (escaped; bold and code markup converted)."""
    out = html.escape(text, quote=False)
    out = re.sub(f"{CODE}(.*?){CODE}", r"<code>\1</code>", out)
    return re.sub(f"{BOLD}(.*?){BOLD}", r"<strong>\1</strong>", out)


MD_SPECIAL = re.compile(r"([\\`*_\[\]<|])")


def inline_md(text):
    """Block text → Markdown (special characters escaped outside code spans)."""
    parts = text.split(CODE)
    for i, part in enumerate(parts):
        if i % 2:
            fence = "``" if "`" in part else "`"
            parts[i] = f"{fence}{part}{fence}"
        else:
            parts[i] = MD_SPECIAL.sub(r"\\\1", part).replace(BOLD, "**")
    out = "".join(parts)
    return "\\" + out if out[:1] in ("#", ">") else out


def html_block(block):
    """One block as HTML."""
    if isinstance(block, Heading):
        return f"<h{block.level}>{inline_html(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        cls = ' class="bad"' if block.bad else ""
        return f"<p{cls}>{inline_html(block.text)}</p>"
    if isinstance(block, Bullets):
        items = "".join(('<li class="bad">' if bad else "<li>") + inline_html(t) + "</li>\n"
                        for t, bad in block.items)
        return f"<ul>\n{items}</ul>"
    if isinstance(block, Table):
        return html_table(block)
    if isinstance(block, Figure):
        return (f'<figure id="{block.name}">\n<img src="plots/{block.name}.svg" '
                f'alt="{html.escape(block.title)}">\n<figcaption><strong>'
                f"{inline_html(block.title)}.</strong> {inline_html(block.caption)} "
                f'(<a href="plots/{block.name}.svg">SVG</a>, '
                f'<a href="plots/{block.name}.png">PNG</a>)</figcaption>\n</figure>')
    raise TypeError(block)


def text_columns(table):
    """Indices of columns holding words rather than numbers (aligned left)."""
    numeric = re.compile(r"^([0-9—∞.,()× /-]|n/a)*$")
    return {j for j in range(len(table.headers))
            if any(not numeric.match(row[j]) for row in table.rows)}


def html_table(table):
    """A Table as HTML; bad rows and cells get class 'bad', word columns class 'l'."""
    left = text_columns(table)
    lines = ['<div class="scroll"><table>',
             "<tr>" + "".join(('<th class="l">' if j in left else "<th>") + inline_html(h) + "</th>"
                              for j, h in enumerate(table.headers)) + "</tr>"]
    for i, row in enumerate(table.rows):
        cells = []
        for j, cell in enumerate(row):
            classes = " ".join(c for c, on in (("l", j in left), ("bad", (i, j) in table.bad_cells))
                               if on)
            cls = f' class="{classes}"' if classes else ""
            cells.append(f"<td{cls}>{inline_html(cell)}</td>")
        cls = ' class="bad"' if i in table.bad_rows else ""
        lines.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    lines.append("</table></div>")
    return "\n".join(lines)


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1200px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 1.8em; }
code { background: #f3f3f3; padding: 0 .25em; border-radius: 3px; }
.scroll { overflow-x: auto; margin: .6em 0 1em; }
table { border-collapse: collapse; font-size: .85em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: right; white-space: nowrap; }
th { background: #f0f0f0; } th.l, td.l { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
.bad, tr.bad td, td.bad { color: #b00000; font-weight: 600; }
tr.bad td, td.bad { background: #fde8e8; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #444; }
footer { margin-top: 3em; border-top: 1px solid #ddd; padding-top: .6em; font-size: .9em; color: #555; }
"""


def render_html(title, blocks):
    """The whole index.html."""
    body = "\n".join(html_block(b) for b in blocks)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f"{body}\n<footer>{inline_html(FOOTER)}</footer>\n</body>\n</html>\n")


def md_block(block):
    """One block as Markdown."""
    if isinstance(block, Heading):
        return "#" * block.level + " " + inline_md(block.text)
    if isinstance(block, Para):
        text = inline_md(block.text)
        return f"**{text}**" if block.bad and BOLD not in block.text else text
    if isinstance(block, Bullets):
        return "\n".join(f"- {'⚠ ' if bad else ''}{inline_md(t)}" for t, bad in block.items)
    if isinstance(block, Table):
        return md_table(block)
    if isinstance(block, Figure):
        return (f"![{inline_md(block.title)}](plots/{block.name}.svg)\n\n"
                f"*{inline_md(block.title)}.* {inline_md(block.caption)} "
                f"([SVG](plots/{block.name}.svg), [PNG](plots/{block.name}.png))")
    raise TypeError(block)


def md_table(table):
    """A Table as GitHub Markdown; bad cells and every cell of bad rows in bold."""
    def cell(i, j, text):
        text = inline_md(text)
        marked = (i, j) in table.bad_cells or i in table.bad_rows
        return f"**{text}**" if marked and text and "**" not in text else text
    left = text_columns(table)
    lines = ["| " + " | ".join(inline_md(h) for h in table.headers) + " |",
             "|" + "|".join(":---" if j in left else "---:" for j in range(len(table.headers)))
             + "|"]
    for i, row in enumerate(table.rows):
        lines.append("| " + " | ".join(cell(i, j, c) for j, c in enumerate(row)) + " |")
    return "\n".join(lines)


def render_md(blocks):
    """The whole README.md."""
    return "\n\n".join(md_block(b) for b in blocks) + f"\n\n---\n\n*{inline_md(FOOTER)}*\n"


# ----------------------------------------------------------------------------- main

def build_blocks(report, figures):
    """The document: intro, summary, plots, workloads, k-sweep, header bytes."""
    return (intro_blocks(report) + summary_blocks(report) + [Heading(2, "Plots")] + figures
            + workload_blocks(report) + sweep_blocks(report) + header_blocks(report))


def write_text(path, text):
    """Write text as UTF-8 with \\n line ends."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def generate(out_dir):
    """Check <out_dir>/report.json, then write the plots, index.html and README.md."""
    report = load_report(os.path.join(out_dir, "report.json"))
    plots_dir = os.path.join(out_dir, "plots")
    os.makedirs(plots_dir, exist_ok=True)
    blocks = build_blocks(report, make_plots(report, plots_dir))
    write_text(os.path.join(out_dir, "index.html"), render_html(report["title"], blocks))
    write_text(os.path.join(out_dir, "README.md"), render_md(blocks))


def main(argv):
    """Command line entry; returns the exit status."""
    if len(argv) != 2 or argv[1].startswith("-"):
        print("usage: fanout_report.py <dir>   (reads <dir>/report.json)", file=sys.stderr)
        return 2
    if matplotlib is None:
        print(f"fanout_report: matplotlib is not installed for {sys.executable} (Debian: "
              "apt-get install python3-matplotlib, then run /usr/bin/python3)", file=sys.stderr)
        return 3
    try:
        generate(argv[1])
    except ReportError as e:
        print(f"fanout_report: {os.path.join(argv[1], 'report.json')}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
