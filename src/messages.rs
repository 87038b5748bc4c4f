//! The operator's words of the library's own errors: why the settings, the plan, the
//! directory or the warehouse cannot be used, why the daemon did not start. Vietnamese, in
//! one place for a reviewer to read (the command line's own words are in `cli::texts`).
//!
//! The library owns these texts, not the command line, because these errors' `Display` is
//! what every caller shows: the `chiso` commands, the daemon refusing to start, the admin
//! API. Names of settings keys, environment variables, files and flags stay verbatim inside
//! the sentences. The errors of the crates underneath (std::io, sqlx, figment, toml) speak
//! English; the helpers below say what they mean instead of quoting them. Logs (tracing)
//! stay English and do not use this module.
//!
//! Owns: the Vietnamese text of the library's error messages, one submodule per area
//! (`config`, `serve`, `catalog`, `appendix`, `jobs`, `warehouse`). Receives: the details
//! to name (paths, keys, ids) and `std::io`, `sqlx`, `toml` errors to explain. Hands on:
//! `String`s and `&str` constants to the `#[error(...)]` attributes of the other modules'
//! error types.

use std::fmt::Display;

/// What went wrong reading or writing a file, from the error's kind (the OS text is English).
pub fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "không có tệp hoặc thư mục này".into(),
        K::PermissionDenied => "không có quyền truy cập".into(),
        K::IsADirectory => "đây là một thư mục, không phải tệp".into(),
        K::NotADirectory => "một phần của đường dẫn không phải thư mục".into(),
        K::AlreadyExists => "đã có tệp này".into(),
        K::InvalidData => "nội dung không phải văn bản UTF-8".into(),
        K::StorageFull => "hết chỗ trên đĩa".into(),
        K::ReadOnlyFilesystem => "ổ đĩa chỉ cho đọc".into(),
        K::AddrInUse => "địa chỉ đang được tiến trình khác dùng".into(),
        K::AddrNotAvailable => "máy này không có địa chỉ đó".into(),
        K::ConnectionRefused => "máy bên kia từ chối kết nối".into(),
        K::TimedOut => "hết thời gian chờ".into(),
        _ => match e.raw_os_error() {
            Some(code) => format!("lỗi hệ thống, mã {code}"),
            None => "lỗi vào/ra".into(),
        },
    }
}

/// What a database error means for an operator. The database's own message (PostgreSQL's,
/// SQLite's) is quoted as the database wrote it.
pub fn sqlx_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::PoolTimedOut => "hết thời gian chờ kết nối tới cơ sở dữ liệu".into(),
        sqlx::Error::Io(io) => io_reason(io),
        sqlx::Error::Tls(_) => "kết nối mã hóa (TLS) không thành".into(),
        sqlx::Error::Configuration(_) => "địa chỉ cơ sở dữ liệu không dùng được".into(),
        sqlx::Error::Database(db) => format!("cơ sở dữ liệu trả lời: {}", db.message()),
        sqlx::Error::Protocol(_) => "cơ sở dữ liệu trả lời không đúng giao thức".into(),
        sqlx::Error::PoolClosed => "các kết nối đã đóng".into(),
        _ => "cơ sở dữ liệu báo lỗi".into(),
    }
}

/// A TOML file that could not be read into its shape: where (`dòng 3, cột 7`) and what.
/// serde's messages (`missing field `id``, `unknown field …`, `invalid type: …`) are
/// said again in Vietnamese; anything else is a syntax error.
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let what = serde_message(e.message());
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("dòng {line}, cột {column}: {what}")
        }
        None => what,
    }
}

/// serde's standard messages in Vietnamese; the names in backticks are kept.
fn serde_message(m: &str) -> String {
    let quoted = |m: &str| m.split('`').nth(1).unwrap_or("").to_string();
    if m.starts_with("missing field") {
        format!("thiếu khóa `{}`", quoted(m))
    } else if m.starts_with("unknown field") {
        format!("không có khóa `{}`", quoted(m))
    } else if m.starts_with("duplicate field") || m.starts_with("duplicate key") {
        format!("khóa `{}` được đặt hai lần", quoted(m))
    } else if m.starts_with("unknown variant") {
        format!("`{}` không phải giá trị dùng được ở đây", quoted(m))
    } else if m.starts_with("invalid type") || m.starts_with("invalid value") {
        "giá trị sai kiểu".to_string()
    } else {
        "sai cú pháp TOML".to_string()
    }
}

/// Settings (`config.rs`).
pub mod config {
    use super::Display;

    pub const EMBEDDED_LAYER: &str = "cấu hình mặc định đóng gói sẵn";
    pub const ENVIRONMENT_LAYER: &str = "biến môi trường";
    pub const SETTINGS: &str = "cấu hình";
    pub const SYNTAX_KEY: &str = "(cú pháp)";

    pub fn environment_layer(names: &str) -> String {
        format!("{ENVIRONMENT_LAYER} ({names})")
    }
    pub fn cannot_read(path: &str, why: &str) -> String {
        format!("không đọc được {path}: {why}")
    }
    pub fn invalid(origin: &str, key: &str, reason: &str) -> String {
        format!("{origin}: `{key}`: {reason}")
    }
    pub fn not_unicode(var: &str) -> String {
        format!("biến môi trường {var} không phải văn bản UTF-8")
    }
    pub fn secret_in_file(var: &str) -> String {
        format!("bí mật không được đọc từ tệp; hãy đặt biến môi trường {var}")
    }
    pub const PASSWORD_IN_URL: &str = "địa chỉ có chứa mật khẩu; hãy đặt nó trong biến môi trường CHISO_DATABASE__URL";
    pub fn bad_database_url(url: &str) -> String {
        format!("`{url}` không phải sqlite:ĐƯỜNG_DẪN hay postgres://…")
    }
    pub fn between(low: impl Display, high: impl Display) -> String {
        format!("phải từ {low} đến {high}")
    }
    pub const AT_LEAST_ONE: &str = "phải ít nhất là 1";
    pub const POSITIVE: &str = "phải là số dương";
    pub const TIMEOUTS_POSITIVE: &str = "thời gian chờ phải là số dương";
    pub const TOLERANCE_PP: &str = "phải từ 0 đến 100 điểm phần trăm";
    pub const TOLERANCE_RATIO: &str = "phải từ 0 đến 1 (0.1 = 10%)";
    pub const ATTEMPTS_AND_CONCURRENCY: &str = "max_attempts và concurrency phải ít nhất là 1";
    pub fn schedule_id(id: &str) -> String {
        format!("mã lịch `{id}` phải có và không trùng")
    }
    pub fn schedule(id: &str, why: &str) -> String {
        format!("lịch `{id}`: {why}")
    }
    pub fn round_id(id: &str) -> String {
        format!("mã đợt nhắc `{id}` phải không trùng, chỉ gồm chữ thường ASCII, chữ số và _")
    }
    pub fn round_without_statuses(id: &str) -> String {
        format!("đợt nhắc `{id}` không nêu trạng thái nào")
    }
    pub fn log_filter(level: &str) -> String {
        format!("`{level}` không phải bộ lọc nhật ký (ví dụ info, debug, chiso=debug)")
    }
    pub fn mailbox(from: &str) -> String {
        format!("`{from}` không phải hộp thư dạng `Tên <địa_chỉ@tên_miền>`")
    }
    pub const SMTP_HOST: &str = "gửi thư qua smtp cần mail.smtp.host";
    pub const SMTP_PASSWORD: &str = "đã đặt tên đăng nhập nhưng chưa đặt CHISO_MAIL__SMTP__PASSWORD";
    pub fn not_an_address(value: &str) -> String {
        format!("`{value}` không phải địa chỉ dạng 127.0.0.1:8080")
    }
    pub fn not_loopback(bind: impl Display) -> String {
        format!("API quản trị nghe tại {bind}, không phải địa chỉ nội bộ (loopback): hãy đặt CHISO_ADMIN__TOKEN")
    }
    pub fn cannot_print(e: impl Display) -> String {
        format!("# không in được cấu hình: {e}")
    }
    pub fn cutoff_day(day: impl Display) -> String {
        format!("cutoff_day phải từ 1 đến 28 (đang là {day}) để tháng nào cũng có ngày đó")
    }
    pub fn due_days(days: impl Display) -> String {
        format!("due_days_after_cutoff tối đa là 60 (đang là {days})")
    }
    pub fn bad_cron(expr: &str) -> String {
        format!("`{expr}` không phải biểu thức cron sáu trường, giây đứng đầu (ví dụ `0 0 7 * * mon`)")
    }
    pub fn never_fires(expr: &str) -> String {
        format!("`{expr}` không bao giờ chạy (không năm nào có ngày đó)")
    }

    /// A value of the wrong shape, as serde (through figment) found it.
    pub fn wrong_value(kind: &figment::error::Kind) -> String {
        use figment::error::{Actual, Kind};
        let actual = |a: &Actual| match a {
            Actual::Bool(b) => format!("giá trị {b}"),
            Actual::Unsigned(n) => format!("số {n}"),
            Actual::Signed(n) => format!("số {n}"),
            Actual::Float(n) => format!("số {n}"),
            Actual::Char(c) => format!("ký tự `{c}`"),
            Actual::Str(s) => format!("chuỗi \"{s}\""),
            Actual::Seq => "một danh sách".into(),
            Actual::Map => "một bảng".into(),
            _ => "một giá trị khác".into(),
        };
        let expected = |e: &str| {
            let e = e.trim();
            if e.contains("bool") {
                "true hoặc false".to_string()
            } else if e.starts_with('u') || e.starts_with('i') && e[1..].chars().all(|c| c.is_ascii_digit()) {
                "một số nguyên".to_string()
            } else if e.starts_with('f') && e[1..].chars().all(|c| c.is_ascii_digit()) {
                "một số".to_string()
            } else if e.contains("string") {
                "một chuỗi".to_string()
            } else if e.contains("sequence") {
                "một danh sách".to_string()
            } else if e.contains("map") || e.contains("struct") {
                "một bảng".to_string()
            } else {
                format!("`{e}`")
            }
        };
        match kind {
            Kind::InvalidType(a, e) | Kind::InvalidValue(a, e) => format!("có {}, cần {}", actual(a), expected(e)),
            Kind::UnknownVariant(v, known) => format!("`{v}` không phải một trong: {}", known.join(", ")),
            Kind::UnknownField(f, known) => {
                format!("không có khóa `{f}`; các khóa ở đây: {}", known.join(", "))
            }
            Kind::MissingField(f) => format!("thiếu khóa `{f}`"),
            Kind::DuplicateField(f) => format!("khóa `{f}` được đặt hai lần"),
            Kind::InvalidLength(n, e) => format!("có {n} phần tử, cần {}", expected(e)),
            Kind::ISizeOutOfRange(n) => format!("số {n} quá lớn hoặc quá nhỏ"),
            Kind::USizeOutOfRange(n) => format!("số {n} quá lớn"),
            Kind::Message(m) => m.clone(),
            _ => "giá trị không dùng được".into(),
        }
    }
}

/// The daemon (`serve`).
pub mod serve {
    pub fn bad_bind(value: &str) -> String {
        format!("admin.bind `{value}` không phải địa chỉ dạng 127.0.0.1:8080")
    }
    pub fn insecure(bind: &str) -> String {
        format!(
            "admin.bind {bind} không phải địa chỉ nội bộ (loopback) mà chưa đặt mã truy cập quản trị: hãy đặt CHISO_ADMIN__TOKEN, hoặc nghe tại 127.0.0.1"
        )
    }
    pub fn cannot_listen(addr: &str, why: &str) -> String {
        format!("không nghe được tại {addr}: {why}")
    }
    pub fn scheduler(why: &str) -> String {
        format!("bộ lập lịch gặp lỗi: {why}")
    }
}

/// The plan, the directory of agencies and what ties them (`catalog`, `app`).
pub mod catalog {
    pub fn cannot_read(path: &str, why: &str) -> String {
        format!("không đọc được {path}: {why}")
    }
    pub fn in_file(path: &str, message: &str) -> String {
        format!("{path}: {message}")
    }
    pub fn agency(path: &str, id: &str, reason: &str) -> String {
        format!("{path}: cơ quan `{id}`: {reason}")
    }
    pub fn unknown_agency(name: &str) -> String {
        format!("không có cơ quan nào tên `{name}`")
    }
    pub fn ambiguous_agency(name: &str, candidates: &str) -> String {
        format!("`{name}` có thể là một trong: {candidates}")
    }
    pub fn coordinator(path: &str, id: &str) -> String {
        format!("{path}: cơ quan đầu mối `{id}` không có trong danh mục")
    }
    pub fn caption(line: usize) -> String {
        format!(
            "dòng {line}: tiêu đề phụ lục không nói thuộc kế hoạch nào (cần `kèm theo Kế hoạch số N/KH-UBND ngày DD/MM/YYYY`)"
        )
    }
    pub fn override_reason(item: &str) -> String {
        format!("điều chỉnh mục {item}: `reason` để trống; hãy ghi lý do")
    }
    pub fn override_tolerance(item: &str, tolerance: f64) -> String {
        format!("điều chỉnh mục {item}: dung sai {tolerance} nằm ngoài 0–100")
    }
    pub fn override_unknown_item(item: &str) -> String {
        format!("điều chỉnh mục {item}: kế hoạch không có mục này")
    }
    pub fn override_year(item: &str, year: &str, years: &str) -> String {
        format!("điều chỉnh mục {item}: `{year}` không phải năm của kế hoạch ({years})")
    }
    pub fn override_target(item: &str, year: i32, raw: &str, reason: &str) -> String {
        format!("điều chỉnh mục {item}, năm {year}: không hiểu chỉ tiêu `{raw}` ({reason})")
    }
    pub fn override_agencies(item: &str, field: &str, names: &str) -> String {
        format!("điều chỉnh mục {item}: `{field}` nêu cơ quan không có trong danh mục: {names}")
    }
    pub fn item_twice(item: &str) -> String {
        format!("mục {item} xuất hiện hai lần")
    }
    pub fn not_a_year(item: &str, year: &str) -> String {
        format!("mục {item}: `{year}` không phải một năm")
    }
    pub fn year_outside_plan(item: &str, year: i32, years: &str) -> String {
        format!("mục {item}: năm {year} không thuộc các năm của kế hoạch ({years})")
    }
    pub const NO_ITEMS: &str = "kế hoạch không có mục nào";
    pub const ID_TWICE: &str = "mã này được dùng hai lần";
    pub fn unknown_reference(id: &str) -> String {
        format!("nhắc tới `{id}`, không có trong danh mục")
    }
    pub fn dates_reversed(from: &str, to: &str) -> String {
        format!("ngày valid_from {from} sau ngày valid_to {to}")
    }
    pub const SUCCESSORS_WITHOUT_END: &str = "có cơ quan kế thừa (successors) nhưng không có ngày valid_to";
    pub fn not_an_email(email: &str) -> String {
        format!("`{email}` không phải địa chỉ thư điện tử")
    }
    pub const EMPTY_NAME: &str = "tên để trống";
}

/// The plan's appendix read from the signed text (`plan import`). `row` is the number in
/// the table's first column (`1`, `1.2`).
pub mod appendix {
    pub fn no_appendix(file: &str) -> String {
        format!(
            "{file}: không tìm thấy phụ lục (cần một dòng `PHỤ LỤC` rồi một bảng có tiêu đề cột `Nhiệm vụ`, `Năm YYYY`, `Cơ quan chủ trì`)"
        )
    }
    pub fn header(file: &str, line: usize, missing: &str) -> String {
        format!("{file}:{line}: tiêu đề bảng thiếu cột {missing}")
    }
    pub fn cell_count(file: &str, line: usize, row: &str, found: usize, expected: usize) -> String {
        format!("{file}:{line}: dòng số {row} có {found} ô trong khi tiêu đề có {expected} cột")
    }
    pub fn no_section(file: &str, line: usize, row: &str) -> String {
        format!("{file}:{line}: dòng số {row} đứng trước mọi tiêu đề lĩnh vực (I. CHÍNH QUYỀN SỐ …)")
    }
    pub fn orphan(file: &str, line: usize) -> String {
        format!("{file}:{line}: dòng không đánh số mà phía trên không có nhiệm vụ nào để thuộc về")
    }
    pub fn duplicate(file: &str, line: usize, row: &str, first: usize) -> String {
        format!("{file}:{line}: nhiệm vụ {row} xuất hiện hai lần (lần đầu ở dòng {first})")
    }
    pub fn unreadable(file: &str, line: usize, start: &str) -> String {
        format!("{file}:{line}: không đọc được dòng bắt đầu bằng `{start}`")
    }
    pub fn empty(file: &str) -> String {
        format!("{file}: phụ lục không có nhiệm vụ nào")
    }
}

/// The jobs' refusals to run.
pub mod jobs {
    pub fn unknown_source(id: &str) -> String {
        format!("không có nguồn `{id}` trong tệp nguồn dữ liệu")
    }
    pub fn unknown_source_among(id: &str, known: &str) -> String {
        format!("không có nguồn `{id}`; các nguồn đã cấu hình: {known}")
    }
    pub fn http_client(why: &str) -> String {
        format!("không dựng được bộ tải HTTP: {why}")
    }
    pub fn unknown_round(round: &str, known: &str) -> String {
        format!("không có đợt nhắc `{round}`; các đợt đã cấu hình: {known}")
    }
}

/// The warehouse.
pub mod warehouse {
    pub fn connect(url: &str, why: &str) -> String {
        format!("không kết nối được tới kho dữ liệu {url}: {why}")
    }
    pub fn create_dir(path: &str, why: &str) -> String {
        format!("không tạo được thư mục {path} cho tệp SQLite: {why}")
    }
    pub fn migrate(why: &str) -> String {
        format!("nâng cấp cấu trúc kho dữ liệu không thành: {why}")
    }
    pub fn query(operation: &str, why: &str) -> String {
        format!("kho dữ liệu từ chối thao tác {operation}: {why}")
    }
    pub fn sqlite(operation: &str, step: &str, code: i32, message: &str) -> String {
        format!("SQLite từ chối thao tác {operation} ({step}, mã {code}): {message}")
    }
    pub fn corrupt(what: &str, detail: &str) -> String {
        format!("dữ liệu đã lưu không đọc được ({what}): {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_is_nfc_and_vietnamese() {
        let texts = [
            io_reason(&std::io::Error::from(std::io::ErrorKind::NotFound)),
            sqlx_reason(&sqlx::Error::PoolTimedOut),
            config::EMBEDDED_LAYER.into(),
            config::environment_layer("X"),
            config::cannot_read("p", "w"),
            config::not_unicode("X"),
            config::secret_in_file("X"),
            config::PASSWORD_IN_URL.into(),
            config::bad_database_url("u"),
            config::between(1, 64),
            config::AT_LEAST_ONE.into(),
            config::POSITIVE.into(),
            config::TIMEOUTS_POSITIVE.into(),
            config::TOLERANCE_PP.into(),
            config::TOLERANCE_RATIO.into(),
            config::ATTEMPTS_AND_CONCURRENCY.into(),
            config::schedule_id("x"),
            config::schedule("x", "y"),
            config::round_id("x"),
            config::round_without_statuses("x"),
            config::log_filter("x"),
            config::mailbox("x"),
            config::SMTP_HOST.into(),
            config::SMTP_PASSWORD.into(),
            config::not_an_address("x"),
            config::not_loopback("0.0.0.0:1"),
            config::cannot_print("x"),
            config::cutoff_day(29),
            config::due_days(61),
            config::bad_cron("x"),
            config::never_fires("x"),
            serve::bad_bind("x"),
            serve::insecure("x"),
            serve::cannot_listen("x", "y"),
            serve::scheduler("x"),
            catalog::cannot_read("p", "w"),
            catalog::agency("p", "i", "r"),
            catalog::unknown_agency("x"),
            catalog::ambiguous_agency("x", "a, b"),
            catalog::coordinator("p", "x"),
            catalog::caption(1),
            catalog::override_reason("1"),
            catalog::override_tolerance("1", 120.0),
            catalog::override_unknown_item("1"),
            catalog::override_year("1", "2031", "2023, 2024"),
            catalog::override_target("1", 2024, "x", "y"),
            catalog::override_agencies("1", "lead", "x"),
            catalog::item_twice("1"),
            catalog::not_a_year("1", "x"),
            catalog::year_outside_plan("1", 2031, "2023"),
            catalog::NO_ITEMS.into(),
            catalog::ID_TWICE.into(),
            catalog::unknown_reference("x"),
            catalog::dates_reversed("a", "b"),
            catalog::SUCCESSORS_WITHOUT_END.into(),
            catalog::not_an_email("x"),
            catalog::EMPTY_NAME.into(),
            appendix::no_appendix("f"),
            appendix::header("f", 1, "x"),
            appendix::cell_count("f", 1, "1", 7, 8),
            appendix::no_section("f", 1, "1"),
            appendix::orphan("f", 1),
            appendix::duplicate("f", 1, "1", 1),
            appendix::unreadable("f", 1, "x"),
            appendix::empty("f"),
            jobs::unknown_source("x"),
            jobs::http_client("x"),
            jobs::unknown_source_among("x", "y"),
            jobs::unknown_round("x", "y"),
            warehouse::connect("u", "w"),
            warehouse::create_dir("p", "w"),
            warehouse::migrate("w"),
            warehouse::query("o", "w"),
            warehouse::sqlite("o", "s", 1, "m"),
            warehouse::corrupt("w", "d"),
        ];
        for t in &texts {
            assert!(crate::text::is_nfc(t), "{t}");
            assert!(!t.is_ascii(), "not Vietnamese: {t}");
        }
    }

    #[test]
    fn wrong_values_are_explained_in_vietnamese() {
        use figment::error::{Actual, Kind};
        let cases = [
            (Kind::InvalidType(Actual::Str("lots".into()), "usize".into()), "có chuỗi \"lots\", cần một số nguyên"),
            (Kind::InvalidType(Actual::Unsigned(3), "a boolean".into()), "có số 3, cần true hoặc false"),
            (Kind::InvalidType(Actual::Seq, "a string".into()), "có một danh sách, cần một chuỗi"),
            (Kind::UnknownVariant("ftp".into(), &["file", "smtp"]), "`ftp` không phải một trong: file, smtp"),
            (Kind::MissingField("id".into()), "thiếu khóa `id`"),
        ];
        for (kind, want) in cases {
            assert_eq!(config::wrong_value(&kind), want);
        }
    }

    #[test]
    fn a_syntax_error_names_its_line_and_column() {
        let text = "a = 1\nb = = 2\n";
        let e = toml::from_str::<toml::Table>(text).unwrap_err();
        assert_eq!(toml_error(text, &e), "dòng 2, cột 5: sai cú pháp TOML");
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Item {
            id: String,
        }
        let text = "\nname = \"x\"\n";
        let e = toml::from_str::<Item>(text).unwrap_err();
        let shown = toml_error(text, &e);
        assert!(shown.ends_with("không có khóa `name`"), "{shown}");
        let e = toml::from_str::<Item>("").unwrap_err();
        assert!(toml_error("", &e).ends_with("thiếu khóa `id`"));
    }
}
