#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The manifests under `deploy/kubernetes` lint clean: each overlay as `kubectl kustomize`
//! renders it (when kubectl is installed), and the base with each overlay's gateway
//! configuration without kubectl.

use std::path::{Path, PathBuf};
use std::process::Command;

use gatehouse_lint::{Report, lint, load_paths, parse_text};

const OVERLAYS: [&str; 2] = ["dev", "production"];

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/kubernetes")
}

fn assert_clean(what: &str, report: &Report) {
    let findings: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert!(report.is_clean(), "{what}:\n{}", findings.join("\n"));
    assert_eq!(report.configs, 1, "{what}: one gateway configuration");
}

#[test]
fn rendered_overlays_lint_clean() {
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        eprintln!(
            "SKIPPED rendered_overlays_lint_clean: kubectl is not installed (deploy/check.sh installs it)"
        );
        return;
    }
    for overlay in OVERLAYS {
        let dir = deploy_dir().join("overlays").join(overlay);
        let output = Command::new("kubectl")
            .arg("kustomize")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "kubectl kustomize {overlay}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        let report = lint(&parse_text(overlay, &text).unwrap());
        assert_clean(overlay, &report);
        // Everything the issue asks for is in the render.
        for kind in [
            "Namespace",
            "Ingress",
            "Deployment",
            "Service",
            "ConfigMap",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "NetworkPolicy",
        ] {
            assert!(
                text.contains(&format!("\nkind: {kind}\n")),
                "{overlay}: no {kind}"
            );
        }
    }
}

#[test]
fn base_with_each_overlay_config_lints_clean_without_kubectl() {
    for overlay in OVERLAYS {
        let paths = [
            deploy_dir().join("base"),
            deploy_dir()
                .join("overlays")
                .join(overlay)
                .join("gatehouse.yaml"),
        ];
        let report = lint(&load_paths(&paths).unwrap());
        assert_clean(overlay, &report);
        assert!(report.objects > 20, "{overlay}: {} objects", report.objects);
    }
}
