"""The Kubernetes manifests and the compose file carry the images' hardening."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.checks import compose
from tools.paths import COMPOSE_FILE, ROOT

ALLOWED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    """What `kubectl kustomize deploy/kubernetes` renders."""
    out = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / "deploy" / "kubernetes")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def kind(rendered: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (found,) = [doc for doc in rendered if doc["kind"] == name]
    return found


def restricted_violations(pod: dict[str, Any]) -> list[str]:  # noqa: PLR0912 -- one branch a rule
    """Every rule of the restricted Pod Security Standard that `pod` breaks.

    https://kubernetes.io/docs/concepts/security/pod-security-standards/
    """
    problems = []
    pod_context = pod.get("securityContext", {})
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            problems.append(f"{flag} is set")
    for volume in pod.get("volumes", []):
        types = set(volume) - {"name"}
        if not types <= ALLOWED_VOLUME_TYPES:
            problems.append(f"volume {volume['name']} uses {types}")
    if pod_context.get("seLinuxOptions", {}).get("type") not in (
        None,
        "",
        "container_t",
        "container_init_t",
        "container_kvm_t",
        "container_engine_t",
    ):
        problems.append("pod SELinux type not allowed")
    containers = pod.get("containers", []) + pod.get("initContainers", [])
    for container in containers:
        name, context = container["name"], container.get("securityContext", {})

        def setting(key: str, context: dict[str, Any] = context) -> Any:
            return context.get(key, pod_context.get(key))

        if context.get("privileged"):
            problems.append(f"{name}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        if setting("runAsNonRoot") is not True:
            problems.append(f"{name}: runAsNonRoot is not true")
        if setting("runAsUser") == 0:
            problems.append(f"{name}: runAsUser is 0")
        if (setting("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile is not RuntimeDefault or Localhost")
        capabilities = context.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []):
            problems.append(f"{name}: capabilities do not drop ALL")
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities")
        if any(port.get("hostPort") for port in container.get("ports", [])):
            problems.append(f"{name}: uses a hostPort")
        if context.get("procMount", "Default") != "Default":
            problems.append(f"{name}: procMount is not Default")
    return problems


def test_pod_spec_passes_every_restricted_rule(rendered: list[dict[str, Any]]) -> None:
    pod = kind(rendered, "Deployment")["spec"]["template"]["spec"]
    assert restricted_violations(pod) == []


def test_the_restricted_check_catches_a_bad_pod(rendered: list[dict[str, Any]]) -> None:
    pod = kind(rendered, "Deployment")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    bad = {
        **pod,
        "hostNetwork": True,
        "securityContext": {},
        "containers": [{**container, "securityContext": {"privileged": True}}],
    }
    assert len(restricted_violations(bad)) >= 5


def test_namespace_enforces_restricted(rendered: list[dict[str, Any]]) -> None:
    labels = kind(rendered, "Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_deployment_rolls_without_losing_capacity(rendered: list[dict[str, Any]]) -> None:
    spec = kind(rendered, "Deployment")["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = spec["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["runAsUser"] == 65532
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]
    # The app stops within 2 s of SIGTERM, after the preStop pause.
    assert (
        pod["terminationGracePeriodSeconds"]
        >= container["lifecycle"]["preStop"]["sleep"]["seconds"] + 2
    )


def test_image_is_set_through_kustomize(rendered: list[dict[str, Any]]) -> None:
    container = kind(rendered, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "moscow-time:distroless"
    kustomization = yaml.safe_load((ROOT / "deploy/kubernetes/kustomization.yaml").read_text())
    assert kustomization["images"][0]["name"] == "moscow-time"


def test_network_policy_admits_only_port_5000(rendered: list[dict[str, Any]]) -> None:
    spec = kind(rendered, "NetworkPolicy")["spec"]
    assert spec["podSelector"]["matchLabels"]
    assert spec["ingress"] == [{"ports": [{"port": 5000, "protocol": "TCP"}]}]
    assert spec["egress"] == []


def test_disruption_budget_and_autoscaler_select_the_app(rendered: list[dict[str, Any]]) -> None:
    pod_labels = kind(rendered, "Deployment")["spec"]["template"]["metadata"]["labels"]
    selector = kind(rendered, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    hpa = kind(rendered, "HorizontalPodAutoscaler")["spec"]
    assert hpa["scaleTargetRef"]["name"] == kind(rendered, "Deployment")["metadata"]["name"]
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"


def test_compose_file_carries_the_hardening() -> None:
    service = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["moscow-time"]
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]
    assert service["security_opt"] == ["no-new-privileges:true"]
    for limit in ("pids_limit", "mem_limit", "cpus"):
        assert service[limit], limit
    assert service["restart"]
    assert service["ports"] == ["127.0.0.1:${MOSCOW_TIME_PORT:-5000}:5000"]
    assert "healthcheck" not in service  # the image's own applies


def test_compose_validates_our_file_and_refuses_a_misspelt_key(tmp_path: Path) -> None:
    tool = compose.command()
    if tool is None:
        pytest.skip(compose.MISSING)
    ours = subprocess.run(
        compose.validate(tool, COMPOSE_FILE), check=False, capture_output=True, text=True
    )
    assert ours.returncode == 0, ours.stderr
    misspelt = tmp_path / "compose.yaml"
    misspelt.write_text(COMPOSE_FILE.read_text().replace("read_only:", "read_onyl:"))
    refused = subprocess.run(
        compose.validate(tool, misspelt), check=False, capture_output=True, text=True
    )
    assert refused.returncode != 0
    assert "read_onyl" in refused.stderr


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "no cluster configured: set KUBECONFIG"),
        ({"KUBECONFIG": "/nonexistent/config"}, "KUBECONFIG names no file at /nonexistent/config"),
    ],
)
def test_deploy_says_when_no_cluster_is_configured(environ: dict[str, str], message: str) -> None:
    from tools.checks.deploy_probe import kubeconfig_problem

    assert message in (kubeconfig_problem(environ) or "")


def test_deploy_goes_ahead_with_a_kubeconfig(tmp_path: Path) -> None:
    from tools.checks.deploy_probe import kubeconfig_problem

    config = tmp_path / "config"
    config.write_text("apiVersion: v1\nkind: Config\n")
    assert kubeconfig_problem({"KUBECONFIG": str(config)}) is None
