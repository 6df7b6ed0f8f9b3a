"""Stop the build if this stage's Python is not the one the wheels and bytecode are for.

Run in both stages of both Dockerfiles, as `python3 check_python.py STAGE`,
with the build arg PYTHON_VERSION (say "3.13") in the environment. A wrong
base must fail here, with this message, not at import time in production.
Standard library only: it runs on the bare bases.
"""

import os
import sys


def problem(stage: str, wanted: str) -> str | None:
    """Why this interpreter does not fit, or None if it does."""
    running = "%d.%d" % sys.version_info[:2]  # noqa: UP031 -- the version's own format
    if running != wanted:
        return f"{stage} runs Python {running}, the wheels are for {wanted}"
    return None


if __name__ == "__main__":
    sys.exit(problem(sys.argv[1], os.environ["PYTHON_VERSION"]))
