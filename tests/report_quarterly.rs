//! The quarterly report re-opened as a reader would: the workbook with calamine (typed
//! numbers equal to the stored gap rows, charts, print setup) and the draft document's
//! XML (sections and figures), on the demo quarter collected and evaluated; and the
//! command writing both and nothing to the warehouse.

mod common;

use std::collections::HashMap;
use std::io::Read;

use calamine::{Data, Reader, Xlsx};
use chiso::evaluate::Status;
use chiso::report::docx::{ReportTemplate, write_docx};
use chiso::report::quarterly::{AGENCY_SHEET, INDICATOR_SHEET, QuarterReport, SUMMARY_SHEET, Scope, load, write_xlsx};
use chiso::warehouse::StoredGap;

/// The demo quarter collected, and Q1 and Q2 evaluated (Q1 has no figures: all missing).
async fn demo(db: &common::TestDb) -> chiso::app::Context {
    let sources = chiso::sources::load(&common::repo("config/sources.toml"), &common::directory()).unwrap();
    let ctx = common::context(db, common::settings(), sources).await;
    common::collect_and_evaluate_demo(&ctx).await;
    ctx
}

fn part(bytes: &[u8], name: &str) -> Option<String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut f = zip.by_name(name).ok()?;
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    Some(s)
}

fn part_names(bytes: &[u8]) -> Vec<String> {
    let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    zip.file_names().map(|n| n.unwrap().into_owned()).collect()
}

fn num(d: &Data) -> Option<f64> {
    match d {
        Data::Float(x) => Some(*x),
        Data::Int(x) => Some(*x as f64),
        _ => None,
    }
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

/// The typed value a gap row's figure must have in the workbook: a percent as its
/// fraction, a count as itself.
fn expected_cell(v: Option<chiso::domain::Value>) -> Option<f64> {
    match v {
        Some(chiso::domain::Value::Percent(x)) => Some(x / 100.0),
        Some(chiso::domain::Value::Count(x)) => Some(x),
        _ => None,
    }
}

fn check_workbook(bytes: &[u8], report: &QuarterReport, gaps: &[StoredGap], dir: &chiso::catalog::Directory) {
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(&wb.sheet_names()[..3], [SUMMARY_SHEET, AGENCY_SHEET, INDICATOR_SHEET]);

    // Theo chỉ tiêu: every aggregate row's figure, members and status, typed.
    let sheet = wb.worksheet_range(INDICATOR_SHEET).unwrap();
    let mut seen_numbers = 0;
    let mut seen_aggregates = 0;
    let lines: HashMap<String, Vec<Data>> = sheet.rows().skip(4).map(|r| (text(&r[0]), r.to_vec())).collect();
    assert_eq!(lines.len(), report.indicators.len());
    for g in gaps.iter().filter(|g| g.kind.as_str() == "aggregate") {
        let key = if g.measure.is_empty() { g.item.clone() } else { format!("{} ({})", g.item, g.measure) };
        let row = lines.get(&key).unwrap_or_else(|| panic!("no line for aggregate {key}"));
        seen_aggregates += 1;
        match expected_cell(g.actual) {
            Some(x) => {
                let got = num(&row[5]).unwrap_or_else(|| panic!("{key}: figure {:?} is not a number", row[5]));
                assert!((got - x).abs() < 1e-9, "{key}: {got} ≠ {x}");
                seen_numbers += 1;
            }
            None if g.actual.is_none() => assert_eq!(row[5], Data::Empty, "{key}"),
            None => {}
        }
        if let Some(x) = g.expected {
            let want = if chiso::report::gap_table::is_percent(g) { x / 100.0 } else { x };
            assert!((num(&row[4]).unwrap() - want).abs() < 1e-9, "{key}: expected {:?} ≠ {want}", row[4]);
        }
        match g.members {
            Some((judged, good)) => {
                assert_eq!((num(&row[6]), num(&row[7])), (Some(good as f64), Some(judged as f64)), "{key}")
            }
            None => assert_eq!((&row[6], &row[7]), (&Data::Empty, &Data::Empty), "{key}"),
        }
        assert_eq!(text(&row[8]), g.status.vi(), "{key}");
        assert_eq!(text(&row[9]), g.reason, "{key}");
    }
    assert!(seen_aggregates > 10 && seen_numbers > 5, "{seen_aggregates} aggregates, {seen_numbers} numbers");

    // Tổng hợp: the total row counts what the indicator sheet lists, status by status.
    let summary = wb.worksheet_range(SUMMARY_SHEET).unwrap();
    let head = summary.rows().position(|r| text(&r[0]) == "Lĩnh vực").expect("the section table");
    let total = summary.rows().skip(head).find(|r| text(&r[0]) == "Cộng").expect("the total row").to_vec();
    for (i, s) in Status::ALL.iter().enumerate() {
        assert_eq!(text(&summary.rows().nth(head).unwrap()[1 + i]), s.vi());
        let listed = lines.values().filter(|r| text(&r[8]) == s.vi()).count();
        assert_eq!(num(&total[1 + i]), Some(listed as f64), "{}", s.vi());
    }
    let judged = lines.values().filter(|r| !["Không áp dụng", "Chưa đến hạn"].contains(&text(&r[8]).as_str())).count();
    let good = lines.values().filter(|r| ["Đúng tiến độ", "Đã hoàn thành"].contains(&text(&r[8]).as_str())).count();
    let share = num(&total[1 + Status::ALL.len() + 1]).expect("the share is a number");
    assert!((share - good as f64 / judged as f64).abs() < 1e-9, "{share} ≠ {good}/{judged}");
    // The previous quarter (Q1, nothing reported) stands beside it.
    let key_rows: Vec<Vec<Data>> = summary.rows().take(head).map(<[Data]>::to_vec).collect();
    let missing = key_rows.iter().find(|r| text(&r[0]) == "Chưa báo cáo").expect("the missing line");
    assert!(num(&missing[2]).unwrap() > num(&missing[1]).unwrap(), "{missing:?}");

    // Theo đơn vị: each agency's counts are its member rows'.
    let agencies = wb.worksheet_range(AGENCY_SHEET).unwrap();
    // Names are unique among the agencies judged in a quarter (a merged commune's successor
    // may carry an older commune's name, in another year).
    let judged_ids: std::collections::BTreeSet<&str> =
        gaps.iter().filter(|g| g.kind.as_str() == "member").map(|g| g.agency.as_str()).collect();
    let by_name: HashMap<&str, &str> =
        dir.iter().filter(|a| judged_ids.contains(a.id.as_str())).map(|a| (a.name.as_str(), a.id.as_str())).collect();
    assert_eq!(by_name.len(), judged_ids.len(), "two judged agencies share a name");
    let mut rows = 0;
    let mut last_share = f64::INFINITY;
    for r in agencies.rows().skip(4) {
        let id = by_name[text(&r[1]).as_str()];
        let mine: Vec<&StoredGap> = gaps
            .iter()
            .filter(|g| g.kind.as_str() == "member" && g.agency.as_str() == id && g.status != Status::NotApplicable)
            .collect();
        let count = |f: &dyn Fn(Status) -> bool| mine.iter().filter(|g| f(g.status)).count() as f64;
        assert_eq!(num(&r[3]), Some(mine.len() as f64), "{id}");
        assert_eq!(num(&r[4]), Some(mine.iter().filter(|g| g.actual.is_some()).count() as f64), "{id}");
        assert_eq!(num(&r[5]), Some(count(&|s| s.is_good())), "{id}");
        assert_eq!(num(&r[7]), Some(count(&|s| matches!(s, Status::Lagging | Status::Overdue))), "{id}");
        assert_eq!(num(&r[8]), Some(count(&|s| s == Status::Missing)), "{id}");
        // Ranked by share on track.
        let share = num(&r[10]).unwrap_or(-1.0);
        assert!(share <= last_share, "{id} is not ranked");
        last_share = share;
        rows += 1;
    }
    assert_eq!(rows, report.agencies.len());
    assert!(rows > 5);

    // Native charts, number formats, print setup.
    let names = part_names(bytes);
    assert_eq!(names.iter().filter(|n| n.starts_with("xl/charts/chart")).count(), 3, "{names:?}");
    let styles = part(bytes, "xl/styles.xml").unwrap();
    assert!(styles.contains(r#"formatCode="0.0%""#) && styles.contains(r##"formatCode="#,##0""##), "{styles}");
    for i in 1..=3 {
        let xml = part(bytes, &format!("xl/worksheets/sheet{i}.xml")).unwrap();
        assert_print_setup(&xml, &format!("sheet{i}"), i > 1);
    }
    // The summary is one page: fitted in both directions.
    assert!(!part(bytes, "xl/worksheets/sheet1.xml").unwrap().contains("fitToHeight"));
    let sheet3 = part(bytes, "xl/worksheets/sheet3.xml").unwrap();
    assert!(sheet3.contains("<autoFilter") && sheet3.contains(r#"state="frozen""#));
    assert!(sheet3.contains(r#"customHeight="1""#), "wrapped rows are sized");
    let workbook = part(bytes, "xl/workbook.xml").unwrap();
    assert!(workbook.contains("_xlnm.Print_Titles"), "header rows repeated: {workbook}");
}

/// A4 landscape, one page wide (as many down as needed when `long`), page numbers.
fn assert_print_setup(xml: &str, what: &str, long: bool) {
    assert!(xml.contains(r#"paperSize="9""#), "{what}: not A4");
    assert!(xml.contains(r#"orientation="landscape""#), "{what}: not landscape");
    assert!(
        xml.contains(r#"<pageSetUpPr fitToPage="1"/>"#) && !xml.contains("fitToWidth="),
        "{what}: not fitted to width"
    );
    assert_eq!(xml.contains(r#"fitToHeight="0""#), long, "{what}: pages down");
    assert!(xml.contains("<oddFooter>") && xml.contains("&amp;P/&amp;N"), "{what}: no page numbers");
}

/// The row heights a sheet sets (1-based row → points).
fn row_heights(xml: &str) -> HashMap<u32, f64> {
    let mut out = HashMap::new();
    for row in xml.split("<row ").skip(1) {
        let tag = row.split('>').next().unwrap_or_default();
        let attr = |name: &str| {
            tag.strip_prefix(&format!("{name}=\""))
                .or_else(|| tag.split(&format!(" {name}=\"")).nth(1))
                .and_then(|r| r.split('"').next())
                .map(str::to_string)
        };
        if let (Some(r), Some(ht)) = (attr("r"), attr("ht")) {
            out.insert(r.parse().unwrap(), ht.parse().unwrap());
        }
    }
    out
}

#[tokio::test]
async fn the_report_workbook_holds_the_evaluation() {
    let q2 = common::period("2024-Q2");
    for db in common::all().await {
        let ctx = demo(&db).await;
        let runs = db.wh.count_rows("runs").await.unwrap();
        let stored = db.wh.gaps("kh-742-2023", q2, None).await.unwrap();
        let dump = db.wh.dump_period(q2).await.unwrap();

        let report = load(&ctx.report_input(), q2, Scope::Province).await.unwrap();
        let gaps = db.wh.gaps("kh-742-2023", q2, None).await.unwrap();
        let bytes = write_xlsx(&report).unwrap();
        check_workbook(&bytes, &report, &gaps, &ctx.dir);
        assert_eq!(report.trend.len(), 2, "{}: Q1 and Q2 are stored", db.name);
        assert!(report.previous.is_some());

        // Nothing is written to the warehouse.
        assert_eq!(db.wh.count_rows("runs").await.unwrap(), runs, "{}", db.name);
        assert_eq!(db.wh.gaps("kh-742-2023", q2, None).await.unwrap(), stored, "{}", db.name);
        assert_eq!(db.wh.dump_period(q2).await.unwrap(), dump, "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_quarter_not_evaluated_has_no_report() {
    let db = common::sqlite().await;
    let ctx = demo(&db).await;
    let err = load(&ctx.report_input(), common::period("2024-Q3"), Scope::Province).await.unwrap_err();
    assert!(err.to_string().contains("chiso evaluate --period 2024-Q3"), "{err}");
    db.cleanup().await;
}

#[tokio::test]
async fn a_district_report_covers_its_communes_only() {
    let q2 = common::period("2024-Q2");
    let db = common::sqlite().await;
    let ctx = demo(&db).await;
    let scope = Scope::district(&ctx.dir, "h_long_ho", q2).unwrap();
    let Scope::District { communes, .. } = &scope else { unreachable!() };
    assert!(communes.len() > 3);
    let communes = communes.clone();
    let report = load(&ctx.report_input(), q2, scope).await.unwrap();
    assert_eq!(report.scope_name(), ctx.dir.get_str("h_long_ho").unwrap().name);
    assert!(!report.agencies.is_empty());
    assert!(report.agencies.iter().all(|a| communes.contains(&a.id)), "{:?}", report.agencies);
    // The province-level departments are not in it.
    assert!(report.agencies.iter().all(|a| !a.id.starts_with("so_")));
    let bytes = write_xlsx(&report).unwrap();
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = wb.worksheet_range(AGENCY_SHEET).unwrap();
    assert_eq!(sheet.rows().skip(4).count(), report.agencies.len());
    // A department is not a district.
    assert!(Scope::district(&ctx.dir, "so_khcn", q2).is_err());
    db.cleanup().await;
}

fn document_xml(bytes: &[u8]) -> String {
    part(bytes, "word/document.xml").expect("word/document.xml")
}

#[tokio::test]
async fn the_draft_report_has_the_administrative_layout_and_the_figures() {
    let q2 = common::period("2024-Q2");
    let db = common::sqlite().await;
    let ctx = demo(&db).await;
    let report = load(&ctx.report_input(), q2, Scope::Province).await.unwrap();
    let template = ReportTemplate::load(&common::repo("config/templates")).unwrap();
    let xml = document_xml(&write_docx(&report, &template, 2024).unwrap());
    for needle in [
        "UBND TỈNH VĨNH LONG",
        "SỞ THÔNG TIN VÀ TRUYỀN THÔNG",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "/BC-STTTT",
        "Vĩnh Long, ngày",
        "năm 2024",
        "BÁO CÁO",
        "Kết quả thực hiện Kế hoạch 742/KH-UBND Quý II/2024",
        "I. KẾT QUẢ THỰC HIỆN",
        "1. Tổng hợp chung",
        "2. Các đơn vị chậm tiến độ, chưa báo cáo",
        "3. Các chỉ tiêu, nhiệm vụ chậm tiến độ",
        "II. ĐÁNH GIÁ CHUNG",
        "III. NHIỆM VỤ, GIẢI PHÁP TRỌNG TÂM QUÝ III/2024",
        "IV. KIẾN NGHỊ, ĐỀ XUẤT",
        "Nơi nhận:",
        "GIÁM ĐỐC",
        "Thực hiện Kế hoạch số 742/KH-UBND",
        "- Lưu: VT.",
    ] {
        assert!(xml.contains(needle), "the document lacks {needle}");
    }
    assert!(!xml.contains("{{") && !xml.contains("{%"), "a template tag is left");
    // The figures are the evaluation's.
    let total = report.current.total();
    let judged = chiso::report::quarterly::Figures::judged_in(&total);
    let share = report.current.share().unwrap();
    let share_vi = format!("{}%", chiso::domain::number::format_vi(share * 100.0, 1));
    assert!(xml.contains(&format!("có {judged} chỉ tiêu, nhiệm vụ được đánh giá")), "judged {judged}");
    assert!(xml.contains(&format!("(tỷ lệ {share_vi})")), "share {share_vi}");
    let t = report.current.timeliness.unwrap();
    assert!(xml.contains(&format!(
        "{} đơn vị gửi đúng hạn, {} đơn vị gửi muộn, {} đơn vị chưa báo cáo",
        t.on_time, t.late, t.none
    )));
    // Every lagging agency and indicator is in the tables.
    assert!(!report.lagging_agencies().is_empty() && !report.lagging_indicators().is_empty());
    // The furthest behind are listed, the others counted.
    let lagging = report.lagging_agencies();
    let listed = lagging.len().min(chiso::report::docx::AGENCIES_IN_DRAFT);
    for a in &lagging[..listed] {
        assert!(xml.contains(&a.name.replace('&', "&amp;")), "{} is not listed", a.name);
    }
    if lagging.len() > listed {
        assert!(xml.contains(&format!("còn {} đơn vị khác", lagging.len() - listed)));
    }
    for l in report.lagging_indicators() {
        assert!(xml.contains(&l.reason.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")), "{}", l.item);
    }
    // An agency on track is not in the lagging table.
    if let Some(good) = report.agencies.iter().find(|a| a.lagging + a.missing + a.at_risk == 0) {
        let tables: Vec<&str> = xml.split("3. Các chỉ tiêu").collect();
        let agency_part = tables[0].split("2. Các đơn vị chậm").nth(1).unwrap();
        assert!(!agency_part.contains(&good.name.replace('&', "&amp;")), "{} is on track", good.name);
    }
    db.cleanup().await;
}

#[tokio::test]
async fn the_operator_edits_the_narrative() {
    let q2 = common::period("2024-Q2");
    let db = common::sqlite().await;
    let ctx = demo(&db).await;
    let report = load(&ctx.report_input(), q2, Scope::Province).await.unwrap();
    let mut template = ReportTemplate::from_toml(chiso::report::docx::EMBEDDED, "embedded").unwrap();
    template.assessment = "Quý này chậm {{ figures.lagging }} chỉ tiêu.\n\nĐoạn thứ hai.".into();
    template.recipients = vec!["Văn phòng UBND tỉnh".into()];
    let xml = document_xml(&write_docx(&report, &template, 2024).unwrap());
    let lagging = chiso::report::quarterly::Figures::bucket_in(&report.current.total(), chiso::report::Bucket::Lagging);
    assert!(xml.contains(&format!("Quý này chậm {lagging} chỉ tiêu.")));
    assert!(xml.contains("Đoạn thứ hai.") && xml.contains("- Văn phòng UBND tỉnh."));
    assert!(!xml.contains("- Ban Chỉ đạo chuyển đổi số tỉnh;"), "the shipped recipients are replaced");
    // An unknown variable is refused, not printed empty.
    template.proposals = "{{ nonexistent.field }}".into();
    assert!(write_docx(&report, &template, 2024).is_err());
    db.cleanup().await;
}

#[tokio::test]
async fn the_gap_table_holds_real_numbers_and_prints() {
    let q2 = common::period("2024-Q2");
    let db = common::sqlite().await;
    demo(&db).await;
    let gaps = db.wh.gaps("kh-742-2023", q2, None).await.unwrap();
    let label = |id: &chiso::domain::gap::RowOwner| id.as_str().to_uppercase();
    let bytes = chiso::report::gap_table::write_xlsx("742/KH-UBND", q2, &gaps, &label).unwrap();
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
    let sheet = wb.worksheet_range(chiso::report::gap_table::SHEET).unwrap();
    let rows: Vec<Vec<Data>> = sheet.rows().skip(3).map(<[Data]>::to_vec).collect();
    assert_eq!(rows.len(), gaps.len());
    let mut numbers = 0;
    for (g, r) in gaps.iter().zip(&rows) {
        let percent = chiso::report::gap_table::is_percent(g);
        let scale = |x: f64| if percent { x / 100.0 } else { x };
        assert_eq!(text(&r[2]), g.agency.as_str().to_uppercase());
        match g.expected {
            Some(x) => assert!((num(&r[4]).unwrap() - scale(x)).abs() < 1e-9, "{}: {:?}", g.item, r[4]),
            None => assert_eq!(r[4], Data::Empty),
        }
        match expected_cell(g.actual) {
            Some(x) => {
                assert!((num(&r[5]).unwrap() - x).abs() < 1e-9, "{}: {:?} ≠ {x}", g.item, r[5]);
                numbers += 1;
            }
            None => assert!(num(&r[5]).is_none(), "{}: {:?}", g.item, r[5]),
        }
        match g.gap.filter(|x| *x > 0.0) {
            Some(x) => assert!((num(&r[6]).unwrap() - scale(x)).abs() < 1e-9),
            None => assert_eq!(r[6], Data::Empty),
        }
        assert_eq!(text(&r[8]), g.status.vi());
        assert_eq!(num(&r[10]), Some(g.valid_from_run as f64));
    }
    assert!(numbers > 50, "{numbers} typed figures");
    let xml = part(&bytes, "xl/worksheets/sheet1.xml").unwrap();
    assert_print_setup(&xml, "gap table", true);
    assert!(part(&bytes, "xl/workbook.xml").unwrap().contains("_xlnm.Print_Titles"));
    // Rows are as tall as their longest wrapped text: the longest task is on more lines
    // than the shortest.
    let heights = row_heights(&xml);
    let longest =
        (0..gaps.len()).max_by_key(|i| gaps[*i].task.chars().count().max(gaps[*i].reason.chars().count())).unwrap();
    assert!(heights[&(4 + longest as u32)] >= 45.0, "{heights:?}");
    db.cleanup().await;
}

#[test]
fn the_agency_workbook_prints_on_a4_with_its_input_column_on_page_one() {
    let (dir, catalog) = common::catalog();
    let calendar = chiso::domain::ReportingCalendar::default();
    let q2 = common::period("2024-Q2");
    let agency = "so_tttt".parse().unwrap();
    let spec = chiso::report::template::build_spec(&catalog, &dir, &calendar, &agency, q2, &());
    assert!(spec.lead.len() > 10);
    let bytes = chiso::report::template::write(&spec).unwrap();
    let xml = part(&bytes, "xl/worksheets/sheet1.xml").unwrap();
    // Fitted to the width, every column (the input column G and the note H included) is
    // on page 1; the header row repeats.
    assert_print_setup(&xml, "agency workbook", true);
    let workbook = part(&bytes, "xl/workbook.xml").unwrap();
    assert!(workbook.contains("_xlnm.Print_Titles") && workbook.contains("$8:$8"), "{workbook}");
    // No print area cuts columns off.
    assert!(!workbook.contains("_xlnm.Print_Area"));
    // Each task's row is tall enough for its wrapped text in the 60-wide column.
    let heights = row_heights(&xml);
    let mut checked = 0;
    for (r, cells) in sheet_rows(&bytes, chiso::report::template::LEAD_SHEET) {
        let task = text(&cells[2]);
        if r < chiso::report::template::HEADER_ROW || cells[0] == Data::Empty || task.is_empty() {
            continue;
        }
        // At most 70 characters of running text fit on a line of the 60-wide column.
        let lines = (task.chars().count() as f64 / 70.0).ceil();
        let h = heights.get(&(r + 1)).copied().unwrap_or(15.0);
        assert!(h >= lines * 15.0, "row {}: {} lines in {h} points", r + 1, lines);
        checked += 1;
    }
    assert_eq!(checked, spec.lead.len());
}

fn sheet_rows(bytes: &[u8], name: &str) -> Vec<(u32, Vec<Data>)> {
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = wb.worksheet_range(name).unwrap();
    let start = range.start().map_or(0, |(r, _)| r);
    range.rows().enumerate().map(|(i, r)| (start + i as u32, r.to_vec())).collect()
}

/// The dashboard's overview is counted by the warehouse (`GROUP BY`) instead of read from
/// every gap row: its figures must be the report's, field for field.
#[tokio::test]
async fn the_overview_counted_by_the_warehouse_equals_the_report() {
    let q2 = common::period("2024-Q2");
    for db in common::all().await {
        let ctx = demo(&db).await;
        let gaps = db.wh.gaps("kh-742-2023", q2, None).await.unwrap();
        // Both ways of picking a headline are exercised: indicators with an aggregate row
        // and indicators without one.
        let with_aggregate: std::collections::BTreeSet<(i64, i64, &str)> = gaps
            .iter()
            .filter(|g| g.kind.as_str() == "aggregate")
            .map(|g| (g.number, g.sub, g.measure.as_str()))
            .collect();
        assert!(!with_aggregate.is_empty(), "{}", db.name);
        assert!(gaps.iter().any(|g| !with_aggregate.contains(&(g.number, g.sub, g.measure.as_str()))), "{}", db.name);

        let report = load(&ctx.report_input(), q2, Scope::Province).await.unwrap();
        let overview = chiso::report::overview::load(&ctx.report_input(), q2).await.unwrap();
        assert_eq!(overview.current, report.current, "{}", db.name);
        assert_eq!(overview.previous, report.previous, "{}", db.name);
        assert_eq!(overview.trend, report.trend, "{}", db.name);
        assert_eq!(overview.indicators, report.indicators.len(), "{}", db.name);
        assert_eq!(overview.as_of_run, report.as_of_run, "{}", db.name);
        let without_items: Vec<_> = report
            .agencies
            .iter()
            .cloned()
            .map(|a| chiso::report::quarterly::AgencyLine { items: Vec::new(), ..a })
            .collect();
        assert_eq!(overview.agencies, without_items, "{}", db.name);
        assert!(overview.agencies.iter().any(|a| a.refused > 0 || a.reported > 0), "{}: figures are counted", db.name);

        let err = chiso::report::overview::load(&ctx.report_input(), common::period("2024-Q3")).await.unwrap_err();
        assert!(err.to_string().contains("chiso evaluate --period 2024-Q3"), "{}: {err}", db.name);
        db.cleanup().await;
    }
}

/// Each agency's first report of a quarter, read by a skip scan of the first-report index
/// (`Warehouse::first_reports`), is the earliest `loaded_at` of its observations, superseded
/// ones included: computed here from every stored version.
#[tokio::test]
async fn each_agency_s_first_report_is_its_earliest_observation() {
    let q2 = common::period("2024-Q2");
    for db in common::all().await {
        let ctx = demo(&db).await;
        let plan = ctx.catalog.plan.id.clone();
        let mut expected: HashMap<String, chrono::DateTime<chrono::Utc>> = HashMap::new();
        for o in db.wh.observations(&plan, q2, true).await.unwrap() {
            let first = expected.entry(o.agency_id.to_string()).or_insert(o.loaded_at);
            *first = (*first).min(o.loaded_at);
        }
        assert!(expected.len() > 5, "{}: the demo has {} reporting agencies", db.name, expected.len());
        let got = db.wh.first_reports(&plan, q2).await.unwrap();
        assert_eq!(got, expected, "{}", db.name);
        // Another plan's quarter, or a quarter nobody reported: nobody.
        assert!(db.wh.first_reports("another-plan", q2).await.unwrap().is_empty(), "{}", db.name);
        assert!(db.wh.first_reports(&plan, common::period("2023-Q1")).await.unwrap().is_empty(), "{}", db.name);
        db.cleanup().await;
    }
}
