//! The report's workbook and draft document open in LibreOffice and print on A4: both are
//! converted to PDF headless (`soffice --headless --convert-to pdf`), and the PDFs' pages
//! are A4 (landscape for the workbook, portrait for the document), the workbook's summary
//! sheet on one page.
//!
//! Needs LibreOffice (`libreoffice-calc`, `libreoffice-writer`): in CI (`CI` set) its
//! absence fails the test; elsewhere the test says it is skipped.

mod common;

use std::path::Path;
use std::process::Command;

use chiso::jobs::evaluate::{EvaluateRequest, evaluate};
use chiso::report::docx::{ReportTemplate, write_docx};
use chiso::report::quarterly::{Scope, load, write_xlsx};
use chiso::warehouse::Trigger;
use chrono::{TimeZone, Utc};

const SOFFICE: &str = "/usr/bin/soffice";

fn soffice_available() -> bool {
    if Path::new(SOFFICE).exists() {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "LibreOffice ({SOFFICE}) is needed in CI");
    eprintln!("skipped: no LibreOffice at {SOFFICE}");
    false
}

/// Converts a file to PDF in its folder and returns the PDF's bytes.
fn to_pdf(file: &Path) -> Vec<u8> {
    let dir = file.parent().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(SOFFICE)
        .arg(format!("-env:UserInstallation=file://{}", profile.path().display()))
        .args(["--headless", "--norestore", "--convert-to", "pdf", "--outdir"])
        .arg(dir)
        .arg(file)
        .output()
        .expect("soffice runs");
    let pdf = file.with_extension("pdf");
    assert!(
        out.status.success() && pdf.exists(),
        "{} did not convert: {}{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(pdf).unwrap()
}

/// The pages' media boxes (width, height in points), in the order they appear.
fn page_sizes(pdf: &[u8]) -> Vec<(f64, f64)> {
    let text = String::from_utf8_lossy(pdf);
    text.split("/MediaBox")
        .skip(1)
        .filter_map(|rest| {
            let inside = rest.trim_start().strip_prefix('[')?.split(']').next()?;
            let n: Vec<f64> = inside.split_whitespace().filter_map(|x| x.parse().ok()).collect();
            (n.len() == 4).then(|| (n[2] - n[0], n[3] - n[1]))
        })
        .collect()
}

fn pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.matches("/Type/Page").count() - text.matches("/Type/Pages").count()
}

fn is_a4(size: (f64, f64), landscape: bool) -> bool {
    let (w, h) = if landscape { (841.9, 595.3) } else { (595.3, 841.9) };
    (size.0 - w).abs() < 2.0 && (size.1 - h).abs() < 2.0
}

#[tokio::test]
async fn the_report_opens_in_libreoffice_and_prints_on_a4() {
    if !soffice_available() {
        return;
    }
    let q2 = common::period("2024-Q2");
    let db = common::sqlite().await;
    let sources = chiso::sources::load(&common::repo("config/sources.toml"), &common::directory()).unwrap();
    let ctx = common::context(&db, common::settings(), sources).await;
    common::collect(&ctx, q2).await;
    let now = Utc.with_ymd_and_hms(2024, 7, 1, 3, 0, 0).unwrap();
    evaluate(&ctx, &EvaluateRequest { now: Some(now), ..EvaluateRequest::new(q2, Trigger::Cli, None) }).await.unwrap();
    let report = load(&ctx.report_input(), q2, Scope::Province).await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    let xlsx = dir.path().join("report.xlsx");
    std::fs::write(&xlsx, write_xlsx(&report).unwrap()).unwrap();
    let pdf = to_pdf(&xlsx);
    assert!(pdf.starts_with(b"%PDF"));
    let sizes = page_sizes(&pdf);
    assert!(!sizes.is_empty() && sizes.iter().all(|s| is_a4(*s, true)), "workbook pages: {sizes:?}");
    // Summary, agencies, indicators, charts: far fewer pages than rows.
    let n = pages(&pdf);
    assert!(n >= 4 && n < report.indicators.len() / 2, "{n} pages for {} indicators", report.indicators.len());

    // The summary is one page: with the agency and indicator sheets emptied (the summary
    // keeps its figures), the workbook prints on one page per sheet.
    let mut summary_only = report.clone();
    summary_only.agencies.clear();
    summary_only.indicators.clear();
    let xlsx = dir.path().join("summary.xlsx");
    std::fs::write(&xlsx, write_xlsx(&summary_only).unwrap()).unwrap();
    assert_eq!(pages(&to_pdf(&xlsx)), 4, "the summary is not one page");

    let template = ReportTemplate::load(&common::repo("config/templates")).unwrap();
    let docx = dir.path().join("draft.docx");
    std::fs::write(&docx, write_docx(&report, &template, 2024).unwrap()).unwrap();
    let pdf = to_pdf(&docx);
    assert!(pdf.starts_with(b"%PDF"));
    let sizes = page_sizes(&pdf);
    assert!(!sizes.is_empty() && sizes.iter().all(|s| is_a4(*s, false)), "document pages: {sizes:?}");
    db.cleanup().await;
}
