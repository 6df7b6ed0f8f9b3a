"""compose, the tool: which one this machine has, and its check of compose.yaml.

trivy reads no compose files, so compose itself validates ours: `config
--quiet` refuses an unknown key or a wrong type, and prints nothing otherwise.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

#: Why compose.yaml went unchecked, and what to do about it.
MISSING = (
    "neither `docker compose` nor docker-compose is installed: "
    "`bin/setup --for test` installs docker-compose"
)


def command() -> list[str] | None:
    """`docker compose` (the plugin) if present, else `docker-compose`, else None."""
    if shutil.which("docker"):
        plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if plugin.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def validate(tool: list[str], compose_file: Path) -> list[str]:
    """The command that fails, naming the key, if `compose_file` is not valid compose."""
    return [*tool, "--file", str(compose_file), "config", "--quiet"]
