#!/usr/bin/env python3
"""Fails on any package, direct or transitive, with a high or critical NuGet advisory.

Reads the JSON of `dotnet list package --vulnerable --include-transitive --format json` on stdin (or a file), prints
each vulnerable package with its severity and advisory, and exits 1 when one is high or critical. `--self-test` runs it
on a made-up report first, so a parser that no longer finds what it looks for fails rather than passing everything.
"""
import json
import sys

FAILING = {"high", "critical"}


def findings(report):
    for project in report.get("projects", []):
        for framework in project.get("frameworks", []):
            for kind in ("topLevelPackages", "transitivePackages"):
                for package in framework.get(kind, []):
                    for advisory in package.get("vulnerabilities", []):
                        yield (project.get("path", "?"), package.get("id", "?"), package.get("resolvedVersion", "?"),
                               advisory.get("severity", "?"), advisory.get("advisoryurl", "?"))


def check(report):
    failing = 0
    for path, package, version, severity, url in findings(report):
        print(f"    {package} {version} ({severity}) in {path}: {url}")
        failing += severity.lower() in FAILING
    return failing


SAMPLE = {"version": 1, "projects": [{"path": "a.csproj", "frameworks": [{"framework": "net10.0",
    "topLevelPackages": [{"id": "Low.Risk", "resolvedVersion": "1.0.0", "vulnerabilities": [{"severity": "Low", "advisoryurl": "u1"}]}],
    "transitivePackages": [{"id": "Bad.Package", "resolvedVersion": "2.0.0", "vulnerabilities": [{"severity": "Critical", "advisoryurl": "u2"}]}]}]}]}

def advisories_available(index_url="https://api.nuget.org/v3/index.json"):
    """Whether the package source publishes advisories (a VulnerabilityInfo resource in its service index)."""
    import urllib.request
    with urllib.request.urlopen(index_url, timeout=30) as response:
        index = json.load(response)
    return any(r.get("@type", "").startswith("VulnerabilityInfo") for r in index.get("resources", []))


if __name__ == "__main__":
    if "--advisories-available" in sys.argv:
        sys.exit(0 if advisories_available() else 3)
    if "--self-test" in sys.argv:
        if check(SAMPLE) != 1:
            sys.exit("self-test: the made-up critical advisory was not found")
        sys.exit(0)
    source = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    report = json.load(source)
    if "projects" not in report:
        sys.exit("not a report of dotnet list package --format json")
    failing = check(report)
    if failing:
        sys.exit(f"{failing} package(s) with a high or critical advisory")
    print(f"    no package with a high or critical advisory in {len(report['projects'])} projects")
