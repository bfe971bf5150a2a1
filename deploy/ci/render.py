"""Renders deploy/helm/adpipe as `helm template` does, with Helm's own Go
SDK (Helm v4, the helm-python-sdk wheel's libhelm_c): the values files are
merged over the chart's values.yaml, checked against values.schema.json,
and the templates rendered offline. Prints the manifests on stdout, one
`---` document per object with a `# Source:` line, ordered as Helm installs
them, hooks last (as `helm template` prints them).

    python render.py [--release NAME] [--namespace NS] [VALUES.yaml ...]

Exit 2 on values the schema rejects, 3 on a template that fails.
"""

from __future__ import annotations

import argparse
import os
import sys

import helm_python as helm
import yaml

CHART = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helm", "adpipe")

# Helm's InstallOrder (pkg/release/util/kind_sorter.go): kinds it creates
# first come first; unknown kinds (custom resources) last.
INSTALL_ORDER = [
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
    "PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret",
    "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
    "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
    "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role",
    "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
    "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler",
    "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
]


def merge(base: dict, over: dict) -> dict:
    """Helm's coalescing of -f files: maps merge, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def documents(rendered: dict[str, str]) -> list[tuple[str, str, dict]]:
    """(source, text, object) for every non-empty document."""
    out = []
    for source in sorted(rendered):
        if source.endswith("NOTES.txt"):
            continue
        for text in rendered[source].split("\n---"):
            text = text.strip("\n")
            if text.startswith("---"):
                text = text[3:].lstrip("\n")
            obj = yaml.safe_load(text) if text.strip() else None
            if obj:
                out.append((source, text, obj))
    return out


def order(item: tuple[str, str, dict]) -> tuple:
    _, _, obj = item
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    hook = "helm.sh/hook" in annotations
    weight = int(annotations.get("helm.sh/hook-weight", "0")) if hook else 0
    kind = obj.get("kind", "")
    rank = INSTALL_ORDER.index(kind) if kind in INSTALL_ORDER else len(INSTALL_ORDER)
    return (hook, weight, rank, kind, (obj.get("metadata") or {}).get("name", ""))


class RenderError(Exception):
    """Values the schema rejects (code 2) or a template that fails (3)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def load_values(paths: list[str]) -> dict:
    """The -f files, merged in order."""
    overrides: dict = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            loaded = yaml.safe_load(handle) or {}
        if not isinstance(loaded, dict):
            raise RenderError(2, f"{path}: not a map of values")
        overrides = merge(overrides, loaded)
    return overrides


def render_chart(
    chart: helm.Chart, overrides: dict, release: str = "adpipe", namespace: str = "adpipe"
) -> list[tuple[str, str, dict]]:
    """(source, text, object) of every object, in the order printed."""
    try:
        # What `helm install` and `helm template` check before rendering.
        chart.validate_schema(chart.merge_values(overrides))
    except helm.HelmError as error:
        raise RenderError(2, f"the values break values.schema.json: {error}") from error
    try:
        rendered = chart.render(overrides, name=release, namespace=namespace, is_install=True)
    except helm.HelmError as error:
        raise RenderError(3, f"the chart does not render: {error}") from error
    return sorted(documents(rendered), key=order)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("values", nargs="*", help="values files, later ones win")
    parser.add_argument("--release", default="adpipe")
    parser.add_argument("--namespace", default="adpipe")
    args = parser.parse_args()
    try:
        overrides = load_values(args.values)
        with helm.Chart.load(CHART) as chart:
            objects = render_chart(chart, overrides, args.release, args.namespace)
    except RenderError as error:
        print(f"k8s-render: {error}", file=sys.stderr)
        return error.code
    for source, text, _ in objects:
        sys.stdout.write(f"---\n# Source: {source}\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
