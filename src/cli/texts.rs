//! The operator's words: the texts the command line shows that are not a command's own
//! table (run statuses, triggers, the error prefix, the help's headings, the messages of
//! unusable input), in Vietnamese, in one place for a reviewer to read. Command names,
//! flags and machine formats (json, csv headers, logs) stay English.
//!
//! Owns: the command line's Vietnamese texts, as constants and small formatting functions.
//! Receives: statuses, ids, paths and counts from the other `cli` modules. Hands on:
//! `&str`s and `String`s to `cli` and its submodules and to `main.rs` (`ERROR_PREFIX`,
//! `NO_RUNTIME`); it calls no library module.

/// A run's status as an operator reads it.
pub fn run_status(status: &str) -> &str {
    match status {
        "running" => "đang chạy",
        "succeeded" => "thành công",
        "partial" => "một phần",
        "failed" => "thất bại",
        "cancelled" => "đã dừng",
        other => other,
    }
}

/// A run's stored error as an operator reads it: the one the library stores in English
/// (a run cut short by a stopped process) said in Vietnamese; others are already.
pub fn run_error(error: &str) -> String {
    match error.strip_prefix("interrupted: ") {
        Some("the process stopped before the run ended") => {
            "bị gián đoạn: tiến trình dừng trước khi lần chạy kết thúc".to_string()
        }
        Some(why) => format!("bị gián đoạn: {why}"),
        None => error.to_string(),
    }
}

/// A reminder message's state in the outbox, and a recipient's.
pub fn message_status(status: &str) -> &str {
    match status {
        "queued" => "chờ gửi",
        "sending" => "đang gửi",
        "sent" => "đã gửi",
        "partial" => "gửi được một phần",
        "failed" => "gửi không được",
        "cancelled" => "đã hủy",
        "pending" => "chưa gửi",
        other => other,
    }
}

/// A message's kind and a recipient's role.
pub fn message_kind(kind: &str) -> &str {
    match kind {
        "reminder" => "thư nhắc",
        "correction" => "thư đính chính",
        "to" => "gửi",
        "cc" => "đồng gửi",
        other => other,
    }
}

/// What `outbox list` and `outbox show` print around the table.
pub fn message_count(n: usize) -> String {
    format!("{n} thư")
}

pub fn requeued(id: i64) -> String {
    format!("đã đưa thư số {id} lại vào hàng chờ cho những người nhận chưa nhận được")
}

pub const MESSAGE_LABELS: [&str; 6] = ["loại", "trạng thái", "lần gửi", "tiêu đề", "chờ đến", "đã gửi lúc"];

/// `db migrate`.
pub fn migrations_up_to_date(already: usize) -> String {
    format!("đã mới nhất ({already} bản nâng cấp đã áp dụng trước đó)")
}

pub fn migrations_applied(names: &str) -> String {
    format!("đã áp dụng {names}")
}

/// `cycle`: the plan's line in the header.
pub fn cycle_plan(id: &str, indicators: usize, flagged: usize, settled: usize, unresolved: usize, ok: bool) -> String {
    format!(
        "{id}: {indicators} chỉ tiêu, {flagged} cần xem lại ({settled} đã xử lý), {unresolved} tên chưa xác định: {}",
        if ok { "OK" } else { "CHƯA ỔN (chạy `chiso plan check`)" }
    )
}

/// Who started a run.
pub fn trigger(trigger: &str) -> &str {
    match trigger {
        "cli" => "dòng lệnh",
        "schedule" => "lịch",
        "api" => "API",
        other => other,
    }
}

/// `config check`: why a part of the settings cannot be used.
pub const CATALOG_UNUSABLE: &str = "không dùng được kế hoạch hoặc danh mục cơ quan, đơn vị";
pub const TEMPLATES_UNUSABLE: &str = "không dùng được các mẫu thư nhắc";
pub const SOURCES_UNUSABLE: &str = "không dùng được tệp nguồn dữ liệu";

/// The process could not start its async runtime (no threads, no memory).
pub const NO_RUNTIME: &str = "không khởi động được bộ chạy bất đồng bộ";

/// Before an error's text on stderr.
pub const ERROR_PREFIX: &str = "lỗi";

/// The help's layout: clap's own headings are English.
pub const HELP_TEMPLATE: &str = "{about-with-newline}\nCách dùng: {usage}\n\n{all-args}{after-help}";
/// How the help's usage line starts (see [`HELP_TEMPLATE`]).
pub const USAGE_PREFIX: &str = "Cách dùng: ";
pub const HELP_FLAG: &str = "In trợ giúp (--help: đầy đủ)";
pub const VERSION_FLAG: &str = "In phiên bản";
pub const COMMANDS_HEADING: &str = "Lệnh";
pub const OPTIONS_HEADING: &str = "Tùy chọn";
pub const ARGUMENTS_HEADING: &str = "Tham số";

/// clap's markers after an argument's help, written again in Vietnamese.
pub fn env_marker(var: &str) -> String {
    format!("[biến môi trường: {var}]")
}

pub fn default_marker(value: &str) -> String {
    format!("[mặc định: {value}]")
}

pub fn values_marker(values: &str) -> String {
    format!("[giá trị: {values}]")
}

/// Before the list of an argument's values and their help (long help).
pub const VALUES_HEADING: &str = "Giá trị:";
/// The subcommand's placeholder in a usage line.
pub const COMMAND_PLACEHOLDER: &str = "LỆNH";

/// The Vietnamese placeholder of an argument's value, by clap's English one.
pub fn placeholder(english: &str) -> Option<&'static str> {
    Some(match english {
        "PERIOD" => "QUÝ",
        "AGENCY" => "CƠ_QUAN",
        "FORMAT" | "LOG_FORMAT" => "ĐỊNH_DẠNG",
        "FILE" | "OUTPUT" | "FILES" => "TỆP",
        "OUT" => "THƯ_MỤC",
        "SECS" => "GIÂY",
        "SOURCE" => "NGUỒN",
        "STATUS" => "TRẠNG_THÁI",
        "SECTION" => "LĨNH_VỰC",
        "ROUND" => "ĐỢT",
        "AT" => "THỜI_ĐIỂM",
        "OPERATOR" => "NGƯỜI_YÊU_CẦU",
        "LIMIT" => "SỐ_DÒNG",
        "ID" => "SỐ",
        "JOB" => "CÔNG_VIỆC",
        _ => return None,
    })
}

/// The parts of a usage line clap writes in English.
pub fn usage(line: &str) -> String {
    let line = line.trim();
    let line = line.strip_prefix("Usage:").map(str::trim_start).unwrap_or(line);
    format!("Cách dùng: {}", line.replace("[OPTIONS]", "[TÙY_CHỌN]"))
}

/// A command line clap could not parse, by clap's kind of error. `arg` is the argument
/// as written in the usage (`--period <QUÝ>`), `value` what the operator gave.
pub mod parse {
    pub fn unknown_argument(arg: &str) -> String {
        format!("không có tùy chọn `{arg}` ở lệnh này")
    }
    pub fn unknown_command(name: &str) -> String {
        format!("không có lệnh `{name}`")
    }
    pub fn did_you_mean(what: &str) -> String {
        format!("có phải ý là `{what}`?")
    }
    pub fn missing_value(arg: &str) -> String {
        format!("{arg} cần một giá trị")
    }
    pub fn bad_value(arg: &str, value: &str) -> String {
        format!("giá trị `{value}` không dùng được cho {arg}")
    }
    pub fn valid_values(values: &str) -> String {
        format!("giá trị dùng được: {values}")
    }
    pub const PERIOD_HINT: &str = "cần một quý, ví dụ 2024-Q2, Q2/2024 hoặc Quý II/2024";
    pub const TIME_HINT: &str = "cần một thời điểm RFC 3339, ví dụ 2024-07-15T08:00:00+07:00";
    pub const NUMBER_HINT: &str = "cần một số nguyên";
    pub fn missing_required(args: &str) -> String {
        format!("thiếu tham số bắt buộc: {args}")
    }
    pub fn missing_command(choices: &str) -> String {
        format!("thiếu lệnh; chọn một trong: {choices}")
    }
    pub fn conflict(arg: &str, other: &str) -> String {
        format!("{arg} không dùng cùng với {other}")
    }
    pub fn value_count(arg: &str) -> String {
        format!("số giá trị cho {arg} không đúng")
    }
    pub fn no_equals(arg: &str) -> String {
        format!("{arg} cần dấu = ngay trước giá trị ({arg}=…)")
    }
    pub const NOT_UTF8: &str = "dòng lệnh có phần không phải văn bản UTF-8";
    pub const UNUSABLE: &str = "dòng lệnh không dùng được";
    pub const MORE: &str = "Xem thêm: --help";
}

/// What could not be done, before the reason (`lỗi: không dùng được cấu hình: …`).
pub const SETTINGS_UNUSABLE: &str = "không dùng được cấu hình";
pub const WAREHOUSE_UNUSABLE: &str = "không mở được kho dữ liệu";
pub const WORKBOOK_NOT_WRITTEN: &str = "không ghi được sổ tính";
pub const PLAN_NOT_WRITTEN: &str = "không ghi được kế hoạch thành tệp TOML";

pub fn cannot_read(path: &std::path::Path) -> String {
    format!("không đọc được {}", path.display())
}

pub fn cannot_create(path: &std::path::Path) -> String {
    format!("không tạo được thư mục {}", path.display())
}

pub fn cannot_write(path: &std::path::Path) -> String {
    format!("không ghi được {}", path.display())
}

pub fn cannot_replace(path: &std::path::Path) -> String {
    format!("không thay được {}", path.display())
}

/// A `--source` that the sources file does not have.
pub fn unknown_source(id: &str) -> String {
    format!("--source `{id}`: không có nguồn này trong tệp nguồn dữ liệu")
}

/// A message number the outbox does not have.
pub fn no_message(id: i64) -> String {
    format!("không có thư số {id} trong hộp thư đi")
}

pub fn nothing_to_retry(id: i64) -> String {
    format!(
        "thư số {id} không ở trạng thái gửi không được hay gửi được một phần (hoặc không có): không có gì để gửi lại"
    )
}

/// A file that cannot be used as input.
pub fn no_such_file(path: &std::path::Path) -> String {
    format!("không đọc được {}: không có tệp này", path.display())
}

pub fn folder_not_file(path: &std::path::Path) -> String {
    format!("không đọc được {}: đây là một thư mục, không phải tệp", path.display())
}

pub fn not_utf8_text(path: &std::path::Path) -> String {
    format!("không đọc được {}: tệp không phải văn bản UTF-8", path.display())
}

/// An `--agency` the directory does not resolve.
pub fn unknown_agency(name: &str, why: &str) -> String {
    format!("--agency `{name}`: không tìm thấy cơ quan trong danh mục ({why})")
}

/// An `--as-of` that is no evaluate run of the period.
pub fn unknown_as_of(id: i64, period: &str) -> String {
    format!("--as-of {id}: không có lần đánh giá #{id} của kỳ {period} trong lịch sử chạy")
}

/// A token trimmed of the whitespace around it.
pub fn token_trimmed(var: &str) -> String {
    format!("cảnh báo: {var} có khoảng trắng hoặc dấu xuống dòng ở đầu/cuối; đã bỏ đi")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_is_nfc() {
        let p = std::path::Path::new("x");
        for t in [
            run_status("running"),
            run_status("succeeded"),
            run_status("partial"),
            run_status("failed"),
            run_status("cancelled"),
            trigger("cli"),
            trigger("schedule"),
            HELP_TEMPLATE,
            HELP_FLAG,
            VERSION_FLAG,
            COMMANDS_HEADING,
            OPTIONS_HEADING,
            ARGUMENTS_HEADING,
            &no_such_file(p),
            &folder_not_file(p),
            &not_utf8_text(p),
            &unknown_agency("x", "y"),
            &unknown_as_of(1, "2024-Q2"),
            &token_trimmed("X"),
            &run_error("interrupted: the process stopped before the run ended"),
            message_status("queued"),
            message_status("partial"),
            message_kind("reminder"),
            message_kind("cc"),
            &message_count(2),
            &requeued(1),
            &migrations_up_to_date(6),
            &migrations_applied("x"),
            &cycle_plan("x", 1, 1, 1, 0, false),
            SETTINGS_UNUSABLE,
            WAREHOUSE_UNUSABLE,
            WORKBOOK_NOT_WRITTEN,
            PLAN_NOT_WRITTEN,
            &cannot_read(p),
            &cannot_create(p),
            &cannot_write(p),
            &cannot_replace(p),
            &unknown_source("x"),
            &no_message(1),
            &nothing_to_retry(1),
            &env_marker("X"),
            &default_marker("X"),
            &values_marker("X"),
            VALUES_HEADING,
            COMMAND_PLACEHOLDER,
            &usage("Usage: chiso gaps [OPTIONS]"),
            &parse::unknown_argument("x"),
            &parse::unknown_command("x"),
            &parse::did_you_mean("x"),
            &parse::missing_value("x"),
            &parse::bad_value("x", "y"),
            &parse::valid_values("x"),
            parse::PERIOD_HINT,
            parse::TIME_HINT,
            parse::NUMBER_HINT,
            &parse::missing_required("x"),
            &parse::missing_command("x"),
            &parse::conflict("x", "y"),
            &parse::value_count("x"),
            &parse::no_equals("x"),
            parse::NOT_UTF8,
            parse::UNUSABLE,
            parse::MORE,
        ] {
            assert!(chiso::text::is_nfc(t), "{t}");
        }
    }
}
