"""Validates deploy/helm/adpipe offline, as scripts/k8s-validate.sh runs it.

For the chart's defaults, deploy/examples/*.yaml, deploy/ci/values/*.yaml and
any values files given on the command line:

 1. render with Helm's own SDK (render.py), values.schema.json included;
 2. every object against the Kubernetes OpenAPI schemas (kubernetes-validate,
    strict: an unknown field is an error) of the oldest release the chart
    supports (Chart.yaml's kubeVersion) and the newest the package knows;
 3. KEDA's ScaledObject and TriggerAuthentication, and the Prometheus
    Operator's ServiceMonitor, against those projects' CRD schemas
    (deploy/ci/crds, see PROVENANCE.md), strict in the same way, their
    metadata as Kubernetes ObjectMeta, their CEL rules checked by hand;
 4. the chart's own promises (checks below): hardening, probes, resources,
    labels, every reference resolving inside the render, every ADPIPE_*
    variable one that adpipe reads (src/config/tests.rs);
 5. `helm lint --strict` (the SDK's linter) on every scenario;
 6. every case of rejected-values.yaml must be refused;
 7. checkov on every render: any finding not explained in
    checkov-explained.yaml fails.

Prints what it did and the counts; exits 1 on any problem.
"""

from __future__ import annotations

import copy
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import helm_python as helm
import jsonschema
import kubernetes_validate
import yaml
from kubernetes_validate import utils as kv

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import render  # noqa: E402

RECOMMENDED_LABELS = [
    "helm.sh/chart",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/part-of",
]
# A worker's drain for the emails in hand: the SMTP timeout (10 s), then up
# to LEASE/2 = 60 s of retries to mark one sent while the database is away
# (crates/adpipe-worker/src/mail.rs). The grace period must exceed it, or a
# stopped worker may leave an email to be sent twice.
WORKER_DRAIN_BOUND_S = 70
# ADPIPE_REQUEST_TIMEOUT_SECS' default: the longest an in-flight request runs.
API_REQUEST_TIMEOUT_S = 30


def say(line: str) -> None:
    print(f"k8s-validate: {line}", flush=True)


# --- scenarios ------------------------------------------------------------------


def scenarios(extra: list[str]) -> list[tuple[str, list[str], str, str]]:
    """(name, values files, release, namespace)."""
    found = [("defaults", [], "adpipe", "adpipe"),
             # Names derived from another release, in another namespace.
             ("defaults-as-ads-in-prod", [], "ads", "prod")]
    for path in sorted(glob.glob(os.path.join(ROOT, "deploy", "examples", "*.yaml"))):
        found.append((f"examples/{os.path.basename(path)[:-5]}", [path], "adpipe", "adpipe"))
    for path in sorted(glob.glob(os.path.join(HERE, "values", "*.yaml"))):
        found.append((f"ci/{os.path.basename(path)[:-5]}", [path], "adpipe", "adpipe"))
    for path in extra:
        found.append((f"given/{os.path.basename(path)}", [os.path.abspath(path)], "adpipe", "adpipe"))
    return found


def kube_versions() -> list[str]:
    with open(os.path.join(render.CHART, "Chart.yaml"), encoding="utf-8") as handle:
        constraint = yaml.safe_load(handle)["kubeVersion"]
    oldest = re.search(r">=\s*(\d+\.\d+)", constraint).group(1)
    newest = kv.major_minor(kv.latest_version())
    return [oldest, newest] if oldest != newest else [oldest]


# --- CRD schemas ----------------------------------------------------------------


def openapi_to_jsonschema(node: dict, rules: list, path: str) -> dict:
    """A CRD's structural OpenAPI v3 schema as JSON Schema: int-or-string and
    nullable spelled out, and `additionalProperties: false` wherever the
    schema lists properties and keeps no unknown fields (what the API
    server's strict field validation enforces). CEL rules are collected."""
    node = dict(node)
    for rule in node.pop("x-kubernetes-validations", []) or []:
        rules.append((path, rule["rule"], rule.get("message", "")))
    if node.pop("x-kubernetes-int-or-string", False):
        node.pop("type", None)
        node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    nullable = node.pop("nullable", False)
    preserve = node.pop("x-kubernetes-preserve-unknown-fields", False)
    for key in [k for k in node if k.startswith("x-kubernetes-")]:
        node.pop(key)
    if "properties" in node:
        node["properties"] = {
            name: openapi_to_jsonschema(sub, rules, f"{path}.{name}")
            for name, sub in node["properties"].items()
        }
        if node.get("type") == "object" and "additionalProperties" not in node and not preserve:
            node["additionalProperties"] = False
    if isinstance(node.get("items"), dict):
        node["items"] = openapi_to_jsonschema(node["items"], rules, f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        node["additionalProperties"] = openapi_to_jsonschema(
            node["additionalProperties"], rules, f"{path}{{}}"
        )
    if nullable and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    return node


def _keda_min_le_max(spec: dict) -> bool:
    if "minReplicaCount" not in spec:
        return True
    return spec["minReplicaCount"] <= spec.get("maxReplicaCount", 100)


# The CEL rules of the vendored CRDs, each translated by hand. A rule that is
# not here (a newer CRD) fails the run rather than go unchecked.
CEL_RULES = {
    (
        "$.spec",
        "!has(self.minReplicaCount) || self.minReplicaCount <= (has(self.maxReplicaCount)"
        " ? self.maxReplicaCount : 100)",
    ): _keda_min_le_max,
}


def load_crds() -> tuple[dict, list[str]]:
    """{(apiVersion, kind): (validator, [(path, check, message)])}, and the
    files read."""
    crds: dict = {}
    files = sorted(glob.glob(os.path.join(HERE, "crds", "*.yaml")))
    with open(os.path.join(HERE, "crds", "PROVENANCE.md"), encoding="utf-8") as handle:
        recorded = dict(re.findall(r"^\| (\S+\.yaml) \|.*\| ([0-9a-f]{64}) \|$", handle.read(), re.M))
    for path in files:
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        if recorded.get(os.path.basename(path)) != digest:
            raise SystemExit(f"k8s-validate: {os.path.basename(path)} is not the file "
                             "crds/PROVENANCE.md records (sha256)")
        with open(path, encoding="utf-8") as handle:
            for doc in yaml.safe_load_all(handle):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
                for version in doc["spec"]["versions"]:
                    if not version.get("served"):
                        continue
                    rules: list = []
                    schema = openapi_to_jsonschema(
                        version["schema"]["openAPIV3Schema"], rules, "$"
                    )
                    checks = []
                    for rule_path, rule, message in rules:
                        key = (rule_path, " ".join(rule.split()))
                        if key not in CEL_RULES:
                            raise SystemExit(
                                f"k8s-validate: {os.path.basename(path)} has a CEL rule at "
                                f"{rule_path} that validate.py does not check: {rule}"
                            )
                        checks.append((rule_path, CEL_RULES[key], message))
                    jsonschema.Draft7Validator.check_schema(schema)
                    crds[(f"{group}/{version['name']}", kind)] = (
                        jsonschema.Draft7Validator(schema),
                        checks,
                    )
    return crds, files


def at(obj: dict, path: str):
    for part in path.split(".")[1:]:
        obj = (obj or {}).get(part)
    return obj


# --- the chart's own promises ---------------------------------------------------


def documented_variables() -> set[str]:
    """The ADPIPE_* names adpipe reads, as src/config/tests.rs pins them."""
    with open(os.path.join(ROOT, "src", "config", "tests.rs"), encoding="utf-8") as handle:
        text = handle.read()
    block = re.search(r"const DOCUMENTED: &\[&str\] = &\[(.*?)\];", text, re.S)
    if not block:
        raise SystemExit("k8s-validate: no DOCUMENTED list in src/config/tests.rs")
    return set(re.findall(r'"(ADPIPE_[A-Z0-9_]+)"', block.group(1)))


def name_of(obj: dict) -> str:
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_templates(objects: list[dict]):
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            yield obj, obj["spec"]["template"]


def chart_checks(objects: list[dict], documented: set[str]) -> tuple[int, list[str]]:
    """(checks made, problems)."""
    problems: list[str] = []
    made = 0

    def check(condition: bool, message: str) -> None:
        nonlocal made
        made += 1
        if not condition:
            problems.append(message)

    by_kind: dict[str, dict[str, dict]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
    configmaps = by_kind.get("ConfigMap", {})
    check("Secret" not in by_kind, "the chart renders a Secret: secrets must be referenced")

    for obj in objects:
        meta = obj["metadata"]
        labels = meta.get("labels") or {}
        for label in RECOMMENDED_LABELS:
            check(label in labels, f"{name_of(obj)}: no {label} label")
        check(bool(meta.get("namespace")), f"{name_of(obj)}: no namespace")

    for owner, template in pod_templates(objects):
        who = name_of(owner)
        spec = template["spec"]
        labels = template["metadata"].get("labels") or {}
        for label in RECOMMENDED_LABELS:
            check(label in labels, f"{who}: pod template has no {label} label")
        check(spec.get("automountServiceAccountToken") is False, f"{who}: mounts a token")
        pod_sc = spec.get("securityContext") or {}
        check(pod_sc.get("runAsNonRoot") is True, f"{who}: pod may run as root")
        check(
            (pod_sc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
            f"{who}: no RuntimeDefault seccomp profile",
        )
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        mounted: set[str] = set()
        for container in spec["containers"]:
            where = f"{who}/{container['name']}"
            sc = container.get("securityContext") or {}
            check(sc.get("allowPrivilegeEscalation") is False, f"{where}: privilege escalation")
            check(sc.get("readOnlyRootFilesystem") is True, f"{where}: writable root filesystem")
            check(sc.get("privileged") in (None, False), f"{where}: privileged")
            check(sc.get("runAsNonRoot") is True, f"{where}: may run as root")
            check("ALL" in ((sc.get("capabilities") or {}).get("drop") or []),
                  f"{where}: capabilities not all dropped")
            check(not (sc.get("capabilities") or {}).get("add"), f"{where}: capabilities added")
            resources = container.get("resources") or {}
            for side in ("requests", "limits"):
                for res in ("cpu", "memory"):
                    check(res in (resources.get(side) or {}), f"{where}: no {side}.{res}")
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts") or []}
            check("emptyDir" in volumes.get(mounts.get("/tmp", ""), {}),
                  f"{where}: /tmp is not an emptyDir (the root filesystem is read-only)")
            for mount in container.get("volumeMounts") or []:
                mounted.add(mount["name"])
                check(mount["name"] in volumes, f"{where}: mounts {mount['name']}, no such volume")
                if mount["mountPath"] != "/tmp":
                    check(mount.get("readOnly") is True, f"{where}: {mount['mountPath']} is writable")
            names = [e["name"] for e in container.get("env") or []]
            for source in container.get("envFrom") or []:
                ref = (source.get("configMapRef") or {}).get("name")
                check(ref in configmaps, f"{where}: envFrom ConfigMap {ref} is not rendered")
                names += list((configmaps.get(ref) or {}).get("data", {}))
            for var in names:
                check(var in documented or var == "RUST_LOG",
                      f"{where}: sets {var}, which adpipe does not read")
            for var in container.get("env") or []:
                ref = (var.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    check(bool(ref.get("name")) and bool(ref.get("key")),
                          f"{where}: {var['name']} has an empty secretKeyRef")
        for name, volume in volumes.items():
            check(name in mounted, f"{who}: volume {name} is not mounted")
            cm = (volume.get("configMap") or {}).get("name")
            if cm and cm.endswith(("-config", "-policy")):
                check(cm in configmaps, f"{who}: volume {name} names ConfigMap {cm}, not rendered")

    deployments = by_kind.get("Deployment", {})
    for name, deploy in deployments.items():
        spec = deploy["spec"]["template"]["spec"]
        container = spec["containers"][0]
        component = deploy["metadata"]["labels"].get("app.kubernetes.io/component")
        ports = {p["name"]: p["containerPort"] for p in container.get("ports") or []}
        probes = {kind: container.get(kind) for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
        for kind, probe in probes.items():
            check(bool(probe), f"Deployment/{name}: no {kind}")
        paths = {k: ((v or {}).get("httpGet") or {}).get("path") for k, v in probes.items()}
        grace = spec.get("terminationGracePeriodSeconds", 30)
        pre_stop = ((container.get("lifecycle") or {}).get("preStop") or {}).get("exec", {})
        check(bool(pre_stop.get("command")), f"Deployment/{name}: no preStop")
        if component == "api":
            check(paths == {"startupProbe": "/healthz", "livenessProbe": "/healthz",
                            "readinessProbe": "/readyz"},
                  f"Deployment/{name}: probes are not /healthz (start, live) and /readyz (ready)")
            check(all(((p or {}).get("httpGet") or {}).get("port") == "http" for p in probes.values()),
                  f"Deployment/{name}: probes not on the public port")
            metrics_addr = [e.get("value") for e in container.get("env") or []
                            if e["name"] == "ADPIPE_METRICS_ADDR"]
            check("metrics" in ports and metrics_addr == [f"0.0.0.0:{ports.get('metrics')}"],
                  f"Deployment/{name}: /metrics is not on a port of its own (ADPIPE_METRICS_ADDR)")
            sleep = int(pre_stop.get("command", ["", "0"])[-1])
            check(grace > sleep + API_REQUEST_TIMEOUT_S,
                  f"Deployment/{name}: grace {grace} s does not cover the preStop "
                  f"({sleep} s) and a request's timeout ({API_REQUEST_TIMEOUT_S} s)")
        elif component == "worker":
            check(set(paths.values()) == {"/healthz"}, f"Deployment/{name}: probes not on /healthz")
            check(all(((p or {}).get("httpGet") or {}).get("port") == "metrics" for p in probes.values()),
                  f"Deployment/{name}: probes not on the metrics port")
            check(grace > WORKER_DRAIN_BOUND_S,
                  f"Deployment/{name}: grace {grace} s is not longer than a drain "
                  f"({WORKER_DRAIN_BOUND_S} s)")
            check("kill -TERM 1" in " ".join(pre_stop.get("command", [])),
                  f"Deployment/{name}: the preStop does not stop claiming (SIGTERM)")
            metrics_addr = [e.get("value") for e in container.get("env") or []
                            if e["name"] == "ADPIPE_METRICS_ADDR"]
            check(metrics_addr == [f"0.0.0.0:{ports.get('metrics')}"],
                  f"Deployment/{name}: ADPIPE_METRICS_ADDR is not the metrics port")
        else:
            check(False, f"Deployment/{name}: unknown component {component}")

    scaled = {}
    for kind in ("HorizontalPodAutoscaler", "ScaledObject"):
        for name, obj in by_kind.get(kind, {}).items():
            target = obj["spec"]["scaleTargetRef"]["name"]
            check(target in deployments, f"{kind}/{name}: targets {target}, not rendered")
            check(target not in scaled, f"{target}: scaled by {scaled.get(target)} and {kind}/{name}")
            scaled[target] = f"{kind}/{name}"
            check("replicas" not in (deployments.get(target) or {}).get("spec", {}),
                  f"Deployment/{target}: sets replicas while {kind}/{name} scales it")
            for trigger in (obj["spec"].get("triggers") or []):
                auth = (trigger.get("authenticationRef") or {}).get("name")
                if auth:
                    check(auth in by_kind.get("TriggerAuthentication", {}),
                          f"{kind}/{name}: TriggerAuthentication {auth} is not rendered")

    services = by_kind.get("Service", {})
    for name, svc in services.items():
        selected = [d for d in deployments.values()
                    if selects(svc["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])]
        check(len(selected) == 1, f"Service/{name}: selects {len(selected)} Deployments")
        for port in svc["spec"]["ports"]:
            names = {p["name"] for d in selected
                     for p in d["spec"]["template"]["spec"]["containers"][0].get("ports") or []}
            check(port["targetPort"] in names, f"Service/{name}: targetPort {port['targetPort']} unknown")

    for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
        sel = pdb["spec"]["selector"]["matchLabels"]
        check(any(selects(sel, d["spec"]["template"]["metadata"]["labels"]) for d in deployments.values()),
              f"PodDisruptionBudget/{name}: selects no pod")

    for name, policy in by_kind.get("NetworkPolicy", {}).items():
        sel = policy["spec"]["podSelector"]["matchLabels"]
        pods = [t for _, t in pod_templates(objects) if selects(sel, t["metadata"]["labels"])]
        check(bool(pods), f"NetworkPolicy/{name}: selects no pod")
        open_ports = {p["port"] for rule in policy["spec"].get("ingress") or [] for p in rule.get("ports") or []}
        container_ports = {p["containerPort"] for t in pods for c in t["spec"]["containers"]
                           for p in c.get("ports") or []}
        check(open_ports <= container_ports, f"NetworkPolicy/{name}: opens ports no container has")

    for name, ing in by_kind.get("Ingress", {}).items():
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                svc = services.get(backend["name"])
                check(bool(svc) and backend["port"]["number"] in {p["port"] for p in svc["spec"]["ports"]},
                      f"Ingress/{name}: backend {backend} is not a rendered Service port")

    for name, monitor in by_kind.get("ServiceMonitor", {}).items():
        sel = monitor["spec"]["selector"]["matchLabels"]
        matched = [s for s in services.values() if selects(sel, s["metadata"]["labels"])]
        check(bool(matched), f"ServiceMonitor/{name}: selects no Service")
        for endpoint in monitor["spec"]["endpoints"]:
            check(any(endpoint["port"] in {p["name"] for p in s["spec"]["ports"]} for s in matched),
                  f"ServiceMonitor/{name}: port {endpoint['port']} is on no selected Service")

    hook_sas = {o["metadata"]["name"] for o in objects if o["kind"] == "ServiceAccount"
                and "helm.sh/hook" in (o["metadata"].get("annotations") or {})}
    plain_sas = {o["metadata"]["name"] for o in objects if o["kind"] == "ServiceAccount"} - hook_sas
    for name, job in by_kind.get("Job", {}).items():
        annotations = job["metadata"].get("annotations") or {}
        check(annotations.get("helm.sh/hook") == "pre-install,pre-upgrade",
              f"Job/{name}: not a pre-install,pre-upgrade hook")
        spec = job["spec"]["template"]["spec"]
        check(spec["containers"][0].get("args") == ["migrate"], f"Job/{name}: does not run migrate")
        check(not spec["containers"][0].get("envFrom"),
              f"Job/{name}: reads a ConfigMap that a pre-install hook runs before")
        sa = spec.get("serviceAccountName")
        check(sa not in plain_sas, f"Job/{name}: uses {sa}, created after pre-install hooks")
    for name, deploy in deployments.items():
        sa = deploy["spec"]["template"]["spec"].get("serviceAccountName")
        if sa in hook_sas:
            problems.append(f"Deployment/{name}: uses the hook's service account {sa}")
    return made, problems


# --- the phases -----------------------------------------------------------------


def validate_objects(objects: list[dict], versions: list[str], crds: dict) -> tuple[dict, list[str]]:
    counts: dict[str, int] = {}
    problems = []
    for obj in objects:
        key = (obj["apiVersion"], obj["kind"])
        if key in crds:
            validator, rules = crds[key]
            errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
            for error in errors:
                path = "/".join(str(p) for p in error.absolute_path)
                problems.append(f"{name_of(obj)}: {obj['kind']} CRD schema: /{path}: {error.message}")
            for rule_path, rule_check, message in rules:
                if not rule_check(at(obj, rule_path) or {}):
                    problems.append(f"{name_of(obj)}: CRD rule at {rule_path}: {message}")
            # metadata as the API server reads it: ObjectMeta
            wrapper = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]}
            for version in versions:
                try:
                    kubernetes_validate.validate(wrapper, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    problems.append(f"{name_of(obj)}: metadata ({version}): {error.message}")
            counts[f"{obj['kind']} (CRD)"] = counts.get(f"{obj['kind']} (CRD)", 0) + 1
            continue
        for version in versions:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                path = "/".join(str(p) for p in error.absolute_path)
                problems.append(f"{name_of(obj)}: Kubernetes {version}: /{path}: {error.message}")
            except kv.SchemaNotFoundError:
                problems.append(f"{name_of(obj)}: no schema for {key} in Kubernetes {version}")
        counts[obj["kind"]] = counts.get(obj["kind"], 0) + 1
    return counts, problems


def run_checkov(renders: dict[str, str]) -> tuple[dict, list[str], list[str]]:
    """(summary, explained lines, problems)."""
    with open(os.path.join(HERE, "checkov-explained.yaml"), encoding="utf-8") as handle:
        explained = yaml.safe_load(handle)
    checkov = os.path.join(os.path.dirname(sys.executable), "checkov")
    with tempfile.TemporaryDirectory() as tmp:
        for scenario, text in renders.items():
            with open(os.path.join(tmp, scenario.replace("/", "__") + ".yaml"), "w") as handle:
                handle.write(text)
        # --skip-download: nothing is fetched (no severities, no guidelines).
        result = subprocess.run(
            [checkov, "-d", tmp, "--framework", "kubernetes", "--quiet", "--skip-download",
             "--output", "json"],
            capture_output=True, text=True, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        )
    if result.returncode not in (0, 1):
        return {}, [], [f"checkov failed ({result.returncode}): {result.stderr.strip()[-2000:]}"]
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    summary = {"passed": 0, "failed": 0, "resources": 0}
    failed: dict[str, list[str]] = {}
    for part in reports:
        summary["passed"] += part["summary"]["passed"]
        summary["failed"] += part["summary"]["failed"]
        summary["resources"] += part["summary"]["resource_count"]
        for finding in part["results"]["failed_checks"]:
            where = f"{os.path.basename(finding['file_path'])}: {finding['resource']}"
            failed.setdefault(finding["check_id"], []).append(where)
    lines, problems = [], []
    for check_id, where in sorted(failed.items()):
        if check_id in explained:
            lines.append(f"{check_id} ×{len(where)} ({explained[check_id]['check']}): explained")
        else:
            problems.append(f"checkov {check_id} ×{len(where)}, unexplained: " + "; ".join(where[:5]))
    summary["explained"] = sum(len(w) for c, w in failed.items() if c in explained)
    summary["unexplained"] = sum(len(w) for c, w in failed.items() if c not in explained)
    summary["checks"] = len(failed)
    return summary, lines, problems


def main() -> int:
    started = time.monotonic()
    problems: list[str] = []
    versions = kube_versions()
    crds, crd_files = load_crds()
    documented = documented_variables()
    renders: dict[str, str] = {}
    kinds: dict[str, int] = {}
    checks_made = 0
    lint_messages = 0

    with helm.Chart.load(render.CHART) as chart:
        for scenario, files, release, namespace in scenarios(sys.argv[1:]):
            try:
                objects = render.render_chart(chart, render.load_values(files), release, namespace)
            except render.RenderError as error:
                problems.append(f"{scenario}: {error}")
                continue
            renders[scenario] = "".join(f"---\n# Source: {s}\n{t}\n" for s, t, _ in objects)
            objs = [o for _, _, o in objects]
            counts, found = validate_objects(objs, versions, crds)
            problems += [f"{scenario}: {p}" for p in found]
            for kind, n in counts.items():
                kinds[kind] = kinds.get(kind, 0) + n
            made, found = chart_checks(copy.deepcopy(objs), documented)
            checks_made += made
            problems += [f"{scenario}: {p}" for p in found]
            report = helm.lint(render.CHART, render.load_values(files), strict=True,
                               namespace=namespace)
            for message in report.get("messages", []):
                if message.get("severity", 0) >= 2:
                    lint_messages += 1
                    problems.append(f"{scenario}: helm lint: {message.get('path')}: {message.get('error')}")
            for error in report.get("errors", []):
                lint_messages += 1
                problems.append(f"{scenario}: helm lint: {error}")
            say(f"{scenario}: {len(objs)} objects rendered and validated")

        # config.extraEnv's allowed names and the names the chart sets
        # itself must together be exactly the names adpipe reads: a new
        # setting in src/config/tests.rs must be added to the schema.
        allowed = set(chart.schema["properties"]["config"]["properties"]["extraEnv"]
                      ["propertyNames"]["enum"])
        set_by_chart = {v for text in renders.values()
                        for v in re.findall(r"\b(ADPIPE_[A-Z0-9_]+)\b", text)} - allowed
        set_by_chart.add("ADPIPE_DATA_DIR")  # the image's ENV; pods write nothing there
        if allowed - documented:
            problems.append(f"values.schema.json allows {sorted(allowed - documented)} in "
                            "config.extraEnv, which adpipe does not read")
        if documented - allowed - set_by_chart:
            problems.append(f"adpipe reads {sorted(documented - allowed - set_by_chart)}, which the "
                            "chart neither sets nor allows in config.extraEnv (values.schema.json)")

        with open(os.path.join(HERE, "rejected-values.yaml"), encoding="utf-8") as handle:
            cases = yaml.safe_load(handle)
        refused = 0
        for case in cases:
            try:
                render.render_chart(chart, case["values"])
                problems.append(f"rejected-values: accepted: {case['name']}")
            except render.RenderError as error:
                if case["expect"] in str(error):
                    refused += 1
                else:
                    problems.append(f"rejected-values: {case['name']}: refused for another "
                                    f"reason than {case['expect']!r}: {error}")
    rendered_at = time.monotonic()

    summary, explained, found = run_checkov(renders)
    problems += found

    total = sum(kinds.values())
    say(f"{len(renders)} scenarios, {total} objects: "
        + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    say(f"Kubernetes schemas (kubernetes-validate {kubernetes_validate.__version__}, strict): "
        f"every built-in object against {' and '.join(versions)}")
    say("CRD schemas (strict, CEL rules by hand): "
        + ", ".join(os.path.basename(f) for f in crd_files))
    say(f"chart checks: {checks_made} made")
    say(f"helm lint --strict (Helm SDK {helm.helm_sdk_version()}): {lint_messages} warnings or errors")
    say(f"rejected values: {refused} of {len(cases)} refused as expected")
    if summary:
        say(f"checkov: {summary['resources']} resources, {summary['passed']} passed, "
            f"{summary['failed']} failed ({summary['explained']} explained in "
            f"checkov-explained.yaml, {summary['unexplained']} not)")
        for line in explained:
            say(f"  {line}")
    say(f"took {rendered_at - started:.1f} s to render and validate, "
        f"{time.monotonic() - rendered_at:.1f} s for checkov")
    if problems:
        for problem in problems:
            print(f"k8s-validate: PROBLEM: {problem}", file=sys.stderr)
        say(f"FAILED: {len(problems)} problems")
        return 1
    say("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
