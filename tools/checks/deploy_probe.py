"""Fetch /healthz from the deployed Service through `kubectl port-forward`.

Run by `nox -s deploy` once the rollout is done. Exits non-zero, with the
reason, if the app does not answer ok.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path

NAMESPACE = "moscow-time"
SERVICE = "svc/moscow-time"


def kubeconfig_problem(environ: Mapping[str, str]) -> str | None:
    """Why no cluster can be reached from this environment, or None."""
    kubeconfig = environ.get("KUBECONFIG", "")
    if not kubeconfig:
        return "no cluster configured: set KUBECONFIG to a kubeconfig file"
    missing = [p for p in kubeconfig.split(os.pathsep) if not Path(p).is_file()]
    if missing:
        return f"no cluster configured: KUBECONFIG names no file at {', '.join(missing)}"
    return None


def main() -> int:
    forward = subprocess.Popen(
        ["kubectl", "--namespace", NAMESPACE, "port-forward", SERVICE, "0:80"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for line in forward.stdout or ():
            if match := re.search(r"Forwarding from 127\.0\.0\.1:(\d+)", line):
                break
        else:
            print("kubectl port-forward exited before forwarding", file=sys.stderr)
            return 1
        url = f"http://127.0.0.1:{match[1]}/healthz"
        with urllib.request.urlopen(url, timeout=10) as response:
            status = json.load(response).get("status")
        print(f"{url}: status {status}")
        return 0 if status == "ok" else 1
    finally:
        forward.terminate()
        forward.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
