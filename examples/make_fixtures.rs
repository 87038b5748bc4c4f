//! Regenerates the workbook fixtures (`tests/data/`) and the bundled demo quarter
//! (`config/demo/`). The .xls and .ods copies are then made with LibreOffice:
//!
//! ```sh
//! cargo run --example make_fixtures
//! soffice --headless --convert-to xls --outdir tests/data tests/data/legacy.xlsx
//! soffice --headless --convert-to ods --outdir tests/data tests/data/legacy.xlsx
//! soffice --headless --convert-to xls --outdir config/demo/inbox/so_gddt config/demo/inbox/so_gddt/BaoCao_SoGDDT_Q2-2024.xlsx
//! soffice --headless --convert-to ods --outdir config/demo/inbox/vp_ubnd config/demo/inbox/vp_ubnd/vpubnd_quy2_2024.xlsx
//! rm config/demo/inbox/so_gddt/*.xlsx config/demo/inbox/vp_ubnd/*.xlsx
//! ```
//!
//! Values are fixed (no randomness), so the files change only when this program does.

use std::path::Path;

use chiso::catalog::assign::leads;
use chiso::catalog::plan::{Catalog, OverridesFile, PlanFile};
use chiso::demo::{DemoCell, SheetSpec, title_block, write_book};
use chiso::domain::{AgencyId, ItemKey, MeasureKind, Period, ReportingCalendar, Value};
use chiso::report::template::{KnownValues, build_spec, write};

fn t(s: &str) -> DemoCell {
    DemoCell::Text(s.into())
}

fn id(s: &str) -> AgencyId {
    AgencyId::parse(s).expect("a valid id")
}

fn led(
    catalog: &Catalog,
    dir: &chiso::catalog::Directory,
    agency: &str,
    kind: Option<MeasureKind>,
    date: chrono::NaiveDate,
) -> Vec<ItemKey> {
    catalog
        .indicators
        .iter()
        .filter(|i| kind.as_ref().is_none_or(|k| !i.is_composite() && i.main_measure() == k))
        .filter(|i| leads(i, 2024, dir, date).contains(&id(agency)))
        .map(|i| i.key)
        .collect()
}

const HEADERS: [&str; 6] =
    ["STT", "Nhiệm vụ / Chỉ tiêu", "ĐVT", "Chỉ tiêu năm 2024", "Kết quả thực hiện Quý II/2024", "Ghi chú"];

fn write_file(path: &str, bytes: &[u8]) {
    let p = Path::new(path);
    std::fs::create_dir_all(p.parent().expect("a parent")).expect("create dir");
    std::fs::write(p, bytes).expect("write");
    println!("wrote {path} ({} bytes)", bytes.len());
}

struct Prefill(Vec<(ItemKey, String, Value)>);

impl KnownValues for Prefill {
    fn value(&self, item: ItemKey, measure: &str, period: Period) -> Option<Value> {
        (period == Period::new(2024, 2)?)
            .then(|| self.0.iter().find(|(k, m, _)| *k == item && m == measure).map(|(_, _, v)| *v))
            .flatten()
    }
}

fn main() {
    let dir = chiso::catalog::Directory::load(Path::new("config/agencies.toml")).expect("directory");
    let plan = PlanFile::load(Path::new("config/plans/kh-742-2023.toml")).expect("plan");
    let overrides = OverridesFile::load(Path::new("config/plans/kh-742-2023.overrides.toml")).expect("overrides");
    let catalog = Catalog::build(&plan, &overrides, "overrides", &dir).expect("catalog");
    let cal = ReportingCalendar::default();
    let q2 = Period::new(2024, 2).expect("a period");
    let date = cal.cutoff(q2);
    let task = |k: ItemKey| catalog.indicator(k).expect("an item").task.clone();
    let target =
        |k: ItemKey| catalog.indicator(k).and_then(|i| i.target(2024)).map(|t| t.raw.clone()).unwrap_or_default();
    let row = |k: ItemKey, uom: &str, v: DemoCell, note: &str| {
        vec![t(&format!("{k}.")), t(&task(k)), t(uom), t(&target(k)), v, t(note)]
    };

    // tests/data/legacy.xlsx: Sở GD&ĐT, percent cells, text, a status; saved again as .xls/.ods.
    let gd_pct = led(&catalog, &dir, "so_gddt", Some(MeasureKind::Percent), date);
    let gd_status = led(&catalog, &dir, "so_gddt", Some(MeasureKind::Status), date);
    let legacy_rows = vec![
        row(gd_pct[0], "%", DemoCell::Percent(0.92), ""),
        row(gd_pct[1], "%", DemoCell::Percent(0.5), ""),
        row(gd_pct[2], "%", DemoCell::Percent(1.0), "đạt 100%"),
        row(gd_pct[3], "%", t("87,5%"), ""),
        row(gd_status[0], "", t("Hoàn thành"), ""),
        vec![t("208."), t("Chỉ tiêu không có trong kế hoạch"), t("%"), t(""), DemoCell::Percent(0.3), t("")],
    ];
    let legacy = SheetSpec {
        name: "Báo cáo".into(),
        title: title_block("UBND tỉnh Vĩnh Long", "Sở Giáo dục và Đào tạo", "Quý II năm 2024"),
        header_row: 6,
        headers: HEADERS.map(String::from).to_vec(),
        rows: legacy_rows,
        ..Default::default()
    };
    write_file("tests/data/legacy.xlsx", &write_book(std::slice::from_ref(&legacy)).expect("xlsx"));

    // The demo quarter (Quý II/2024).
    // Sở Y tế: an xlsx with a hidden old sheet first, formulas, percent cells, two rejects.
    let yt_pct = led(&catalog, &dir, "so_yt", Some(MeasureKind::Percent), date);
    let yt_status = led(&catalog, &dir, "so_yt", Some(MeasureKind::Status), date);
    let mut yt_rows = vec![vec![t("I."), t("CHÍNH QUYỀN SỐ"), t(""), t(""), t(""), t("")]];
    let yt_values = [0.95, 0.82, 0.6, 0.35, 0.74, 0.9, 0.58, 0.3, 0.45, 0.88, 0.7, 0.97];
    for (i, k) in yt_pct.iter().take(yt_values.len()).enumerate() {
        let v = yt_values[i];
        let cell = match i % 3 {
            0 => DemoCell::Percent(v),
            1 => DemoCell::Formula { formula: format!("={}/100", (v * 100.0).round()), cached: v, percent: true },
            _ => t(&format!("{}%", chiso::domain::number::format_vi(v * 100.0, 1))),
        };
        yt_rows.push(row(*k, "%", cell, ""));
    }
    for (i, k) in yt_status.iter().take(6).enumerate() {
        let v = ["Hoàn thành", "Đang thực hiện", "Thường xuyên", "Đang triển khai", "Hoàn thành", "Chưa thực hiện"][i];
        yt_rows.push(row(*k, "", t(v), ""));
    }
    yt_rows.push(row(yt_pct[12], "%", t("135%"), "nhập nhầm"));
    yt_rows.push(vec![t("205."), t("Tỷ lệ hồ sơ bệnh án điện tử tại trạm y tế"), t("%"), t(""), t("40%"), t("")]);
    let old = SheetSpec {
        name: "Quý I (cũ)".into(),
        hidden: true,
        headers: HEADERS.map(String::from).to_vec(),
        rows: vec![vec![t("1."), t("số liệu cũ"), t("%"), t(""), t("10%"), t("")]],
        ..Default::default()
    };
    let yt = SheetSpec {
        name: "Báo cáo Q2".into(),
        title: title_block("UBND tỉnh Vĩnh Long", "Sở Y tế", "Quý II năm 2024"),
        header_row: 6,
        headers: HEADERS.map(String::from).to_vec(),
        rows: yt_rows,
        ..Default::default()
    };
    write_file("config/demo/inbox/so_yt/BC_CDS_Quy_II_2024_SoYTe.xlsx", &write_book(&[old, yt]).expect("xlsx"));

    // Sở GD&ĐT: saved as .xls by LibreOffice.
    let mut gd = legacy;
    gd.rows.truncate(5);
    write_file("config/demo/inbox/so_gddt/BaoCao_SoGDDT_Q2-2024.xlsx", &write_book(&[gd]).expect("xlsx"));

    // Văn phòng UBND tỉnh: saved as .ods.
    let vp = led(&catalog, &dir, "vp_ubnd", None, date);
    let vp_rows: Vec<Vec<DemoCell>> = vp
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, k)| {
            let ind = catalog.indicator(*k).expect("an item");
            let v = match ind.main_measure() {
                MeasureKind::Percent => t(&format!("{}%", [96, 88, 100, 75, 91, 64, 99, 83, 70, 94][i])),
                MeasureKind::Count { .. } => DemoCell::Number(5.0),
                MeasureKind::Status => t(if i % 2 == 0 { "Hoàn thành" } else { "Thường xuyên" }),
            };
            row(*k, "", v, "")
        })
        .collect();
    let vp_sheet = SheetSpec {
        name: "Sheet1".into(),
        title: title_block("UBND tỉnh Vĩnh Long", "Văn phòng UBND tỉnh", "Quý II năm 2024"),
        header_row: 5,
        headers: HEADERS.map(String::from).to_vec(),
        rows: vp_rows,
        ..Default::default()
    };
    write_file("config/demo/inbox/vp_ubnd/vpubnd_quy2_2024.xlsx", &write_book(&[vp_sheet]).expect("xlsx"));

    // Communes of TX Bình Minh and TP Vĩnh Long: a long layout compiled by the districts.
    let commune_items: Vec<ItemKey> =
        led(&catalog, &dir, "xa_29806", Some(MeasureKind::Percent), date).into_iter().take(6).collect();
    let communes: Vec<&chiso::catalog::Agency> = dir
        .iter()
        .filter(|a| a.level == chiso::catalog::Level::Commune && a.valid_at(date))
        .filter(|a| matches!(a.parent.as_ref().map(|p| p.as_str()), Some("tx_binh_minh" | "tp_vinh_long")))
        .collect();
    let mut long_rows = Vec::new();
    for (ci, c) in communes.iter().enumerate() {
        for (ii, k) in commune_items.iter().enumerate() {
            let v = 35.0 + ((ci * 7 + ii * 11) % 60) as f64;
            long_rows.push(vec![
                t(c.code.as_deref().unwrap_or_default()),
                t(&c.name),
                t(&k.to_string()),
                t(""),
                DemoCell::Number(v),
            ]);
        }
    }
    long_rows.push(vec![t("29773"), t("Xã Tân Hưng"), t(&commune_items[0].to_string()), t(""), DemoCell::Number(50.0)]);
    long_rows.push(vec![t("29999"), t("Xã không có"), t(&commune_items[0].to_string()), t(""), DemoCell::Number(50.0)]);
    let long = SheetSpec {
        name: "Cấp xã".into(),
        title: vec!["SỐ LIỆU CHUYỂN ĐỔI SỐ CẤP XÃ — QUÝ II/2024".into()],
        header_row: 2,
        headers: ["Mã ĐVHC", "Tên đơn vị", "STT", "Chỉ tiêu", "Kết quả"].map(String::from).to_vec(),
        rows: long_rows,
        ..Default::default()
    };
    write_file("config/demo/inbox/cap_xa/so_lieu_cap_xa_Q2_2024.xlsx", &write_book(&[long]).expect("xlsx"));

    // Sở TT&TT: its chiso workbook, filled in.
    let tttt_spec_empty = build_spec(&catalog, &dir, &cal, &id("so_tttt"), q2, &());
    let fill: Vec<(ItemKey, String, Value)> = tttt_spec_empty
        .lead
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 != 4)
        .map(|(i, l)| {
            let v = match &l.kind {
                MeasureKind::Percent => Value::Percent([62.0, 48.5, 90.0, 33.0, 75.0][i % 5]),
                MeasureKind::Count { .. } => Value::Count(1.0),
                MeasureKind::Status => Value::Status(if i % 3 == 0 {
                    chiso::domain::Progress::InProgress
                } else {
                    chiso::domain::Progress::Done
                }),
            };
            (l.key, l.measure.clone(), v)
        })
        .collect();
    let tttt = build_spec(&catalog, &dir, &cal, &id("so_tttt"), q2, &Prefill(fill));
    write_file("config/demo/inbox/so_tttt/so_tttt-2024-Q2.xlsx", &write(&tttt).expect("template"));

    // The provincial reporting portal's export (dataTypeId 3 actual, 4 official; periodId 13–16).
    let mut data = Vec::new();
    for (code, item, actual, official) in
        [("CDS.101", "101", 5.6, Some(5.8)), ("CDS.102", "102", 41.0, None), ("CDS.104", "104", 62.0, Some(63.5))]
    {
        for (period_id, factor) in [(13, 0.9), (14, 1.0)] {
            data.push(serde_json::json!({"indicatorCode": code, "areaCode": "86", "dataYear": 2024, "periodId": period_id, "dataTypeId": 3, "value": actual * factor}));
            if let Some(o) = official {
                data.push(serde_json::json!({"indicatorCode": code, "areaCode": "86", "dataYear": 2024, "periodId": period_id, "dataTypeId": 4, "value": o * factor}));
            }
            data.push(serde_json::json!({"indicatorCode": code, "areaCode": "86", "dataYear": 2024, "periodId": period_id, "dataTypeId": 1, "value": 99.0}));
        }
        let _ = item;
    }
    let portal = serde_json::json!({"success": true, "total": data.len(), "data": data});
    write_file("config/demo/portal/2024-q2.json", serde_json::to_string_pretty(&portal).expect("json").as_bytes());
}
