"""The Kubernetes manifests (deploy/kubernetes, written by scripts/k8s_manifests.py): they are what the script
writes, every built-in object is valid against the Kubernetes schemas (kubernetes-validate, offline), and
the properties that let the system lose a node without losing service hold for every service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from scripts import k8s_manifests

KUBERNETES_VERSION = "1.30"
# Kinds of the operators the manifests rely on: no schema of theirs ships with kubernetes-validate, so their
# fields are checked below one by one.
OPERATOR_KINDS = {"RabbitmqCluster", "Cluster", "Database", "PodMonitor", "PrometheusRule", "Kustomization"}


def _documents() -> list[dict[str, Any]]:
    return [doc for path in sorted(k8s_manifests.OUT.glob("*.yaml"))
            for doc in yaml.safe_load_all(path.read_text()) if doc]


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc.get("metadata", {}).get("name", kind): doc for doc in _documents() if doc["kind"] == kind}


def test_the_files_are_what_the_script_writes():
    written = {path.name: path.read_text() for path in k8s_manifests.OUT.glob("*.yaml")}
    expected = {name: k8s_manifests.render(docs) for name, docs in k8s_manifests.documents().items()}
    assert written == expected, "run `python -m scripts.k8s_manifests` and commit what it writes"


@pytest.mark.parametrize("doc", [d for d in _documents() if d["kind"] not in OPERATOR_KINDS],
                         ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_built_in_object_is_valid_against_the_kubernetes_schema(doc: dict[str, Any]):
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_a_wrong_field_is_caught():
    broken = _of_kind("Deployment")["ledger"]
    broken = {**broken, "spec": {**broken["spec"], "replica": 2}}  # a misspelt field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_every_service_runs_two_replicas_on_different_nodes_probed_budgeted_and_scaled():
    deployments, budgets = _of_kind("Deployment"), _of_kind("PodDisruptionBudget")
    scalers, services = _of_kind("HorizontalPodAutoscaler"), _of_kind("Service")
    names = {s.name for s in k8s_manifests.SERVICES}
    assert set(deployments) == set(budgets) == set(scalers) == set(services) == names
    for name, deployment in deployments.items():
        spec = deployment["spec"]
        pod = spec["template"]["spec"]
        [container] = pod["containers"]
        assert spec["replicas"] >= 2 and spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, name
        assert pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert budgets[name]["spec"]["minAvailable"] == 1, name
        assert scalers[name]["spec"]["minReplicas"] >= 2, name
        assert {"configMapRef": {"name": "sms-credits-config"}} in container["envFrom"], name


def test_no_secret_is_written_in_the_manifests():
    config = _of_kind("ConfigMap")["sms-credits-config"]["data"]
    assert not set(config) & set(k8s_manifests.SECRET_KEYS)
    assert "Secret" not in {doc["kind"] for doc in _documents()}
    text = "\n".join(path.read_text() for path in k8s_manifests.OUT.glob("*.yaml")).lower()
    assert "password:" not in text and "postgresql://" not in text and "amqp://" not in text


def test_three_broker_nodes_a_postgres_replica_and_a_database_owned_by_each_service():
    [broker] = _of_kind("RabbitmqCluster").values()
    assert broker["spec"]["replicas"] == 3
    [cluster] = _of_kind("Cluster").values()
    assert cluster["spec"]["instances"] >= 2  # a primary and a streaming replica
    owners = {db["spec"]["name"]: db["spec"]["owner"] for db in _of_kind("Database").values()}
    owners[cluster["spec"]["bootstrap"]["initdb"]["database"]] = cluster["spec"]["bootstrap"]["initdb"]["owner"]
    assert owners == {s.name: s.name for s in k8s_manifests.SERVICES}


def test_the_cluster_alerts_are_the_ones_tested_with_promtool():
    [rule] = _of_kind("PrometheusRule").values()
    assert rule["spec"] == yaml.safe_load(Path(k8s_manifests.ALERTS).read_text())
    [monitor] = _of_kind("PodMonitor").values()
    assert monitor["spec"]["podMetricsEndpoints"][0]["path"] == "/metrics"


def test_the_kustomization_lists_every_file():
    [kustomization] = _of_kind("Kustomization").values()
    files = {path.name for path in k8s_manifests.OUT.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
