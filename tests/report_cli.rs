//! `chiso report` as an operator runs it, in an empty directory (the compiled-in plan,
//! directory and report template): the files it prints are there and open, a quarter not
//! evaluated exits 1, a unit that is not a district exits 2, and no run is recorded.

mod common;

use std::path::Path;
use std::process::Output;

fn chiso(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = common::chiso_command(dir);
    cmd.args(args);
    cmd.output().expect("the chiso binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn runs(dir: &Path) -> usize {
    let out = chiso(dir, &["runs", "list"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    stdout(&out).lines().filter(|l| l.contains("evaluate") || l.contains("collect")).count()
}

#[test]
fn the_report_command_writes_and_names_its_files_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let evaluated = chiso(dir.path(), &["evaluate", "--period", "2024-Q2"]);
    assert!(evaluated.status.success(), "{}", String::from_utf8_lossy(&evaluated.stderr));
    let before = runs(dir.path());
    assert!(before >= 1);

    let out = chiso(dir.path(), &["report", "--period", "Quý II/2024", "--format", "all", "--out", "out"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    for name in ["out/bao-cao-2024-Q2.xlsx", "out/bao-cao-2024-Q2.docx"] {
        assert!(text.contains(&format!("Đã ghi {name}")), "{text}");
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        assert!(zip.file_names().any(|n| n.is_ok_and(|n| n == "xl/workbook.xml" || n == "word/document.xml")));
    }
    assert!(text.contains("Báo cáo Quý II/2024 — Toàn tỉnh"), "{text}");
    assert_eq!(runs(dir.path()), before, "the report recorded a run");

    // Only what was asked for.
    let out = chiso(dir.path(), &["report", "--period", "2024-Q2", "--format", "docx", "--out", "docx-only"]);
    assert!(out.status.success());
    let files: Vec<String> = std::fs::read_dir(dir.path().join("docx-only"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["bao-cao-2024-Q2.docx"]);

    // A district's report of its communes.
    let out = chiso(dir.path(), &["report", "--period", "2024-Q2", "--agency", "h_long_ho", "--out", "out"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("Đã ghi out/bao-cao-2024-Q2-h_long_ho.xlsx"));

    // A quarter not evaluated: exit 1, told what to run, nothing written.
    let out = chiso(dir.path(), &["report", "--period", "2024-Q3", "--out", "q3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("chiso evaluate --period 2024-Q3"), "{}", stdout(&out));
    assert!(!dir.path().join("q3/bao-cao-2024-Q3.xlsx").exists());

    // A department is not a district: exit 2.
    let out = chiso(dir.path(), &["report", "--period", "2024-Q2", "--agency", "so_khcn", "--out", "bad"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("không phải là huyện"));
    assert!(!dir.path().join("bad").exists());
}
