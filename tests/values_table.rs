//! Result cells as officers write them in the departments' quarterly reports (plan
//! KH 742/KH-UBND), with how chiso reads them: a value, or the code of the error the ingest
//! turns into a reject, a skip (`no_figure`) or a held row (`conflicting_figures`).

use chiso::domain::value::{CellInput, MeasureKind, Parsed, Progress, Value, ValueError, parse_value_noted};

fn percent() -> MeasureKind {
    MeasureKind::Percent
}

fn count(unit: Option<&str>) -> MeasureKind {
    MeasureKind::Count { unit: unit.map(str::to_string) }
}

fn status() -> MeasureKind {
    MeasureKind::Status
}

/// What a cell should read as.
#[derive(Debug)]
enum Expect {
    /// A value read as written.
    Plain(Value),
    /// A figure read out of a sentence (the text is kept as the note).
    Sentence(Value),
    /// A status in a percent or count indicator.
    StatusInNumeric(Progress),
    /// An error, by code.
    Error(&'static str),
}

use Expect::{Error, Plain, Sentence, StatusInNumeric};

fn cases() -> Vec<(&'static str, MeasureKind, Expect)> {
    vec![
        // Figures as written.
        ("85,5%", percent(), Plain(Value::Percent(85.5))),
        ("đạt 12%", percent(), Plain(Value::Percent(12.0))),
        ("Đạt: 95,5%", percent(), Plain(Value::Percent(95.5))),
        ("100% (15/15 đơn vị)", percent(), Plain(Value::Percent(100.0))),
        ("12/15", percent(), Plain(Value::Percent(80.0))),
        ("1.000 lượt (tăng 20%)", count(Some("lượt")), Plain(Value::Count(1000.0))),
        ("1.000 lượt truy cập", count(Some("lượt")), Plain(Value::Count(1000.0))),
        ("2024", count(None), Plain(Value::Count(2024.0))),
        // Statuses in status indicators, with and without explanations.
        ("Đã triển khai thường xuyên", status(), Plain(Value::Status(Progress::Ongoing))),
        ("Duy trì thường xuyên", status(), Plain(Value::Status(Progress::Ongoing))),
        ("Đã hoàn thành (tháng 6/2024)", status(), Plain(Value::Status(Progress::Done))),
        ("Hoàn thành: đã ban hành Quyết định 123", status(), Plain(Value::Status(Progress::Done))),
        ("Đã ban hành Kế hoạch số 35/KH-UBND ngày 15/3/2024", status(), Plain(Value::Status(Progress::Done))),
        ("Đang triển khai, dự kiến hoàn thành trong Quý IV/2024", status(), Plain(Value::Status(Progress::InProgress))),
        ("Không đạt do chưa bố trí kinh phí", status(), Plain(Value::Status(Progress::NotDone))),
        ("Không", status(), Plain(Value::Status(Progress::NotDone))),
        ("Chưa triển khai", status(), Plain(Value::Status(Progress::NotDone))),
        ("X", status(), Plain(Value::Status(Progress::Done))),
        // A status in a percent or count indicator: stored as a status.
        ("Hoàn thành", percent(), StatusInNumeric(Progress::Done)),
        ("HOÀN THÀNH", percent(), StatusInNumeric(Progress::Done)),
        ("Đạt", percent(), StatusInNumeric(Progress::Done)),
        ("X", percent(), StatusInNumeric(Progress::Done)),
        ("x", count(Some("lượt")), StatusInNumeric(Progress::Done)),
        ("Đã hoàn thành (tháng 6/2024)", percent(), StatusInNumeric(Progress::Done)),
        ("Hoàn thành: đã ban hành Quyết định 123/QĐ-UBND", percent(), StatusInNumeric(Progress::Done)),
        ("Đang triển khai", count(None), StatusInNumeric(Progress::InProgress)),
        ("Chưa thực hiện", percent(), StatusInNumeric(Progress::NotDone)),
        ("Duy trì thường xuyên", percent(), StatusInNumeric(Progress::Ongoing)),
        ("Đã hoàn thành 100%", count(Some("sản phẩm")), StatusInNumeric(Progress::Done)),
        // ... unless it carries one figure that fits: the figure wins.
        ("Đã hoàn thành 100%", percent(), Sentence(Value::Percent(100.0))),
        ("Đạt 95%", percent(), Plain(Value::Percent(95.0))),
        ("Hoàn thành, đạt 100%", percent(), Sentence(Value::Percent(100.0))),
        ("Hoàn thành 05 sản phẩm", count(Some("sản phẩm")), Sentence(Value::Count(5.0))),
        // Sentences with one figure.
        ("Đã triển khai tại 12/15 xã, đạt 80%", percent(), Sentence(Value::Percent(80.0))),
        ("Đã triển khai tại 12/15 xã", percent(), Sentence(Value::Percent(80.0))),
        ("Đã cấp 1.250 tài khoản", count(None), Sentence(Value::Count(1250.0))),
        ("Đã cấp 1.250 tài khoản", count(Some("tài khoản")), Sentence(Value::Count(1250.0))),
        ("Cấp mới 35 chữ ký số cho cán bộ", count(None), Sentence(Value::Count(35.0))),
        ("Trong Quý II/2024 đã tổ chức 03 lớp tập huấn", count(None), Sentence(Value::Count(3.0))),
        ("Năm 2024 tỷ lệ hồ sơ trực tuyến đạt 85,5%", percent(), Sentence(Value::Percent(85.5))),
        ("Theo Kế hoạch 742/KH-UBND, đến tháng 6/2024 đã số hóa 92% hồ sơ", percent(), Sentence(Value::Percent(92.0))),
        ("Đã tổ chức 600 lượt tập huấn cho 35 xã", count(Some("lượt")), Sentence(Value::Count(600.0))),
        (
            "Đã cấp 1.250 tài khoản, trong đó 300 tài khoản cho doanh nghiệp",
            count(Some("tài khoản")),
            Sentence(Value::Count(1250.0)),
        ),
        ("Tổng số 35 hồ sơ", count(None), Sentence(Value::Count(35.0))),
        ("Hệ thống 5G phủ sóng 98% khu dân cư", percent(), Sentence(Value::Percent(98.0))),
        ("Đạt 100% (15/15 đơn vị)", percent(), Plain(Value::Percent(100.0))),
        // Conflicts: held for the operator.
        ("đạt 80%, trong đó 12/20 xã", percent(), Error("conflicting_figures")),
        ("12/20 xã, đạt 80%", percent(), Error("conflicting_figures")),
        ("Đã cấp 1.250 tài khoản cho 35 đơn vị", count(None), Error("conflicting_figures")),
        ("Quý I cấp 30 lượt, quý II cấp 45 lượt", count(Some("lượt")), Error("conflicting_figures")),
        // Nothing to report: skipped and counted.
        ("N/A", percent(), Error("no_figure")),
        ("-", count(None), Error("no_figure")),
        ("Không áp dụng", status(), Error("no_figure")),
        ("Không phát sinh", count(Some("lượt")), Error("no_figure")),
        ("Không phát sinh trong kỳ báo cáo", count(Some("lượt")), Error("no_figure")),
        ("Không áp dụng (đơn vị không có nhiệm vụ này)", percent(), Error("no_figure")),
        // Bounds, estimates and unreadable text: refused with what to write instead.
        ("≥10%", percent(), Error("unreadable_value")),
        ("khoảng 50%", percent(), Error("unreadable_value")),
        ("Ước đạt khoảng 50%", percent(), Error("unreadable_value")),
        ("Đang triển khai, đạt trên 80%", percent(), Error("unreadable_value")),
        ("Chưa có báo cáo của các xã", percent(), Error("unreadable_value")),
        ("Đã ban hành Quyết định 123/QĐ-UBND", count(None), StatusInNumeric(Progress::Done)),
        ("Tổ chức tập huấn cho cán bộ", count(None), Error("unreadable_value")),
        ("135%", percent(), Error("percent_out_of_range")),
        ("16/15", percent(), Error("percent_out_of_range")),
        ("-3", count(None), Error("negative_count")),
        ("5 giao dịch", count(Some("lượt")), Error("unit_mismatch")),
        ("50%", count(None), Error("kind_mismatch")),
        ("85%", status(), Error("kind_mismatch")),
    ]
}

#[test]
fn officer_written_cells() {
    let mut failures = Vec::new();
    for (text, kind, expect) in cases() {
        let got = parse_value_noted(CellInput::Text(text), &kind);
        let ok = match (&expect, &got) {
            (Plain(v), Ok(Parsed { value, from_sentence: false, status_in_numeric: false })) => v == value,
            (Sentence(v), Ok(Parsed { value, from_sentence: true, status_in_numeric: false })) => v == value,
            (StatusInNumeric(p), Ok(Parsed { value: Value::Status(q), status_in_numeric: true, .. })) => p == q,
            (Error(code), Err(e)) => e.code() == *code,
            _ => false,
        };
        if !ok {
            failures.push(format!("{text:?} as {kind:?}: expected {expect:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{} cells misread:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn new_errors_say_what_to_write_instead() {
    let err = parse_value_noted(CellInput::Text("đạt 80%, trong đó 12/20 xã"), &percent()).unwrap_err();
    assert_eq!(err.code(), "conflicting_figures");
    assert!(matches!(&err, ValueError::Conflicting { figures, .. } if figures == &["80%", "12/20"]), "{err:?}");
    assert_eq!(
        err.vi(),
        "Kết quả “đạt 80%, trong đó 12/20 xã” có nhiều số liệu khác nhau (80%; 12/20): ghi một số liệu duy nhất \
         là kết quả của chỉ tiêu (ví dụ 85% hoặc 85,5%), phần giải thích ghi vào cột Ghi chú"
    );
    let err = parse_value_noted(CellInput::Text("Không phát sinh"), &count(Some("lượt"))).unwrap_err();
    assert_eq!(err, ValueError::NoFigure("Không phát sinh".into()));
    assert_eq!(
        err.vi(),
        "Ô kết quả ghi “Không phát sinh”: không có số liệu để báo cáo trong kỳ; nếu nhiệm vụ có phát sinh, ghi kết \
         quả thực tế"
    );
    let err = parse_value_noted(CellInput::Text("Đang triển khai, đạt trên 80%"), &percent()).unwrap_err();
    assert!(err.vi().contains("không phải số liệu cụ thể"), "{}", err.vi());
}
