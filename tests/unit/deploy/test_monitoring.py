"""What an operator watches (deploy/prometheus, deploy/grafana): the alert rules fire on the series that mean
money is at risk (promtool's own rule tests), every metric the rules and the dashboard read is one the
services export (a renamed metric would otherwise leave an alert that can never fire), Prometheus scrapes
every service docker-compose runs, and the dashboard reads the datasource Grafana is given."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
APPS = ("gateway.app", "services.ledger.app", "services.billing.app", "services.reporting.app",
        "services.messaging.app", "services.webhooks.app")
# Read from RabbitMQ's own exporter (the rabbitmq_prometheus plugin's /metrics/detailed, family
# queue_coarse_metrics) and from Prometheus itself, not from our services.
FROM_ELSEWHERE = {"up", "rabbitmq_detailed_queue_messages"}
_PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
                 "offset", "le", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metrics a PromQL expression reads: its identifiers less functions, keywords, label matchers,
    groupings and range selectors."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\b(?:by|without)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        rest = expr[match.end():].lstrip()
        if match.group() not in _PROMQL_WORDS and not rest.startswith("("):
            names.add(match.group())
    return names


_SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def exported() -> set[str]:
    """Every sample name the services' metrics produce, whether or not a sample was taken yet (a labelled
    metric has none until its first use): a counter's _total, a histogram's _bucket, _sum and _count."""
    for app in APPS:
        importlib.import_module(app)
    names = set()
    for family in REGISTRY.collect():
        names |= {family.name + suffix for suffix in _SAMPLE_SUFFIXES.get(family.type, ("",))}
    return names


def _rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
            for rule in group["rules"]]


def _dashboard() -> dict[str, Any]:
    return dict(json.loads((DEPLOY / "grafana" / "dashboards" / "sms-credits.json").read_text()))


def test_metric_names_are_read_from_promql():
    assert metric_names('max by (check) (ledger_invariant_violations) > 0') == {"ledger_invariant_violations"}
    assert metric_names('histogram_quantile(0.99, sum by (queue, le) (rate(events_consumed_lag_seconds_bucket'
                        '[5m]))) > 60') == {"events_consumed_lag_seconds_bucket"}
    assert metric_names('max(rabbitmq_detailed_queue_messages{queue=~".+\\\\.dlq"}) > 0') == {
        "rabbitmq_detailed_queue_messages"}


def test_every_metric_the_alerts_and_the_dashboard_read_is_exported():
    read = {name for rule in _rules() for name in metric_names(rule["expr"])}
    read |= {name for panel in _dashboard()["panels"] for target in panel["targets"]
             for name in metric_names(target["expr"])}
    assert read - exported() - FROM_ELSEWHERE == set()
    assert {"outbox_oldest_pending_seconds", "events_consumed_lag_seconds_bucket", "ledger_invariant_violations",
            "webhook_delivery_attempts_total", "http_requests_total"} <= read


def test_the_alerts_for_money_at_risk_are_there_and_each_says_what_happened():
    rules = {rule["alert"]: rule for rule in _rules()}
    assert {"LedgerInvariantViolated", "DeadLetterQueueNotEmpty", "OutboxLagging", "BrokerNodeDown"} <= set(rules)
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("page", "ticket"), name
        assert rule["annotations"]["summary"], name


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (.ci/run installs it)")
def test_the_alert_rules_fire_on_the_series_that_mean_money_at_risk():
    checked = subprocess.run(["promtool", "check", "rules", "alerts.yml"], cwd=DEPLOY / "prometheus",
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(["promtool", "test", "rules", "alerts_test.yml"], cwd=DEPLOY / "prometheus",
                            capture_output=True, text=True, check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_prometheus_scrapes_every_service_docker_compose_runs():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = compose["x-environment"]
    urls = {value.removeprefix("http://") for key, value in environment.items()
            if key.endswith("_URL") and key != "PUBLIC_BASE_URL" and str(value).startswith("http://")
            and not key.startswith("BILLING_WEBHOOK")}
    gateway = {f"gateway:{port.split(':')[-1]}" for port in compose["services"]["gateway"]["ports"]}
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    [services] = [job for job in config["scrape_configs"] if job["job_name"] == "services"]
    targets = {target for static in services["static_configs"] for target in static["targets"]}
    assert targets == urls | gateway
    assert {"prometheus", "grafana"} <= set(compose["services"])


def test_the_dashboard_reads_the_datasource_grafana_is_given():
    provisioned = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    [source] = provisioned["datasources"]
    for panel in _dashboard()["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert all(target["datasource"]["uid"] == source["uid"] for target in panel["targets"]), panel["title"]
