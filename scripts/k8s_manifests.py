"""`python -m scripts.k8s_manifests`: writes the Kubernetes manifests in deploy/kubernetes/ from one table of
the services, so that six services' Deployments, Services, disruption budgets and autoscalers cannot drift
apart (tests/unit/deploy/test_kubernetes.py checks the files are what this writes, and validates them
against the Kubernetes schemas). `kubectl apply -k deploy/kubernetes` applies them; docs/scaling.md says
what each part is for.

What it assumes of the cluster: the RabbitMQ Cluster Operator (`RabbitmqCluster`) and its messaging
topology operator (`Vhost`, `User`, `Permission`, `TopicPermission`, `Exchange`, `Queue`, `Binding`),
CloudNativePG (`Cluster`, `Database`) and the Prometheus Operator (`PodMonitor`, `PrometheusRule`) are
installed, and these Secrets exist (never in these files): `sms-credits-secrets` with the keys in
SECRET_KEYS; per service `sms-credits-<service>` with the keys in service_secret_keys (its own database
and broker URLs); `postgres-<service>` (basic-auth: its role's password, for CloudNativePG) and
`rabbitmq-<service>` (username = the service's name, password: its RabbitMQ user, for the operator).

Least privilege (docs/security.md): each service's Postgres role owns its database alone; its RabbitMQ
user, in the vhost `sms-credits`, may configure, bind and consume only its own queues and publish only
its own events. The whole topology is declared by the topology operator (rabbitmq-topology.yaml, from
common.contracts.queues.TOPOLOGY with the arguments the services declare), not by the services."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from common.contracts.queues import TOPOLOGY, QueueSpec
from common.topology import dead_letter_exchange_of, filter_exchange_of, queue_arguments, queue_name
from scripts.provision import broker_permissions

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "deploy" / "kubernetes"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
NAMESPACE = "sms-credits"
IMAGE = "sms-credits:local"  # set the registry's image with `kustomize edit set image sms-credits=...`
PART_OF = {"app.kubernetes.io/part-of": "sms-credits"}
SECRETS_NAME = "sms-credits-secrets"  # the Secret object's name, not a secret
VHOST = "sms-credits"
EXCHANGE = "sms-credits"
BROKER = {"rabbitmqClusterReference": {"name": "rabbitmq"}}


@dataclass(frozen=True)
class Service:
    name: str
    module: str
    port: int
    max_replicas: int = 6


SERVICES = (
    Service("gateway", "gateway", 8080, max_replicas=10),
    Service("ledger", "services.ledger", 8081),
    Service("billing", "services.billing", 8082),
    Service("reporting", "services.reporting", 8083),
    Service("messaging", "services.messaging", 8084),
    Service("webhooks", "services.webhooks", 8086),
)
# The shared signing secrets and the payment, SMTP and SMPP credentials.
SECRET_KEYS = ("INTERNAL_TOKEN_SECRET", "JWT_SECRET", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SMTP_PASSWORD",
               "SMPP_PASSWORD")


def service_secret_keys(service: Service) -> tuple[str, ...]:
    """What only this service is given (Secret `sms-credits-<service>`): its database URL (its own role, which
    can reach no other's database) and its broker URL (its own user in the vhost sms-credits). Reporting also
    reads from the replica (CloudNativePG's `postgres-ro` service, the same role): docs/consistency.md."""
    own = (f"{service.name.upper()}_DATABASE_URL", f"{service.name.upper()}_BROKER_URL")
    return (*own, "REPORTING_READ_DATABASE_URL") if service.name == "reporting" else own


def service_secret_name(service: Service) -> str:
    return f"sms-credits-{service.name}"


def labels(service: Service) -> dict[str, str]:
    return {"app.kubernetes.io/name": service.name, **PART_OF}


def config_map() -> dict[str, Any]:
    urls = {f"{s.name.upper()}_URL": f"http://{s.name}:{s.port}" for s in SERVICES if s.name != "gateway"}
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "sms-credits-config", "namespace": NAMESPACE, "labels": PART_OF},
        # The public address and the payment provider's publishable key are the deployment's own: set them
        # with a kustomize patch.
        "data": {**urls, "PAYMENT_PROVIDER": "stripe", "PUBLIC_BASE_URL": "https://credits.example.com",
                 "STRIPE_PUBLISHABLE_KEY": "set-me-in-a-patch", "LOG_LEVEL": "INFO"},
    }


def deployment(service: Service) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10, "failureThreshold": 3}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": service.name, "namespace": NAMESPACE, "labels": labels(service)},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels(service)},
            # One replica at a time, the new one ready before an old one goes: never fewer than two serving.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels(service)},
                "spec": {
                    # Replicas on different nodes: losing one node leaves every service running.
                    "topologySpreadConstraints": [{
                        "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": labels(service)}}],
                    # Longer than a request's time limit and a batch's: a stopping replica finishes what it holds.
                    "terminationGracePeriodSeconds": 45,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": service.name,
                        "image": IMAGE,
                        "command": ["python", "-m", service.module],
                        "ports": [{"name": "http", "containerPort": service.port}],
                        # Every interface of the pod: the kubelet's probes and the Service reach it there.
                        "env": [{"name": "HOST", "value": "0.0.0.0"}],  # noqa: S104
                        "envFrom": [{"configMapRef": {"name": "sms-credits-config"}},
                                    {"secretRef": {"name": SECRETS_NAME}},
                                    {"secretRef": {"name": service_secret_name(service)}}],
                        # Ready: its database and broker answer (the gateway: every service behind it too).
                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5,
                                           "failureThreshold": 2},
                        # Alive: the process answers at all; a dependency down is not a reason to restart it.
                        "livenessProbe": probe,
                        "startupProbe": {**probe, "periodSeconds": 2, "failureThreshold": 60},
                        "resources": {"requests": {"cpu": "100m", "memory": "160Mi"},
                                      "limits": {"memory": "512Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    }],
                },
            },
        },
    }


def service_object(service: Service) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": service.name, "namespace": NAMESPACE, "labels": labels(service)},
        "spec": {"selector": labels(service), "ports": [{"name": "http", "port": service.port, "targetPort": "http"}]},
    }


def disruption_budget(service: Service) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": service.name, "namespace": NAMESPACE, "labels": labels(service)},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": labels(service)}},
    }


def autoscaler(service: Service) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": service.name, "namespace": NAMESPACE, "labels": labels(service)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.name},
            "minReplicas": 2, "maxReplicas": service.max_replicas,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
        },
    }


def rabbitmq() -> dict[str, Any]:
    return {
        "apiVersion": "rabbitmq.com/v1beta1", "kind": "RabbitmqCluster",
        "metadata": {"name": "rabbitmq", "namespace": NAMESPACE, "labels": PART_OF},
        "spec": {
            # Three nodes: a quorum queue keeps working with any one of them lost.
            "replicas": 3,
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
            "persistence": {"storage": "20Gi"},
            "rabbitmq": {"additionalPlugins": ["rabbitmq_prometheus"],
                         "additionalConfig": "cluster_partition_handling = pause_minority\n"},
        },
    }


def _broker_object(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    # Object names: the resource's own where Kubernetes allows it (lowercase, digits, `-` and `.`).
    return {"apiVersion": "rabbitmq.com/v1beta1", "kind": kind,
            "metadata": {"name": re.sub(r"[^a-z0-9.-]", "-", name.lower()), "namespace": NAMESPACE, "labels": PART_OF},
            "spec": {**spec, **BROKER}}


def rabbitmq_access() -> list[dict[str, Any]]:
    """The vhost and, per service, a user (credentials from Secret `rabbitmq-<service>`) with its permissions."""
    docs = [_broker_object("Vhost", VHOST, {"name": VHOST})]
    for service in SERVICES:
        allowed = broker_permissions(service.name, EXCHANGE)
        user = {"name": service.name}
        docs += [
            _broker_object("User", service.name, {
                "tags": [], "importCredentialsSecret": {"name": f"rabbitmq-{service.name}"}}),
            _broker_object("Permission", service.name, {
                "vhost": VHOST, "userReference": user,
                "permissions": {"configure": allowed.configure, "write": allowed.write, "read": allowed.read}}),
            _broker_object("TopicPermission", service.name, {
                "vhost": VHOST, "userReference": user,
                "permissions": {"exchange": EXCHANGE, "write": allowed.publishes, "read": ".*"}}),
        ]
    return docs


def _queue_objects(spec: QueueSpec) -> list[dict[str, Any]]:
    name, dead_letters = queue_name(EXCHANGE, spec.name), dead_letter_exchange_of(EXCHANGE)
    arguments = {k: v for k, v in queue_arguments(spec, name, dead_letters).items() if k != "x-queue-type"}
    queue = {"vhost": VHOST, "type": "quorum", "durable": True, "autoDelete": False}
    docs = [_broker_object("Queue", name, {"name": name, **queue, "arguments": arguments}),
            _broker_object("Queue", f"{name}.dlq", {"name": f"{name}.dlq", **queue}),
            _broker_object("Binding", f"{name}.dlq", {
                "vhost": VHOST, "source": dead_letters, "destination": f"{name}.dlq", "destinationType": "queue",
                "routingKey": name})]
    if not spec.header_filters:
        return docs + [_broker_object("Binding", f"{name}.{key}", {
            "vhost": VHOST, "source": EXCHANGE, "destination": name, "destinationType": "queue", "routingKey": key})
            for key in spec.routing_keys]
    # As common.topology declares it: the events through a headers exchange of the queue's own.
    sieve = filter_exchange_of(name)
    docs.append(_broker_object("Exchange", sieve, {"name": sieve, "vhost": VHOST, "type": "headers", "durable": True}))
    docs += [_broker_object("Binding", f"{sieve}.{key}", {
        "vhost": VHOST, "source": EXCHANGE, "destination": sieve, "destinationType": "exchange", "routingKey": key})
        for key in spec.routing_keys]
    return docs + [_broker_object("Binding", f"{sieve}.{index}", {
        "vhost": VHOST, "source": sieve, "destination": name, "destinationType": "queue",
        "arguments": {"x-match": "all", **wanted}}) for index, wanted in enumerate(spec.header_filters, 1)]


def rabbitmq_topology() -> list[dict[str, Any]]:
    """Every exchange, queue and binding, declared by the operator: the services' users may declare only
    their own queues, and check at start that every other is there (common/topology.py)."""
    exchanges = [_broker_object("Exchange", name, {"name": name, "vhost": VHOST, "type": kind, "durable": True})
                 for name, kind in ((EXCHANGE, "topic"), (dead_letter_exchange_of(EXCHANGE), "direct"))]
    return exchanges + [doc for spec in TOPOLOGY for doc in _queue_objects(spec)]


def postgres() -> list[dict[str, Any]]:
    """One primary and one streaming replica; each service's role owns its database and nothing else."""
    cluster = {
        "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
        "metadata": {"name": "postgres", "namespace": NAMESPACE, "labels": PART_OF},
        "spec": {
            "instances": 2,
            "storage": {"size": "50Gi"},
            "postgresql": {"parameters": {"max_connections": "300"}},
            "bootstrap": {"initdb": {"database": "ledger", "owner": "ledger",
                                     "secret": {"name": "postgres-ledger"}}},
            "managed": {"roles": [{"name": s.name, "login": True, "ensure": "present",
                                   "passwordSecret": {"name": f"postgres-{s.name}"}}
                                  for s in SERVICES if s.name != "ledger"]},
            "monitoring": {"enablePodMonitor": True},
        },
    }
    databases = [{
        "apiVersion": "postgresql.cnpg.io/v1", "kind": "Database",
        "metadata": {"name": s.name, "namespace": NAMESPACE, "labels": PART_OF},
        "spec": {"name": s.name, "owner": s.name, "cluster": {"name": "postgres"}},
    } for s in SERVICES if s.name != "ledger"]
    return [cluster, *databases]


def monitoring() -> list[dict[str, Any]]:
    pod_monitor = {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
        "metadata": {"name": "sms-credits", "namespace": NAMESPACE, "labels": PART_OF},
        "spec": {"selector": {"matchLabels": PART_OF},
                 "podMetricsEndpoints": [{"port": "http", "path": "/metrics",
                                          "relabelings": [{"sourceLabels": ["__meta_kubernetes_pod_name"],
                                                           "targetLabel": "replica"}]}]},
    }
    rules = {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
        "metadata": {"name": "sms-credits", "namespace": NAMESPACE, "labels": PART_OF},
        # The same rules as docker-compose's Prometheus (deploy/prometheus/alerts.yml), tested there.
        "spec": yaml.safe_load(ALERTS.read_text()),
    }
    return [pod_monitor, rules]


def documents() -> dict[str, list[dict[str, Any]]]:
    """File name -> its documents."""
    files: dict[str, list[dict[str, Any]]] = {
        "namespace.yaml": [{"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": NAMESPACE, "labels": PART_OF}}],
        "config.yaml": [config_map()],
        "rabbitmq.yaml": [rabbitmq()],
        "rabbitmq-access.yaml": rabbitmq_access(),
        "rabbitmq-topology.yaml": rabbitmq_topology(),
        "postgres.yaml": postgres(),
        "monitoring.yaml": monitoring(),
    }
    for service in SERVICES:
        files[f"{service.name}.yaml"] = [deployment(service), service_object(service), disruption_budget(service),
                                         autoscaler(service)]
    files["kustomization.yaml"] = [{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                                    "namespace": NAMESPACE, "resources": sorted(files)}]
    return files


HEADER = "# Written by `python -m scripts.k8s_manifests` (scripts/k8s_manifests.py): edit that, not this.\n"


def render(docs: list[dict[str, Any]]) -> str:
    return HEADER + "---\n".join(yaml.safe_dump(doc, sort_keys=False, width=120) for doc in docs)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, docs in documents().items():
        (OUT / name).write_text(render(docs))
    print(f"wrote {len(documents())} files in {OUT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
