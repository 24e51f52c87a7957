"""The Kubernetes manifests (deploy/k8s), checked offline: kustomize builds them, every resource is
valid against the Kubernetes schemas (strictly: no unknown fields), and they agree with the rest of
the project (TorchServe's settings, the image's layout, the ports)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
# The addresses a cluster needs on the pod's interfaces instead of loopback.
ADDRESSES = {"inference_address", "management_address", "metrics_address"}


def built() -> list[dict]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (Debian's kubernetes-client) is not installed: `make test` installs it"
    done = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def properties(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if "=" in line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_manifests_build_and_match_the_schemas():
    resources = built()
    kinds = sorted(resource["kind"] for resource in resources)
    assert kinds == sorted(
        ["ConfigMap", "ConfigMap", "Deployment", "Deployment", "Service", "Service"]
        + ["PodDisruptionBudget", "PodDisruptionBudget", "HorizontalPodAutoscaler", "HorizontalPodAutoscaler"]
        + ["NetworkPolicy"]
    )
    for resource in resources:
        kubernetes_validate.validate(resource, kubernetes_validate.latest_version(), strict=True)


def test_cluster_settings_are_the_projects_with_open_addresses():
    """deploy/k8s/config.properties is the project's config.properties but for where it listens and
    token authorisation (its keys stay on TorchServe's pod; the network policy stands in)."""
    cluster, local = properties(K8S / "config.properties"), properties(ROOT / "config.properties")
    assert {key for key in cluster if cluster[key] != local.get(key)} == ADDRESSES | {"disable_token_authorization"}
    assert set(local) == set(cluster)
    assert all(cluster[key].startswith("http://0.0.0.0:") for key in ADDRESSES)


def test_pods_run_what_the_image_holds():
    resources = {(r["kind"], r["metadata"]["name"]): r for r in built()}
    torchserve = resources["Deployment", "ocr-torchserve"]["spec"]["template"]["spec"]["containers"][0]
    gateway = resources["Deployment", "ocr-gateway"]["spec"]["template"]["spec"]["containers"][0]
    assert "crnn_ocr=crnn_ocr.mar" in torchserve["command"] and "--foreground" in torchserve["command"]
    assert (ROOT / gateway["command"][gateway["command"].index("--config") + 1]).is_file()
    config = next(v for (k, name), v in resources.items() if k == "ConfigMap" and name.startswith("ocr-gateway"))
    ports = {p["containerPort"] for p in torchserve["ports"]}
    assert config["data"]["OCR_TORCHSERVE_URL"].endswith(":8080") and {8080, 8081, 8082} <= ports
    # The pods run as the image's own unprivileged user (Dockerfile: useradd --uid 10001).
    dockerfile = (ROOT / "Dockerfile").read_text()
    for deployment in ("ocr-torchserve", "ocr-gateway"):
        security = resources["Deployment", deployment]["spec"]["template"]["spec"]["securityContext"]
        assert security["runAsNonRoot"] and f"--uid {security['runAsUser']}" in dockerfile
