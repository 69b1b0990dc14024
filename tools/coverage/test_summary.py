#!/usr/bin/env python3
"""Tests of summary.py:  python3 tools/coverage/test_summary.py  (test.sh runs them and counts them with the rest)."""
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import summary  # noqa: E402


def method(lines, branches=()):
    return {"Lines": {str(k): v for k, v in lines.items()},
            "Branches": [{"Line": line, "Offset": off, "EndOffset": end, "Path": path, "Ordinal": ordinal, "Hits": hits}
                         for (line, off, end, path, ordinal, hits) in branches]}


def report(hits_a, hits_b, branch_hits=(0, 0)):
    """One assembly, one file, one method with lines 10 and 11 and a two-way branch on line 10."""
    return {"Gateway.Core.dll": {"/repo/src/Core/A.cs": {"Gateway.Core.A": {
        "System.Void Gateway.Core.A::M()": method({10: hits_a, 11: hits_b},
                                                  [(10, 1, 3, 0, 0, branch_hits[0]), (10, 1, 9, 1, 1, branch_hits[1])])}}}}


class MergeTests(unittest.TestCase):
    def test_a_line_or_branch_is_covered_when_any_run_covered_it(self):
        merged = summary.merge([report(1, 0, (5, 0)), report(0, 0, (0, 2))])
        core = merged["Gateway.Core"]
        self.assertEqual(summary.ratio(core.lines), (1, 2))
        self.assertEqual(summary.ratio(core.branches), (2, 2))

    def test_the_same_run_twice_counts_each_line_and_branch_once(self):
        merged = summary.merge([report(3, 0, (1, 0)), report(3, 0, (1, 0))])
        self.assertEqual(summary.ratio(merged["Gateway.Core"].lines), (1, 2))
        self.assertEqual(summary.ratio(merged["Gateway.Core"].branches), (1, 2))

    def test_a_line_in_two_methods_is_one_line_but_their_branches_are_distinct(self):
        doc = {"Gateway.Storage.dll": {"/s/B.cs": {"B": {
            "B::.ctor()": method({5: 0}, [(5, 1, 3, 0, 0, 1)]),
            "B::.ctor(int)": method({5: 2}, [(5, 1, 3, 0, 0, 0)])}}}}
        storage = summary.merge([doc])["Gateway.Storage"]
        self.assertEqual(summary.ratio(storage.lines), (1, 1))
        self.assertEqual(summary.ratio(storage.branches), (1, 2))

    def test_assemblies_are_kept_apart_and_named_without_the_extension(self):
        other = {"Gateway.Reports.dll": {"/r/C.cs": {"C": {"C::M()": method({1: 1})}}}}
        merged = summary.merge([report(1, 1), other])
        self.assertEqual(sorted(merged), ["Gateway.Core", "Gateway.Reports"])
        self.assertEqual(summary.ratio(merged["Gateway.Reports"].lines), (1, 1))


class TableTests(unittest.TestCase):
    def test_known_assemblies_come_first_in_their_order_then_the_total(self):
        docs = [{name + ".dll": {f"/x/{name}.cs": {"C": {"C::M()": method({1: 1, 2: 0})}}}}
                for name in ["Zeta", "Gateway.Reports", "Gateway.Core", "Gateway.Functions"]]
        rows = [line.split()[0] for line in summary.table(summary.merge(docs))]
        self.assertEqual(rows, ["assembly", "Gateway.Core", "Gateway.Functions", "Gateway.Reports", "Zeta", "total"])

    def test_percentages_and_counts_and_a_dash_where_there_is_nothing_to_count(self):
        doc = {"Gateway.Core.dll": {"/x/A.cs": {"A": {"A::M()": method({1: 1, 2: 0, 3: 0})}}}}
        core_row = summary.table(summary.merge([doc]))[1]
        self.assertIn("33.3% (1/3)", core_row)
        self.assertIn("- (0/0)", core_row)

    def test_the_total_counts_every_assembly(self):
        docs = [report(1, 0, (1, 1)), {"Gateway.Reports.dll": {"/r/C.cs": {"C": {"C::M()": method({1: 1})}}}}]
        total = summary.table(summary.merge(docs))[-1]
        self.assertIn("66.7% (2/3)", total)
        self.assertIn("100.0% (2/2)", total)

    def test_files_adds_a_row_per_file_relative_to_the_root(self):
        lines = summary.table(summary.merge([report(1, 1)]), files=True, root="/repo")
        self.assertTrue(any(line.startswith("  src/Core/A.cs") for line in lines))


class MainTests(unittest.TestCase):
    def test_reads_the_coverage_files_one_level_below_a_directory(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "run1"))
            os.makedirs(os.path.join(d, "run2", "In", "deeper"))
            with open(os.path.join(d, "run1", "coverage.json"), "w") as f:
                json.dump(report(1, 0), f)
            with open(os.path.join(d, "run2", "In", "deeper", "coverage.json"), "w") as f:
                json.dump(report(1, 1), f)  # a copy further down (the trx's In folder) is not read
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertEqual(summary.main([d]), 0)
            self.assertIn("Gateway.Core", out.getvalue())
            self.assertIn("50.0% (1/2)", out.getvalue())

    def test_a_run_without_gateway_core_is_named_in_a_warning_and_the_status_stays_0(self):
        with tempfile.TemporaryDirectory() as d:
            for run, doc in [("run1", report(1, 0)), ("run2", {"Gateway.Reports.dll": {}})]:
                os.makedirs(os.path.join(d, run))
                with open(os.path.join(d, run, "coverage.json"), "w") as f:
                    json.dump(doc, f)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertEqual(summary.main([d]), 0)
            warnings = [line for line in out.getvalue().splitlines() if "WARNING" in line]
            self.assertEqual(len(warnings), 1)
            self.assertIn(os.path.join("run2", "coverage.json"), warnings[0])

    def test_no_coverage_file_is_exit_status_2(self):
        with tempfile.TemporaryDirectory() as d, contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(summary.main([d]), 2)

    def test_an_unreadable_file_is_exit_status_2(self):
        with tempfile.TemporaryDirectory() as d, contextlib.redirect_stderr(io.StringIO()):
            bad = os.path.join(d, "coverage.json")
            with open(bad, "w") as f:
                f.write("{not json")
            self.assertEqual(summary.main([bad]), 2)


if __name__ == "__main__":
    # One closing line that test.sh adds to its counts: "summary.py tests: N passed, M failed".
    result = unittest.TextTestRunner(stream=io.StringIO() if "-q" in sys.argv else sys.stderr, verbosity=1).run(
        unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__]))
    bad = len(result.failures) + len(result.errors)
    if "-q" in sys.argv:
        for test, trace in result.failures + result.errors:
            print(f"FAILED {test.id()}\n{trace}", file=sys.stderr)
    print(f"summary.py tests: {result.testsRun - bad} passed, {bad} failed")
    sys.exit(1 if bad else 0)
