"""A containers store of its own, for a build that must see nothing of earlier builds.

buildah and podman read `CONTAINERS_STORAGE_CONF`; a storage.conf under a
directory of its own gives them, and every process started while the store is
entered, an empty store with the machine's storage driver. Images are copied
in from the machine's store by ID through the
`containers-storage:[driver@graphroot+runroot]` transport, which keeps their
config, so an image keeps its ID. The store is emptied when entered and when
left: nothing in it outlives one rebuild.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from tools.process import BuildError

#: The containers library's variable naming a storage.conf in place of the machine's.
STORAGE_CONF_ENV = "CONTAINERS_STORAGE_CONF"


class SeparateStore:
    """An empty store under `root`, which `program` (buildah's or podman's command line)
    uses while entered."""

    def __init__(self, root: Path, *, driver: str, program: Sequence[str]) -> None:
        self.root, self.driver, self.program = root, driver, program
        self.graph, self.runroot = root / "graph", root / "run"
        self.conf = root / "storage.conf"
        self._machine: str | None = None

    def _run(self, *args: str, env: Mapping[str, str], check: bool = True) -> None:
        result = subprocess.run(
            [*self.program, *args], env=env, capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            program = Path(self.program[0]).name
            raise BuildError(f"`{program} {args[0]}` failed: {result.stderr.strip()}")

    def _with(self, conf: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != STORAGE_CONF_ENV}
        return env | ({STORAGE_CONF_ENV: conf} if conf else {})

    def copy_in(self, image_id: str, name: str) -> None:
        """An image of the machine's store, under `name` here."""
        here = f"containers-storage:[{self.driver}@{self.graph}+{self.runroot}]{name}"
        image = image_id.removeprefix("sha256:")
        self._run("push", "--quiet", image, here, env=self._with(self._machine))

    def wipe(self) -> None:
        """Remove the store's images (which unmounts their layers), then its files."""
        if self.conf.exists():
            self._run("rmi", "--all", "--force", env=self._with(str(self.conf)), check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> SeparateStore:
        self._machine = os.environ.get(STORAGE_CONF_ENV)
        self.wipe()
        for directory in (self.graph, self.runroot):
            directory.mkdir(parents=True)
        self.conf.write_text(
            f'[storage]\ndriver = "{self.driver}"\n'
            f'graphroot = "{self.graph}"\nrunroot = "{self.runroot}"\n'
        )
        os.environ[STORAGE_CONF_ENV] = str(self.conf)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.wipe()
        os.environ.pop(STORAGE_CONF_ENV, None)
        if self._machine is not None:
            os.environ[STORAGE_CONF_ENV] = self._machine
