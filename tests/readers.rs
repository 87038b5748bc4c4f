//! The workbook readers: the unit of a number comes from the file (percent formats in xlsx
//! and xls, value types in ods), error cells are errors, inputs are bounded, and no file,
//! however damaged, makes a reader panic out.

use std::io::{Cursor, Write};
use std::sync::Arc;

use chiso::ingest::sheet::{Cell, ReadError, ReadLimits, Row, Workbook};
use proptest::prelude::*;

const FORMATS: [&str; 3] = [
    "tests/data/formats/so_yte_q2_2024.xlsx",
    "tests/data/formats/so_yte_q2_2024.xls",
    "tests/data/formats/so_yte_q2_2024.ods",
];

fn bytes(path: &str) -> Arc<[u8]> {
    Arc::from(std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn rows(wb: &mut Workbook, sheet: &str) -> Result<Vec<Row>, ReadError> {
    let mut source = wb.rows(sheet)?;
    let mut out = Vec::new();
    while let Some(row) = source.next_row()? {
        out.push(row);
    }
    Ok(out)
}

fn num(value: f64) -> Cell {
    Cell::Number { value, percent: false }
}

fn pct(value: f64) -> Cell {
    Cell::Number { value, percent: true }
}

fn text(s: &str) -> Cell {
    Cell::Text(s.into())
}

#[test]
fn every_format_carries_the_unit_of_each_number() {
    let items = [
        "Tỷ lệ hồ sơ thủ tục hành chính giải quyết trực tuyến toàn trình",
        "Tỷ lệ cơ sở khám chữa bệnh kết nối liên thông dữ liệu",
        "Số hồ sơ tiếp nhận trực tuyến",
        "Số cơ sở y tế triển khai bệnh án điện tử",
        "Tỷ lệ trạm y tế xã có phần mềm quản lý",
        "Tỷ lệ người dân có hồ sơ sức khoẻ điện tử",
        "Tỷ lệ thanh toán viện phí không dùng tiền mặt",
        "Tỷ lệ hồ sơ được số hoá",
        "Tỷ lệ hồ sơ trễ hạn",
        "Tỷ lệ cơ sở y tế có chữ ký số",
    ];
    let units = ["%", "%", "Hồ sơ", "Cơ sở", "%", "%", "%", "%", "%", "%"];
    let results = [
        pct(0.823),                    // 0.0%
        pct(0.95),                     // 0%
        num(1250.0),                   // #,##0
        num(85.0),                     // General
        num(0.75),                     // General, below 1: not a percentage
        num(45.5),                     // 0.00" %": the % is quoted
        text("85,5%"),                 // typed as text
        pct(0.625),                    // formula in a 0.0% cell
        Cell::Error("#DIV/0!".into()), // formula error
        pct(1.0),                      // 100%
    ];
    let notes = [(10, "Số liệu nhập dạng thập phân"), (11, "Định dạng 0.00\" %\""), (14, "Chưa có số liệu quý trước")];
    let mut expected = vec![
        Row { index: 0, cells: vec![text("UBND TỈNH VĨNH LONG")] },
        Row { index: 1, cells: vec![text("SỞ Y TẾ")] },
        Row { index: 3, cells: vec![text("BÁO CÁO KẾT QUẢ THỰC HIỆN QUÝ II NĂM 2024")] },
        Row {
            index: 5, cells: ["STT", "Nhiệm vụ/Chỉ tiêu", "ĐVT", "Kết quả thực hiện", "Ghi chú"].map(text).to_vec()
        },
    ];
    for (i, ((item, unit), result)) in items.iter().zip(units).zip(results).enumerate() {
        let index = 6 + i as u32;
        let mut cells = vec![num((i + 1) as f64), text(item), text(unit), result];
        if let Some((_, note)) = notes.iter().find(|(r, _)| *r == index) {
            cells.push(text(note));
        }
        expected.push(Row { index, cells });
    }
    for path in FORMATS {
        let mut wb = Workbook::open(bytes(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let names: Vec<String> = wb.sheets().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["BC quý 2"], "{path}");
        let got: Vec<Row> = rows(&mut wb, "BC quý 2")
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .into_iter()
            .filter(|r| !r.is_blank())
            .collect();
        assert_eq!(got.len(), expected.len(), "{path}: {got:#?}");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g, e, "{path}, row {}", e.index + 1);
        }
    }
}

#[test]
fn legacy_fixtures_read_the_same_percent_flags_in_every_format() {
    let read = |path: &str| {
        let mut wb = Workbook::open(bytes(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let sheet = wb.sheets()[0].name.clone();
        let flags: Vec<(u32, usize, f64, bool)> = rows(&mut wb, &sheet)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .into_iter()
            .flat_map(|r| {
                let index = r.index;
                r.cells.into_iter().enumerate().filter_map(move |(c, cell)| match cell {
                    Cell::Number { value, percent } => Some((index, c, value, percent)),
                    _ => None,
                })
            })
            .collect();
        flags
    };
    let xlsx = read("tests/data/legacy.xlsx");
    assert!(xlsx.iter().any(|f| f.3), "legacy.xlsx has percent cells");
    assert_eq!(read("tests/data/legacy.xls"), xlsx);
    assert_eq!(read("tests/data/legacy.ods"), xlsx);
}

/// A zip that looks like an xlsx, with the given parts deflated.
fn zip_of(parts: &[(&str, &[u8])]) -> Arc<[u8]> {
    let mut out = Cursor::new(Vec::new());
    let mut w = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in parts {
        w.start_file(*name, options).expect("start part");
        w.write_all(data).expect("write part");
    }
    w.finish().expect("finish zip");
    Arc::from(out.into_inner())
}

/// A minimal xlsx with one sheet `Dữ liệu` whose A1..An are inline strings.
fn xlsx_with_cells(cells: &[String]) -> Arc<[u8]> {
    let content_types = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
    let rels = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    let workbook = r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Dữ liệu" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    let workbook_rels = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;
    let mut sheet = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (i, c) in cells.iter().enumerate() {
        sheet.push_str(&format!(r#"<row r="{0}"><c r="A{0}" t="inlineStr"><is><t>{c}</t></is></c></row>"#, i + 1));
    }
    sheet.push_str("</sheetData></worksheet>");
    zip_of(&[
        ("[Content_Types].xml", content_types.as_bytes()),
        ("_rels/.rels", rels.as_bytes()),
        ("xl/workbook.xml", workbook.as_bytes()),
        ("xl/_rels/workbook.xml.rels", workbook_rels.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
    ])
}

/// Sets the uncompressed size the central directory declares for `part`.
fn declare_size(zip: &[u8], part: &str, size: u32) -> Arc<[u8]> {
    let mut b = zip.to_vec();
    let name = part.as_bytes();
    let header = (0..b.len().saturating_sub(46))
        .find(|&i| {
            b[i..i + 4] == [0x50, 0x4b, 0x01, 0x02] && {
                let n = usize::from(u16::from_le_bytes([b[i + 28], b[i + 29]]));
                b.get(i + 46..i + 46 + n) == Some(name)
            }
        })
        .expect("the part's central directory header");
    b[header + 24..header + 28].copy_from_slice(&size.to_le_bytes());
    Arc::from(b)
}

#[test]
fn a_part_declaring_a_huge_size_is_refused_before_it_is_inflated() {
    // A 590 KB file whose shared strings say they are 300 MB: refused from the directory.
    let honest = zip_of(&[("xl/workbook.xml", b"<workbook/>"), ("xl/sharedStrings.xml", b"<sst/>")]);
    let bomb = declare_size(&honest, "xl/sharedStrings.xml", 300 * 1024 * 1024);
    let e = Workbook::open(bomb).unwrap_err();
    assert_eq!(e.code(), "part_too_large", "{e}");
    assert_eq!(
        e.vi(),
        "Phần “xl/sharedStrings.xml” của tệp bảng tính khi giải nén lớn 300 MB, quá giới hạn 256 MB, nên không có số \
         liệu nào từ tệp này được lưu. Hãy xoá các trang, ô thừa hoặc hình ảnh lớn, lưu lại rồi gửi lại"
    );

    // And a part that really is that large (here 3 MiB of spaces, against a 2 MiB cap).
    let spaces = vec![b' '; 3 * 1024 * 1024];
    let real = zip_of(&[("xl/workbook.xml", b"<workbook/>"), ("xl/worksheets/sheet1.xml", &spaces)]);
    let limits = ReadLimits { max_part_bytes: 2 * 1024 * 1024, ..ReadLimits::default() };
    let e = Workbook::open_with_limits(real, limits).unwrap_err();
    assert_eq!(e, ReadError::PartTooLarge { part: "xl/worksheets/sheet1.xml".into(), size: 3 << 20, limit: 2 << 20 });
}

#[test]
fn absurd_compression_and_a_huge_total_are_refused() {
    let spaces = vec![b' '; 4 * 1024 * 1024];
    let file = zip_of(&[("xl/workbook.xml", b"<workbook/>"), ("xl/worksheets/sheet1.xml", &spaces)]);
    let small = ReadLimits { ratio_floor_bytes: 1024 * 1024, max_ratio: 100, ..ReadLimits::default() };
    let e = Workbook::open_with_limits(file.clone(), small).unwrap_err();
    assert_eq!(e.code(), "suspicious_compression", "{e}");
    assert!(e.vi().starts_with("Phần “xl/worksheets/sheet1.xml” của tệp bảng tính nén bất thường"), "{}", e.vi());

    let total = ReadLimits { max_total_bytes: 3 * 1024 * 1024, ..ReadLimits::default() };
    let two = zip_of(&[
        ("xl/workbook.xml", b"<workbook/>"),
        ("xl/a.xml", &spaces[..2 << 20]),
        ("xl/b.xml", &spaces[..2 << 20]),
    ]);
    let e = Workbook::open_with_limits(two, total).unwrap_err();
    assert_eq!(e.code(), "workbook_too_large", "{e}");
}

#[test]
fn a_cell_longer_than_excel_allows_is_refused_naming_it() {
    let cells = vec!["Sở Y tế".to_string(), "x".repeat(40_000), "sau".to_string()];
    let mut wb = Workbook::open(xlsx_with_cells(&cells)).expect("opens");
    let e = rows(&mut wb, "Dữ liệu").unwrap_err();
    assert_eq!(e.code(), "cell_too_long");
    assert_eq!(
        e.vi(),
        "Ô A2 của trang “Dữ liệu” dài 40.000 ký tự, quá giới hạn 32.767 ký tự của Excel, nên không có số liệu nào từ \
         tệp này được lưu. Hãy sửa ô đó rồi lưu và gửi lại"
    );
    // The whole-sheet readers (xls, ods) check the same, here with a lower limit.
    for path in &FORMATS[1..] {
        let limits = ReadLimits { max_cell_chars: 45, ..ReadLimits::default() };
        let mut wb = Workbook::open_with_limits(bytes(path), limits).expect("opens");
        let e = rows(&mut wb, "BC quý 2").unwrap_err();
        assert_eq!(
            e,
            ReadError::CellTooLong { sheet: "BC quý 2".into(), cell: "B7".into(), chars: 63, limit: 45 },
            "{path}"
        );
    }
}

#[test]
fn a_sheet_spanning_too_many_cells_is_refused_before_calamine_builds_it() {
    // The fixture's values span A1:E16 (80 cells); xls and ods sheets are built whole.
    for path in &FORMATS[1..] {
        let limits = ReadLimits { max_sheet_cells: 50, ..ReadLimits::default() };
        let e = Workbook::open_with_limits(bytes(path), limits).unwrap_err();
        assert_eq!(e, ReadError::SheetTooLarge { sheet: "BC quý 2".into(), cells: 80, limit: 50 }, "{path}");
        assert_eq!(e.code(), "sheet_too_large");
        assert!(e.vi().starts_with("Trang “BC quý 2” trải trên 80 ô, quá giới hạn 50 ô"), "{}", e.vi());
    }
}

#[test]
fn a_reader_failure_refuses_the_file_in_vietnamese() {
    let e = ReadError::ReaderFailed("index out of bounds".into());
    assert_eq!(e.code(), "reader_failed");
    assert_eq!(
        e.vi(),
        "Không đọc được tệp bảng tính đến hết: tệp có chỗ hỏng nên không có số liệu nào từ tệp này được lưu. Hãy mở \
         tệp bằng Excel hoặc LibreOffice, lưu lại (Save As) rồi gửi lại"
    );
}

// ---- mutation ----

#[derive(Debug, Clone)]
enum Mutation {
    /// Set the byte at (position ‰ of the length) to a value.
    Flip(Vec<(u16, u8)>),
    /// Keep only the first ‰ of the file.
    Cut(u16),
    /// Copy `len` bytes from ‰ `from` to ‰ `to`, inserting them.
    Repeat { from: u16, len: u16, to: u16 },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => prop::collection::vec((0u16..1000, any::<u8>()), 1..8).prop_map(Mutation::Flip),
        1 => (1u16..1000).prop_map(Mutation::Cut),
        1 => (0u16..1000, 1u16..4096, 0u16..1000).prop_map(|(from, len, to)| Mutation::Repeat { from, len, to }),
    ]
}

fn at(len: usize, permille: u16) -> usize {
    (len * usize::from(permille) / 1000).min(len.saturating_sub(1))
}

fn mutate(original: &[u8], m: &Mutation) -> Vec<u8> {
    let mut b = original.to_vec();
    match m {
        Mutation::Flip(flips) => {
            for &(p, v) in flips {
                let i = at(b.len(), p);
                b[i] = v;
            }
        }
        Mutation::Cut(p) => b.truncate(at(b.len(), *p).max(1)),
        Mutation::Repeat { from, len, to } => {
            let start = at(b.len(), *from);
            let end = (start + usize::from(*len)).min(b.len());
            let slice = b[start..end].to_vec();
            let to = at(b.len(), *to);
            b.splice(to..to, slice);
        }
    }
    b
}

/// Opens and reads every row of every sheet; errors are fine, panics are not.
fn read_everything(bytes: Vec<u8>) {
    let Ok(mut wb) = Workbook::open(Arc::from(bytes)) else { return };
    for sheet in wb.sheets() {
        let Ok(mut rows) = wb.rows(&sheet.name) else { continue };
        while let Ok(Some(_)) = rows.next_row() {}
    }
}

const MUTATED: [&str; 6] = [
    "tests/data/legacy.xlsx",
    "tests/data/legacy.xls",
    "tests/data/legacy.ods",
    "tests/data/formats/so_yte_q2_2024.xlsx",
    "tests/data/formats/so_yte_q2_2024.xls",
    "tests/data/formats/so_yte_q2_2024.ods",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 8000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_workbooks_never_panic_out(file in 0..MUTATED.len(), m in mutation()) {
        let original = std::fs::read(MUTATED[file]).expect("fixture");
        let mutated = mutate(&original, &m);
        // To find the input that aborts a run (an allocation failure is no panic), set
        // READERS_DUMP to a path: each case is written there before it is read.
        if let Some(path) = std::env::var_os("READERS_DUMP") {
            std::fs::write(path, &mutated).expect("dump");
        }
        read_everything(mutated);
    }
}

/// An ods formula error whose cell LibreOffice typed as a float (`office:value-type="float"
/// office:value="0" calcext:value-type="error"`) is the error, never the 0 calamine reads.
#[test]
fn a_float_typed_ods_error_cell_is_the_error_not_zero() {
    let original = bytes("tests/data/formats/so_yte_q2_2024.ods");
    let string_typed = r#"office:value-type="string" office:string-value="" calcext:value-type="error""#;
    let float_typed = r#"office:value-type="float" office:value="0" calcext:value-type="error""#;
    let mut archive = zip::ZipArchive::new(Cursor::new(&original[..])).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut part = archive.by_index(i).unwrap();
        let name = part.name().unwrap().to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut part, &mut data).unwrap();
        if name == "content.xml" {
            let text = String::from_utf8(data).unwrap();
            assert_eq!(text.matches(string_typed).count(), 1, "the fixture has one error cell");
            data = text.replace(string_typed, float_typed).into_bytes();
        }
        let method = if name == "mimetype" { zip::CompressionMethod::Stored } else { zip::CompressionMethod::Deflated };
        out.start_file(name, zip::write::SimpleFileOptions::default().compression_method(method)).unwrap();
        out.write_all(&data).unwrap();
    }
    let damaged: Arc<[u8]> = Arc::from(out.finish().unwrap().into_inner());
    let mut wb = Workbook::open(damaged.clone()).unwrap();
    let row = rows(&mut wb, "BC quý 2").unwrap().into_iter().find(|r| r.index == 14).unwrap();
    assert_eq!(row.cells[3], Cell::Error("#DIV/0!".into()), "{row:?}");
    assert!(!row.cells.iter().any(|c| *c == num(0.0)), "no 0 read from the error cell: {row:?}");
}
