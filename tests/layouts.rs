//! Layouts real offices send, generated with rust_xlsxwriter and read end to end through
//! `parse_to_vecs`: what is stored, and what is not.

mod common;

use std::sync::Arc;

use chiso::catalog::assign::leads;
use chiso::demo::{DemoCell, SheetSpec, write_book};
use chiso::domain::{AgencyId, ItemKey, MeasureKind, Period, Value};
use chiso::ingest::layout::{ColumnMap, Mapping};
use chiso::ingest::normalize::{NewObservation, NewReject};
use chiso::ingest::{FileSpec, FileSummary, parse_to_vecs};

fn q2() -> Period {
    Period::new(2024, 2).unwrap()
}

fn id(s: &str) -> AgencyId {
    AgencyId::parse(s).unwrap()
}

fn cutoff() -> chrono::NaiveDate {
    chiso::domain::ReportingCalendar::default().cutoff(q2())
}

fn t(s: &str) -> DemoCell {
    DemoCell::Text(s.into())
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn text_row(v: &[&str]) -> Vec<DemoCell> {
    v.iter().map(|s| if s.is_empty() { DemoCell::Empty } else { t(s) }).collect()
}

/// The first indicators `agency` leads in 2024 whose measure `kind` accepts.
fn led_by(agency: &str, kind: fn(&MeasureKind) -> bool, n: usize) -> Vec<ItemKey> {
    let (dir, catalog) = common::catalog();
    catalog
        .indicators
        .iter()
        .filter(|i| !i.is_composite() && kind(i.main_measure()))
        .filter(|i| leads(i, 2024, &dir, cutoff()).contains(&id(agency)))
        .map(|i| i.key)
        .take(n)
        .collect()
}

fn percent(m: &MeasureKind) -> bool {
    *m == MeasureKind::Percent
}

fn count(m: &MeasureKind) -> bool {
    matches!(m, MeasureKind::Count { .. })
}

fn status(m: &MeasureKind) -> bool {
    *m == MeasureKind::Status
}

fn task_of(k: ItemKey) -> String {
    let (_, catalog) = common::catalog();
    catalog.indicator(k).unwrap().task.clone()
}

fn read(
    sheets: &[SheetSpec],
    file_name: &str,
    agency: Option<&str>,
    mapping: Mapping,
) -> (FileSummary, Vec<NewObservation>, Vec<NewReject>) {
    let (dir, catalog) = common::catalog();
    let bytes = write_book(sheets).unwrap();
    let spec = FileSpec { file_name: file_name.into(), mapping, agency: agency.map(id), period: q2() };
    parse_to_vecs(Arc::from(bytes), &spec, &catalog, &dir, cutoff())
}

fn stored(obs: &[NewObservation]) -> Vec<(ItemKey, Value, String)> {
    obs.iter().map(|o| (o.item, o.value, o.location.clone())).collect()
}

#[test]
fn a_three_row_merged_header_with_count_and_percent_sub_columns() {
    // An agency the plan gives both count and percent items.
    let (dir, _) = common::catalog();
    let agency = dir
        .iter()
        .map(|a| a.id.to_string())
        .find(|a| led_by(a, count, 2).len() == 2 && !led_by(a, percent, 1).is_empty())
        .expect("some agency leads count and percent items");
    let counts = led_by(&agency, count, 2);
    let pcts = led_by(&agency, percent, 1);
    // Row 5: the header; rows 6–7 its sub-headings, as calamine reads merged cells (the
    // text in the first cell only).
    let rows = vec![
        text_row(&["", "", "Quý II/2024", "", ""]),
        text_row(&["", "", "Số lượng", "Tỷ lệ (%)", ""]),
        vec![t(&counts[0].to_string()), t(&task_of(counts[0])), DemoCell::Number(120.0), DemoCell::Empty, t("")],
        vec![t(&counts[1].to_string()), t(&task_of(counts[1])), DemoCell::Number(7.0), DemoCell::Empty, t("")],
        vec![t(&pcts[0].to_string()), t(&task_of(pcts[0])), DemoCell::Empty, DemoCell::Percent(0.855), t("")],
    ];
    let sheet = SheetSpec {
        name: "BC".into(),
        title: vec!["BÁO CÁO KẾT QUẢ THỰC HIỆN QUÝ II NĂM 2024".into(), String::new(), String::new(), String::new()],
        header_row: 4,
        headers: strings(&["STT", "Nhiệm vụ", "Kết quả thực hiện", "", "Ghi chú"]),
        rows,
        ..Default::default()
    };
    let (summary, obs, rejects) = read(&[sheet], "bao_cao.xlsx", Some(&agency), Mapping::default());
    assert_eq!(summary.file_reject, None);
    assert_eq!(rejects, vec![], "no sub-heading row is read as data");
    let table = &summary.tables[0];
    assert_eq!(table.header_rows, vec![5, 6, 7]);
    let d = table.columns.iter().find(|c| c.letter == "D").unwrap();
    assert_eq!(d.path, strings(&["Kết quả thực hiện", "Quý II/2024", "Tỷ lệ (%)"]));
    assert_eq!((d.role, d.unit), (Some("value"), Some("percent")));
    let c = table.columns.iter().find(|c| c.letter == "C").unwrap();
    assert_eq!((c.role, c.unit), (Some("value"), Some("count")));
    let got = stored(&obs);
    assert!(got.contains(&(counts[0], Value::Count(120.0), "BC!C8".into())), "{got:?}");
    assert!(got.contains(&(counts[1], Value::Count(7.0), "BC!C9".into())), "{got:?}");
    // The percent row: its figure is in the percent sub-column (an alternative of the
    // record); it is never stored as anything else.
    assert!(obs.iter().filter(|o| o.item == pcts[0]).all(|o| o.value == Value::Percent(85.5)), "{got:?}");
}

#[test]
fn a_long_file_with_year_and_quarter_columns_gives_only_the_collected_quarter() {
    let items = led_by("so_yt", status, 2);
    let row = |year: &str, quarter: &str, item: ItemKey, value: &str| {
        vec![t(year), t(quarter), t(&item.to_string()), t(&task_of(item)), t(value)]
    };
    let rows = vec![
        row("2024", "1", items[0], "Đang thực hiện"),
        row("2024", "II", items[0], "Hoàn thành"),
        row("2024", "Quý III", items[0], "Hoàn thành"),
        row("2023", "2", items[1], "Hoàn thành"),
        row("2024", "Quý 2", items[1], "Đang thực hiện"),
    ];
    let sheet = SheetSpec {
        name: "Dữ liệu".into(),
        headers: strings(&["Năm", "Quý", "STT", "Nội dung", "Kết quả"]),
        rows,
        ..Default::default()
    };
    let (summary, obs, rejects) = read(&[sheet], "so_yt_2024.xlsx", Some("so_yt"), Mapping::default());
    assert_eq!(summary.file_reject, None);
    assert_eq!(rejects, vec![]);
    let got: Vec<(ItemKey, String)> = obs.iter().map(|o| (o.item, o.location.clone())).collect();
    assert_eq!(got, vec![(items[0], "Dữ liệu!E3".to_string()), (items[1], "Dữ liệu!E6".to_string())]);
    assert_eq!(summary.period_found_in.as_deref(), Some("cột Năm, Quý"));
}

fn quarter_sheet(name: &str, item: ItemKey, value: &str) -> SheetSpec {
    SheetSpec {
        name: name.into(),
        headers: strings(&["STT", "Nhiệm vụ", "Kết quả thực hiện"]),
        rows: vec![vec![t(&item.to_string()), t(&task_of(item)), t(value)]],
        ..Default::default()
    }
}

#[test]
fn one_sheet_per_quarter_reads_the_collected_quarter_s_sheet_only() {
    let item = led_by("so_yt", status, 1)[0];
    let book = [
        quarter_sheet("Quý I", item, "Đang thực hiện"),
        quarter_sheet("QUY II", item, "Hoàn thành"),
        quarter_sheet("Q3-2024", item, "rác không đọc được"),
    ];
    let (summary, obs, rejects) = read(&book, "so_yt.xlsx", Some("so_yt"), Mapping::default());
    assert_eq!(summary.file_reject, None);
    assert_eq!(summary.sheet.as_deref(), Some("QUY II"));
    assert!(summary.sheet_reason.as_deref().is_some_and(|r| r.contains("QUY II")), "{:?}", summary.sheet_reason);
    assert_eq!(rejects, vec![], "other quarters' sheets are not read");
    assert_eq!(stored(&obs), vec![(item, Value::Status(chiso::domain::Progress::Done), "QUY II!C2".into())]);

    // Quarter sheets, none of them the collected one: refused, naming the sheets.
    let book = [quarter_sheet("Quý I", item, "Hoàn thành"), quarter_sheet("Quý III", item, "Hoàn thành")];
    let (summary, obs, _) = read(&book, "so_yt.xlsx", Some("so_yt"), Mapping::default());
    let reject = summary.file_reject.unwrap();
    assert_eq!(reject.code, "no_quarter_sheet");
    assert!(reject.message.contains("Quý I, Quý III") && reject.message.contains("Quý II/2024"), "{}", reject.message);
    assert!(obs.is_empty());
}

#[test]
fn a_mapping_names_the_sheet_by_pattern_and_unknown_headings() {
    let items = led_by("so_yt", status, 2);
    let row = |year: &str, quarter: &str, item: ItemKey, value: &str| {
        vec![t(&item.to_string()), t(&task_of(item)), t(year), t(quarter), t(value)]
    };
    let sheet = |name: &str| SheetSpec {
        name: name.into(),
        title: vec!["Số liệu tổng hợp".into()],
        header_row: 2,
        // Headings no vocabulary knows.
        headers: strings(&["Số hiệu", "Diễn giải", "Niên độ", "Kỳ quý", "Số đạt"]),
        rows: vec![row("2024", "2", items[0], "Hoàn thành"), row("2024", "1", items[1], "Hoàn thành")],
        ..Default::default()
    };
    let mapping = Mapping {
        sheet: Some("bc {quarter_roman}-{year}".into()),
        columns: ColumnMap {
            item: Some("Số hiệu".into()),
            task: Some("Diễn giải".into()),
            year: Some("Niên độ".into()),
            quarter: Some("Kỳ quý".into()),
            value: Some("Số đạt".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let book = [sheet("BC I-2024"), sheet("BC II-2024")];
    let (summary, obs, rejects) = read(&book, "so_yt.xlsx", Some("so_yt"), mapping.clone());
    assert_eq!(summary.file_reject, None);
    assert_eq!(summary.sheet.as_deref(), Some("BC II-2024"));
    assert_eq!(summary.tables[0].header_rows, vec![3]);
    assert_eq!(rejects, vec![]);
    assert_eq!(
        obs.iter().map(|o| (o.item, o.location.as_str())).collect::<Vec<_>>(),
        vec![(items[0], "BC II-2024!E4")]
    );

    // The pattern matches no sheet: refused, naming the sheets.
    let (summary, _, _) = read(&[sheet("BC I-2024")], "so_yt.xlsx", Some("so_yt"), mapping);
    let reject = summary.file_reject.unwrap();
    assert_eq!(reject.code, "no_sheet");
    assert!(reject.message.contains("“bc II-2024”") && reject.message.contains("BC I-2024"), "{}", reject.message);
}

#[test]
fn two_tables_on_one_sheet_and_a_repeated_header() {
    let own = led_by("so_yt", status, 3);
    let (dir, catalog) = common::catalog();
    // Items Sở Y tế does not lead: the co-agency table's rows.
    let others: Vec<ItemKey> = catalog
        .indicators
        .iter()
        .filter(|i| !i.is_composite() && *i.main_measure() == MeasureKind::Status)
        .filter(|i| !leads(i, 2024, &dir, cutoff()).contains(&id("so_yt")))
        .map(|i| i.key)
        .take(2)
        .collect();
    let row = |item: ItemKey, value: &str| vec![t(&item.to_string()), t(&task_of(item)), t(value), t("")];
    let rows = vec![
        row(own[0], "Hoàn thành"),
        row(own[1], "Đang thực hiện"),
        // A page break in the printed form repeats the header.
        text_row(&["STT", "Nhiệm vụ", "Kết quả thực hiện", "Ghi chú"]),
        row(own[2], "Hoàn thành"),
        vec![],
        text_row(&["II", "NHIỆM VỤ PHỐI HỢP"]),
        text_row(&["STT", "Nội dung nhiệm vụ", "Cơ quan chủ trì", "Kết quả thực hiện"]),
        vec![t(&others[0].to_string()), t(&task_of(others[0])), t("Sở KH&CN"), t("Đã phối hợp, hoàn thành")],
        vec![t(&others[1].to_string()), t(&task_of(others[1])), t("Sở Nội vụ"), t("Hoàn thành")],
    ];
    let sheet = SheetSpec {
        name: "BC".into(),
        title: chiso::demo::title_block("UBND tỉnh Vĩnh Long", "Sở Y tế", "Quý II năm 2024"),
        header_row: 5,
        headers: strings(&["STT", "Nhiệm vụ", "Kết quả thực hiện", "Ghi chú"]),
        rows,
        ..Default::default()
    };
    let (summary, obs, rejects) = read(&[sheet], "so_yt.xlsx", None, Mapping::default());
    assert_eq!(summary.file_reject, None);
    assert_eq!(summary.tables.len(), 2);
    assert!(!summary.tables[0].cooperation && summary.tables[1].cooperation);
    assert_eq!(summary.tables[1].header_rows, vec![13]);
    let own_stored: Vec<ItemKey> = obs.iter().filter(|o| own.contains(&o.item)).map(|o| o.item).collect();
    assert_eq!(own_stored, own, "the repeated header is no data row");
    assert_eq!(summary.skipped.headers, 3, "the repeated header, the co-agency heading and its header");
    // The co-agency rows are read with their own table's columns: the result in D.
    let co_locations: Vec<&str> = obs
        .iter()
        .filter(|o| others.contains(&o.item))
        .map(|o| o.location.as_str())
        .chain(
            rejects
                .iter()
                .filter(|r| others.iter().any(|k| r.item_key.as_deref() == Some(k.to_string().as_str())))
                .map(|r| r.location.as_str()),
        )
        .collect();
    assert!(co_locations.iter().all(|l| l.starts_with("BC!D")), "{co_locations:?} {rejects:?}");
    assert!(!co_locations.is_empty(), "{rejects:?}");
}

fn signed_report(items: &[ItemKey], footer: Vec<Vec<DemoCell>>) -> SheetSpec {
    let mut rows: Vec<Vec<DemoCell>> =
        items.iter().map(|&k| vec![t(&k.to_string()), t(&task_of(k)), t("Hoàn thành"), t("")]).collect();
    rows.push(vec![]);
    rows.extend(footer);
    SheetSpec {
        name: "Báo cáo".into(),
        title: vec!["BÁO CÁO KẾT QUẢ THỰC HIỆN KẾ HOẠCH 742/KH-UBND QUÝ II NĂM 2024".into()],
        header_row: 2,
        headers: strings(&["STT", "Nhiệm vụ", "Kết quả thực hiện", "Ghi chú"]),
        rows,
        ..Default::default()
    }
}

#[test]
fn the_agency_named_only_in_the_signature_block() {
    let items = led_by("so_nv", status, 2);
    assert_eq!(items.len(), 2, "the plan gives Sở Nội vụ status items");
    let footer = vec![
        text_row(&["", "", "Vĩnh Long, ngày 10 tháng 7 năm 2024", ""]),
        text_row(&["Nơi nhận:", "", "KT. GIÁM ĐỐC", ""]),
        text_row(&["- Như trên;", "", "PHÓ GIÁM ĐỐC", ""]),
        text_row(&["- Lưu: VT.", "", "SỞ NỘI VỤ", ""]),
        text_row(&["", "", "(đã ký)", ""]),
        text_row(&["", "", "Nguyễn Văn An", ""]),
    ];
    let (summary, obs, rejects) = read(&[signed_report(&items, footer)], "bao_cao.xlsx", None, Mapping::default());
    assert_eq!(summary.file_reject, None);
    assert_eq!(rejects, vec![], "no signature line is read as data");
    assert_eq!(summary.agency, Some(id("so_nv")));
    assert_eq!(summary.agency_found_in.as_deref(), Some("chữ ký ô C10"));
    assert_eq!(summary.period_found_in.as_deref(), Some("tiêu đề ô A1"));
    assert_eq!(summary.skipped.footer, 6);
    assert_eq!(
        obs.iter().map(|o| (o.item, o.agency.clone())).collect::<Vec<_>>(),
        items.iter().map(|&k| (k, id("so_nv"))).collect::<Vec<_>>()
    );

    // `GIÁM ĐỐC SỞ NỘI VỤ` on one line.
    let footer = vec![text_row(&["Nơi nhận:", "", "GIÁM ĐỐC SỞ NỘI VỤ", ""])];
    let (summary, obs, _) = read(&[signed_report(&items, footer)], "bao_cao.xlsx", None, Mapping::default());
    assert_eq!(summary.agency, Some(id("so_nv")));
    assert_eq!(obs.len(), 2);
}

#[test]
fn the_agency_named_only_in_the_file_name() {
    let items = led_by("so_nv", status, 2);
    let footer = vec![text_row(&["Nơi nhận:", "", "GIÁM ĐỐC", ""]), text_row(&["", "", "Nguyễn Văn An", ""])];
    for name in ["BaoCao_SoNoiVu_Q2-2024.xlsx", "Sở Nội vụ - báo cáo quý 2.xlsx"] {
        let (summary, obs, rejects) = read(&[signed_report(&items, footer.clone())], name, None, Mapping::default());
        assert_eq!(summary.file_reject, None, "{name}");
        assert_eq!(rejects, vec![], "{name}");
        assert_eq!(summary.agency, Some(id("so_nv")), "{name}");
        assert_eq!(summary.agency_found_in.as_deref(), Some("tên tệp"), "{name}");
        assert_eq!(obs.len(), 2, "{name}");
    }
    // Nothing names the agency: every row is refused for it, nothing stored.
    let (summary, obs, rejects) =
        read(&[signed_report(&items, footer)], "bao_cao_quy_2.xlsx", None, Mapping::default());
    assert_eq!(summary.agency, None);
    assert!(obs.is_empty());
    assert!(rejects.iter().all(|r| r.code == "no_agency"), "{rejects:?}");
}

#[test]
fn a_table_without_a_result_column_is_refused_naming_its_columns() {
    let item = led_by("so_yt", status, 1)[0];
    let sheet = SheetSpec {
        name: "BC".into(),
        headers: strings(&["STT", "Nội dung", "Chỉ tiêu năm 2024", "Ghi chú"]),
        rows: vec![vec![t(&item.to_string()), t(&task_of(item)), t("100%"), t("")]],
        ..Default::default()
    };
    let (summary, obs, _) = read(&[sheet], "so_yt.xlsx", Some("so_yt"), Mapping::default());
    let reject = summary.file_reject.unwrap();
    assert_eq!(
        reject.message,
        "Trang “BC” không có cột Kết quả thực hiện; các cột tìm thấy: STT, Nội dung, Chỉ tiêu năm 2024, Ghi chú"
    );
    assert!(obs.is_empty());
}
