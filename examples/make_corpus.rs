//! Generates the reading corpus (`tests/data/corpus/`): workbooks shaped like the ones
//! departments really send, each with the figures its officer meant (`NAME.expect.toml`).
//! Items, agencies, task texts and communes come from the shipped plan and directory.
//!
//! ```sh
//! cargo run --example make_corpus              # the .xlsx files and all expectations
//! cargo run --example make_corpus -- --convert # also the .xls / .ods copies (LibreOffice)
//! ```
//!
//! Values are fixed (no randomness): the files change only when this program does.

// Rows advance by hand: a sheet's row counter also moves past blank rows and sub-tables.
#![allow(clippy::explicit_counter_loop)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chiso::catalog::Directory;
use chiso::catalog::assign::{Assignments, leads};
use chiso::catalog::plan::{Catalog, OverridesFile, PlanFile};
use chiso::domain::{AgencyId, ItemKey, MeasureKind, Period, ReportingCalendar};
use chiso::ingest::sheet::column_letters;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Formula, Workbook};

const OUT: &str = "tests/data/corpus";

/// A cell as the officer typed it.
#[derive(Debug, Clone)]
enum C {
    T(String),
    N(f64),
    /// A number with an Excel number format (`0%`, `0.0%`, `#,##0`).
    F(f64, &'static str),
    /// A formula whose cached result is an error (`#DIV/0!`).
    Err(&'static str, &'static str),
}

fn t(s: &str) -> C {
    C::T(s.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Sty {
    Cell,
    Title,
    Head,
    Bold,
    Italic,
}

#[derive(Debug, Clone, Default)]
struct Sh {
    name: String,
    hidden: bool,
    cells: BTreeMap<(u32, u16), (C, Option<Sty>)>,
    merges: Vec<(u32, u16, u32, u16, String, Sty)>,
    hidden_cols: Vec<u16>,
    widths: Vec<(u16, f64)>,
    font: Option<(&'static str, f64)>,
}

impl Sh {
    fn new(name: &str) -> Self {
        Sh { name: name.into(), ..Default::default() }
    }
    fn put(&mut self, r: u32, c: u16, v: C) {
        self.cells.insert((r, c), (v, Some(Sty::Cell)));
    }
    fn styled(&mut self, r: u32, c: u16, v: C, s: Sty) {
        self.cells.insert((r, c), (v, Some(s)));
    }
    fn row(&mut self, r: u32, vals: Vec<C>) {
        for (c, v) in vals.into_iter().enumerate() {
            if !matches!(&v, C::T(s) if s.is_empty()) {
                self.put(r, c as u16, v);
            }
        }
    }
    /// Merges the cells from `(first row, first column)` to `(last row, last column)`.
    fn merge(&mut self, (r1, c1): (u32, u16), (r2, c2): (u32, u16), text: &str, s: Sty) {
        self.merges.push((r1, c1, r2, c2, text.into(), s));
    }
    fn title(&mut self, lines: &[&str], width: u16) -> u32 {
        for (r, l) in lines.iter().enumerate() {
            if !l.is_empty() {
                self.merge((r as u32, 0), (r as u32, width - 1), l, Sty::Title);
            }
        }
        lines.len() as u32
    }
    fn header(&mut self, r: u32, heads: &[&str]) {
        for (c, h) in heads.iter().enumerate() {
            if !h.is_empty() {
                self.styled(r, c as u16, t(h), Sty::Head);
            }
        }
    }
    fn cell(&self, r: u32, c: u16) -> String {
        format!("{}!{}{}", self.name, column_letters(c as usize), r + 1)
    }
}

/// What the officer meant by a figure.
#[derive(Debug, Clone, Copy)]
enum E {
    P(f64),
    N(f64),
    S(&'static str),
}

#[derive(Debug, Clone)]
struct Stored {
    cell: String,
    item: String,
    measure: String,
    agency: String,
    period: String,
    value: E,
}

#[derive(Debug, Clone)]
struct NotStored {
    cell: String,
    outcome: &'static str,
    code: Option<&'static str>,
    word: Option<String>,
    why: String,
}

#[derive(Debug, Clone, Default)]
struct Book {
    file: String,
    about: String,
    agency: Option<String>,
    period: Option<String>,
    sheets: Vec<Sh>,
    stored: Vec<Stored>,
    not_stored: Vec<NotStored>,
    convert: Vec<&'static str>,
}

impl Book {
    fn new(file: &str, about: &str, agency: Option<&str>, period: Option<&str>) -> Self {
        Book {
            file: file.into(),
            about: about.into(),
            agency: agency.map(String::from),
            period: period.map(String::from),
            ..Default::default()
        }
    }
    fn st(&mut self, cell: String, item: ItemKey, agency: &str, period: &str, value: E) {
        self.stored.push(Stored {
            cell,
            item: item.to_string(),
            measure: String::new(),
            agency: agency.into(),
            period: period.into(),
            value,
        });
    }
    fn skip(&mut self, cell: String, why: &str) {
        self.not_stored.push(NotStored { cell, outcome: "skipped", code: None, word: None, why: why.into() });
    }
    fn held(&mut self, cell: String, why: &str) {
        self.not_stored.push(NotStored { cell, outcome: "held", code: None, word: None, why: why.into() });
    }
    fn refuse(&mut self, cell: String, code: Option<&'static str>, word: &str, why: &str) {
        self.not_stored.push(NotStored { cell, outcome: "refused", code, word: Some(word.into()), why: why.into() });
    }
}

struct Plan {
    catalog: Catalog,
    dir: Directory,
    date: chrono::NaiveDate,
    asg: Assignments,
}

#[derive(Clone, Copy, PartialEq)]
enum K {
    Pct,
    Cnt,
    Sts,
}

impl Plan {
    fn kind_of(&self, k: ItemKey) -> K {
        match self.catalog.indicator(k).expect("an item").main_measure() {
            MeasureKind::Percent => K::Pct,
            MeasureKind::Count { .. } => K::Cnt,
            MeasureKind::Status => K::Sts,
        }
    }
    /// Single-measure, unflagged items the agency leads in 2024, of one kind.
    fn led(&self, agency: &str, kind: K) -> Vec<ItemKey> {
        let id = AgencyId::parse(agency).expect("an id");
        self.catalog
            .indicators
            .iter()
            .filter(|i| !i.is_composite() && i.flags.is_empty())
            .filter(|i| self.kind_of(i.key) == kind)
            .filter(|i| leads(i, 2024, &self.dir, self.date).contains(&id))
            .map(|i| i.key)
            .collect()
    }
    fn co_of(&self, agency: &str, kind: K) -> Vec<ItemKey> {
        let id = AgencyId::parse(agency).expect("an id");
        self.catalog
            .indicators
            .iter()
            .enumerate()
            .filter(|(_, i)| !i.is_composite() && i.flags.is_empty() && self.kind_of(i.key) == kind)
            .filter(|(n, i)| self.asg.co(*n).contains(&id) && !leads(i, 2024, &self.dir, self.date).contains(&id))
            .map(|(_, i)| i.key)
            .collect()
    }
    fn task(&self, k: ItemKey) -> String {
        self.catalog.indicator(k).expect("an item").task.clone()
    }
    fn target(&self, k: ItemKey) -> String {
        self.catalog.indicator(k).and_then(|i| i.target(2024)).map(|t| t.raw.clone()).unwrap_or_default()
    }
    fn key(&self, s: &str) -> ItemKey {
        s.parse().expect("an item key")
    }
    fn communes(&self, district: &str) -> Vec<(String, String, String)> {
        self.dir
            .iter()
            .filter(|a| a.level == chiso::catalog::Level::Commune && a.valid_at(self.date))
            .filter(|a| a.parent.as_ref().map(|p| p.as_str()) == Some(district))
            .map(|a| (a.id.to_string(), a.code.clone().unwrap_or_default(), a.name.clone()))
            .collect()
    }
    fn name(&self, id: &str) -> String {
        self.dir.get_str(id).map(|a| a.name.clone()).unwrap_or_default()
    }
}

const PCTS: [f64; 12] = [82.3, 90.0, 100.0, 75.5, 64.0, 95.0, 88.0, 70.0, 58.5, 99.0, 45.0, 100.0];

fn pct(i: usize) -> f64 {
    PCTS[i % PCTS.len()]
}

fn vi_num(v: f64) -> String {
    chiso::domain::number::format_vi(v, 1)
}

const Q2: &str = "2024-Q2";
const STD: [&str; 6] =
    ["STT", "Nhiệm vụ / Chỉ tiêu", "ĐVT", "Chỉ tiêu năm 2024", "Kết quả thực hiện Quý II/2024", "Ghi chú"];

fn std_title(agency_name: &str, period_vi: &str) -> Vec<String> {
    vec![
        "UBND TỈNH VĨNH LONG".into(),
        agency_name.to_uppercase(),
        String::new(),
        format!("BÁO CÁO KẾT QUẢ THỰC HIỆN KẾ HOẠCH SỐ 742/KH-UBND VỀ CHUYỂN ĐỔI SỐ {}", period_vi.to_uppercase()),
        "(Kèm theo Công văn số      /BC-     ngày    tháng    năm 2024)".into(),
    ]
}

/// `Nơi nhận` and the signature block under a table; every row is skipped.
fn signature(b: &mut Book, si: usize, r0: u32, value_col: u16, signer: &str, who: &str) -> u32 {
    let sh = &mut b.sheets[si];
    let lines: [(&str, &str); 6] = [
        ("Nơi nhận:", signer),
        ("- Sở Thông tin và Truyền thông;", ""),
        ("- UBND tỉnh (b/c);", ""),
        ("- Lưu: VT.", "(Đã ký)"),
        ("", ""),
        ("", who),
    ];
    let mut cells = Vec::new();
    for (i, (left, right)) in lines.iter().enumerate() {
        let r = r0 + i as u32;
        if !left.is_empty() {
            sh.styled(r, 0, t(left), if i == 0 { Sty::Bold } else { Sty::Italic });
        }
        if !right.is_empty() {
            sh.styled(r, value_col, t(right), Sty::Bold);
        }
        if !left.is_empty() || !right.is_empty() {
            cells.push(sh.cell(r, value_col));
        }
    }
    for c in cells {
        b.skip(c, "khối chữ ký / nơi nhận");
    }
    r0 + lines.len() as u32
}

/// One wide row with the standard columns; returns the result cell.
#[allow(clippy::too_many_arguments)]
fn std_row(sh: &mut Sh, r: u32, stt: &str, p: &Plan, k: ItemKey, uom: &str, v: C, note: &str) -> String {
    sh.row(r, vec![t(stt), t(&p.task(k)), t(uom), t(&p.target(k)), v, t(note)]);
    sh.cell(r, 4)
}

fn uom(p: &Plan, k: ItemKey) -> &'static str {
    match p.kind_of(k) {
        K::Pct => "%",
        K::Cnt => "Số lượng",
        K::Sts => "",
    }
}

// ---------------------------------------------------------------------------------------
// Wide layouts

fn w01_plan_numbers(p: &Plan) -> Book {
    let ag = "so_yt";
    let mut b = Book::new(
        "w01_stt_plan_number.xlsx",
        "Sở Y tế: STT = số thứ tự của kế hoạch (`5.`), phần trăm dạng 0.0%, chữ ký",
        Some(ag),
        Some(Q2),
    );
    b.convert = vec!["xls", "ods"];
    let mut sh = Sh::new("BC quý 2");
    sh.font = Some(("Times New Roman", 12.0));
    let title = std_title(&p.name(ag), "Quý II năm 2024");
    let refs: Vec<&str> = title.iter().map(String::as_str).collect();
    let hr = sh.title(&refs, 6) + 1;
    sh.header(hr, &STD);
    let mut r = hr + 1;
    sh.row(r, vec![t("I."), t("CHÍNH QUYỀN SỐ")]);
    b.sheets.push(sh);
    b.skip(b.sheets[0].cell(r, 4), "dòng tiêu đề mục");
    r += 1;
    let pcts = p.led(ag, K::Pct);
    let sts = p.led(ag, K::Sts);
    for (i, k) in pcts.iter().take(8).enumerate() {
        let v = pct(i);
        let stt = if i % 2 == 0 { format!("{k}.") } else { format!("{k}") };
        let c = std_row(&mut b.sheets[0], r, &stt, p, *k, "%", C::F(v / 100.0, "0.0%"), "");
        b.st(c, *k, ag, Q2, E::P(v));
        r += 1;
    }
    for (i, k) in sts.iter().take(4).enumerate() {
        let (txt, code) = [
            ("Hoàn thành", "done"),
            ("Đang thực hiện", "in_progress"),
            ("Thường xuyên", "ongoing"),
            ("Chưa thực hiện", "not_done"),
        ][i];
        let c = std_row(&mut b.sheets[0], r, &format!("{k:0>2}"), p, *k, "", t(txt), "");
        b.st(c, *k, ag, Q2, E::S(code));
        r += 1;
    }
    r += 1;
    signature(&mut b, 0, r, 4, "GIÁM ĐỐC", "Nguyễn Văn An");
    b
}

fn w02_running_counter(p: &Plan, file: &str, ag: &str, convert: Vec<&'static str>) -> Book {
    let mut b = Book::new(
        file,
        "Cột STT đánh số dòng 1, 2, 3 bên cạnh nội dung nhiệm vụ của kế hoạch: mục lấy theo nội dung, không theo STT",
        Some(ag),
        Some(Q2),
    );
    b.convert = convert;
    let mut sh = Sh::new("Sheet1");
    let title = std_title(&p.name(ag), "Quý II/2024");
    let refs: Vec<&str> = title.iter().map(String::as_str).collect();
    let hr = sh.title(&refs, 5) + 1;
    sh.header(hr, &["STT", "Nội dung nhiệm vụ", "Chỉ tiêu năm 2024", "Kết quả thực hiện", "Ghi chú"]);
    sh.widths = vec![(0, 6.0), (1, 60.0), (2, 14.0), (3, 16.0), (4, 20.0)];
    b.sheets.push(sh);
    let mut items: Vec<ItemKey> = p.led(ag, K::Pct).into_iter().filter(|k| k.number > 12).take(7).collect();
    items.extend(p.led(ag, K::Sts).into_iter().filter(|k| k.number > 12).take(2));
    let mut r = hr + 1;
    for (i, k) in items.iter().enumerate() {
        let sh = &mut b.sheets[0];
        let (v, e) = match p.kind_of(*k) {
            K::Pct => (C::T(format!("{}%", vi_num(pct(i + 3)))), E::P(pct(i + 3))),
            K::Cnt => (C::N(12.0), E::N(12.0)),
            K::Sts => (t("Hoàn thành"), E::S("done")),
        };
        sh.row(r, vec![C::N((i + 1) as f64), t(&p.task(*k)), t(&p.target(*k)), v]);
        let c = sh.cell(r, 3);
        b.st(c, *k, ag, Q2, e);
        r += 1;
    }
    b
}

fn w03_outline_numbers(p: &Plan, file: &str, ag: &str, plan_col: &str, convert: Vec<&'static str>) -> Book {
    let mut b =
        Book::new(file, "Đánh số đề mục riêng (1.1, 2.3, I.2) kèm cột số thứ tự theo kế hoạch", Some(ag), Some(Q2));
    b.convert = convert;
    let mut sh = Sh::new("Phụ lục");
    let title = std_title(&p.name(ag), "Quý II năm 2024");
    let refs: Vec<&str> = title.iter().map(String::as_str).collect();
    let hr = sh.title(&refs, 7) + 1;
    sh.header(hr, &["TT", plan_col, "Nhiệm vụ", "Đơn vị tính", "Chỉ tiêu năm 2024", "Kết quả đạt được", "Ghi chú"]);
    b.sheets.push(sh);
    let pcts = p.led(ag, K::Pct);
    let sts = p.led(ag, K::Sts);
    let mut r = hr + 1;
    let roman = plan_col.starts_with("Số TT");
    for (sec, list) in [("I", &pcts), ("II", &sts)] {
        let sh = &mut b.sheets[0];
        sh.row(r, vec![t(sec), t(""), t(if sec == "I" { "CÁC CHỈ TIÊU TỶ LỆ" } else { "CÁC NHIỆM VỤ" })]);
        let c = sh.cell(r, 5);
        b.skip(c, "dòng đề mục");
        r += 1;
        for (i, k) in list.iter().take(if sec == "I" { 6 } else { 3 }).enumerate() {
            let sh = &mut b.sheets[0];
            let n = if sec == "I" { 1 } else { 2 };
            let num = if roman { format!("{sec}.{}", i + 1) } else { format!("{n}.{}", i + 1) };
            let (v, e) = match p.kind_of(*k) {
                K::Pct => (C::N(pct(i + 5)), E::P(pct(i + 5))),
                _ => (
                    t(["Đã hoàn thành", "Đang triển khai", "Thường xuyên"][i % 3]),
                    E::S(["done", "in_progress", "ongoing"][i % 3]),
                ),
            };
            sh.row(r, vec![t(&num), C::N(k.number as f64), t(&p.task(*k)), t(uom(p, *k)), t(&p.target(*k)), v]);
            let c = sh.cell(r, 5);
            b.st(c, *k, ag, Q2, e);
            r += 1;
        }
    }
    b
}

fn w04_texts_only(p: &Plan) -> Book {
    let ag = "so_nv";
    let mut b = Book::new(
        "w04_task_text_only.xlsx",
        "Không có cột số thứ tự: chỉ nội dung nhiệm vụ; cột kết quả `Tình hình thực hiện`",
        Some(ag),
        Some(Q2),
    );
    b.convert = vec!["ods"];
    let mut sh = Sh::new("Báo cáo");
    let hr = sh.title(&["SỞ NỘI VỤ", "", "TÌNH HÌNH THỰC HIỆN CHUYỂN ĐỔI SỐ QUÝ II NĂM 2024"], 3) + 1;
    sh.header(hr, &["Nhiệm vụ, chỉ tiêu", "Tình hình thực hiện", "Ghi chú"]);
    b.sheets.push(sh);
    let mut items: Vec<ItemKey> = p.led(ag, K::Pct).into_iter().skip(2).take(5).collect();
    items.extend(p.led(ag, K::Sts).into_iter().take(2));
    let mut r = hr + 1;
    for (i, k) in items.iter().enumerate() {
        let sh = &mut b.sheets[0];
        let (v, e) = match p.kind_of(*k) {
            K::Pct => (C::T(format!("Đạt {}%", vi_num(pct(i)))), E::P(pct(i))),
            _ => (t("Đang thực hiện"), E::S("in_progress")),
        };
        sh.row(r, vec![t(&p.task(*k)), v, t("")]);
        let c = sh.cell(r, 1);
        b.st(c, *k, ag, Q2, e);
        r += 1;
    }
    b
}

fn w05_percent_fractions(p: &Plan) -> Book {
    let ag = "so_ct";
    let mut b = Book::new(
        "w05_percent_fractions.xlsx",
        "Ô định dạng 0% và 0.0% chứa phân số (0,823): là 82,3%, kể cả khi chuyển sang xls, ods",
        Some(ag),
        Some(Q2),
    );
    b.convert = vec!["xls", "ods"];
    let mut sh = Sh::new("Quy II");
    let title = std_title(&p.name(ag), "Quý II/2024");
    let refs: Vec<&str> = title.iter().map(String::as_str).collect();
    let hr = sh.title(&refs, 6) + 2;
    sh.header(hr, &STD);
    b.sheets.push(sh);
    let mut r = hr + 1;
    let vals = [0.823, 0.9, 1.0, 0.755, 0.64, 0.95, 0.5, 0.875];
    for (i, k) in p.led(ag, K::Pct).iter().take(vals.len()).enumerate() {
        let fmt = if i % 2 == 0 { "0.0%" } else { "0%" };
        let v = vals[i];
        let c = std_row(&mut b.sheets[0], r, &format!("{k}"), p, *k, "%", C::F(v, fmt), "");
        b.st(c, *k, ag, Q2, E::P((v * 1000.0).round() / 10.0));
        r += 1;
    }
    b
}

fn w06_text_percents(p: &Plan) -> Book {
    let ag = "so_vhttdl";
    let mut b = Book::new(
        "w06_text_percents.xlsx",
        "Phần trăm viết bằng chữ: 85,5%, 85.5 %, 85 phần trăm, 100% (15/15 đơn vị), 12/15",
        Some(ag),
        Some(Q2),
    );
    b.convert = vec!["ods"];
    let mut sh = Sh::new("Báo cáo");
    let title = std_title(&p.name(ag), "Quý II năm 2024");
    let refs: Vec<&str> = title.iter().map(String::as_str).collect();
    let hr = sh.title(&refs, 6) + 1;
    sh.header(hr, &STD);
    b.sheets.push(sh);
    let cases: [(&str, f64); 8] = [
        ("85,5%", 85.5),
        ("85.5 %", 85.5),
        ("85 phần trăm", 85.0),
        ("100% (15/15 đơn vị)", 100.0),
        ("12/15", 80.0),
        ("đạt 12%", 12.0),
        ("92,3 %", 92.3),
        ("70%", 70.0),
    ];
    let mut r = hr + 1;
    for (i, k) in p.led(ag, K::Pct).iter().take(cases.len()).enumerate() {
        let c = std_row(&mut b.sheets[0], r, &format!("{k}."), p, *k, "%", t(cases[i].0), "");
        b.st(c, *k, ag, Q2, E::P(cases[i].1));
        r += 1;
    }
    b
}

fn w07_counts(p: &Plan) -> Book {
    let ag = "so_ct";
    let mut b = Book::new(
        "w07_counts.xlsx",
        "Số lượng: 1.250 (dấu chấm phân cách hàng nghìn), 1.000 lượt, số 150; 1,250 trong chỉ tiêu đếm là mơ hồ",
        Some(ag),
        Some(Q2),
    );
    b.convert = vec!["xls", "ods"];
    let mut sh = Sh::new("Số liệu");
    let title = std_title(&p.name(ag), "Quý II/2024");
    let refs: Vec<&str> = title.iter().map(String::as_str).collect();
    let hr = sh.title(&refs, 6) + 1;
    sh.header(hr, &STD);
    b.sheets.push(sh);
    let mut r = hr + 1;
    let (k112, k114, k157) = (p.key("112"), p.key("114"), p.key("157"));
    for (k, v, e) in
        [(k112, t("1.250"), 1250.0), (k114, C::F(1250.0, "#,##0"), 1250.0), (k157, t("1.000 lượt"), 1000.0)]
    {
        let c = std_row(&mut b.sheets[0], r, &k.to_string(), p, k, "", v, "");
        b.st(c, k, ag, Q2, E::N(e));
        r += 1;
    }
    // A formatted thousands number (#,##0) is a count too.
    let pc = p.led(ag, K::Pct);
    let c = std_row(&mut b.sheets[0], r, &pc[0].to_string(), p, pc[0], "%", t("90%"), "");
    b.st(c, pc[0], ag, Q2, E::P(90.0));
    b
}

fn w07b_count_ambiguous(p: &Plan) -> Book {
    let ag = "so_khdt";
    let mut b = Book::new(
        "w07b_count_comma.xlsx",
        "Sở KH&ĐT: `1,250` trong chỉ tiêu đếm (1250 kiểu Anh hay 1,25?): giữ lại cho người vận hành; phần trăm 0%",
        Some(ag),
        Some(Q2),
    );
    let mut sh = Sh::new("BC");
    let title = std_title(&p.name(ag), "Quý II năm 2024");
    let refs: Vec<&str> = title.iter().map(String::as_str).collect();
    let hr = sh.title(&refs, 6) + 1;
    sh.header(hr, &STD);
    b.sheets.push(sh);
    let k = p.key("125");
    let r = hr + 1;
    let c = std_row(&mut b.sheets[0], r, "125", p, k, "Doanh nghiệp", t("1,250"), "");
    b.held(c, "`1,250` trong chỉ tiêu đếm: 1.250 hay 1,25? không đoán");
    let pc = p.led(ag, K::Pct);
    let c = std_row(&mut b.sheets[0], r + 1, &pc[0].to_string(), p, pc[0], "%", C::F(0.96, "0%"), "");
    b.st(c, pc[0], ag, Q2, E::P(96.0));
    let c = std_row(&mut b.sheets[0], r + 2, &pc[1].to_string(), p, pc[1], "%", t("62,5"), "");
    b.st(c, pc[1], ag, Q2, E::P(62.5));
    b
}

fn w08_three_row_header(p: &Plan, file: &str, convert: Vec<&'static str>) -> Book {
    let ag = "so_ct";
    let mut b = Book::new(
        file,
        "Tiêu đề 3 dòng gộp ô: Kết quả thực hiện › Quý II/2024 › Số lượng | Tỷ lệ (%); số đếm dưới `Số lượng` không bao giờ là phần trăm",
        Some(ag),
        Some(Q2),
    );
    b.convert = convert;
    let mut sh = Sh::new("Biểu 01");
    let title = std_title(&p.name(ag), "Quý II năm 2024");
    let refs: Vec<&str> = title.iter().map(String::as_str).collect();
    let h = sh.title(&refs, 7) + 1;
    // A..G: STT | Nhiệm vụ | Chỉ tiêu 2024 | Kết quả thực hiện (D..E) | Ghi chú
    sh.merge((h, 0), (h + 2, 0), "STT", Sty::Head);
    sh.merge((h, 1), (h + 2, 1), "Nhiệm vụ, chỉ tiêu", Sty::Head);
    sh.merge((h, 2), (h + 2, 2), "Chỉ tiêu năm 2024", Sty::Head);
    sh.merge((h, 3), (h, 4), "Kết quả thực hiện", Sty::Head);
    sh.merge((h + 1, 3), (h + 1, 4), "Quý II/2024", Sty::Head);
    sh.styled(h + 2, 3, t("Số lượng"), Sty::Head);
    sh.styled(h + 2, 4, t("Tỷ lệ (%)"), Sty::Head);
    sh.merge((h, 5), (h + 2, 5), "Ghi chú", Sty::Head);
    // The column-numbering row of official forms.
    sh.row(h + 3, vec![t("(1)"), t("(2)"), t("(3)"), t("(4)"), t("(5)"), t("(6)")]);
    b.sheets.push(sh);
    let mut r = h + 4;
    for (k, n) in [(p.key("112"), 162.0), (p.key("114"), 75.0), (p.key("157"), 640.0)] {
        let sh = &mut b.sheets[0];
        sh.row(r, vec![t(&k.to_string()), t(&p.task(k)), t(&p.target(k)), C::N(n)]);
        if k.number == 114 {
            // The share of the year's target, beside the count: not a figure of the item.
            sh.put(r, 4, C::N(50.0));
            let c = sh.cell(r, 4);
            b.skip(c, "tỷ lệ so với chỉ tiêu năm của một chỉ tiêu đếm");
        }
        let c = b.sheets[0].cell(r, 3);
        b.st(c, k, ag, Q2, E::N(n));
        r += 1;
    }
    for (i, k) in p.led(ag, K::Pct).iter().take(5).enumerate() {
        let sh = &mut b.sheets[0];
        let n = [45.0, 12.0, 230.0, 8.0, 61.0][i];
        let v = pct(i);
        sh.row(r, vec![t(&k.to_string()), t(&p.task(*k)), t(&p.target(*k)), C::N(n), C::N(v)]);
        let cnt = sh.cell(r, 3);
        let c = sh.cell(r, 4);
        b.st(c, *k, ag, Q2, E::P(v));
        b.skip(cnt, "số lượng (tử số) của một chỉ tiêu tỷ lệ: không phải tỷ lệ");
        r += 1;
    }
    b
}

fn w09_two_row_header(p: &Plan) -> Book {
    let ag = "so_gddt";
    let mut b = Book::new(
        "w09_header_two_rows.xlsx",
        "Tiêu đề 2 dòng: `Kết quả đạt được` › `Số liệu | Đơn vị tính`, cột lũy kế, cột ẩn",
        Some(ag),
        Some(Q2),
    );
    b.convert = vec!["xls"];
    let mut sh = Sh::new("Tổng hợp");
    let h = sh.title(&["SỞ GIÁO DỤC VÀ ĐÀO TẠO TỈNH VĨNH LONG", "BÁO CÁO CHUYỂN ĐỔI SỐ QUÝ II NĂM 2024"], 7) + 2;
    sh.merge((h, 0), (h + 1, 0), "STT", Sty::Head);
    sh.merge((h, 1), (h + 1, 1), "Tên chỉ tiêu", Sty::Head);
    sh.merge((h, 2), (h + 1, 2), "Mục tiêu năm 2024", Sty::Head);
    sh.merge((h, 3), (h, 4), "Kết quả đạt được", Sty::Head);
    sh.styled(h + 1, 3, t("Số liệu"), Sty::Head);
    sh.styled(h + 1, 4, t("Đơn vị tính"), Sty::Head);
    sh.merge((h, 5), (h + 1, 5), "Lũy kế từ đầu năm", Sty::Head);
    sh.merge((h, 6), (h + 1, 6), "Ghi chú", Sty::Head);
    // A hidden working column between the results and the remarks.
    sh.hidden_cols = vec![5];
    b.sheets.push(sh);
    let mut r = h + 2;
    for (i, k) in p.led(ag, K::Pct).iter().take(7).enumerate() {
        let sh = &mut b.sheets[0];
        let v = pct(i + 1);
        sh.row(r, vec![t(&format!("{k}.")), t(&p.task(*k)), t(&p.target(*k)), C::N(v), t("%"), C::N(v - 5.0)]);
        let c = sh.cell(r, 3);
        b.st(c, *k, ag, Q2, E::P(v));
        r += 1;
    }
    let sh = &mut b.sheets[0];
    sh.row(r, vec![t(""), t("Tổng cộng"), t(""), C::N(999.0)]);
    let c = sh.cell(r, 3);
    b.skip(c, "dòng tổng cộng");
    b
}

fn w10_statuses(p: &Plan, file: &str, ag: &str, convert: Vec<&'static str>) -> Book {
    let mut b = Book::new(
        file,
        "Trạng thái viết theo nhiều cách; trạng thái trong chỉ tiêu tỷ lệ lưu là trạng thái; N/A, -, Không phát sinh, Không áp dụng: bỏ qua",
        Some(ag),
        Some(Q2),
    );
    b.convert = convert;
    let mut sh = Sh::new("Báo cáo");
    let title = std_title(&p.name(ag), "Quý II năm 2024");
    let refs: Vec<&str> = title.iter().map(String::as_str).collect();
    let hr = sh.title(&refs, 6) + 1;
    sh.header(hr, &STD);
    b.sheets.push(sh);
    let sts = p.led(ag, K::Sts);
    let pcts = p.led(ag, K::Pct);
    let words: [(&str, Option<&str>); 11] = [
        ("Đã triển khai thường xuyên", Some("ongoing")),
        ("Duy trì thường xuyên", Some("ongoing")),
        ("Đã hoàn thành 100%", Some("done")),
        ("Đạt", Some("done")),
        ("X", Some("done")),
        ("HOÀN THÀNH", Some("done")),
        ("Chưa triển khai", Some("not_done")),
        ("Không phát sinh", None),
        ("N/A", None),
        ("-", None),
        ("Không áp dụng", None),
    ];
    let mut items: Vec<ItemKey> = sts.clone();
    items.extend(pcts.iter().copied());
    let mut r = hr + 1;
    for (i, (w, code)) in words.iter().enumerate() {
        // The status words go to status items first, then to percent items.
        let k = if i < 7 { items[i % items.len()] } else { pcts[(i + 4) % pcts.len()] };
        let k = if i == 4 || i == 5 { pcts[i - 4] } else { k };
        let c = std_row(&mut b.sheets[0], r, &k.to_string(), p, k, uom(p, k), t(w), "");
        match code {
            // An agency with few items gets one twice: the second row is a duplicate the
            // officer must remove, whatever it says.
            Some(_) if b.stored.iter().any(|x| x.item == k.to_string()) => {
                b.refuse(c, Some("duplicate"), "đã có", "cùng chỉ tiêu ghi hai dòng")
            }
            Some(s) => b.st(c, k, ag, Q2, E::S(s)),
            None => b.skip(c, "không có số liệu (không phải lỗi)"),
        }
        r += 1;
    }
    b
}

fn w11_sentences(p: &Plan) -> Book {
    let ag = "so_khcn";
    let mut b = Book::new(
        "w11_sentences.xlsx",
        "Kết quả viết thành câu: `Đã triển khai tại 12/15 xã, đạt 80%` (80%); câu có hai số liệu mâu thuẫn: giữ lại",
        Some(ag),
        Some(Q2),
    );
    let mut sh = Sh::new("Sheet1");
    let title = std_title(&p.name(ag), "Quý II năm 2024");
    let refs: Vec<&str> = title.iter().map(String::as_str).collect();
    let hr = sh.title(&refs, 6) + 1;
    sh.header(hr, &STD);
    b.sheets.push(sh);
    let pcts = p.led(ag, K::Pct);
    let mut r = hr + 1;
    let cases = [
        ("Đã triển khai tại 12/15 xã, đạt 80%", Some(80.0)),
        ("Đạt 95% (19/20 đơn vị)", Some(95.0)),
        ("Đã triển khai tại 9/10 đơn vị, đạt 90%", Some(90.0)),
        ("Đạt 90%, tương đương 12/15 đơn vị", None),
    ];
    for (i, (txt, v)) in cases.iter().enumerate() {
        let k = pcts[i];
        let c = std_row(&mut b.sheets[0], r, &k.to_string(), p, k, "%", t(txt), "");
        match v {
            Some(v) => b.st(c, k, ag, Q2, E::P(*v)),
            None => b.held(c, "hai số liệu mâu thuẫn (90% và 12/15 = 80%)"),
        }
        r += 1;
    }
    let sts = p.led(ag, K::Sts);
    if let Some(k) = sts.first() {
        let c = std_row(&mut b.sheets[0], r, &k.to_string(), p, *k, "", t("Đã hoàn thành (tháng 6/2024)"), "");
        b.st(c, *k, ag, Q2, E::S("done"));
    }
    b
}

fn w12_bad_input(p: &Plan, file: &str, convert: Vec<&'static str>) -> Book {
    let ag = "so_tnmt";
    let mut b = Book::new(
        file,
        "Số liệu officer phải sửa: 135%, số âm, ≥10%, khoảng 50%, chỉ tiêu 205 không có, #DIV/0!",
        Some(ag),
        Some(Q2),
    );
    b.convert = convert;
    let mut sh = Sh::new("BC Q2");
    let title = std_title(&p.name(ag), "Quý II năm 2024");
    let refs: Vec<&str> = title.iter().map(String::as_str).collect();
    let hr = sh.title(&refs, 6) + 1;
    sh.header(hr, &STD);
    b.sheets.push(sh);
    let pcts = p.led(ag, K::Pct);
    let mut r = hr + 1;
    let c = std_row(&mut b.sheets[0], r, &pcts[0].to_string(), p, pcts[0], "%", t("135%"), "");
    b.refuse(c, Some("percent_out_of_range"), "100%", "135% vượt quá 100%");
    r += 1;
    let c = std_row(&mut b.sheets[0], r, &pcts[1].to_string(), p, pcts[1], "%", t("≥10%"), "");
    b.refuse(c, None, "≥10%", "dấu so sánh, không phải số liệu");
    r += 1;
    let c = std_row(&mut b.sheets[0], r, &pcts[2].to_string(), p, pcts[2], "%", t("khoảng 50%"), "");
    b.refuse(c, None, "khoảng 50%", "ước chừng, không phải số liệu");
    r += 1;
    let c = std_row(&mut b.sheets[0], r, &pcts[3].to_string(), p, pcts[3], "%", C::Err("=1/0", "#DIV/0!"), "");
    b.refuse(c, None, "DIV/0", "ô lỗi công thức");
    r += 1;
    let sh = &mut b.sheets[0];
    sh.row(r, vec![t("205"), t("Tỷ lệ hồ sơ địa chính được số hóa tại cấp xã"), t("%"), t(""), t("40%")]);
    let c = sh.cell(r, 4);
    b.refuse(c, Some("unknown_item"), "205", "không có chỉ tiêu 205 trong kế hoạch");
    r += 1;
    let c = std_row(&mut b.sheets[0], r, &pcts[4].to_string(), p, pcts[4], "%", C::F(0.77, "0%"), "");
    b.st(c, pcts[4], ag, Q2, E::P(77.0));
    b
}

fn w12b_negative_count(p: &Plan) -> Book {
    let ag = "so_tttt";
    let mut b = Book::new(
        "w12b_negative_count.xlsx",
        "Sở TT&TT: số lượng âm (-2) bị từ chối; các ô khác lưu",
        Some(ag),
        Some(Q2),
    );
    let mut sh = Sh::new("Báo cáo");
    let title = std_title(&p.name(ag), "Quý II năm 2024");
    let refs: Vec<&str> = title.iter().map(String::as_str).collect();
    let hr = sh.title(&refs, 6) + 1;
    sh.header(hr, &STD);
    b.sheets.push(sh);
    let k = p.key("35");
    let r = hr + 1;
    let c = std_row(&mut b.sheets[0], r, "35", p, k, "chuyên gia", C::N(-2.0), "");
    b.refuse(c, Some("negative_count"), "âm", "số lượng âm");
    let pcts = p.led(ag, K::Pct);
    let c = std_row(&mut b.sheets[0], r + 1, &pcts[0].to_string(), p, pcts[0], "%", C::F(0.6, "0%"), "");
    b.st(c, pcts[0], ag, Q2, E::P(60.0));
    b
}

fn w13_signature_agency(p: &Plan) -> Book {
    let ag = "so_nv";
    let mut b = Book::new(
        "w13_agency_in_signature.xlsx",
        "Đơn vị chỉ có ở khối chữ ký (`GIÁM ĐỐC SỞ NỘI VỤ`); không truyền --agency",
        None,
        Some(Q2),
    );
    let mut sh = Sh::new("Sheet1");
    let hr = sh.title(
        &[
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "",
            "KẾT QUẢ THỰC HIỆN CHUYỂN ĐỔI SỐ QUÝ II NĂM 2024",
        ],
        6,
    ) + 1;
    sh.header(hr, &STD);
    b.sheets.push(sh);
    let mut r = hr + 1;
    for (i, k) in p.led(ag, K::Pct).iter().take(5).enumerate() {
        let c = std_row(&mut b.sheets[0], r, &k.to_string(), p, *k, "%", C::F(pct(i + 2) / 100.0, "0.0%"), "");
        b.st(c, *k, ag, Q2, E::P(pct(i + 2)));
        r += 1;
    }
    signature(&mut b, 0, r + 1, 4, "GIÁM ĐỐC SỞ NỘI VỤ", "Trần Thị Bình");
    b
}

fn w14_agency_in_filename(p: &Plan) -> Book {
    let ag = "so_tp";
    let mut b = Book::new(
        "BaoCao_CDS_Q2-2024_SoTuPhap.xlsx",
        "Đơn vị chỉ có trong tên tệp; không truyền --agency",
        None,
        Some(Q2),
    );
    let mut sh = Sh::new("Sheet1");
    let hr = sh.title(&["BÁO CÁO KẾT QUẢ CHUYỂN ĐỔI SỐ QUÝ II/2024"], 6) + 1;
    sh.header(hr, &STD);
    b.sheets.push(sh);
    let mut r = hr + 1;
    for (i, k) in p.led(ag, K::Pct).iter().take(5).enumerate() {
        let c = std_row(&mut b.sheets[0], r, &k.to_string(), p, *k, "%", t(&format!("{}%", vi_num(pct(i + 4)))), "");
        b.st(c, *k, ag, Q2, E::P(pct(i + 4)));
        r += 1;
    }
    b
}

fn w15_district_not_named(p: &Plan) -> Book {
    let ag = "h_vung_liem";
    let mut b = Book::new(
        "w15_district_not_named.xlsx",
        "Huyện Vũng Liêm báo cáo trạng thái chỉ tiêu 41, 43, 45 dù chỉ tiêu năm nêu tên các huyện khác: lưu (đánh giá: không áp dụng), không từ chối",
        Some(ag),
        Some(Q2),
    );
    b.convert = vec!["ods"];
    let mut sh = Sh::new("Huyện Vũng Liêm");
    let hr = sh.title(&["UBND HUYỆN VŨNG LIÊM", "", "BÁO CÁO CHUYỂN ĐỔI SỐ QUÝ II NĂM 2024"], 6) + 1;
    sh.header(hr, &STD);
    b.sheets.push(sh);
    let mut r = hr + 1;
    // Items whose 2024 target names its units: each district reports whether it has done it.
    for (k, v, code) in [
        ("41", "Đang triển khai", "in_progress"),
        ("43", "Chưa thực hiện", "not_done"),
        ("45", "Đã hoàn thành", "done"),
    ] {
        let k = p.key(k);
        let c = std_row(&mut b.sheets[0], r, &k.to_string(), p, k, "", t(v), "");
        b.st(c, k, ag, Q2, E::S(code));
        r += 1;
    }
    for (i, k) in p.led(ag, K::Pct).iter().filter(|k| ![41, 43, 45].contains(&k.number)).take(4).enumerate() {
        let c = std_row(&mut b.sheets[0], r, &k.to_string(), p, *k, "%", C::F(pct(i) / 100.0, "0.0%"), "");
        b.st(c, *k, ag, Q2, E::P(pct(i)));
        r += 1;
    }
    signature(&mut b, 0, r + 1, 4, "TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH");
    b
}

fn w16_two_tables(p: &Plan) -> Book {
    let ag = "so_yt";
    let mut b = Book::new(
        "w16_two_tables.xlsx",
        "Hai bảng trên một sheet: nhiệm vụ chủ trì, rồi `NHIỆM VỤ PHỐI HỢP` với tiêu đề riêng (số liệu phối hợp lưu cho đơn vị báo cáo)",
        Some(ag),
        Some(Q2),
    );
    b.convert = vec!["xls"];
    let mut sh = Sh::new("Báo cáo");
    let title = std_title(&p.name(ag), "Quý II năm 2024");
    let refs: Vec<&str> = title.iter().map(String::as_str).collect();
    let hr = sh.title(&refs, 6) + 1;
    sh.merge((hr - 1, 0), (hr - 1, 5), "I. NHIỆM VỤ CHỦ TRÌ", Sty::Bold);
    sh.header(hr, &STD);
    b.sheets.push(sh);
    let mut r = hr + 1;
    for (i, k) in p.led(ag, K::Pct).iter().skip(3).take(4).enumerate() {
        let c = std_row(&mut b.sheets[0], r, &k.to_string(), p, *k, "%", C::F(pct(i + 6) / 100.0, "0.0%"), "");
        b.st(c, *k, ag, Q2, E::P(pct(i + 6)));
        r += 1;
    }
    r += 1;
    let sh = &mut b.sheets[0];
    sh.merge((r, 0), (r, 5), "II. NHIỆM VỤ PHỐI HỢP", Sty::Bold);
    let c = sh.cell(r, 4);
    b.skip(c, "tiêu đề bảng phối hợp");
    r += 1;
    let sh = &mut b.sheets[0];
    sh.header(
        r,
        &["STT", "Nội dung nhiệm vụ", "Cơ quan chủ trì", "Chỉ tiêu năm 2024", "Kết quả phối hợp thực hiện", "Ghi chú"],
    );
    let c = sh.cell(r, 4);
    b.skip(c, "dòng tiêu đề của bảng thứ hai");
    r += 1;
    for (i, k) in p.co_of(ag, K::Pct).iter().take(3).enumerate() {
        let sh = &mut b.sheets[0];
        let lead = p
            .catalog
            .indicator(*k)
            .map(|i| i.lead.iter().map(|a| p.name(a.as_str())).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        sh.row(
            r,
            vec![t(&k.to_string()), t(&p.task(*k)), t(&lead), t(&p.target(*k)), t(&format!("{}%", vi_num(pct(i + 1))))],
        );
        let c = sh.cell(r, 4);
        b.st(c, *k, ag, Q2, E::P(pct(i + 1)));
        r += 1;
    }
    b
}

fn w17_quarter_columns(p: &Plan) -> Book {
    let ag = "so_xd";
    let mut b = Book::new(
        "w17_quarter_columns.xlsx",
        "Sổ theo dõi cả năm: một cột kết quả mỗi quý (Quý I | Quý II | Quý III); chỉ cột quý đang thu",
        Some(ag),
        Some(Q2),
    );
    let mut sh = Sh::new("Theo dõi 2024");
    let hr = sh.title(&["SỞ XÂY DỰNG", "THEO DÕI THỰC HIỆN KẾ HOẠCH 742/KH-UBND NĂM 2024"], 7) + 1;
    sh.merge((hr, 0), (hr + 1, 0), "STT", Sty::Head);
    sh.merge((hr, 1), (hr + 1, 1), "Nhiệm vụ", Sty::Head);
    sh.merge((hr, 2), (hr + 1, 2), "Chỉ tiêu năm 2024", Sty::Head);
    sh.merge((hr, 3), (hr, 6), "Kết quả thực hiện", Sty::Head);
    for (i, q) in ["Quý I", "Quý II", "Quý III", "Quý IV"].iter().enumerate() {
        sh.styled(hr + 1, 3 + i as u16, t(q), Sty::Head);
    }
    b.sheets.push(sh);
    let mut r = hr + 2;
    for (i, k) in p.led(ag, K::Pct).iter().take(6).enumerate() {
        let sh = &mut b.sheets[0];
        let q1 = pct(i) - 20.0;
        let q2 = pct(i);
        sh.row(r, vec![t(&k.to_string()), t(&p.task(*k)), t(&p.target(*k)), C::N(q1.max(0.0)), C::N(q2)]);
        let (c1, c2) = (sh.cell(r, 3), sh.cell(r, 4));
        b.st(c2, *k, ag, Q2, E::P(q2));
        b.skip(c1, "cột Quý I, không phải quý đang thu");
        r += 1;
    }
    b
}

fn w18_sheet_per_quarter(p: &Plan, file: &str, convert: Vec<&'static str>) -> Book {
    let ag = "so_ldtbxh";
    let mut b =
        Book::new(file, "Một sheet mỗi quý (Quý I … Quý IV): chỉ đọc sheet của quý đang thu", Some(ag), Some(Q2));
    b.convert = convert;
    let items = p.led(ag, K::Pct);
    for (qi, q) in ["Quý I", "Quý II", "Quý III", "Quý IV"].iter().enumerate() {
        let mut sh = Sh::new(q);
        let roman = ["I", "II", "III", "IV"][qi];
        let ttl = format!("BÁO CÁO CHUYỂN ĐỔI SỐ QUÝ {roman} NĂM 2024");
        let hr = sh.title(&["SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI", &ttl], 6) + 1;
        let res = format!("Kết quả thực hiện Quý {roman}/2024");
        sh.header(hr, &["STT", "Nhiệm vụ / Chỉ tiêu", "ĐVT", "Chỉ tiêu năm 2024", &res, "Ghi chú"]);
        b.sheets.push(sh);
        if qi >= 2 {
            continue; // not yet filled in
        }
        let mut r = hr + 1;
        for (i, k) in items.iter().take(5).enumerate() {
            let v = if qi == 0 { pct(i) - 15.0 } else { pct(i) };
            let v = v.max(0.0);
            let c = std_row(&mut b.sheets[qi], r, &k.to_string(), p, *k, "%", C::N(v), "");
            if qi == 1 {
                b.st(c, *k, ag, Q2, E::P(v));
            } else {
                b.skip(c, "sheet Quý I, không phải quý đang thu");
            }
            r += 1;
        }
    }
    b
}

fn w19_fonts_blank_rows(p: &Plan) -> Book {
    let ag = "so_tc";
    let mut b = Book::new(
        "w19_blank_rows_notes.xlsx",
        "Dòng trống giữa bảng, ghi chú dài, phông VNI-Times, tiêu đề cách bảng nhiều dòng",
        Some(ag),
        Some(Q2),
    );
    b.convert = vec!["xls", "ods"];
    let mut sh = Sh::new("Sheet1");
    sh.font = Some(("Arial", 10.0));
    let title = std_title(&p.name(ag), "Quý II năm 2024");
    let refs: Vec<&str> = title.iter().map(String::as_str).collect();
    let hr = sh.title(&refs, 6) + 3;
    sh.header(hr, &["STT", "Nhiệm vụ trọng tâm", "ĐVT", "Chỉ tiêu năm 2024", "Kết quả", "Ghi chú"]);
    b.sheets.push(sh);
    let mut r = hr + 1;
    for (i, k) in p.led(ag, K::Pct).iter().take(6).enumerate() {
        if i == 3 {
            r += 2;
        }
        let note =
            if i % 2 == 0 { "Số liệu lấy từ Cổng dịch vụ công quốc gia ngày 14/6/2024" } else { "" };
        let c = std_row(&mut b.sheets[0], r, &format!("{k}."), p, *k, "%", C::F(pct(i + 7) / 100.0, "0%"), note);
        b.st(c, *k, ag, Q2, E::P(pct(i + 7)));
        r += 1;
    }
    let sh = &mut b.sheets[0];
    sh.merge((r + 1, 0), (r + 1, 5), "Ghi chú: Số liệu tính đến ngày 14/6/2024.", Sty::Italic);
    let c = sh.cell(r + 1, 4);
    b.skip(c, "dòng ghi chú dưới bảng");
    b
}

fn w20_other_quarter_title(p: &Plan) -> Book {
    let ag = "so_gtvt";
    let mut b = Book::new(
        "w20_result_header_so_lieu.xlsx",
        "Cột kết quả tên `Số liệu`; ĐVT ghi `%`; phần trăm kiểu 85,5 (không có dấu %)",
        Some(ag),
        Some(Q2),
    );
    let mut sh = Sh::new("Số liệu");
    let title = std_title(&p.name(ag), "Quý II năm 2024");
    let refs: Vec<&str> = title.iter().map(String::as_str).collect();
    let hr = sh.title(&refs, 6) + 1;
    sh.header(hr, &["STT", "Chỉ tiêu", "ĐVT", "Chỉ tiêu năm 2024", "Số liệu", "Ghi chú"]);
    b.sheets.push(sh);
    let mut r = hr + 1;
    for (i, k) in p.led(ag, K::Pct).iter().take(5).enumerate() {
        let c = std_row(&mut b.sheets[0], r, &k.to_string(), p, *k, "%", t(&vi_num(pct(i + 2))), "");
        b.st(c, *k, ag, Q2, E::P(pct(i + 2)));
        r += 1;
    }
    b
}

fn w21_status_in_count(p: &Plan) -> Book {
    let ag = "so_nnptnt";
    let mut b = Book::new(
        "w21_status_in_count.xlsx",
        "Trạng thái trong chỉ tiêu đếm (105: `Đạt`) và tỷ lệ (`Hoàn thành`): lưu là trạng thái; một sheet cũ bị ẩn đứng trước",
        Some(ag),
        Some(Q2),
    );
    b.convert = vec!["xls"];
    let mut old = Sh::new("Quý I (cũ)");
    old.hidden = true;
    old.header(0, &STD);
    old.row(1, vec![t("105"), t(&p.task(p.key("105"))), t(""), t(""), C::N(3.0)]);
    b.sheets.push(old);
    let mut sh = Sh::new("Quý II");
    let title = std_title(&p.name(ag), "Quý II năm 2024");
    let refs: Vec<&str> = title.iter().map(String::as_str).collect();
    let hr = sh.title(&refs, 6) + 1;
    sh.header(hr, &STD);
    b.sheets.push(sh);
    let k = p.key("105");
    let r = hr + 1;
    let c = std_row(&mut b.sheets[1], r, "105", p, k, "sản phẩm", t("Đạt"), "Đã có 8 sản phẩm được cấp mã truy xuất");
    b.st(c, k, ag, Q2, E::S("done"));
    let pcts = p.led(ag, K::Pct);
    let c = std_row(&mut b.sheets[1], r + 1, &pcts[0].to_string(), p, pcts[0], "%", t("Hoàn thành"), "");
    b.st(c, pcts[0], ag, Q2, E::S("done"));
    let c = std_row(&mut b.sheets[1], r + 2, &pcts[1].to_string(), p, pcts[1], "%", C::F(0.85, "0%"), "");
    b.st(c, pcts[1], ag, Q2, E::P(85.0));
    b
}

// ---------------------------------------------------------------------------------------
// Long layouts

/// Commune percent items for 2024 (led by every commune).
fn commune_items(p: &Plan) -> Vec<ItemKey> {
    p.led("xa_29659", K::Pct).into_iter().take(3).collect()
}

fn l01_year_quarter(p: &Plan, file: &str, period: Option<&str>, convert: Vec<&'static str>) -> Book {
    let about = if period.is_some() {
        "Xuất từ hệ thống: một dòng mỗi xã × chỉ tiêu × quý, cột Năm + Quý, quý I và II; thu quý II: chỉ lưu quý II"
    } else {
        "Cùng tệp xuất hệ thống, nạp lại số liệu cũ không có kỳ: lưu mọi quý"
    };
    let mut b = Book::new(file, about, None, period);
    b.convert = convert;
    let mut sh = Sh::new("Data");
    let hr = 0;
    sh.header(hr, &["Mã ĐVHC", "Tên đơn vị", "Huyện", "Mã chỉ tiêu", "Tên chỉ tiêu", "Năm", "Quý", "Giá trị"]);
    b.sheets.push(sh);
    let items = commune_items(p);
    let communes = p.communes("h_vung_liem");
    let mut r = hr + 1;
    for q in [1u8, 2] {
        for (ci, (id, code, name)) in communes.iter().take(6).enumerate() {
            for (ii, k) in items.iter().enumerate() {
                let v = (40 + (ci * 7 + ii * 11 + q as usize * 5) % 60) as f64;
                let sh = &mut b.sheets[0];
                sh.row(
                    r,
                    vec![
                        t(code),
                        t(name),
                        t("Huyện Vũng Liêm"),
                        t(&k.to_string()),
                        t(&p.task(*k)),
                        C::N(2024.0),
                        C::N(q as f64),
                        C::N(v),
                    ],
                );
                let c = sh.cell(r, 7);
                let per = format!("2024-Q{q}");
                if period.is_none() || period == Some(per.as_str()) {
                    b.st(c, *k, id, &per, E::P(v));
                } else {
                    b.skip(c, "dòng của quý khác quý đang thu");
                }
                r += 1;
            }
        }
    }
    b
}

fn l02_period_column(p: &Plan) -> Book {
    let mut b = Book::new(
        "l02_ky_bao_cao.xlsx",
        "Một dòng mỗi xã × chỉ tiêu, cột `Kỳ báo cáo` (Quý I/2024 … Quý III/2024); thu quý II",
        None,
        Some(Q2),
    );
    b.convert = vec!["ods"];
    let mut sh = Sh::new("Tổng hợp cấp xã");
    let hr = sh.title(&["TỔNG HỢP SỐ LIỆU CHUYỂN ĐỔI SỐ CẤP XÃ"], 6) + 1;
    sh.header(hr, &["Kỳ báo cáo", "Mã xã", "Tên xã", "STT", "Chỉ tiêu", "Kết quả"]);
    b.sheets.push(sh);
    let items = commune_items(p);
    let communes = p.communes("h_tam_binh");
    let mut r = hr + 1;
    for (qi, q) in ["Quý I/2024", "Quý II/2024", "Quý III/2024"].iter().enumerate() {
        for (ci, (id, code, name)) in communes.iter().take(4).enumerate() {
            for (ii, k) in items.iter().take(2).enumerate() {
                let v = (50 + (ci * 3 + ii * 13 + qi * 7) % 50) as f64;
                let sh = &mut b.sheets[0];
                sh.row(
                    r,
                    vec![t(q), t(code), t(name), t(&k.to_string()), t(&p.task(*k)), t(&format!("{}%", vi_num(v)))],
                );
                let c = sh.cell(r, 5);
                if qi == 1 {
                    b.st(c, *k, id, Q2, E::P(v));
                } else {
                    b.skip(c, "dòng của quý khác quý đang thu");
                }
                r += 1;
            }
        }
    }
    b
}

fn l03_month_column(p: &Plan) -> Book {
    let mut b = Book::new(
        "l03_thang.xlsx",
        "Một dòng mỗi xã × chỉ tiêu, cột Năm + Tháng (tháng 3 = quý I, tháng 6 = quý II); thu quý II",
        None,
        Some(Q2),
    );
    let mut sh = Sh::new("Sheet1");
    let hr = 0;
    sh.header(hr, &["Năm", "Tháng", "Mã đơn vị", "Tên đơn vị", "Chỉ tiêu số", "Kết quả"]);
    b.sheets.push(sh);
    let items = commune_items(p);
    let communes = p.communes("h_mang_thit");
    let mut r = hr + 1;
    for m in [3u8, 6] {
        for (ci, (id, code, name)) in communes.iter().take(4).enumerate() {
            for (ii, k) in items.iter().take(2).enumerate() {
                let v = (30 + (ci * 9 + ii * 5 + m as usize) % 70) as f64;
                let sh = &mut b.sheets[0];
                sh.row(
                    r,
                    vec![C::N(2024.0), C::N(m as f64), t(code), t(name), t(&k.to_string()), C::F(v / 100.0, "0%")],
                );
                let c = sh.cell(r, 5);
                if m == 6 {
                    b.st(c, *k, id, Q2, E::P(v));
                } else {
                    b.skip(c, "tháng 3 thuộc quý I");
                }
                r += 1;
            }
        }
    }
    b
}

fn l04_unit_resolution(p: &Plan, file: &str, convert: Vec<&'static str>) -> Book {
    let mut b = Book::new(
        file,
        "Đơn vị theo mã + tên + huyện: mã lạ nhưng tên + huyện chỉ ra một xã: lưu; mã và tên không khớp: giữ lại",
        None,
        Some(Q2),
    );
    b.convert = convert;
    let mut sh = Sh::new("Cấp xã");
    let hr = sh.title(&["SỐ LIỆU CHUYỂN ĐỔI SỐ CẤP XÃ — QUÝ II/2024"], 6) + 1;
    sh.header(hr, &["Mã ĐVHC", "Tên đơn vị", "Huyện", "STT", "Chỉ tiêu", "Kết quả"]);
    b.sheets.push(sh);
    let items = commune_items(p);
    let communes = p.communes("h_vung_liem");
    let mut r = hr + 1;
    for (ci, (id, code, name)) in communes.iter().take(5).enumerate() {
        let k = items[ci % items.len()];
        let v = (60 + ci * 6) as f64;
        let sh = &mut b.sheets[0];
        sh.row(r, vec![t(code), t(name), t("Vũng Liêm"), t(&k.to_string()), t(&p.task(k)), C::N(v)]);
        let c = sh.cell(r, 5);
        b.st(c, k, id, Q2, E::P(v));
        r += 1;
    }
    let k = items[0];
    // An unknown code, but the name and district point at one commune.
    let (id, _, name) = communes[2].clone();
    let sh = &mut b.sheets[0];
    sh.row(r, vec![t("29999"), t(&name), t("Vũng Liêm"), t(&k.to_string()), t(&p.task(k)), C::N(77.0)]);
    let c = sh.cell(r, 5);
    b.st(c, k, &id, Q2, E::P(77.0));
    r += 1;
    // A code of one commune with the name of another: held.
    let (_, code0, _) = communes[0].clone();
    let (_, _, name3) = communes[3].clone();
    let sh = &mut b.sheets[0];
    sh.row(r, vec![t(&code0), t(&name3), t("Vũng Liêm"), t(&items[1].to_string()), t(&p.task(items[1])), C::N(66.0)]);
    let c = sh.cell(r, 5);
    b.held(c, "mã ĐVHC và tên đơn vị chỉ hai xã khác nhau");
    b
}

fn l05_district_long(p: &Plan) -> Book {
    let mut b = Book::new(
        "l05_districts_long.xlsx",
        "Một dòng mỗi huyện × chỉ tiêu (41, 45, chỉ tiêu năm nêu tên huyện): trạng thái của huyện không có tên vẫn được lưu",
        None,
        Some(Q2),
    );
    let mut sh = Sh::new("Cấp huyện");
    let hr = sh.title(&["TỔNG HỢP KẾT QUẢ CẤP HUYỆN QUÝ II/2024"], 5) + 1;
    sh.header(hr, &["Đơn vị", "STT", "Chỉ tiêu", "Kết quả", "Ghi chú"]);
    b.sheets.push(sh);
    let mut r = hr + 1;
    let ds = [
        ("tp_vinh_long", "UBND thành phố Vĩnh Long"),
        ("h_vung_liem", "UBND huyện Vũng Liêm"),
        ("h_tra_on", "UBND huyện Trà Ôn"),
        ("h_tam_binh", "UBND huyện Tam Bình"),
    ];
    for (di, (id, name)) in ds.iter().enumerate() {
        for (ii, k) in ["41", "45"].iter().enumerate() {
            let k = p.key(k);
            let (v, code) =
                [("Hoàn thành", "done"), ("Đang thực hiện", "in_progress"), ("Chưa triển khai", "not_done")]
                    [(di + ii) % 3];
            let sh = &mut b.sheets[0];
            sh.row(r, vec![t(name), t(&k.to_string()), t(&p.task(k)), t(v)]);
            let c = sh.cell(r, 3);
            b.st(c, k, id, Q2, E::S(code));
            r += 1;
        }
    }
    b
}

// ---------------------------------------------------------------------------------------
// Writing

fn write_xlsx(b: &Book) -> Vec<u8> {
    let mut wb = Workbook::new();
    let mut first_visible = None;
    for (i, s) in b.sheets.iter().enumerate() {
        let (font, size) = s.font.unwrap_or(("Times New Roman", 13.0));
        let base = Format::new().set_font_name(font).set_font_size(size);
        let cell = base.clone().set_border(FormatBorder::Thin).set_text_wrap();
        let title = base.clone().set_bold().set_align(FormatAlign::Center);
        let head = base
            .clone()
            .set_bold()
            .set_border(FormatBorder::Thin)
            .set_text_wrap()
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter)
            .set_background_color("#DDEBF7");
        let bold = base.clone().set_bold();
        let italic = base.clone().set_italic();
        let fmt = |st: Sty| match st {
            Sty::Cell => cell.clone(),
            Sty::Title => title.clone(),
            Sty::Head => head.clone(),
            Sty::Bold => bold.clone(),
            Sty::Italic => italic.clone(),
        };
        let ws = wb.add_worksheet();
        ws.set_name(&s.name).expect("a sheet name");
        ws.set_column_width(0, 7.0).expect("width");
        ws.set_column_width(1, 55.0).expect("width");
        for c in 2..10 {
            ws.set_column_width(c, 16.0).expect("width");
        }
        for (c, w) in &s.widths {
            ws.set_column_width(*c, *w).expect("width");
        }
        for (r1, c1, r2, c2, text, st) in &s.merges {
            if r1 == r2 && c1 == c2 {
                ws.write_with_format(*r1, *c1, text.as_str(), &fmt(*st)).expect("write");
            } else {
                ws.merge_range(*r1, *c1, *r2, *c2, text, &fmt(*st)).expect("merge");
            }
        }
        for ((r, c), (v, st)) in &s.cells {
            let f = fmt(st.unwrap_or(Sty::Cell));
            match v {
                C::T(x) => ws.write_with_format(*r, *c, x.as_str(), &f).map(|_| ()),
                C::N(x) => ws.write_with_format(*r, *c, *x, &f).map(|_| ()),
                C::F(x, nf) => ws.write_with_format(*r, *c, *x, &f.clone().set_num_format(*nf)).map(|_| ()),
                C::Err(formula, cached) => {
                    ws.write_formula_with_format(*r, *c, Formula::new(*formula).set_result(*cached), &f).map(|_| ())
                }
            }
            .expect("write");
        }
        for c in &s.hidden_cols {
            ws.set_column_hidden(*c).expect("hide");
        }
        if s.hidden {
            ws.set_hidden(true);
        } else if first_visible.is_none() {
            first_visible = Some(i);
        }
    }
    if let Some(i) = first_visible {
        wb.worksheet_from_index(i).expect("a sheet").set_active(true);
    }
    // A fixed creation time, so the same program writes the same bytes.
    let created = ExcelDateTime::from_ymd(2024, 6, 20).expect("a date");
    wb.set_properties(&DocProperties::new().set_author("chiso corpus").set_creation_datetime(&created));
    wb.save_to_buffer().expect("xlsx")
}

fn q(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn expect_toml(b: &Book, file: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {file}: {}", b.about);
    let _ = writeln!(s, "# Generated by `cargo run --example make_corpus`; do not edit by hand.");
    if let Some(a) = &b.agency {
        let _ = writeln!(s, "agency = {}", q(a));
    }
    if let Some(p) = &b.period {
        let _ = writeln!(s, "period = {}", q(p));
    }
    for e in &b.stored {
        let (kind, value) = match e.value {
            E::P(v) => ("percent", format!("{v:?}")),
            E::N(v) => ("count", format!("{v:?}")),
            E::S(code) => ("status", q(code)),
        };
        let _ = writeln!(
            s,
            "\n[[stored]]\ncell = {}\nitem = {}\nmeasure = {}\nagency = {}\nperiod = {}\nkind = \"{kind}\"\nvalue = {value}",
            q(&e.cell),
            q(&e.item),
            q(&e.measure),
            q(&e.agency),
            q(&e.period)
        );
    }
    for n in &b.not_stored {
        let _ = writeln!(s, "\n[[not_stored]]\ncell = {}\noutcome = \"{}\"", q(&n.cell), n.outcome);
        if let Some(c) = n.code {
            let _ = writeln!(s, "code = {}", q(c));
        }
        if let Some(w) = &n.word {
            let _ = writeln!(s, "word = {}", q(w));
        }
        let _ = writeln!(s, "why = {}", q(&n.why));
    }
    s
}

fn main() {
    let convert = std::env::args().any(|a| a == "--convert");
    let dir = Directory::load(Path::new("config/agencies.toml")).expect("directory");
    let plan = PlanFile::load(Path::new("config/plans/kh-742-2023.toml")).expect("plan");
    let overrides = OverridesFile::load(Path::new("config/plans/kh-742-2023.overrides.toml")).expect("overrides");
    let catalog = Catalog::build(&plan, &overrides, "overrides", &dir).expect("catalog");
    let date = ReportingCalendar::default().cutoff(Period::new(2024, 2).expect("a period"));
    let asg = Assignments::new(&catalog, &dir, 2024, date);
    let p = Plan { catalog, dir, date, asg };

    let books = vec![
        w01_plan_numbers(&p),
        w02_running_counter(&p, "w02_running_counter.xlsx", "so_gddt", vec!["xls", "ods"]),
        w02_running_counter(&p, "w02b_running_counter_nnptnt.xlsx", "so_nnptnt", vec![]),
        w03_outline_numbers(&p, "w03_outline_chi_tieu_so.xlsx", "so_tp", "Chỉ tiêu số", vec!["ods"]),
        w03_outline_numbers(&p, "w03b_outline_so_tt_theo_kh.xlsx", "so_yt", "Số TT theo KH", vec!["xls"]),
        w04_texts_only(&p),
        w05_percent_fractions(&p),
        w06_text_percents(&p),
        w07_counts(&p),
        w07b_count_ambiguous(&p),
        w08_three_row_header(&p, "w08_three_row_header.xlsx", vec!["xls", "ods"]),
        w09_two_row_header(&p),
        w10_statuses(&p, "w10_statuses.xlsx", "so_tttt", vec!["ods"]),
        w10_statuses(&p, "w10b_statuses_vp.xlsx", "vp_ubnd", vec!["xls"]),
        w11_sentences(&p),
        w12_bad_input(&p, "w12_bad_input.xlsx", vec!["xls", "ods"]),
        w12b_negative_count(&p),
        w13_signature_agency(&p),
        w14_agency_in_filename(&p),
        w15_district_not_named(&p),
        w16_two_tables(&p),
        w17_quarter_columns(&p),
        w18_sheet_per_quarter(&p, "w18_sheet_per_quarter.xlsx", vec!["ods"]),
        w19_fonts_blank_rows(&p),
        w20_other_quarter_title(&p),
        w21_status_in_count(&p),
        l01_year_quarter(&p, "l01_nam_quy.xlsx", Some(Q2), vec!["xls", "ods"]),
        l01_year_quarter(&p, "l01b_nam_quy_backfill.xlsx", None, vec![]),
        l02_period_column(&p),
        l03_month_column(&p),
        l04_unit_resolution(&p, "l04_unit_code_name.xlsx", vec!["ods"]),
        l05_district_long(&p),
    ];
    let out = PathBuf::from(OUT);
    std::fs::create_dir_all(&out).expect("create the corpus folder");
    let mut count = 0;
    for b in &books {
        let path = out.join(&b.file);
        std::fs::write(&path, write_xlsx(b)).expect("write xlsx");
        std::fs::write(out.join(format!("{}.expect.toml", b.file)), expect_toml(b, &b.file)).expect("write expect");
        count += 1;
        let stem = b.file.trim_end_matches(".xlsx");
        for ext in &b.convert {
            let converted = format!("{stem}.{ext}");
            std::fs::write(out.join(format!("{converted}.expect.toml")), expect_toml(b, &converted))
                .expect("write expect");
            count += 1;
            if convert {
                let status = std::process::Command::new("soffice")
                    .args(["--headless", "--convert-to", ext, "--outdir", OUT])
                    .arg(&path)
                    .status()
                    .expect("LibreOffice (soffice) runs");
                assert!(status.success(), "soffice failed on {}", path.display());
            }
        }
    }
    println!(
        "{count} workbooks and expectations in {OUT}{}",
        if convert { "" } else { " (run with --convert for the .xls/.ods copies)" }
    );
}
