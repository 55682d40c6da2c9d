"""What this machine can check of deploy/ (no Docker engine, no helm): the compose file parses and
names files that exist, the config it mounts loads, the image runs as a non-root user with a
readiness health check, and the Helm chart's templates render to valid Kubernetes objects."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from connector.config import load_settings
from tests.deploy.helm_render import render

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "pontis"


def test_the_image_is_slim_non_root_and_checks_readiness():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "USER 10001" in dockerfile and "useradd --system --uid 10001" in dockerfile
    assert "/health/ready" in dockerfile
    for line in dockerfile.splitlines():  # every COPY from the build context names something that exists
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is missing"


def test_the_compose_file_parses_and_its_files_exist(monkeypatch):
    compose = yaml.safe_load((DEPLOY / "compose" / "compose.yml").read_text())
    assert set(compose["services"]) == {"postgres", "connector"}
    connector = compose["services"]["connector"]
    context = (DEPLOY / "compose" / connector["build"]["context"]).resolve()
    assert (context / connector["build"]["dockerfile"]).is_file()
    for volume in connector["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("."):
            assert (DEPLOY / "compose" / source).is_file(), source
    assert connector["depends_on"]["postgres"]["condition"] == "service_healthy"
    # the mounted config loads with the secrets compose passes in the environment
    monkeypatch.setenv("PONTIS_API_KEY", "from-the-environment")
    monkeypatch.setenv("DATABASE_URL", "postgresql://pontis:pw@postgres:5432/pontis")
    settings = load_settings(DEPLOY / "compose" / "connector.toml")
    assert settings.api_key == "from-the-environment" and settings.database_url.startswith("postgresql://")
    assert settings.log.format == "json" and settings.limits.peer_requests_per_second == 50


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict]:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    values["secrets"] = {"apiKey": "k", "databaseUrl": "postgresql://x", "keyPassphrase": "p"}
    objects: dict[str, dict] = {}
    for template in sorted((CHART / "templates").glob("*.yaml")):
        for document in yaml.safe_load_all(render(template.read_text(), values)):
            if document:
                objects[f"{document['kind']}/{document['metadata']['name']}"] = document
    return objects


def test_the_chart_renders_replicas_probes_limits_and_secrets(rendered):
    assert yaml.safe_load((CHART / "Chart.yaml").read_text())["apiVersion"] == "v2"
    assert set(rendered) == {"ConfigMap/acme-config", "Secret/acme-secrets", "Deployment/acme", "Service/acme",
                             "StatefulSet/acme-postgresql", "Service/acme-postgresql"}
    deployment = rendered["Deployment/acme"]["spec"]
    assert deployment["replicas"] == 2
    pod = deployment["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "512Mi"}
    env = {e["name"]: e for e in container["env"]}
    assert env["PONTIS_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "acme-secrets", "key": "api-key"}
    assert env["PONTIS_NODE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert rendered["Secret/acme-secrets"]["stringData"]["api-key"] == "k"


def test_the_chart_config_is_a_valid_connector_config(rendered, tmp_path, monkeypatch):
    config = tmp_path / "connector.toml"
    config.write_text(rendered["ConfigMap/acme-config"]["data"]["connector.toml"])
    monkeypatch.setenv("PONTIS_API_KEY", "k")
    settings = load_settings(config)
    assert settings.server.port == 8181 and settings.limits.peer_burst == 200


def test_an_existing_secret_replaces_the_charts_own():
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    values["existingSecret"] = "acme-vault"
    assert render((CHART / "templates" / "secret.yaml").read_text(), values).strip() == ""
    deployment = yaml.safe_load(render((CHART / "templates" / "deployment.yaml").read_text(), values))
    refs = {e["valueFrom"].get("secretKeyRef", {}).get("name") for e in deployment["spec"]["template"]["spec"]
            ["containers"][0]["env"]}
    assert refs == {"acme-vault", None}
