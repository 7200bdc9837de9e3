"""The Kubernetes manifests (deploy/kubernetes, written by scripts/k8s_manifests.py): they are what the script
writes, every built-in object is valid against the Kubernetes schemas (kubernetes-validate, offline), and
the properties that let the system lose a node without losing service hold for every service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from common.contracts.queues import TOPOLOGY
from common.topology import queue_arguments
from scripts import k8s_manifests
from scripts.provision import broker_permissions

KUBERNETES_VERSION = "1.30"
# Kinds of the operators the manifests rely on: no schema of theirs ships with kubernetes-validate, so their
# fields are checked below one by one.
OPERATOR_KINDS = {"RabbitmqCluster", "Cluster", "Database", "PodMonitor", "PrometheusRule", "Kustomization",
                  # the RabbitMQ messaging topology operator's
                  "Vhost", "User", "Permission", "TopicPermission", "Exchange", "Queue", "Binding"}


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


def test_each_service_is_given_its_own_secret_and_no_others():
    for name, deployment in _of_kind("Deployment").items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        secrets = {ref["secretRef"]["name"] for ref in container["envFrom"] if "secretRef" in ref}
        assert secrets == {k8s_manifests.SECRETS_NAME, f"sms-credits-{name}"}, name
    assert not {key for key in k8s_manifests.SECRET_KEYS if key.endswith(("_DATABASE_URL", "_BROKER_URL"))}


def test_each_service_has_a_broker_user_with_only_its_own_permissions():
    users, permissions, topics = _of_kind("User"), _of_kind("Permission"), _of_kind("TopicPermission")
    names = {s.name for s in k8s_manifests.SERVICES}
    assert set(users) == set(permissions) == set(topics) == names
    [vhost] = _of_kind("Vhost").values()
    for name in names:
        allowed = broker_permissions(name, k8s_manifests.EXCHANGE)
        assert users[name]["spec"]["importCredentialsSecret"] == {"name": f"rabbitmq-{name}"}
        spec = permissions[name]["spec"]
        assert (spec["vhost"], spec["userReference"]) == (vhost["spec"]["name"], {"name": name})
        assert spec["permissions"] == {"configure": allowed.configure, "write": allowed.write, "read": allowed.read}
        assert topics[name]["spec"]["permissions"]["write"] == allowed.publishes


def test_the_operator_declares_every_queue_as_the_services_do():
    queues = {doc["spec"]["name"]: doc["spec"] for doc in _documents() if doc["kind"] == "Queue"}
    for spec in TOPOLOGY:
        name = f"{k8s_manifests.EXCHANGE}.{spec.name}"
        declared = queues[name]
        assert declared["type"] == "quorum" and declared["durable"] is True
        expected = queue_arguments(spec, name, f"{k8s_manifests.EXCHANGE}.dlx")
        assert {"x-queue-type": "quorum", **declared["arguments"]} == expected
        assert f"{name}.dlq" in queues
    bound = {(doc["spec"]["destination"], doc["spec"].get("routingKey")) for doc in _documents()
             if doc["kind"] == "Binding" and doc["spec"]["source"] == k8s_manifests.EXCHANGE}
    for spec in TOPOLOGY:
        target = f"{k8s_manifests.EXCHANGE}.{spec.name}" + (".filter" if spec.header_filters else "")
        assert {(target, key) for key in spec.routing_keys} <= bound, spec.name


def test_object_names_are_unique_per_kind():
    seen: dict[tuple[str, str], int] = {}
    for doc in _documents():
        key = (doc["kind"], doc.get("metadata", {}).get("name", ""))
        seen[key] = seen.get(key, 0) + 1
    assert [key for key, count in seen.items() if count > 1] == []
