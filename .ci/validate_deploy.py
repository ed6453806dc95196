"""Checks deploy/ (run by .ci/validate-deploy, which installs what this imports and runs).

- Kubernetes: every object of every manifest under deploy/k8s, and every object each
  kustomization renders (`kubectl kustomize`), against the bundled Kubernetes JSON schemas in
  strict mode, for the oldest and the newest Kubernetes we support. An unknown kind or
  apiVersion is a failure, not a warning. Each manifest must be part of a kustomization
  (secret.example.yaml excepted: it must never be applied as it is); every envFrom must name
  a ConfigMap its kustomization renders or a Secret of the example; and the rendered objects
  must keep the promises README.md's "Deploy" makes (images set by the release, non-root,
  read-only root filesystem, memory limits, serve's probes and drain).
- deploy/compose.yml against the Compose Specification's schema, and its depends_on names.
- deploy/Dockerfile with hadolint; the shell scripts with shellcheck.

Exit status 1 with one line per problem.
"""

import subprocess
import sys
from pathlib import Path

import kubernetes_validate.utils as kv
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
# The oldest Kubernetes the manifests are for (README.md, "Deploy"), and the newest the
# schemas know.
VERSIONS = ["1.30.0", kv.latest_version()]
KUSTOMIZE = "kustomize.config.k8s.io/"
NOT_APPLIED = {K8S / "secret.example.yaml"}
# Longest request (30 s) + serve's own drain (http.drain_ms, 5 s) + the preStop sleep (5 s).
SERVE_GRACE_AT_LEAST = 40

problems: list[str] = []


def problem(where: str, what: str) -> None:
    problems.append(f"{where}: {what}")


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def load_docs(path: Path) -> list[dict]:
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError as e:
        problem(rel(path), f"not YAML: {e}")
        return []
    for d in docs:
        if not isinstance(d, dict):
            problem(rel(path), "a document that is not a mapping")
    return [d for d in docs if isinstance(d, dict)]


def validate_object(where: str, obj: dict) -> bool:
    """Whether `obj` is valid for every version in VERSIONS; records why not."""
    label = f"{where} {obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    if "apiVersion" not in obj or "kind" not in obj:
        problem(label, "no apiVersion or kind")
        return False
    valid = True
    for version in VERSIONS:
        try:
            kv.validate(obj, version, strict=True)
        except kv.ValidationError as e:
            path = ".".join(str(p) for p in e.path) or "(top)"
            problem(label, f"Kubernetes {e.version}: {path}: {e.message}")
            valid = False
        except kv.SchemaNotFoundError as e:
            problem(label, e.message)
            valid = False
    return valid


def check_kustomization(path: Path, doc: dict, referenced: set[Path]) -> None:
    base = path.parent
    for key in ("resources", "components"):
        for entry in doc.get(key) or []:
            target = (base / entry).resolve()
            if not target.exists():
                problem(rel(path), f"{key}: {entry} does not exist")
                continue
            referenced.add(target)
            if target.is_dir() and not (target / "kustomization.yaml").exists():
                problem(rel(path), f"{key}: {entry} has no kustomization.yaml")


def kustomize(directory: Path) -> list[dict]:
    run = subprocess.run(
        ["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    if run.returncode != 0:
        problem(rel(directory), f"kubectl kustomize failed: {run.stderr.strip()}")
        return []
    return [d for d in yaml.safe_load_all(run.stdout) if d is not None]


def pod_spec(obj: dict) -> dict | None:
    if obj.get("kind") in ("Deployment", "Job"):
        return obj.get("spec", {}).get("template", {}).get("spec", {})
    return None


def check_promises(where: str, obj: dict) -> None:
    spec = pod_spec(obj)
    if spec is None:
        return
    label = f"{where} {obj['kind']}/{obj['metadata']['name']}"
    if not spec.get("securityContext", {}).get("runAsNonRoot"):
        problem(label, "securityContext.runAsNonRoot is not true")
    for c in spec.get("containers", []):
        who = f"{label} container {c.get('name')}"
        image = c.get("image", "")
        if not (":" in image and "/" in image):
            problem(who, f"image {image!r} not set by the release component")
        sc = c.get("securityContext", {})
        if not sc.get("readOnlyRootFilesystem"):
            problem(who, "readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            problem(who, "allowPrivilegeEscalation is not false")
        if "memory" not in c.get("resources", {}).get("limits", {}):
            problem(who, "no memory limit")
    if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "jangteo-serve":
        check_serve(label, obj, spec)


def check_references(where: str, obj: dict, config_maps: set[str], secrets: set[str]) -> None:
    """Every envFrom names a ConfigMap of the same kustomization or a Secret of the example."""
    spec = pod_spec(obj)
    if spec is None:
        return
    for c in spec.get("containers", []):
        who = f"{where} {obj['kind']}/{obj['metadata']['name']} container {c.get('name')}"
        for source in c.get("envFrom", []):
            if "configMapRef" in source and source["configMapRef"]["name"] not in config_maps:
                problem(who, f"ConfigMap {source['configMapRef']['name']} is not in its kustomization")
            if "secretRef" in source and source["secretRef"]["name"] not in secrets:
                problem(who, f"Secret {source['secretRef']['name']} is not in secret.example.yaml")


def check_serve(label: str, obj: dict, spec: dict) -> None:
    rolling = obj["spec"].get("strategy", {}).get("rollingUpdate", {})
    if rolling.get("maxUnavailable") != 0:
        problem(label, "rollingUpdate.maxUnavailable must be 0")
    (c,) = [c for c in spec["containers"] if c["name"] == "serve"]
    if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
        problem(label, "the readiness probe must GET /readyz")
    if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
        problem(label, "the liveness probe must GET /healthz")
    if "preStop" not in c.get("lifecycle", {}):
        problem(label, "no preStop drain")
    if spec.get("terminationGracePeriodSeconds", 30) < SERVE_GRACE_AT_LEAST:
        problem(label, f"terminationGracePeriodSeconds under {SERVE_GRACE_AT_LEAST}")


def check_kubernetes() -> int:
    referenced: set[Path] = set()
    manifests: list[Path] = []
    checked = 0
    kustomization_dirs = []
    for path in sorted(K8S.rglob("*.y*ml")):
        docs = load_docs(path)
        if any(str(d.get("apiVersion", "")).startswith(KUSTOMIZE) for d in docs):
            if path.name != "kustomization.yaml":
                problem(rel(path), "a kustomization must be named kustomization.yaml")
            for d in docs:
                check_kustomization(path, d, referenced)
                # A Component renders only as part of a Kustomization.
                if d.get("kind") == "Kustomization":
                    kustomization_dirs.append(path.parent)
            continue
        manifests.append(path)
        for d in docs:
            validate_object(rel(path), d)
            checked += 1
    for path in manifests:
        if path in NOT_APPLIED:
            if path.resolve() in referenced:
                problem(rel(path), "an example must not be part of a kustomization")
        elif path.resolve() not in referenced:
            problem(rel(path), "part of no kustomization")
    rendered = 0
    secrets = {d["metadata"]["name"] for p in NOT_APPLIED for d in load_docs(p) if d.get("kind") == "Secret"}
    for directory in kustomization_dirs:
        docs = kustomize(directory)
        config_maps = {d["metadata"]["name"] for d in docs if d.get("kind") == "ConfigMap"}
        for d in docs:
            where = f"{rel(directory)} (rendered)"
            # The promises are read from objects of the schema's shape only.
            if validate_object(where, d):
                check_promises(where, d)
                check_references(where, d, config_maps, secrets)
            rendered += 1
    return checked + rendered


def check_compose() -> None:
    compose = DEPLOY / "compose.yml"
    run = subprocess.run(
        ["check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(compose)],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        problem(rel(compose), (run.stdout + run.stderr).strip())
    docs = load_docs(compose)
    if not docs:
        return
    services = docs[0].get("services", {})
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        for other in depends if isinstance(depends, (list, dict)) else []:
            if other not in services:
                problem(rel(compose), f"{name} depends on {other}, which is no service")
        build = service.get("build")
        if isinstance(build, dict):
            context = compose.parent / build.get("context", ".")
            if not (context / build.get("dockerfile", "Dockerfile")).resolve().exists():
                problem(rel(compose), f"{name}: no {build.get('dockerfile')} in its build context")


def check_tool(args: list[str]) -> None:
    run = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT)
    if run.returncode != 0:
        problem(" ".join(args), (run.stdout + run.stderr).strip())


def main() -> int:
    objects = check_kubernetes()
    check_compose()
    check_tool(["hadolint", "--no-color", "deploy/Dockerfile"])
    check_tool(["shellcheck", "deploy/healthcheck.sh", ".ci/validate-deploy"])
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"deploy/: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(
        f"deploy/: {objects} Kubernetes objects valid against {' and '.join(VERSIONS)} (strict), "
        "compose.yml against the Compose Specification, Dockerfile and scripts linted"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
