"""The released manifests, run by a real engine: podman kube play, behind the policy gate."""

from __future__ import annotations

import json
from pathlib import Path

from tools.loopback import free_port, get, wait_for
from tools.model import DEPLOYED_VARIANT
from tools.release.kubeplay import KubePlay, write_playable
from tools.release.policy import Gate
from tools.release.references import Pinned, Repository
from tools.release.release import Released, rendered_overlay

PLAY_WITHIN = 120


def test_the_released_deployment_serves_healthz(
    released: dict[str, Released], release_dir: Path, gate: Gate, repository: Repository
) -> None:
    rendered = rendered_overlay(release_dir)
    port = free_port()
    manifests = release_dir / "play.yaml"
    images = write_playable(rendered, port, manifests)
    assert images == [str(released[DEPLOYED_VARIANT].image)]
    assert gate.check(Pinned.parse(images[0])).admitted
    with KubePlay(manifests, release_dir / "play", repository) as pod:
        url = f"http://127.0.0.1:{port}/healthz"
        assert wait_for(url, within=PLAY_WITHIN, poll=0.5), pod.logs()
        status, _, body = get(url)
        assert status == 200
        assert json.loads(body) == {"status": "ok"}
        running = pod.podman("ps", "--format", "{{.Image}}").stdout.split()
        assert images[0] in running
