//! Reading department workbooks: every layout quirk of a real file, generated with
//! rust_xlsxwriter, plus the checked-in .xls and .ods fixtures.

mod common;

use std::sync::Arc;

use chiso::catalog::assign::leads;
use chiso::demo::{DemoCell, SheetSpec, title_block, write_book};
use chiso::domain::{AgencyId, ItemKey, MeasureKind, Period, Progress, Value};
use chiso::ingest::layout::Layout;
use chiso::ingest::{FileSpec, parse_to_vecs};

fn q2() -> Period {
    Period::new(2024, 2).unwrap()
}

fn id(s: &str) -> AgencyId {
    AgencyId::parse(s).unwrap()
}

fn spec(name: &str, agency: Option<&str>) -> FileSpec {
    FileSpec { file_name: name.into(), mapping: Default::default(), agency: agency.map(id), period: q2() }
}

fn cutoff() -> chrono::NaiveDate {
    chiso::domain::ReportingCalendar::default().cutoff(q2())
}

fn t(s: &str) -> DemoCell {
    DemoCell::Text(s.into())
}

/// The first indicators `agency` leads in 2024 with the given measure.
fn led_by(agency: &str, kind: MeasureKind, n: usize) -> Vec<ItemKey> {
    let (dir, catalog) = common::catalog();
    catalog
        .indicators
        .iter()
        .filter(|i| !i.is_composite() && *i.main_measure() == kind)
        .filter(|i| leads(i, 2024, &dir, cutoff()).contains(&id(agency)))
        .map(|i| i.key)
        .take(n)
        .collect()
}

#[test]
fn a_real_department_workbook_with_every_quirk() {
    let (dir, catalog) = common::catalog();
    let pct = led_by("so_yt", MeasureKind::Percent, 8);
    let status = led_by("so_yt", MeasureKind::Status, 2);
    assert!(pct.len() == 8 && status.len() == 2, "the plan gives Sở Y tế percent and status items");
    let task_of = |k: ItemKey| catalog.indicator(k).unwrap().task.clone();
    let row = |stt: DemoCell, item: ItemKey, value: DemoCell| vec![stt, t(&task_of(item)), t("%"), t(""), value, t("")];
    let rows = vec![
        vec![t("I."), t("CHÍNH QUYỀN SỐ"), t(""), t(""), t(""), t("")],
        row(t(&format!("{}.", pct[0])), pct[0], DemoCell::Percent(0.855)),
        row(t(&format!("0{}", pct[1])), pct[1], t("85,5%")),
        row(
            DemoCell::Number(f64::from(pct[2].number)),
            pct[2],
            DemoCell::Formula { formula: "=9/10".into(), cached: 0.9, percent: true },
        ),
        row(t(&pct[3].to_string()), pct[3], DemoCell::Number(40.0)),
        // No STT: the task text identifies the item.
        row(t(""), pct[4], t("72.5")),
        row(
            t(&status[0].to_string()),
            status[0],
            DemoCell::Date(chrono::NaiveDate::from_ymd_opt(2024, 5, 20).unwrap()),
        ),
        row(t(&status[1].to_string()), status[1], t("Đang triển khai")),
        // Rejects.
        row(t("205"), pct[5], t("50%")),
        row(t(&pct[6].to_string()), pct[6], t("135%")),
        row(t(&pct[7].to_string()), pct[7], t("Hoàn thành")),
        row(t(&pct[0].to_string()), pct[0], t("90%")),
        vec![t("44"), t("Triển khai Hệ thống thông tin nguồn của tỉnh"), t(""), t(""), t("X"), t("")],
        vec![t("Tổng cộng"), t(""), t(""), t(""), t("12"), t("")],
        // Not reported: skipped.
        row(t("11"), pct[5], t("")),
    ];
    let hidden_trap = SheetSpec {
        name: "Dữ liệu cũ".into(),
        hidden: true,
        headers: ["STT", "Nhiệm vụ", "Kết quả"].map(String::from).to_vec(),
        rows: vec![vec![t("1"), t("cũ"), t("1%")]],
        ..Default::default()
    };
    let notes =
        SheetSpec {
            name: "Hướng dẫn".into(), title: vec!["Hướng dẫn điền báo cáo".into()], ..Default::default()
        };
    let data = common::report_sheet("Báo cáo Q2", "Sở Y tế", rows);
    let bytes = write_book(&[hidden_trap, notes, data]).unwrap();
    let (summary, obs, rejects) =
        parse_to_vecs(Arc::from(bytes), &spec("so_yt_q2.xlsx", None), &catalog, &dir, cutoff());
    assert_eq!(summary.file_reject, None);
    assert_eq!(summary.sheet.as_deref(), Some("Báo cáo Q2"));
    assert_eq!(summary.layout, Some(Layout::Wide));
    assert_eq!(summary.agency, Some(id("so_yt")), "the agency comes from the title block");
    let got: Vec<(ItemKey, Value, String)> = obs.iter().map(|o| (o.item, o.value, o.location.clone())).collect();
    assert_eq!(
        got,
        vec![
            (pct[0], Value::Percent(85.5), "Báo cáo Q2!E9".to_string()),
            (pct[1], Value::Percent(85.5), "Báo cáo Q2!E10".to_string()),
            (pct[2], Value::Percent(90.0), "Báo cáo Q2!E11".to_string()),
            (pct[3], Value::Percent(40.0), "Báo cáo Q2!E12".to_string()),
            (pct[4], Value::Percent(72.5), "Báo cáo Q2!E13".to_string()),
            (status[0], Value::Status(Progress::Done), "Báo cáo Q2!E14".to_string()),
            (status[1], Value::Status(Progress::InProgress), "Báo cáo Q2!E15".to_string()),
            // STT 205 is not in the plan, but the text is the plan's wording of the item.
            (pct[5], Value::Percent(50.0), "Báo cáo Q2!E16".to_string()),
            // A status in a percent indicator is stored as a status and judged, not refused.
            (pct[7], Value::Status(Progress::Done), "Báo cáo Q2!E18".to_string()),
            // Sở Y tế has no part in item 44 (its STT and task text agree): kept, judged
            // not applicable, with a note.
            ("44".parse::<ItemKey>().unwrap(), Value::Status(Progress::Done), "Báo cáo Q2!E20".to_string()),
        ]
    );
    let not_applicable = obs.iter().find(|o| o.location == "Báo cáo Q2!E20").and_then(|o| o.note.clone());
    assert!(not_applicable.is_some_and(|n| n.contains("không được giao chỉ tiêu số 44")));
    let reasons: Vec<(&str, &str, &str)> =
        rejects.iter().map(|r| (r.location.as_str(), r.code, r.message.as_str())).collect();
    assert_eq!(reasons[0], ("Báo cáo Q2!E17", "percent_out_of_range", "Kết quả 135% vượt quá 100%"));
    assert_eq!(reasons[1].1, "duplicate");
    assert!(reasons[1].2.contains("đã có ở Báo cáo Q2!E9"), "{}", reasons[1].2);
    // The total line is no item: skipped and counted, not refused.
    assert_eq!(rejects.len(), 2);
    assert_eq!(summary.skipped.totals, 1);
    for r in &rejects {
        assert!(chiso::text::is_nfc(&r.message));
    }
}

/// Official forms: the result heading merged over two sub-headings, a row numbering the
/// columns under it, and figures written the way officers write them.
#[test]
fn a_two_row_header_with_column_numbers_is_not_read_as_data() {
    let (dir, catalog) = common::catalog();
    let pct = led_by("so_khdt", MeasureKind::Percent, 3);
    let status = led_by("so_khdt", MeasureKind::Status, 1);
    assert!(pct.len() == 3 && status.len() == 1, "the plan gives Sở KH&ĐT percent and status items");
    let task_of = |k: ItemKey| t(&catalog.indicator(k).unwrap().task);
    let number = |n: u16| DemoCell::Number(f64::from(n));
    let rows = vec![
        vec![t(""), t(""), t("Số liệu"), t("Đơn vị tính"), t("")],
        vec![t("(1)"), t("(2)"), t("(3)"), t("(4)"), t("(5)")],
        vec![number(pct[0].number), task_of(pct[0]), t("đạt 12%"), t("%"), t("")],
        vec![number(pct[1].number), task_of(pct[1]), t("≥10%"), t("%"), t("chỉ tiêu năm")],
        vec![number(pct[2].number), task_of(pct[2]), DemoCell::Percent(0.16), t("%"), t("")],
        vec![number(status[0].number), task_of(status[0]), t("Đã thực hiện"), t(""), t("")],
    ];
    let data = SheetSpec {
        name: "BC quý 2".into(),
        title: title_block("UBND tỉnh Vĩnh Long", "Sở Kế hoạch và Đầu tư", "Quý II năm 2024"),
        header_row: 5,
        headers: ["TT", "Nội dung nhiệm vụ", "Kết quả thực hiện", "", "Ghi chú"].map(String::from).to_vec(),
        rows,
        ..Default::default()
    };
    let bytes = write_book(&[data]).unwrap();
    let (summary, obs, rejects) =
        parse_to_vecs(Arc::from(bytes), &spec("khdt_q2.xlsx", None), &catalog, &dir, cutoff());
    assert_eq!(summary.file_reject, None);
    assert_eq!(summary.agency, Some(id("so_khdt")));
    let got: Vec<(ItemKey, Value, String)> = obs.iter().map(|o| (o.item, o.value, o.location.clone())).collect();
    assert_eq!(
        got,
        vec![
            (pct[0], Value::Percent(12.0), "BC quý 2!C9".to_string()),
            (pct[2], Value::Percent(16.0), "BC quý 2!C11".to_string()),
            (status[0], Value::Status(Progress::Done), "BC quý 2!C12".to_string()),
        ]
    );
    // The sub-headings and the column numbers are neither data nor rejects; the copied
    // target is refused with what to write instead.
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert_eq!((rejects[0].location.as_str(), rejects[0].code), ("BC quý 2!C10", "unreadable_value"));
    assert!(
        rejects[0].message.starts_with("Kết quả “≥10%” không phải số liệu cụ thể: ghi số liệu thực tế đạt được"),
        "{}",
        rejects[0].message
    );
}

/// A workbook kept all year, one result column per quarter: the collected quarter's column
/// is read, and a workbook without it is refused as a whole, saying which quarters it has.
#[test]
fn a_workbook_with_a_column_per_quarter_gives_the_collected_quarter() {
    let (dir, catalog) = common::catalog();
    let pct = led_by("so_yt", MeasureKind::Percent, 2);
    let task_of = |k: ItemKey| t(&catalog.indicator(k).unwrap().task);
    let book = |quarters: &[&str], values: &[[&str; 2]]| {
        let mut headers = vec!["STT".to_string(), "Nhiệm vụ".to_string(), "Kết quả thực hiện năm 2024".to_string()];
        headers.extend((1..quarters.len()).map(|_| String::new()));
        let mut sub = vec![t(""), t("")];
        sub.extend(quarters.iter().map(|q| t(q)));
        let mut rows = vec![sub];
        for (i, item) in pct.iter().enumerate() {
            let mut r = vec![t(&item.to_string()), task_of(*item)];
            r.extend(values.iter().map(|v| t(v[i])));
            rows.push(r);
        }
        write_book(&[SheetSpec {
            name: "Năm 2024".into(),
            title: title_block("UBND tỉnh Vĩnh Long", "Sở Y tế", "Năm 2024"),
            header_row: 5,
            headers,
            rows,
            ..Default::default()
        }])
        .unwrap()
    };
    let bytes = book(&["Quý I", "Quý II", "Quý III"], &[["10%", "11%"], ["20%", "21%"], ["30%", "31%"]]);
    let (summary, obs, rejects) =
        parse_to_vecs(Arc::from(bytes), &spec("so_yt_2024.xlsx", None), &catalog, &dir, cutoff());
    assert_eq!((summary.file_reject, rejects.len()), (None, 0), "{rejects:?}");
    let got: Vec<(ItemKey, Value, String)> = obs.iter().map(|o| (o.item, o.value, o.location.clone())).collect();
    assert_eq!(
        got,
        vec![
            (pct[0], Value::Percent(20.0), "Năm 2024!D8".to_string()),
            (pct[1], Value::Percent(21.0), "Năm 2024!D9".to_string())
        ],
        "Quý II's column, not the first"
    );

    let bytes = book(&["Quý III", "Quý IV"], &[["30%", "31%"], ["", ""]]);
    let (summary, obs, _) = parse_to_vecs(Arc::from(bytes), &spec("so_yt_2024.xlsx", None), &catalog, &dir, cutoff());
    let reject = summary.file_reject.expect("no column for Quý II");
    assert_eq!(reject.code, "no_quarter_column");
    assert_eq!(
        reject.message,
        "Trang “Năm 2024” ghi kết quả theo từng quý (Quý III, Quý IV) nhưng không có cột của Quý II/2024 đang thu thập"
    );
    assert!(obs.is_empty());
}

/// Departments often number their rows 1, 2, 3 and copy the plan's task texts: the text
/// then says which item a row is. A text that clearly is not the STT's task is refused
/// rather than stored against the wrong item; an abbreviation of the right one is fine.
#[test]
fn a_table_numbered_its_own_way_is_read_by_its_task_texts() {
    let (dir, catalog) = common::catalog();
    let task = |k: &str| catalog.indicator(k.parse().unwrap()).unwrap().task.clone();
    let rows = vec![
        vec![DemoCell::Number(1.0), t(&task("62")), t("Hoàn thành")],
        vec![DemoCell::Number(2.0), t(&task("104")), t("50%")],
        vec![DemoCell::Number(3.0), t(&task("106")), t("60%")],
        vec![t("107"), t("Tỷ lệ DN nhỏ và vừa được cập nhật thông tin về chuyển đổi số"), t("15%")],
        vec![t("110"), t("Tổ chức hội nghị tập huấn an toàn thông tin cho cán bộ"), t("70%")],
    ];
    let data = SheetSpec {
        name: "Báo cáo".into(),
        title: title_block("UBND tỉnh Vĩnh Long", "Sở Kế hoạch và Đầu tư", "Quý II năm 2024"),
        header_row: 5,
        headers: ["TT", "Nội dung", "Kết quả"].map(String::from).to_vec(),
        rows,
        ..Default::default()
    };
    let bytes = write_book(&[data]).unwrap();
    let (summary, obs, rejects) = parse_to_vecs(Arc::from(bytes), &spec("khdt.xlsx", None), &catalog, &dir, cutoff());
    assert_eq!(summary.file_reject, None);
    let got: Vec<(String, Value)> = obs.iter().map(|o| (o.item.to_string(), o.value)).collect();
    assert_eq!(
        got,
        vec![
            ("62".to_string(), Value::Status(Progress::Done)),
            ("104".to_string(), Value::Percent(50.0)),
            ("106".to_string(), Value::Percent(60.0)),
            ("107".to_string(), Value::Percent(15.0)),
        ]
    );
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    // Held for the operator, not refused as the officer's mistake: the STT may be the
    // table's own numbering.
    assert_eq!((rejects[0].code, rejects[0].location.as_str()), (chiso::ingest::normalize::HELD, "Báo cáo!C11"));
    assert!(
        rejects[0].message.starts_with(
            "Chưa chắc chắn: STT 110 nhưng nội dung “Tổ chức hội nghị tập huấn an toàn thông tin cho cán bộ” không phải nhiệm vụ số 110"
        ),
        "{}",
        rejects[0].message
    );
}

#[test]
fn a_long_layout_of_communes_by_code() {
    let (dir, catalog) = common::catalog();
    let item = led_by("xa_29806", MeasureKind::Percent, 1)[0];
    let headers = ["Mã ĐVHC", "Tên đơn vị", "STT", "Chỉ tiêu", "Kết quả"].map(String::from).to_vec();
    let rows = vec![
        vec![t("29806"), t("Xã Thuận An"), t(&item.to_string()), t(""), t("55%")],
        vec![t("29809"), t("Xã Đông Thạnh"), t(&item.to_string()), t(""), DemoCell::Number(61.0)],
        vec![t(""), t("UBND xã Mỹ Hòa"), t(&item.to_string()), t(""), t("70,5")],
        vec![t("99999"), t("Xã Không Có"), t(&item.to_string()), t(""), t("10%")],
    ];
    let sheet = SheetSpec {
        name: "Cấp xã".into(),
        title: vec!["SỐ LIỆU CẤP XÃ QUÝ II/2024".into()],
        header_row: 2,
        headers,
        rows,
        ..Default::default()
    };
    let bytes = write_book(&[sheet]).unwrap();
    let (summary, obs, rejects) = parse_to_vecs(Arc::from(bytes), &spec("xa.xlsx", None), &catalog, &dir, cutoff());
    assert_eq!(summary.layout, Some(Layout::Long));
    let got: Vec<(&str, Value)> = obs.iter().map(|o| (o.agency.as_str(), o.value)).collect();
    assert_eq!(
        got,
        [("xa_29806", Value::Percent(55.0)), ("xa_29809", Value::Percent(61.0)), ("xa_29815", Value::Percent(70.5))]
    );
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].code, "unknown_unit");
    assert_eq!(rejects[0].message, "Không tìm thấy đơn vị “99999” trong danh mục cơ quan, đơn vị");
}

#[test]
fn a_merged_commune_reports_through_its_successor() {
    let (dir, catalog) = common::catalog();
    let q4 = Period::new(2024, 4).unwrap();
    let item = led_by("xa_29806", MeasureKind::Percent, 1)[0];
    let headers = ["Mã đơn vị", "STT", "Kết quả"].map(String::from).to_vec();
    let rows = vec![vec![t("29773"), t(&item.to_string()), t("50%")], vec![t("29782"), t(&item.to_string()), t("60%")]];
    let bytes = write_book(&[SheetSpec { name: "S".into(), headers, rows, ..Default::default() }]).unwrap();
    let file = FileSpec { file_name: "q4.xlsx".into(), mapping: Default::default(), agency: None, period: q4 };
    let date = chiso::domain::ReportingCalendar::default().cutoff(q4);
    let (_, obs, rejects) = parse_to_vecs(Arc::from(bytes), &file, &catalog, &dir, date);
    assert_eq!(obs.len(), 1);
    assert_eq!(obs[0].agency.as_str(), "xa_29782");
    assert_eq!(rejects[0].code, "dissolved_unit");
    assert_eq!(
        rejects[0].message,
        "Xã Tân Hưng đã sáp nhập/giải thể từ ngày 01/11/2024; Quý IV/2024 báo cáo theo đơn vị mới: Xã Tân An Thạnh"
    );
}

#[test]
fn whole_file_problems_are_one_reject_and_nothing_else() {
    let (dir, catalog) = common::catalog();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("html.xlsx", b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>".to_vec(), "html_page"),
        ("empty.xlsx", Vec::new(), "empty_file"),
        ("note.xlsx", b"just some text".to_vec(), "not_a_workbook"),
        (
            "q3.xlsx",
            write_book(&[SheetSpec {
                name: "BC".into(),
                title: title_block("UBND tỉnh Vĩnh Long", "Sở Y tế", "Quý III năm 2024"),
                header_row: 5,
                headers: ["STT", "Nhiệm vụ", "Kết quả"].map(String::from).to_vec(),
                rows: vec![vec![t("1"), t("x"), t("50%")]],
                ..Default::default()
            }])
            .unwrap(),
            "wrong_period",
        ),
        (
            "noheader.xlsx",
            write_book(&[SheetSpec {
                name: "A".into(),
                headers: ["Cột 1", "Cột 2"].map(String::from).to_vec(),
                ..Default::default()
            }])
            .unwrap(),
            "no_header",
        ),
    ];
    for (name, bytes, code) in cases {
        let (summary, obs, rejects) =
            parse_to_vecs(Arc::from(bytes), &spec(name, Some("so_yt")), &catalog, &dir, cutoff());
        let r = summary.file_reject.unwrap_or_else(|| panic!("{name} should be refused"));
        assert_eq!(r.code, code, "{name}: {}", r.message);
        assert_eq!(r.location, name);
        assert!(obs.is_empty() && rejects.is_empty());
    }
}

#[test]
fn another_agency_s_file_is_refused() {
    let (dir, catalog) = common::catalog();
    let bytes = write_book(&[SheetSpec {
        name: "BC".into(),
        title: title_block("UBND tỉnh Vĩnh Long", "Sở Giáo dục và Đào tạo", "Quý II năm 2024"),
        header_row: 5,
        headers: ["STT", "Nhiệm vụ", "Kết quả"].map(String::from).to_vec(),
        rows: vec![vec![t("1"), t("x"), t("50%")]],
        ..Default::default()
    }])
    .unwrap();
    let (summary, ..) = parse_to_vecs(Arc::from(bytes), &spec("gd.xlsx", Some("so_yt")), &catalog, &dir, cutoff());
    let r = summary.file_reject.unwrap();
    assert_eq!(r.code, "wrong_agency");
    assert_eq!(
        r.message,
        "Tệp ghi đơn vị Sở Giáo dục và Đào tạo (“SỞ GIÁO DỤC VÀ ĐÀO TẠO”) nhưng được nhận cho Sở Y tế; kiểm tra lại tệp hoặc nguồn"
    );
}

#[test]
fn composite_indicators_by_unit_column_or_in_one_cell() {
    let (dir, catalog) = common::catalog();
    let comp = catalog.indicators.iter().find(|i| i.is_composite()).unwrap();
    let lead = leads(comp, 2024, &dir, cutoff()).into_iter().next().unwrap();
    let k = comp.key.to_string();
    let headers = ["STT", "Nhiệm vụ", "ĐVT", "Kết quả"].map(String::from).to_vec();
    let rows = vec![
        vec![t(&k), t(""), t("sản phẩm"), DemoCell::Number(700.0)],
        vec![t(&k), t(""), t("giao dịch"), t("1.200")],
    ];
    let bytes =
        write_book(&[SheetSpec { name: "S".into(), headers: headers.clone(), rows, ..Default::default() }]).unwrap();
    let (_, obs, rejects) =
        parse_to_vecs(Arc::from(bytes), &spec("c.xlsx", Some(lead.as_str())), &catalog, &dir, cutoff());
    assert!(rejects.is_empty(), "{rejects:?}");
    let got: Vec<(&str, Value)> = obs.iter().map(|o| (o.measure.as_str(), o.value)).collect();
    assert_eq!(got, [("san_pham", Value::Count(700.0)), ("giao_dich", Value::Count(1200.0))]);

    let rows = vec![vec![t(&k), t(""), t(""), t("350 cá nhân, cơ sở, doanh nghiệp 700 sản phẩm 120 giao dịch")]];
    let bytes = write_book(&[SheetSpec { name: "S".into(), headers, rows, ..Default::default() }]).unwrap();
    let (_, obs, rejects) =
        parse_to_vecs(Arc::from(bytes), &spec("c.xlsx", Some(lead.as_str())), &catalog, &dir, cutoff());
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(obs.len(), 3);
    assert_eq!(obs[0].value, Value::Count(350.0));
}

fn fixture(name: &str) -> Arc<[u8]> {
    Arc::from(
        std::fs::read(common::repo(&format!("tests/data/{name}"))).unwrap_or_else(|e| panic!("tests/data/{name}: {e}")),
    )
}

/// The .xls and .ods fixtures were saved by LibreOffice from `tests/data/legacy.xlsx`
/// (see tests/data/README.md): the same report in three formats reads the same.
#[test]
fn xls_and_ods_read_like_xlsx() {
    let (dir, catalog) = common::catalog();
    let mut results = Vec::new();
    for name in ["legacy.xlsx", "legacy.xls", "legacy.ods"] {
        let (summary, obs, rejects) = parse_to_vecs(fixture(name), &spec(name, None), &catalog, &dir, cutoff());
        assert_eq!(summary.file_reject, None, "{name}");
        assert_eq!(summary.agency, Some(id("so_gddt")), "{name}");
        let values: Vec<(ItemKey, Value)> = obs.iter().map(|o| (o.item, o.value)).collect();
        let codes: Vec<&str> = rejects.iter().map(|r| r.code).collect();
        results.push((name, values, codes));
    }
    assert!(!results[0].1.is_empty());
    assert_eq!(results[0].1, results[1].1, "xls differs from xlsx");
    assert_eq!(results[0].1, results[2].1, "ods differs from xlsx");
    assert_eq!(results[0].2, results[1].2);
    assert_eq!(results[0].2, results[2].2);
}

/// Item 29's 2024 target is a share of units (`25% đơn vị, trong đó: …`): the members
/// report their status, and the lead's own percentage is the indicator's figure. Another
/// agency's percentage is no figure of this item.
#[test]
fn the_lead_s_share_of_units_is_the_indicator_s_figure() {
    let (dir, catalog) = common::catalog();
    let task = catalog.indicator("29".parse().unwrap()).unwrap().task.clone();
    let book = |agency: &str, value: &str| {
        write_book(&[SheetSpec {
            name: "Báo cáo".into(),
            title: title_block("UBND tỉnh Vĩnh Long", agency, "Quý II năm 2024"),
            header_row: 5,
            headers: ["STT", "Nhiệm vụ", "Kết quả thực hiện"].map(String::from).to_vec(),
            rows: vec![vec![t("29"), t(&task), t(value)]],
            ..Default::default()
        }])
        .unwrap()
    };
    let read = |agency: &str, value: &str| {
        parse_to_vecs(Arc::from(book(agency, value)), &spec("x.xlsx", None), &catalog, &dir, cutoff())
    };
    let (_, obs, rejects) = read("Sở Thông tin và Truyền thông", "30%");
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(obs.len(), 1);
    assert_eq!((obs[0].agency.as_str(), obs[0].value), ("so_tttt", Value::Percent(30.0)));
    assert!(obs[0].note.as_deref().is_some_and(|n| n.contains("cơ quan chủ trì")), "{:?}", obs[0].note);
    // A member reports its status.
    let (_, obs, _) = read("Sở Văn hóa, Thể thao và Du lịch", "Hoàn thành");
    assert_eq!(obs.iter().map(|o| o.value).collect::<Vec<_>>(), vec![Value::Status(Progress::Done)]);
    // A member's percentage is not the item's figure: refused, nothing stored.
    let (_, obs, rejects) = read("Sở Văn hóa, Thể thao và Du lịch", "30%");
    assert!(obs.is_empty(), "{obs:?}");
    assert_eq!(rejects.len(), 1);
}
