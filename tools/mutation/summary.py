#!/usr/bin/env python3
"""Figures of a Stryker.NET mutation report (reports/mutation-report.json, the mutation-testing-elements schema).

    summary.py REPORT [--name NAME] [--seconds S]   one tab-separated line: name, mutants, killed, survived, no coverage,
                                                    timeouts, ignored, compile errors, score %, run time
    summary.py REPORT --by-folder [--seconds S]     one such line per folder of src/Core that has mutants in the report
                                                    (ignored and compile-error mutants aside), then the total
    summary.py REPORT --survivors                   the surviving and uncovered mutants: file:line, mutator, the original
                                                    code and its replacement, for the review

The score is Stryker's: detected (killed + timeout) over valid mutants (detected + survived + no coverage); ignored
mutants and mutants that did not compile are not counted.
"""
import argparse
import json
import sys
from pathlib import Path

HEADER = "name\tmutants\tkilled\tsurvived\tno_coverage\ttimeout\tignored\tcompile_error\tscore_percent\tseconds"


def empty():
    return {"Killed": 0, "Survived": 0, "NoCoverage": 0, "Timeout": 0, "Ignored": 0, "CompileError": 0, "RuntimeError": 0, "Pending": 0}


def counts(report, keep=lambda path: True):
    c = empty()
    for path, f in report.get("files", {}).items():
        if not keep(path):
            continue
        for m in f.get("mutants", []):
            c[m["status"]] = c.get(m["status"], 0) + 1
    return c


def folder_of(path):
    """The folder of src/Core a file is in ("(root)" for src/Core's own files)."""
    parts = Path(path).parts
    for i in range(len(parts) - 2):
        if parts[i] == "src" and parts[i + 1] == "Core":
            rest = parts[i + 2:]
            return rest[0] if len(rest) > 1 else "(root)"
    return "(other)"


def tested(c):
    return c["Killed"] + c["Timeout"] + c["Survived"] + c["NoCoverage"] + c["RuntimeError"]


def score(c):
    detected = c["Killed"] + c["Timeout"]
    valid = detected + c["Survived"] + c["NoCoverage"] + c["RuntimeError"]
    return None if valid == 0 else 100.0 * detected / valid


def line(name, c, seconds):
    s = score(c)
    valid = c["Killed"] + c["Timeout"] + c["Survived"] + c["NoCoverage"] + c["RuntimeError"]
    return "\t".join(str(v) for v in [
        name, valid, c["Killed"], c["Survived"], c["NoCoverage"], c["Timeout"], c["Ignored"], c["CompileError"],
        "n/a" if s is None else f"{s:.1f}", "" if seconds is None else seconds])


def survivors(report, base):
    out = []
    for path, f in sorted(report.get("files", {}).items()):
        lines = f.get("source", "").splitlines()
        for m in sorted(f.get("mutants", []), key=lambda m: (m["location"]["start"]["line"], m["location"]["start"]["column"])):
            if m["status"] not in ("Survived", "NoCoverage"):
                continue
            start, end = m["location"]["start"], m["location"]["end"]
            original = "\n".join(lines[start["line"] - 1:end["line"]]) if lines else ""
            if start["line"] == end["line"] and lines:
                original = lines[start["line"] - 1][start["column"] - 1:end["column"] - 1]
            rel = path
            try:
                rel = str(Path(path).relative_to(base))
            except ValueError:
                pass
            out.append(f"{m['status']}\t{rel}:{start['line']}\t{m['mutatorName']}\t{original.strip()!r} -> {m.get('replacement', '')!r}")
    return out


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("report")
    p.add_argument("--name", default="")
    p.add_argument("--seconds", type=int)
    p.add_argument("--survivors", action="store_true")
    p.add_argument("--header", action="store_true", help="print the column names first")
    p.add_argument("--by-folder", action="store_true")
    a = p.parse_args(argv)
    report = json.loads(Path(a.report).read_text(encoding="utf-8"))
    if a.survivors:
        for s in survivors(report, Path.cwd()):
            print(s)
        return 0
    if a.header:
        print(HEADER)
    if a.by_folder:
        folders = sorted({folder_of(path) for path in report.get("files", {})})
        for folder in folders:
            c = counts(report, lambda path, folder=folder: folder_of(path) == folder)
            if tested(c) > 0:
                print(line(folder, c, None))
        print(line(a.name or "total", counts(report), a.seconds))
        return 0
    print(line(a.name or Path(a.report).parent.parent.name, counts(report), a.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
