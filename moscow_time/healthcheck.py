"""``python -m moscow_time.healthcheck``: exit 0 if the local server is healthy.

The images' HEALTHCHECK runs this, in exec form, because neither image has a
shell, curl or wget to run anything else.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request

TIMEOUT_SECONDS = 2.0


def check(port: int) -> str | None:
    """Return None if /healthz answers ok, else what went wrong."""
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            if json.load(response).get("status") == "ok":
                return None
            return f"{url} answered without status ok"
    except (OSError, ValueError) as error:
        return f"{url}: {error}"


def main() -> int:
    problem = check(int(os.environ.get("PORT", "5000")))
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
