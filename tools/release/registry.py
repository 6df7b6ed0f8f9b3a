"""A CNCF Distribution registry (Debian's `docker-registry`) on 127.0.0.1.

The release's tests start one from a fixture; `.ci/run` starts one with
`python -m tools.release.registry --port N --storage DIR`, the way it starts
dockerd. It listens on loopback only and speaks plain HTTP, which is what
cosign's `--allow-http-registry` and skopeo's `--tls-verify=false` are for.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path
from types import TracebackType

import yaml

from tools.loopback import free_port, wait_for
from tools.process import BuildError

PROGRAM = "docker-registry"


def config(port: int, storage: Path) -> dict[str, object]:
    """Distribution's configuration: loopback, files under `storage`, deletes allowed."""
    return {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            # The tests and re-releases overwrite tags; deletes keep storage tidy.
            "delete": {"enabled": True},
        },
        "http": {"addr": f"127.0.0.1:{port}"},
    }


def command(port: int, storage: Path) -> list[str]:
    """The registry's command line; writes its config beside its storage."""
    if shutil.which(PROGRAM) is None:
        raise BuildError(f"no {PROGRAM} (docker-registry, CNCF Distribution): run `bin/setup`")
    storage.mkdir(parents=True, exist_ok=True)
    config_file = storage.parent / f"{storage.name}.yml"
    config_file.write_text(yaml.safe_dump(config(port, storage)))
    return [PROGRAM, "serve", str(config_file)]


class LoopbackRegistry:
    """A registry process for the length of a `with` block."""

    def __init__(self, storage: Path, port: int | None = None) -> None:
        self.storage = storage
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = storage.parent / f"{storage.name}.log"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackRegistry:
        program = command(self.port, self.storage)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(program, stdout=log, stderr=log)
        if not wait_for(f"http://{self.address}/v2/", within=30, poll=0.2):
            self.__exit__(None, None, None)
            raise BuildError(f"{PROGRAM} did not answer on {self.address} in 30 s: see {self.log}")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--storage", type=Path, required=True)
    options = parser.parse_args()
    program = command(options.port, options.storage.resolve())
    # The registry takes this process over, so `.ci/run` can stop it by its PID.
    os.execvp(program[0], program)  # noqa: S606


if __name__ == "__main__":
    main()
