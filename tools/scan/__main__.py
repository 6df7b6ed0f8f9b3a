"""`python -m tools.scan`: the vulnerability gate (`nox -s vulns`) in the session's venv.

vulns [--db-repository REPO[@DIGEST]] [--vex OPENVEX ...] [--offline]
    fetch trivy's database by digest, scan every image of the last build, judge by
    security/scan-policy.toml; exit 1 on a failing finding, or with no fresh database
"""

from __future__ import annotations

import argparse
import sys

from tools.images import record
from tools.process import BuildError, run_shown
from tools.scan import gate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.scan")
    commands = parser.add_subparsers(dest="command", required=True)
    gate.add_options(commands.add_parser("vulns", help="the vulnerability gate"))
    options = parser.parse_args(argv)
    try:
        gate.run_gate(run_shown, record.require(), gate.GateOptions.of(options))
    except BuildError as error:
        print(f"vulnerability gate: FAILED: {error}", file=sys.stderr)
        return 1
    print("vulnerability gate: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
