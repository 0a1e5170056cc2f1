"""deploy/ is consistent with itself and with the service, checked offline.

No database, no network, no container engine and no cluster: every YAML file parses; the compose
file validates against the Compose Specification schema (tests/schemas/, vendored) and, where the
`docker compose` plugin exists, through `docker compose config`; the Kubernetes manifests validate
against the Kubernetes OpenAPI schemas bundled by `kubernetes-validate` (strict: unknown fields
fail); and the pieces agree with each other and with the code: probe and scrape paths are routes
the app serves, env var names are ones the service reads, the image's user is the pod's user.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from service.cli.main import build_parser
from service.http.app import create_app
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE_SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "compose-spec.json"

# Kubernetes versions the manifests must be valid for: the oldest we claim and the newest bundled.
K8S_VERSIONS = ("1.30", kubernetes_validate.latest_version())

# Variables that are not the service's settings but are read by a library it uses on purpose.
LIBRARY_ENV = {"PGPASSWORD": "asyncpg's password for a URL that has none (libpq's variable)"}

# Kinds that come from operators' CRDs: kubernetes-validate has no schema for them.
CRD_KINDS = {("postgresql.cnpg.io/v1", "Cluster"), ("monitoring.coreos.com/v1", "PodMonitor")}


def _yaml_files() -> list[Path]:
    return sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def _manifests() -> list[dict[str, Any]]:
    """Every Kubernetes object under deploy/k8s (kustomization.yaml is not one)."""
    found = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        found.extend(_documents(path))
    return found


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [
        m
        for m in _manifests()
        if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)
    ]
    assert len(matches) == 1, (
        f"expected one {kind} {name or ''} under deploy/k8s, found {len(matches)}"
    )
    return matches[0]


def _api() -> dict[str, Any]:
    """The API's Deployment (the other one runs the read-model projector)."""
    return _one("Deployment", "timeline")


def _projector() -> dict[str, Any]:
    return _one("Deployment", "timeline-projector")


def _app_container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    (container,) = [c for c in containers if c["name"] == "timeline"]
    return container


def _app_paths() -> set[str]:
    """The paths the HTTP app routes (building it opens no database: lifespan does not run)."""
    return {route.path for route in create_app(Settings()).routes}


def _dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuations joined), split into build stages."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = []
    for raw in re.sub(r"\\\n", " ", text).splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    stages: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


# ---------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_in_deploy_parses(path: Path) -> None:
    documents = _documents(path)
    assert documents, f"{path} holds no YAML document"
    assert all(isinstance(d, dict) for d in documents)


# ---------------------------------------------------------------------------------- compose


def test_compose_file_validates_against_the_compose_schema() -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft201909Validator(schema)
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(_documents(COMPOSE)[0])
    ]
    assert errors == []


def test_compose_schema_check_rejects_a_misspelt_key() -> None:
    """The schema check can fail: an unknown service key is an error."""
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    broken = copy.deepcopy(_documents(COMPOSE)[0])
    broken["services"]["timeline"]["healthchek"] = {"test": ["CMD", "true"]}
    assert not jsonschema.Draft201909Validator(schema).is_valid(broken)


def _docker_compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, check=False, timeout=30
    )
    return probe.returncode == 0


def test_docker_compose_config_accepts_the_compose_file() -> None:
    if not _docker_compose_available():
        pytest.skip("the `docker compose` plugin is not installed; the schema test still ran")
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "TIMELINE_DB_PASSWORD": "not-a-secret"},
    )
    assert result.returncode == 0, result.stderr


def test_compose_service_waits_for_a_healthy_database_and_keeps_secrets_out() -> None:
    compose = _documents(COMPOSE)[0]
    db, app = compose["services"]["db"], compose["services"]["timeline"]
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert "healthcheck" in db
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    # Secrets come from the environment of whoever runs compose, never from the file.
    assert re.fullmatch(r"\$\{TIMELINE_DB_PASSWORD[^}]*\}", db["environment"]["POSTGRES_PASSWORD"])
    assert re.fullmatch(r"\$\{TIMELINE_DB_PASSWORD[^}]*\}", app["environment"]["PGPASSWORD"])
    assert "@" in app["environment"]["TIMELINE_DATABASE_URL"]
    assert ":" not in app["environment"]["TIMELINE_DATABASE_URL"].split("//", 1)[1].split("@")[0]
    assert app["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (COMPOSE.parent / app["build"]["context"] / app["build"]["dockerfile"]).is_file()


# ---------------------------------------------------------------------------------- kubernetes


def _builtin_manifests() -> list[dict[str, Any]]:
    return [m for m in _manifests() if (m["apiVersion"], m["kind"]) not in CRD_KINDS]


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize(
    "manifest", _builtin_manifests(), ids=lambda m: f"{m['kind']}/{m['metadata']['name']}"
)
def test_manifest_validates_against_the_kubernetes_schema(
    manifest: dict[str, Any], version: str
) -> None:
    kubernetes_validate.validate(manifest, version, strict=True)


def test_kubernetes_schema_check_rejects_an_unknown_field() -> None:
    """The strict check can fail: a misspelt probe field is an error."""
    broken = copy.deepcopy(_api())
    probe = _app_container(broken)["readinessProbe"]
    probe["httpGett"] = probe.pop("httpGet")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSIONS[0], strict=True)


def test_kustomization_lists_every_manifest_beside_it() -> None:
    kustomization = _documents(K8S / "kustomization.yaml")[0]
    listed = set(kustomization["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
    assert kustomization["namespace"] == _one("Namespace")["metadata"]["name"]


def test_kustomize_build_gives_valid_objects() -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed; the manifests were validated file by file")
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    built = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert {d["kind"] for d in built} == {
        m["kind"] for m in _manifests() if m["kind"] != "PodMonitor"
    }
    for obj in built:
        assert obj["metadata"].get("namespace", "sanctions-timeline") == "sanctions-timeline"
        if (obj["apiVersion"], obj["kind"]) not in CRD_KINDS:
            kubernetes_validate.validate(obj, K8S_VERSIONS[0], strict=True)


def test_cloudnativepg_cluster_has_a_primary_and_replicas_with_synchronous_commit() -> None:
    cluster = _one("Cluster")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    spec = cluster["spec"]
    assert isinstance(spec["instances"], int) and spec["instances"] >= 3
    assert re.fullmatch(r"\d+(Mi|Gi|Ti)", spec["storage"]["size"])
    initdb = spec["bootstrap"]["initdb"]
    assert initdb["database"] and initdb["owner"]
    sync = spec["postgresql"]["synchronous"]
    assert sync["method"] in {"any", "first"}
    assert 1 <= sync["number"] < spec["instances"]
    for value in spec["postgresql"]["parameters"].values():
        assert isinstance(value, str), "CloudNativePG takes parameter values as strings"


def test_deployment_connects_writes_to_the_primary_and_past_reads_to_the_replicas() -> None:
    cluster = _one("Cluster")["metadata"]["name"]
    database = _one("Cluster")["spec"]["bootstrap"]["initdb"]["database"]
    env = {e["name"]: e for e in _app_container(_api())["env"]}
    runtime = _one("Cluster")["spec"]["managed"]["roles"][0]
    secret = runtime["passwordSecret"]["name"]
    primary = env["TIMELINE_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert primary == {"name": secret, "key": "uri"}  # the runtime login's -rw URI
    owner = env["TIMELINE_MIGRATE_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert owner == {"name": f"{cluster}-app", "key": "uri"}  # the operator's owner URI
    read_url = env["TIMELINE_READ_DATABASE_URL"]["value"]
    assert re.fullmatch(
        rf"postgresql://{runtime['name']}@{cluster}-ro(:5432)?/{database}", read_url
    )
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": secret, "key": "password"}
    assert runtime["login"] is True and runtime["ensure"] == "present"


def test_probes_point_at_paths_the_app_serves() -> None:
    container = _app_container(_api())
    paths = _app_paths()
    port_names = {p["name"] for p in container["ports"]}
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"  # 503 when the DB is down
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"  # no DB round trip
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container[kind]["httpGet"]
        assert probe["path"] in paths, f"{kind} asks for {probe['path']}, which the app lacks"
        assert probe["port"] in port_names


def test_prometheus_scrapes_a_path_the_app_serves() -> None:
    deployment = _api()
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    container = _app_container(deployment)
    assert int(annotations["prometheus.io/port"]) in {
        p["containerPort"] for p in container["ports"]
    }
    monitor = _one("PodMonitor")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= (
        deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == annotations["prometheus.io/path"]
    assert annotations["prometheus.io/path"] in _app_paths()


def test_pods_run_as_the_images_non_root_user_with_a_read_only_root() -> None:
    (user_line,) = [line for line in _dockerfile_stages()[-1] if line.upper().startswith("USER ")]
    image_uid = int(user_line.split()[1].split(":")[0])
    pod = _api()["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == image_uid != 0
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"]["drop"] == ["ALL"]


def test_signing_key_comes_from_a_secret_reference_not_the_repository() -> None:
    pod = _api()["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in _app_container(_api())["env"]}
    key_file = Path(env["TIMELINE_SIGNING_KEY_FILE"])
    mounts = {m["mountPath"]: m["name"] for m in _app_container(_api())["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert str(key_file.parent) in mounts
    secret_volumes = [v for v in volumes.values() if "secret" in v]
    assert [v["secret"]["secretName"] for v in secret_volumes] == ["timeline-signing-key"]
    assert not [m for m in _manifests() if m["kind"] == "Secret"], "no Secret object is committed"
    assert not list(DEPLOY.rglob("*.pem"))


def test_service_hpa_and_pdb_select_the_deployments_pods() -> None:
    deployment = _api()
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["replicas"] >= 2
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service, pdb, hpa = (
        _one("Service"),
        _one("PodDisruptionBudget"),
        _one("HorizontalPodAutoscaler"),
    )
    assert service["spec"]["selector"].items() <= labels.items()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    port_names = {p["name"] for p in _app_container(deployment)["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert hpa["spec"]["minReplicas"] >= 2
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    # CPU utilisation is relative to the request: without one the HPA cannot act.
    assert _app_container(deployment)["resources"]["requests"]["cpu"]


def test_the_projector_runs_in_its_own_deployment_and_the_api_pods_run_none() -> None:
    api_env = {e["name"]: e.get("value") for e in _app_container(_api())["env"]}
    assert (
        Settings.from_env({"TIMELINE_PROJECTOR": api_env["TIMELINE_PROJECTOR"]}).projector is False
    )
    pod = _projector()["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = build_parser().parse_args(container["args"])
    assert args.run.command == "_projections_run"  # the CLI's `projections run`
    env = {e["name"]: e for e in container["env"]}
    assert env["TIMELINE_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "uri"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert _projector()["spec"]["replicas"] >= 2  # they take turns: one stands by


def test_graceful_drain_fits_in_the_termination_grace_period() -> None:
    """preStop sleep, then the service's own drain (shutdown_timeout), before SIGKILL."""
    pod = _api()["spec"]["template"]["spec"]
    container = _app_container(_api())
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    literal_env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    drain = Settings.from_env(literal_env).shutdown_timeout
    assert int(command[1]) + drain < pod["terminationGracePeriodSeconds"]


# ---------------------------------------------------------------------------------- env names


def _sample(name: str) -> str:
    if name.endswith("_URL"):
        return "postgresql://probe@probe-host:5432/probe"
    if name.endswith(("_FILE", "_DIR")):
        return "/probe/path"
    if name.endswith("_HOST"):
        return "192.0.2.1"
    return "7"


def _env_names() -> dict[str, str]:
    """Every env var name set in the compose file and the Kubernetes manifests, and where."""
    names = {
        name: "deploy/compose.yaml"
        for name in _documents(COMPOSE)[0]["services"]["timeline"]["environment"]
    }
    for deployment, where in (
        (_api(), "deploy/k8s/deployment.yaml"),
        (_projector(), "deploy/k8s/projector.yaml"),
    ):
        pod = deployment["spec"]["template"]["spec"]
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            for entry in container.get("env", []):
                names[entry["name"]] = where
    dockerfile_env = [line for line in _dockerfile_stages()[-1] if line.upper().startswith("ENV ")]
    for line in dockerfile_env:
        for name in re.findall(r"\b([A-Z][A-Z0-9_]*)=", line):
            names.setdefault(name, "deploy/Dockerfile")
    return names


def test_every_env_var_the_deployment_sets_is_read_by_the_service() -> None:
    """A TIMELINE_* name the settings do not read would be silently ignored: each one must
    change what `Settings.from_env` gives."""
    baseline = Settings.from_env({})
    unknown = []
    for name, where in sorted(_env_names().items()):
        if name.startswith("TIMELINE_"):
            if all(Settings.from_env({name: v}) == baseline for v in (_sample(name), "0")):
                unknown.append(f"{name} ({where})")
        elif name not in LIBRARY_ENV and name not in {
            "PATH",
            "PYTHONDONTWRITEBYTECODE",
            "PYTHONUNBUFFERED",
        }:
            unknown.append(f"{name} ({where}): not the service's, nor a known library variable")
    assert unknown == []


# ---------------------------------------------------------------------------------- Dockerfile


def test_dockerfile_is_multi_stage_and_runs_as_a_fixed_non_root_uid() -> None:
    stages = _dockerfile_stages()
    assert len(stages) >= 2
    final = stages[-1]
    assert any(line.startswith("COPY --from=") for line in final), "runtime copies the built venv"
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users, "the runtime stage names a USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0  # numeric, so runAsNonRoot can verify it
    assert "EXPOSE 8000" in final
    (entrypoint,) = [line for line in final if line.startswith("ENTRYPOINT ")]
    (cmd,) = [line for line in final if line.startswith("CMD ")]
    assert json.loads(entrypoint.split(" ", 1)[1]) == ["timeline"]
    # The container must listen on every interface of its own network namespace.
    assert json.loads(cmd.split(" ", 1)[1])[:3] == ["serve", "--host", "0.0.0.0"]  # noqa: S104


def test_dockerfile_bakes_in_no_secret() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    for line in _dockerfile_stages()[-1]:
        if line.upper().startswith(("ENV ", "ARG ")):
            assert not re.search(r"(PASSWORD|SECRET|TOKEN|DATABASE_URL)\w*=", line), line
    assert ".pem" not in text.replace("signing-key.pem", "")


def test_image_copies_every_package_the_project_installs() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = set()
    for line in _dockerfile_stages()[0]:
        if line.startswith("COPY ") and "--from" not in line:
            copied.update(Path(p).name for p in line.split()[1:-1])
    assert packages | {"pyproject.toml", pyproject["project"]["readme"]} <= copied
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    for name in packages | {"pyproject.toml", pyproject["project"]["readme"]}:
        assert f"!{name}" in ignore or f"!{name}/" in ignore, f"{name} is not let into the context"
