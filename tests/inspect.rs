//! `chiso inspect` on three corpus workbooks, through the binary: what an operator reads to
//! adapt chiso to a layout. The snapshots were read against the workbooks by hand: the sheet
//! and why, each column's role and unit, where agency and period were found, and for every
//! row its item, evidence and outcome. Inspect stores nothing: the warehouse stays empty.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus").join(name)
}

fn inspect(dir: &Path, file: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chiso"));
    cmd.current_dir(dir).arg("inspect").arg(file).args(args).env("NO_COLOR", "1").env("COLUMNS", "400");
    for (k, _) in std::env::vars() {
        if k.starts_with("CHISO_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("CHISO_DATABASE__URL", format!("sqlite://{}", dir.join("w.db").display()));
    cmd.output().expect("chiso runs")
}

fn run(file: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = inspect(dir.path(), &corpus(file), args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{file}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(chiso::text::is_nfc(&stdout));
    // Stores nothing: no warehouse is even created.
    assert!(!dir.path().join("w.db").exists(), "inspect must not write a warehouse");
    stdout
}

/// A table numbering its rows 1, 2, 3 beside the plan's task texts: each row's item comes
/// from its text, the counter is shown but not used.
#[test]
fn a_running_counter_is_read_by_the_task_texts() {
    let out = run("w02_running_counter.xlsx", &["--period", "2024-Q2"]);
    assert!(out.contains("Sheet1!D8  ┆ 1   ┆"), "{out}");
    assert!(out.contains("nội dung trùng nguyên văn kế hoạch"), "{out}");
    insta::assert_snapshot!("inspect_running_counter", out);
}

/// A three-row merged header with `Số lượng | Tỷ lệ (%)`: each column's path and unit, and
/// each row's figure from the sub-column of its indicator's unit.
#[test]
fn a_merged_header_shows_each_column_s_path_and_unit() {
    let out = run("w08_three_row_header.xls", &["--period", "2024-Q2"]);
    assert!(out.contains("Số lượng"), "{out}");
    insta::assert_snapshot!("inspect_merged_header", out);
}

/// A long layout by unit code, name and district: an unknown code read by its name (with a
/// note), a code and name that disagree held for the operator.
#[test]
fn units_by_code_name_and_district() {
    let out = run("l04_unit_code_name.xlsx", &["--period", "2024-Q2"]);
    assert!(out.contains("giữ lại"), "{out}");
    insta::assert_snapshot!("inspect_unit_code_name", out);
}
