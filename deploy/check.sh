#!/usr/bin/env bash
# Checks the Kubernetes deployment offline: renders each overlay with `kubectl kustomize`,
# validates the result against the Kubernetes 1.30 schemas (kubernetes-validate --strict) and
# runs `gatehouse lint` on it, which must find nothing. Installs what it needs on a fresh Debian
# machine: kubectl from the package index, kubernetes-validate from PyPI (in a venv under
# target/, so the system Python stays untouched).
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_VERSION=1.30.0
OVERLAYS=(dev production)

sudo_if_needed() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
apt_install() {
    if [ -z "$apt_updated" ]; then
        sudo_if_needed apt-get update -q
        apt_updated=1
    fi
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

# kubectl (with Kustomize built in) comes from the machine's package index; the image this
# project's machines are made from ships it, and a machine without it gets it from there.
if ! command -v kubectl >/dev/null; then
    apt_install kubectl || {
        echo "deploy/check.sh: kubectl is not available from this machine's package index" >&2
        exit 1
    }
fi

validate=(kubernetes-validate)
if ! command -v kubernetes-validate >/dev/null; then
    venv=target/deploy-check-venv
    if [ ! -x "$venv/bin/kubernetes-validate" ]; then
        python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
        "$venv/bin/pip" install -q kubernetes-validate
    fi
    validate=("$venv/bin/kubernetes-validate")
fi

# GATEHOUSE names an already built binary; otherwise the workspace's is built.
gatehouse=${GATEHOUSE:-}
if [ -z "$gatehouse" ]; then
    cargo build -q -p gatehouse --locked
    gatehouse=${CARGO_TARGET_DIR:-target}/debug/gatehouse
fi

rendered=$(mktemp -d)
trap 'rm -rf "$rendered"' EXIT
for overlay in "${OVERLAYS[@]}"; do
    out="$rendered/$overlay.yaml"
    echo "== deploy/kubernetes/overlays/$overlay"
    kubectl kustomize "deploy/kubernetes/overlays/$overlay" >"$out"
    "${validate[@]}" --strict --kubernetes-version "$KUBERNETES_VERSION" --quiet "$out"
    echo "schemas: valid for Kubernetes $KUBERNETES_VERSION"
    "$gatehouse" lint "$out"
done
