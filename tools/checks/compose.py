"""compose, the tool: which one this machine has, and its check of compose.yaml.

trivy reads no compose files, so compose itself validates ours: `config
--quiet` refuses an unknown key or a wrong type, and prints nothing otherwise.
"""

from __future__ import annotations

from pathlib import Path

from tools.process import have, succeeds

#: Why compose.yaml went unchecked, and what to do about it.
MISSING = (
    "neither `docker compose` nor docker-compose is installed: "
    "`bin/setup --for test` installs docker-compose"
)


def command() -> list[str] | None:
    """`docker compose` (the plugin) if present, else `docker-compose`, else None."""
    if have("docker") and succeeds("docker", "compose", "version"):
        return ["docker", "compose"]
    if have("docker-compose"):
        return ["docker-compose"]
    return None


def validate(tool: list[str], compose_file: Path) -> list[str]:
    """The command that fails, naming the key, if `compose_file` is not valid compose."""
    return [*tool, "--file", str(compose_file), "config", "--quiet"]
