#!/usr/bin/env python3
"""Merges coverlet's coverage.json files (one per test project) and prints line and branch coverage per assembly.

    python3 tools/coverage/summary.py RESULTS_DIR_OR_FILES... [--files]

A directory argument means every coverage.json one level below it (dotnet test --results-directory puts each test
project's attachments in a folder of its own). Several test projects load the same assembly (Gateway.Core is under
test in all of them), so the runs are merged before counting: a source line counts as covered when any run executed
it, a branch when any run took it. Branches are keyed by method and IL offset, which coverlet's JSON keeps (cobertura
only says how many of a line's branches were taken, which cannot be merged exactly); every run instruments the same
Release build, so the keys agree.

Line coverage counts distinct source lines (file, line number) of the assembly; branch coverage counts the branch
outcomes coverlet instruments (each way out of a condition). --files adds a row for each source file under its
assembly. A run (a coverage.json) without Gateway.Core, which every test project loads, is named in a warning: coverlet
leaves out a module it cannot instrument without failing the run. Exit status 0 unless no coverage file is found or
one cannot be read (2).
"""
import json
import os
import sys

# The order of the table; any other assembly follows in name order.
KNOWN = ["Gateway.Core", "Gateway.Storage", "Gateway.Functions", "Gateway.Reports"]
# Every test project depends on it, so a run without it means coverlet could not instrument it (and likely others):
# coverlet says so only in its diagnostics log, and leaves the module out of the report.
IN_EVERY_RUN = "Gateway.Core"


class Counts:
    """Lines: (file, line) -> covered. Branches: (file, class, method, line, offset, end offset, path, ordinal) -> covered."""

    def __init__(self):
        self.lines = {}
        self.branches = {}

    def add_line(self, key, hits):
        self.lines[key] = self.lines.get(key, False) or hits > 0

    def add_branch(self, key, hits):
        self.branches[key] = self.branches.get(key, False) or hits > 0


def merge(reports):
    """reports: parsed coverage.json documents. Returns {assembly: Counts}."""
    assemblies = {}
    for report in reports:
        for module, documents in report.items():
            name = module[:-4] if module.lower().endswith((".dll", ".exe")) else module
            counts = assemblies.setdefault(name, Counts())
            for document, classes in documents.items():
                for cls, methods in classes.items():
                    for method, data in methods.items():
                        for line, hits in data.get("Lines", {}).items():
                            counts.add_line((document, int(line)), hits)
                        for b in data.get("Branches", []):
                            key = (document, cls, method, b["Line"], b["Offset"], b["EndOffset"], b["Path"], b["Ordinal"])
                            counts.add_branch(key, b["Hits"])
    return assemblies


def ratio(flags):
    """(covered, total) of a dict of covered flags."""
    values = list(flags.values())
    return sum(1 for v in values if v), len(values)


def percent(covered, total):
    return "-" if total == 0 else f"{100.0 * covered / total:.1f}%"


def cell(covered, total):
    return f"{percent(covered, total):>6} ({covered}/{total})"


def ordered(names):
    return [n for n in KNOWN if n in names] + sorted(n for n in names if n not in KNOWN)


def table(assemblies, files=False, root=""):
    """The printed table, as a list of lines."""
    rows = []
    all_lines = {}
    all_branches = {}
    for name in ordered(assemblies):
        counts = assemblies[name]
        rows.append((name, ratio(counts.lines), ratio(counts.branches)))
        all_lines.update({(name,) + k: v for k, v in counts.lines.items()})
        all_branches.update({(name,) + k: v for k, v in counts.branches.items()})
        if files:
            for document in sorted({k[0] for k in counts.lines}):
                shown = os.path.relpath(document, root) if root and os.path.isabs(document) else document
                lines = {k: v for k, v in counts.lines.items() if k[0] == document}
                branches = {k: v for k, v in counts.branches.items() if k[0] == document}
                rows.append(("  " + shown, ratio(lines), ratio(branches)))
    rows.append(("total", ratio(all_lines), ratio(all_branches)))
    width = max(len("assembly"), *(len(r[0]) for r in rows))
    cells = [(r[0], cell(*r[1]), cell(*r[2])) for r in rows]
    line_width = max(len("lines"), *(len(c[1]) for c in cells))
    out = [f"{'assembly':<{width}}  {'lines':<{line_width}}  branches"]
    out += [f"{c[0]:<{width}}  {c[1]:<{line_width}}  {c[2]}" for c in cells]
    return out


def find(paths):
    """coverage.json files: the files named, and those one level below each directory named."""
    found = []
    for path in paths:
        if os.path.isdir(path):
            for entry in sorted(os.listdir(path)):
                candidate = os.path.join(path, entry, "coverage.json")
                if os.path.isfile(candidate):
                    found.append(candidate)
        else:
            found.append(path)
    return found


def missing_from(reports, paths, name=IN_EVERY_RUN):
    """The files among paths whose report has no module called name (.dll)."""
    return [path for path, report in zip(paths, reports) if name + ".dll" not in report]


def main(argv):
    files = "--files" in argv
    paths = [a for a in argv if a != "--files"]
    found = find(paths)
    if not found:
        print(f"coverage: no coverage.json under {' '.join(paths) or '(nothing named)'}", file=sys.stderr)
        return 2
    try:
        reports = []
        for path in found:
            with open(path, encoding="utf-8") as f:
                reports.append(json.load(f))
    except (OSError, ValueError) as e:
        print(f"coverage: cannot read {path}: {e}", file=sys.stderr)
        return 2
    for line in table(merge(reports), files=files, root=os.getcwd()):
        print(line)
    for path in missing_from(reports, found):
        print(f"coverage: WARNING: {path} has no {IN_EVERY_RUN}: coverlet could not instrument it in that run "
              "(run dotnet test with --diag and look for 'Unable to instrument module'); the figures above lack it")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
