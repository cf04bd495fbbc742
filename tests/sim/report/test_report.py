"""Tests of the report generator sim/report/fanout_report.py (run as a child process).

Environment: FANOUT_REPORT_GENERATOR = path of fanout_report.py (default: found from this file's
place in the source tree); FANOUT_REPORT_PYTHON = interpreter with matplotlib (default
/usr/bin/python3). Input: fixture/report.json next to this file, a hand-made report following
format fanout-report/1 (4 modes, 3 workloads, 5 k-sweep points, the checkpoint port run failed).
Exits 77 (ctest: skipped) when the interpreter lacks matplotlib.
"""

import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATOR = os.environ.get("FANOUT_REPORT_GENERATOR",
                           os.path.join(HERE, "..", "..", "..", "sim", "report", "fanout_report.py"))
PYTHON = os.environ.get("FANOUT_REPORT_PYTHON", "/usr/bin/python3")
FIXTURE = os.path.join(HERE, "fixture", "report.json")
PLOTS = ("completion_vs_k", "header_bytes_vs_k", "header_bytes_vs_nodes", "acks_per_message_vs_k",
         "link_bytes_by_workload", "sender_egress_by_workload", "sender_egress_vs_k")


def load_fixture():
    """The fixture as a dict (a fresh copy each call)."""
    with open(FIXTURE, encoding="utf-8") as f:
        return json.load(f)


def run_generator(report, text=None):
    """Write report (or raw text) to a fresh dir's report.json and run the generator on it.
    Returns (completed process, dir); the dir is removed at interpreter exit by its owner."""
    out = tempfile.mkdtemp(prefix="fanout-report-test-")
    with open(os.path.join(out, "report.json"), "w", encoding="utf-8") as f:
        f.write(text if text is not None else json.dumps(report))
    proc = subprocess.run([PYTHON, "-B", GENERATOR, out], capture_output=True, text=True, timeout=120)
    return proc, out


def read(path):
    """A text file's contents."""
    with open(path, encoding="utf-8") as f:
        return f.read()


def remove_tree(path):
    """Delete a test output directory."""
    for root, dirs, files in os.walk(path, topdown=False):
        for name in files:
            os.remove(os.path.join(root, name))
        for name in dirs:
            os.rmdir(os.path.join(root, name))
    os.rmdir(path)


class FixtureReport(unittest.TestCase):
    """The generator run once on the fixture; every output checked."""

    @classmethod
    def setUpClass(cls):
        cls.report = load_fixture()
        cls.proc, cls.out = run_generator(cls.report)

    @classmethod
    def tearDownClass(cls):
        remove_tree(cls.out)

    def test_exit_status_and_files(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        self.assertEqual(self.proc.stderr, "")
        for name in ("index.html", "README.md"):
            self.assertGreater(os.path.getsize(os.path.join(self.out, name)), 1000, name)

    def test_plots_in_both_formats(self):
        for name in PLOTS:
            for ext, magic in ((".svg", b"<?xml"), (".png", b"\x89PNG")):
                path = os.path.join(self.out, "plots", name + ext)
                self.assertTrue(os.path.isfile(path), path)
                self.assertGreater(os.path.getsize(path), 1000, path)
                with open(path, "rb") as f:
                    self.assertTrue(f.read(8).startswith(magic), path)

    def test_html_references_plots_and_names(self):
        page = read(os.path.join(self.out, "index.html"))
        for name in PLOTS:
            self.assertIn(f'src="plots/{name}.svg"', page)
            self.assertIn(f'href="plots/{name}.png"', page)
        for w in self.report["workloads"]:
            self.assertIn(w["name"], page)
            self.assertIn(w["title"], page)
        for mode in self.report["modes"]:
            self.assertIn(mode, page)
        self.assertIn(self.report["command"], page)
        self.assertIn("Summary: where Fanout wins and where it does not", page)
        self.assertIn("All figures measured by fanout-sim", page)
        self.assertNotIn("<script", page)

    def test_readme_has_tables_and_images(self):
        md = read(os.path.join(self.out, "README.md"))
        for name in PLOTS:
            self.assertIn(f"(plots/{name}.svg)", md)
        self.assertIn("| mode | completion p50 (µs) | completion p99 (µs) | makespan (µs) |", md)
        self.assertEqual(md.count("\n| mode | completion p50"), len(self.report["workloads"]))
        self.assertIn("| step | unicast (µs) |", md)  # moe per-step completion
        self.assertIn("| k | mode |", md)
        for w in self.report["workloads"]:
            self.assertIn(f"### {w['name']}:", md)
        # The moe unicast row carries the fixture's numbers (p99 40,900 ns = 40.9 µs).
        self.assertRegex(md, r"\| unicast \| 30\.3 \| 40\.9 \| 251 \|")

    def test_failed_run_marked(self):
        page = read(os.path.join(self.out, "index.html"))
        md = read(os.path.join(self.out, "README.md"))
        failure = self.report["workloads"][2]["runs"]["port"]["failures"][0]
        self.assertIn('<tr class="bad"><td class="l">port</td>', page)
        self.assertIn("FAILED", page)
        self.assertIn(failure.replace("->", "-&gt;"), page)
        self.assertIn("**FAILED**", md)
        self.assertIn("Identical delivery across modes: <strong>NO</strong>", page)
        self.assertIn("identical delivery across modes: yes", md)
        self.assertIn("port in checkpoint (FAILED)", md)  # omitted from the bar plots

    def test_summary_is_computed(self):
        md = read(os.path.join(self.out, "README.md"))
        moe = {m: r for m, r in self.report["workloads"][0]["runs"].items()}
        ratio = moe["unicast"]["completion_ns"]["p99"] / moe["port"]["completion_ns"]["p99"]
        self.assertIn(f"completion p99 29.9 µs vs unicast 40.9 µs ({ratio:.2f}×)", md)
        # k = 1: the Fanout modes are not faster than unicast; listed under "not better".
        self.assertIn("k-sweep k = 1, **tree** is not better than **unicast**", md)
        self.assertIn("k-sweep k = 1, **port** is not better than **unicast**", md)


class Behaviour(unittest.TestCase):
    """Error handling, omission of failed points and reproducibility."""

    def expect_error(self, report, key, text=None):
        proc, out = run_generator(report, text)
        try:
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertRegex(proc.stderr, r"^fanout_report: .*report\.json: ")
            self.assertIn(key, proc.stderr)
            self.assertEqual(proc.stderr.count("\n"), 1, proc.stderr)
            self.assertFalse(os.path.exists(os.path.join(out, "index.html")))
        finally:
            remove_tree(out)

    def test_missing_top_level_key(self):
        report = load_fixture()
        del report["k_sweep"]
        self.expect_error(report, "missing key 'k_sweep'")

    def test_missing_nested_key(self):
        report = load_fixture()
        del report["workloads"][1]["runs"]["bier"]["completion_ns"]["p99"]
        self.expect_error(report, "missing key 'workloads[1].runs.bier.completion_ns.p99'")

    def test_wrong_type(self):
        report = load_fixture()
        report["header_bytes"]["vs_nodes"]["points"][0]["bier256_mean"] = "176"
        self.expect_error(report, "'header_bytes.vs_nodes.points[0].bier256_mean' should be a number")

    def test_wrong_format_and_bad_json(self):
        report = load_fixture()
        report["format"] = "fanout-report/2"
        self.expect_error(report, "'format'")
        self.expect_error(None, "not valid JSON", text='{"format": ')

    def test_missing_file(self):
        out = tempfile.mkdtemp(prefix="fanout-report-test-")
        try:
            proc = subprocess.run([PYTHON, "-B", GENERATOR, out], capture_output=True, text=True)
            self.assertEqual(proc.returncode, 2)
            self.assertIn("report.json: cannot read", proc.stderr)
        finally:
            remove_tree(out)

    def test_failed_and_missing_sweep_points_omitted(self):
        report = copy.deepcopy(load_fixture())
        point = report["k_sweep"]["points"][2]
        point["runs"]["tree"] = {"ok": False, "failures": ["message 2 not completed"]}
        del point["runs"]["bier"]
        proc, out = run_generator(report)
        try:
            self.assertEqual(proc.returncode, 0, proc.stderr)
            md = read(os.path.join(out, "README.md"))
            k = point["k"]
            self.assertIn(f"tree at k = {k} (FAILED)", md)
            self.assertIn(f"bier at k = {k} (missing)", md)
            self.assertRegex(md, rf"\| \*\*{k}\*\* \| \*\*tree\*\* \|.*\*\*FAILED\*\* \|")
            self.assertIn("message 2 not completed", md)
        finally:
            remove_tree(out)

    def test_reproducible(self):
        report = load_fixture()
        first, out1 = run_generator(report)
        second, out2 = run_generator(report)
        try:
            self.assertEqual((first.returncode, second.returncode), (0, 0))
            for name in ["index.html", "README.md"] + [f"plots/{p}.svg" for p in PLOTS]:
                with open(os.path.join(out1, name), "rb") as a, open(os.path.join(out2, name), "rb") as b:
                    self.assertEqual(a.read(), b.read(), name)
        finally:
            remove_tree(out1)
            remove_tree(out2)


def have_matplotlib():
    """Whether PYTHON can import matplotlib."""
    proc = subprocess.run([PYTHON, "-c", "import matplotlib"], capture_output=True)
    return proc.returncode == 0


if __name__ == "__main__":
    if not os.path.isfile(PYTHON) or not have_matplotlib():
        print(f"skipped: {PYTHON} with matplotlib not found (Debian: python3-matplotlib)")
        sys.exit(77)
    unittest.main(verbosity=2)
