#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `gatehouse lint` as a process: exit status 0 clean, 1 with findings, 2 on unreadable input;
//! text and JSON output; standard input.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../gatehouse-lint/tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn lint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("lint")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn clean_manifests_exit_zero() {
    let out = lint(&[&fixture("good.yaml")]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 finding(s)"));
}

#[test]
fn findings_exit_one_with_file_object_and_rule() {
    let out = lint(&[&fixture("good.yaml"), &fixture("host-port.yaml")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("host-port.yaml: StatefulSet shop/cache: [host-port] container cache"),
        "{text}"
    );
}

#[test]
fn json_output_is_one_document() {
    let out = lint(&[
        "--format",
        "json",
        &fixture("good.yaml"),
        &fixture("forwards-token.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["findings"][0]["rule"], "forwards-token");
    assert_eq!(json["findings"][0]["name"], "gatehouse-partner");
    assert_eq!(json["configs"], 2);
}

#[test]
fn standard_input_is_read_with_a_dash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["lint", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let text = std::fs::read(fixture("host-network.yaml")).unwrap();
    child.stdin.take().unwrap().write_all(&text).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("<stdin>: DaemonSet shop/node-agent"));
}

#[test]
fn unreadable_or_empty_input_exits_two() {
    let out = lint(&["/nonexistent/manifests.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let dir = std::env::temp_dir().join(format!("gatehouse-lint-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = lint(&[dir.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an empty render must not pass: {out:?}"
    );
    let bad = std::env::temp_dir().join(format!("gatehouse-lint-bad-{}.yaml", std::process::id()));
    std::fs::write(&bad, "a: [unclosed\n").unwrap();
    let out = lint(&[bad.to_str().unwrap()]);
    std::fs::remove_file(&bad).unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid YAML"));
}
