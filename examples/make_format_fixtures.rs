//! Writes `tests/data/formats/so_yte_q2_2024.xlsx`: a Sở Y tế quarterly report whose
//! numbers carry every kind of number format the readers must tell apart (fractions in
//! `0%` and `0.0%` cells, a quoted `" %"` that is not a percentage, plain counts, a fraction
//! in a General cell, a text percent, a percent-formatted formula and a `#DIV/0!` formula).
//! The .xls and .ods copies are made by LibreOffice, as a department would save them:
//!
//! ```sh
//! cargo run --example make_format_fixtures
//! soffice --headless --convert-to xls --outdir tests/data/formats tests/data/formats/so_yte_q2_2024.xlsx
//! soffice --headless --convert-to ods --outdir tests/data/formats tests/data/formats/so_yte_q2_2024.xlsx
//! ```
//!
//! Values are fixed, so the files change only when this program does.

use rust_xlsxwriter::{Format, Formula, Workbook, XlsxError};

const PATH: &str = "tests/data/formats/so_yte_q2_2024.xlsx";

fn main() -> Result<(), XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("BC quý 2")?;
    let bold = Format::new().set_bold();
    let percent0 = Format::new().set_num_format("0%");
    let percent1 = Format::new().set_num_format("0.0%");
    let quoted = Format::new().set_num_format("0.00\" %\"");
    let thousands = Format::new().set_num_format("#,##0");

    sheet.write_string_with_format(0, 0, "UBND TỈNH VĨNH LONG", &bold)?;
    sheet.write_string_with_format(1, 0, "SỞ Y TẾ", &bold)?;
    sheet.write_string_with_format(3, 0, "BÁO CÁO KẾT QUẢ THỰC HIỆN QUÝ II NĂM 2024", &bold)?;
    for (col, h) in ["STT", "Nhiệm vụ/Chỉ tiêu", "ĐVT", "Kết quả thực hiện", "Ghi chú"].into_iter().enumerate()
    {
        sheet.write_string_with_format(5, col as u16, h, &bold)?;
    }
    sheet.set_column_width(1, 60)?;
    sheet.set_column_width(3, 18)?;
    sheet.set_column_width(4, 30)?;

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
    for (i, (item, unit)) in items.iter().zip(units).enumerate() {
        let row = 6 + i as u32;
        sheet.write_number(row, 0, (i + 1) as f64)?;
        sheet.write_string(row, 1, *item)?;
        sheet.write_string(row, 2, unit)?;
    }
    // D7..D16: the results.
    sheet.write_number_with_format(6, 3, 0.823, &percent1)?;
    sheet.write_number_with_format(7, 3, 0.95, &percent0)?;
    sheet.write_number_with_format(8, 3, 1250.0, &thousands)?;
    sheet.write_number(9, 3, 85.0)?;
    sheet.write_number(10, 3, 0.75)?;
    sheet.write_number_with_format(11, 3, 45.5, &quoted)?;
    sheet.write_string(12, 3, "85,5%")?;
    sheet.write_formula_with_format(13, 3, Formula::new("=D9/2000").set_result("0.625"), &percent1)?;
    sheet.write_formula_with_format(14, 3, Formula::new("=D10/0").set_result("#DIV/0!"), &percent0)?;
    sheet.write_number_with_format(15, 3, 1.0, &percent0)?;
    sheet.write_string(10, 4, "Số liệu nhập dạng thập phân")?;
    sheet.write_string(11, 4, "Định dạng 0.00\" %\"")?;
    sheet.write_string(14, 4, "Chưa có số liệu quý trước")?;

    std::fs::create_dir_all("tests/data/formats").map_err(XlsxError::IoError)?;
    book.save(PATH)?;
    println!("wrote {PATH}");
    Ok(())
}
