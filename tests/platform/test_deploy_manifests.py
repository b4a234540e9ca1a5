"""Static checks of deploy/: compose file, Kubernetes manifests, Dockerfile, entrypoint.

Nothing is built or started: the manifests are parsed and cross-checked against what the code
actually reads (settings.py's environment variables, core/queues.py's queue names, the job
table the GPU autoscaler counts), so a renamed setting, queue or table breaks this test instead
of a production start-up.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

from erasure_platform.core.models import Job
from erasure_platform.core.queues import ALL_QUEUES, DEFAULT_QUEUE, GPU_QUEUE

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
SETTINGS = REPO / "platform" / "erasure_platform" / "settings.py"
ENTRYPOINT = DEPLOY / "docker-entrypoint.sh"

ENV_READERS = {"env_str", "env_int", "env_bool", "env_list"}
# Read by Django itself, not by settings.py.
EXTERNALLY_READ = {"DJANGO_SETTINGS_MODULE"}
APP_ROLES = ("web", "worker-cpu", "worker-gpu", "dispatcher", "migrate")
SECRET_NAMES = {
    "DJANGO_SECRET_KEY",
    "ERASURE_SUBJECT_KEY_SECRET",
    "ERASURE_FIELD_ENCRYPTION_KEY",
    "ERASURE_SIGNING_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "EMAIL_HOST_PASSWORD",
    "POSTGRES_PASSWORD",
    "DB_OWNER_PASSWORD",
    "DB_APP_PASSWORD",
    "REDIS_PASSWORD",
    "MINIO_ROOT_PASSWORD",
    "S3_SECRET_ACCESS_KEY",
    "ERASURE_AUDIT_MAC_KEY",
    "DB_LOG_PASSWORD",
    "S3_ANCHOR_SECRET_ACCESS_KEY",
    "ERASURE_AUDIT_ANCHOR_SECRET_ACCESS_KEY",
}
URLS_WITH_CREDENTIALS = {"DATABASE_URL", "DATABASE_URL_MIGRATE", "DATABASE_URL_DISPATCHER", "CELERY_BROKER_URL"}


# --- what the code reads ---------------------------------------------------------------------


def _settings_env_calls() -> list[tuple[str, bool]]:
    """(name, required in production) for every env_*("NAME", ...) call in settings.py."""
    calls = []
    for node in ast.walk(ast.parse(SETTINGS.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ENV_READERS):
            continue
        if not (node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            continue
        required = any(
            keyword.arg == "required"
            and (
                (isinstance(keyword.value, ast.Name) and keyword.value.id == "PRODUCTION")
                or (isinstance(keyword.value, ast.Constant) and keyword.value.value is True)
            )
            for keyword in node.keywords
        )
        calls.append((node.args[0].value, required))
    return calls


SETTINGS_READS = {name for name, _ in _settings_env_calls()}
REQUIRED_IN_PRODUCTION = {name for name, required in _settings_env_calls() if required}
# settings.py refuses an empty ERASURE_ALLOWED_HOSTS in production with its own check.
if re.search(r"if PRODUCTION and not ALLOWED_HOSTS", SETTINGS.read_text()):
    REQUIRED_IN_PRODUCTION.add("ERASURE_ALLOWED_HOSTS")


def test_settings_scan_finds_the_production_variables():
    # Guards the AST scan itself: if settings.py changes shape, fail here, not silently.
    assert {
        "DJANGO_SECRET_KEY",
        "ERASURE_SUBJECT_KEY_SECRET",
        "ERASURE_FIELD_ENCRYPTION_KEY",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "ERASURE_OBJECT_STORE_URL",
        "EMAIL_HOST",
        "ERASURE_ALLOWED_HOSTS",
    } <= REQUIRED_IN_PRODUCTION
    assert {
        "ERASURE_MODE",
        "ERASURE_STATIC_ROOT",
        "AWS_ENDPOINT_URL_S3",
        "ERASURE_CSRF_TRUSTED_ORIGINS",
    } <= SETTINGS_READS


def _assert_prefixed_names_are_read(names, where):
    unknown = sorted(
        name
        for name in names
        if name.startswith(("ERASURE_", "DJANGO_")) and name not in SETTINGS_READS | EXTERNALLY_READ
    )
    assert not unknown, f"{where} sets {unknown}, which settings.py never reads"


# --- the entrypoint's roles --------------------------------------------------------------------


def _entrypoint_roles() -> dict[str, str]:
    """role name -> body of its case branch in docker-entrypoint.sh."""
    text = ENTRYPOINT.read_text()
    case = text[text.index('case "$role" in') :]
    branches = re.findall(r"^    ([a-z][a-z-]*)\)\n(.*?)^        ;;", case, flags=re.M | re.S)
    return {name: body for name, body in branches}


def test_entrypoint_has_every_role():
    roles = _entrypoint_roles()
    assert set(APP_ROLES) | {"wait-for-migrations", "healthcheck", "manage"} <= set(roles)
    assert "erasure_platform.wsgi:application" in roles["web"]
    assert "manage.py run_dispatcher" in roles["dispatcher"]
    assert "manage.py migrate" in roles["migrate"]


def test_entrypoint_healthcheck_passes_host_and_proxy_checks():
    body = _entrypoint_roles()["healthcheck"]
    assert "/api/health" in body
    assert '"Host": host' in body and "ERASURE_ALLOWED_HOSTS" in body, "else DisallowedHost (400)"
    assert '"X-Forwarded-Proto": "https"' in body, "else SECURE_SSL_REDIRECT (301)"


def test_entrypoint_workers_consume_one_queue_each():
    text = ENTRYPOINT.read_text()
    function = re.search(r"celery_worker\(\) \{(.*?)\n\}", text, flags=re.S).group(1)
    # One -Q with one queue name: the role decides which.
    assert function.count("-Q") == 1 and '-Q "$queue"' in function
    assert "-A workers.celery_app worker" in function
    assert "--pool prefork" in function
    roles = _entrypoint_roles()
    cpu = re.search(r"celery_worker (\S+)", roles["worker-cpu"]).group(1)
    gpu = re.search(r"celery_worker (\S+)(.*)", roles["worker-gpu"])
    assert cpu == DEFAULT_QUEUE
    assert gpu.group(1) == GPU_QUEUE
    assert re.search(r"--concurrency 1\b", gpu.group(2)), "one GPU job at a time per worker"
    assert {cpu, gpu.group(1)} == set(ALL_QUEUES), "every queue has a consumer"


# --- compose ----------------------------------------------------------------------------------


class ComposeLoader(yaml.SafeLoader):
    """SafeLoader that accepts Compose's !reset / !override tags."""


ComposeLoader.add_constructor("!reset", lambda loader, node: None)
ComposeLoader.add_constructor(
    "!override",
    lambda loader, node: (
        loader.construct_mapping(node) if isinstance(node, yaml.MappingNode) else loader.construct_sequence(node)
    ),
)


def _load_compose(name="compose.yaml"):
    return yaml.load((DEPLOY / name).read_text(), Loader=ComposeLoader)


@pytest.fixture(scope="module")
def compose():
    return _load_compose()


def _compose_role_services(compose) -> dict[str, dict]:
    services = {}
    for name, service in compose["services"].items():
        command = service.get("command")
        if isinstance(command, list) and command and command[0] in APP_ROLES:
            services[command[0]] = service | {"_name": name}
    return services


def _environment(service) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def test_compose_parses_and_has_every_role(compose):
    services = compose["services"]
    assert {"postgres", "redis", "minio", "minio-init"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:16")
    assert "healthcheck" in services["postgres"]
    assert any("/var/lib/postgresql/data" in volume for volume in services["postgres"]["volumes"])
    assert set(_compose_role_services(compose)) == set(APP_ROLES)
    assert set(compose["volumes"]) >= {"postgres-data", "minio-data"}


def test_compose_override_parses():
    override = _load_compose("compose.cpu-only.yaml")
    assert "worker-gpu" in override["services"]


def test_compose_roles_receive_every_required_variable(compose):
    roles = _compose_role_services(compose)
    for _role, service in roles.items():
        env = _environment(service)
        missing = REQUIRED_IN_PRODUCTION - set(env)
        assert not missing, f"compose service {service['_name']} lacks {sorted(missing)}"
        assert env["ERASURE_MODE"] == "production"
        _assert_prefixed_names_are_read(env, f"compose service {service['_name']}")


def test_compose_sets_no_literal_secret(compose):
    for name, service in compose["services"].items():
        for key, value in _environment(service).items():
            if key in SECRET_NAMES:
                assert re.fullmatch(r"\$\{\w+(:[?-][^}]*)?\}", value), f"{name}: {key} must come from deploy/.env"
            if key in URLS_WITH_CREDENTIALS:
                password = re.search(r"://[^:/@]*:([^@]*)@", value)
                assert password and password.group(1).startswith("${"), f"{name}: {key} embeds a literal password"


def test_compose_gpu_worker(compose):
    roles = _compose_role_services(compose)
    gpu = roles["worker-gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert any(
        device.get("driver") == "nvidia" and device.get("count") == 1 and "gpu" in device.get("capabilities", [])
        for device in devices
    )
    assert "download.pytorch.org/whl/cu" in gpu["build"]["args"]["TORCH_INDEX"], "the gpu image carries CUDA torch"
    assert gpu["image"] != roles["worker-cpu"]["image"]
    assert "deploy" not in roles["worker-cpu"] or "reservations" not in roles["worker-cpu"]["deploy"].get(
        "resources", {}
    )


def test_compose_ordering(compose):
    roles = _compose_role_services(compose)
    migrate = roles["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "erasure_owner" in _environment(migrate)["DATABASE_URL"]
    for role in ("web", "worker-cpu", "worker-gpu", "dispatcher"):
        service = roles[role]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        # The dispatcher uses the log role: a member of erasure_app that may also add tree heads.
        expected = "erasure_log" if role == "dispatcher" else "erasure_app"
        assert expected in _environment(service)["DATABASE_URL"], "runtime roles use a non-owner role"
    assert roles["web"]["healthcheck"]["test"] == ["CMD", "erasure-entrypoint", "healthcheck"]
    init = compose["services"]["minio-init"]
    assert init["restart"] == "no"
    script = (DEPLOY / "minio" / "init.sh").read_text()
    assert "mc version enable" in script, "bucket versioning"
    assert "--with-lock" in script, "object lock for the audit anchors"
    defaults = re.findall(r"retention set --default .*", script)
    assert defaults and all(line.endswith('"local/$anchors"') for line in defaults), (
        "default retention on the anchor bucket only: on the data bucket it would make erasure impossible"
    )
    policy = (DEPLOY / "minio" / "app-policy.json").read_text()
    for action in ("s3:DeleteObjectVersion", "s3:ListBucketVersions", "s3:PutObjectRetention"):
        assert action in policy
    assert "erasure-anchors" not in policy, "the application's key has no access to the anchors"
    anchor_policy = json.loads((DEPLOY / "minio" / "anchor-policy.json").read_text())
    allowed = {a for st in anchor_policy["Statement"] if st["Effect"] == "Allow" for a in st["Action"]}
    denied = {a for st in anchor_policy["Statement"] if st["Effect"] == "Deny" for a in st["Action"]}
    assert not any("Delete" in action for action in allowed), "the anchor writer can never delete"
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"} <= denied


def test_compose_interpolations_are_documented(compose):
    text = (DEPLOY / "compose.yaml").read_text() + (DEPLOY / "compose.cpu-only.yaml").read_text()
    example = _env_example()
    for name, operator in re.findall(r"(?<!\$)\$\{(\w+)(:?[?-])?", text):
        assert name in example or operator in (":-", "-"), f"${{{name}}} is neither in env.example nor defaulted"


# --- env.example ----------------------------------------------------------------------------


def _env_example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def test_env_example_holds_placeholders_only():
    example = _env_example()
    _assert_prefixed_names_are_read(example, "deploy/env.example")
    for key in SECRET_NAMES & set(example) | {"EMAIL_HOST_PASSWORD"}:
        # Empty, so that Compose's ${VAR:?...} refuses to start until it is filled in.
        assert example[key] == "", f"env.example: {key} must be left empty"
    secrets_in_compose = re.findall(r"\$\{(\w+):\?", (DEPLOY / "compose.yaml").read_text())
    assert SECRET_NAMES & set(example) <= set(secrets_in_compose) | {"EMAIL_HOST_PASSWORD"}
    assert ".env" in (DEPLOY / ".gitignore").read_text().split(), "deploy/.env must be git-ignored"


# --- Kubernetes -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def k8s():
    documents = {}
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                documents[(document["kind"], document.get("metadata", {}).get("name"))] = document | {
                    "_file": path.name
                }
    return documents


def _workload(k8s, kind, name):
    return k8s[(kind, name)]


def _pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def _container_env(k8s, container) -> set[str]:
    names = set()
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            names |= set(k8s[("ConfigMap", source["configMapRef"]["name"])]["data"])
        if "secretRef" in source:
            secret = k8s[("Secret", source["secretRef"]["name"])]
            names |= set(secret.get("stringData", {})) | set(secret.get("data", {}))
    names |= {entry["name"] for entry in container.get("env", [])}
    return names


ROLE_WORKLOADS = {
    "web": ("Deployment", "erasure-web"),
    "worker-cpu": ("Deployment", "erasure-worker-cpu"),
    "worker-gpu": ("Deployment", "erasure-worker-gpu"),
    "dispatcher": ("Deployment", "erasure-dispatcher"),
    "migrate": ("Job", "erasure-migrate"),
}


def test_kustomization_lists_every_manifest_but_the_secret_template():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed <= on_disk, f"missing files: {sorted(listed - on_disk)}"
    assert on_disk - listed == {"secret.yaml"}
    assert kustomization["namespace"] == "erasure"


def test_k8s_has_every_kind(k8s):
    kinds = {kind for kind, _ in k8s}
    assert {
        "Namespace",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Job",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    } <= kinds
    for role, key in ROLE_WORKLOADS.items():
        containers = _pod_spec(k8s[key])["containers"]
        assert len(containers) == 1 and containers[0]["args"] == [role], f"{key} runs role {role}"


def test_k8s_roles_receive_every_required_variable(k8s):
    config = k8s[("ConfigMap", "erasure-config")]["data"]
    assert config["ERASURE_MODE"] == "production"
    for _role, key in ROLE_WORKLOADS.items():
        spec = _pod_spec(k8s[key])
        for container in spec["containers"] + spec.get("initContainers", []):
            env = _container_env(k8s, container)
            missing = REQUIRED_IN_PRODUCTION - env
            assert not missing, f"{key[1]}/{container['name']} lacks {sorted(missing)}"
            _assert_prefixed_names_are_read(env, f"{key[1]}/{container['name']}")


def test_k8s_secret_holds_placeholders_only(k8s):
    secret = k8s[("Secret", "erasure-secrets")]
    assert not secret.get("data"), "no base64 data in the committed Secret"
    values = secret["stringData"]
    assert values, "the template names its keys"
    assert all(value in ("", None) for value in values.values()), "committed Secret must hold no values"
    assert {"DJANGO_SECRET_KEY", "ERASURE_SUBJECT_KEY_SECRET", "ERASURE_FIELD_ENCRYPTION_KEY", "DATABASE_URL"} <= set(
        values
    )
    config = k8s[("ConfigMap", "erasure-config")]["data"]
    leaked = sorted(set(config) & (SECRET_NAMES | URLS_WITH_CREDENTIALS | {"AWS_ACCESS_KEY_ID"}))
    assert not leaked, f"secrets in the ConfigMap: {leaked}"


def test_k8s_migrate_job_uses_the_owner_url(k8s):
    container = _pod_spec(k8s[("Job", "erasure-migrate")])["containers"][0]
    override = {entry["name"]: entry for entry in container["env"]}["DATABASE_URL"]
    reference = override["valueFrom"]["secretKeyRef"]
    assert reference["key"] in k8s[("Secret", reference["name"])]["stringData"]


def test_k8s_gpu_worker(k8s):
    workload = k8s[("Deployment", "erasure-worker-gpu")]
    spec = _pod_spec(workload)
    assert spec["nodeSelector"]["nvidia.com/gpu.present"] == "true"
    assert any(t["key"] == "nvidia.com/gpu" and t["effect"] == "NoSchedule" for t in spec["tolerations"])
    container = spec["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert spec["terminationGracePeriodSeconds"] >= 600, "long enough for a job step to checkpoint"
    assert "gpu" in container["image"]
    cpu_spec = _pod_spec(k8s[("Deployment", "erasure-worker-cpu")])
    assert "nvidia.com/gpu" not in cpu_spec["containers"][0]["resources"].get("limits", {})
    assert "gpu" not in cpu_spec["containers"][0]["image"]


def test_k8s_dispatcher_replicas(k8s):
    assert 1 <= k8s[("Deployment", "erasure-dispatcher")]["spec"]["replicas"] <= 2


def test_k8s_web_probes_service_ingress_pdb(k8s):
    config = k8s[("ConfigMap", "erasure-config")]["data"]
    allowed = [host.strip() for host in config["ERASURE_ALLOWED_HOSTS"].split(",")]
    origins = [origin.strip() for origin in config["ERASURE_CSRF_TRUSTED_ORIGINS"].split(",")]
    web = k8s[("Deployment", "erasure-web")]
    pod_labels = web["spec"]["template"]["metadata"]["labels"]
    container = _pod_spec(web)["containers"][0]
    for probe in ("readinessProbe", "livenessProbe"):
        http = container[probe]["httpGet"]
        assert http["path"] == "/api/health"
        headers = {header["name"]: header["value"] for header in http["httpHeaders"]}
        assert headers["Host"] in allowed, "kubelet's default Host (pod IP) is refused by ALLOWED_HOSTS"
        assert headers["X-Forwarded-Proto"] == "https", "else SECURE_SSL_REDIRECT answers 301"
    service = k8s[("Service", "erasure-web")]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    ingress = k8s[("Ingress", "erasure-web")]
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in allowed and f"https://{rule['host']}" in origins
        assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "erasure-web"
    pdb = k8s[("PodDisruptionBudget", "erasure-web")]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_k8s_hpa_targets_the_cpu_worker(k8s):
    hpa = next(doc for (kind, _), doc in k8s.items() if kind == "HorizontalPodAutoscaler")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "erasure-worker-cpu")
    cpu = _pod_spec(k8s[("Deployment", "erasure-worker-cpu")])["containers"][0]
    assert "cpu" in cpu["resources"]["requests"], "a CPU-utilisation HPA needs a CPU request"


def test_k8s_gpu_autoscaling_component_counts_the_gpu_jobs_of_the_job_table(k8s):
    """The optional KEDA component scales the GPU Deployment on the jobs waiting for a GPU or
    running on one, read from the platform's own job table with a key the Secret template names."""
    component = K8S / "gpu-autoscaling"
    kustomization = yaml.safe_load((component / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Component"
    assert set(kustomization["resources"]) == {p.name for p in component.glob("*.yaml")} - {"kustomization.yaml"}
    documents = {
        doc["kind"]: doc
        for name in kustomization["resources"]
        for doc in yaml.safe_load_all((component / name).read_text())
    }
    scaled = documents["ScaledObject"]["spec"]
    target = scaled["scaleTargetRef"]
    assert (target["kind"], target["name"]) in k8s, "targets a Deployment of deploy/k8s"
    assert target["name"] == "erasure-worker-gpu"
    assert 1 <= scaled["minReplicaCount"] < scaled["maxReplicaCount"]
    (trigger,) = scaled["triggers"]
    query = trigger["metadata"]["query"]
    assert f"FROM {Job._meta.db_table} " in query and f"queue = '{GPU_QUEUE}'" in query
    statuses = set(re.search(r"status IN \(([^)]*)\)", query).group(1).replace("'", "").replace(" ", "").split(","))
    assert statuses == {Job.Status.QUEUED, Job.Status.RUNNING}
    auth = documents["TriggerAuthentication"]
    assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
    (reference,) = auth["spec"]["secretTargetRef"]
    assert reference["key"] in k8s[("Secret", reference["name"])]["stringData"]


def test_k8s_pods_run_unprivileged(k8s):
    for key in ROLE_WORKLOADS.values():
        spec = _pod_spec(k8s[key])
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        for container in spec["containers"] + spec.get("initContainers", []):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert any(mount["mountPath"] == "/tmp" for mount in container["volumeMounts"])


# --- Dockerfile ---------------------------------------------------------------------------------


def test_dockerfile():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", text, flags=re.M)
    assert re.search(r"^ARG TORCH_INDEX=https://download\.pytorch\.org/whl/cpu$", text, flags=re.M)
    assert '--index-url "${TORCH_INDEX}"' in text
    assert "pip install ." in text
    assert "collectstatic" in text and "ERASURE_STATIC_ROOT=" in text
    users = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "ERASURE_MODE=production" in text
    assert "PYTHONPATH=/app/platform" in text
    _assert_prefixed_names_are_read(re.findall(r"\b((?:ERASURE|DJANGO)_[A-Z_]+)=", text), "Dockerfile")
