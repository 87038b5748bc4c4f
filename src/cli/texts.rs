//! The operator's words: the texts the command line shows that are not a command's own
//! table (run statuses, triggers, the error prefix, the help's headings, the messages of
//! unusable input), in Vietnamese, in one place for a reviewer to read. Command names,
//! flags and machine formats (json, csv headers, logs) stay English.

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

/// Before an error's text on stderr.
pub const ERROR_PREFIX: &str = "lỗi";

/// The help's layout: clap's own headings are English.
pub const HELP_TEMPLATE: &str = "{about-with-newline}\nCách dùng: {usage}\n\n{all-args}{after-help}";
pub const HELP_FLAG: &str = "In trợ giúp (--help: đầy đủ)";
pub const VERSION_FLAG: &str = "In phiên bản";
pub const COMMANDS_HEADING: &str = "Lệnh";
pub const OPTIONS_HEADING: &str = "Tùy chọn";
pub const ARGUMENTS_HEADING: &str = "Tham số";

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
    format!("cảnh báo: {var} có khoảng trắng hoặc dấu xuống dòng ở đầu/cuối; đã bỏ (token trimmed)")
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
        ] {
            assert!(chiso::text::is_nfc(t), "{t}");
        }
    }
}
