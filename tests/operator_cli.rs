//! What an operator meets at the terminal: settings that cannot surprise, exit codes as
//! documented, a closed pipe ended quietly. The binary runs in an empty directory on the
//! embedded defaults, with the process's `CHISO_` variables removed.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = common::chiso_command(dir);
    cmd.args(args);
    cmd
}

fn chiso(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = command(dir, args);
    cmd.envs(env.iter().copied());
    cmd.output().expect("the chiso binary runs")
}

fn out(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn a_numeric_token_and_user_name_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let o = chiso(
        dir.path(),
        &["config", "check", "--format", "json"],
        &[("CHISO_ADMIN__TOKEN", "123456"), ("CHISO_MAIL__SMTP__USERNAME", "100200")],
    );
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["settings"]["admin"]["token"], "[redacted]");
    assert_eq!(v["settings"]["mail"]["smtp"]["username"], "100200");
    assert!(!stdout.contains("123456"));
}

#[test]
fn a_non_utf8_variable_is_named_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path(), &["config", "check"]);
    cmd.env("CHISO_OPERATOR_NOTE", OsStr::from_bytes(b"Nguy\xe1n"));
    let o = cmd.output().unwrap();
    let (_, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("CHISO_OPERATOR_NOTE") && stderr.contains("UTF-8"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Another program's variable is none of chiso's business.
    let mut cmd = command(dir.path(), &["config", "check"]);
    cmd.env("OTHER_PROGRAM_VAR", OsStr::from_bytes(b"\xff\xfe"));
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", out(&o).1);
}

#[test]
fn a_token_s_trailing_newline_is_trimmed_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let o = chiso(dir.path(), &["config", "check"], &[("CHISO_ADMIN__TOKEN", "tok-abc\n")]);
    let (_, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("CHISO_ADMIN__TOKEN") && stderr.contains("khoảng trắng"), "{stderr}");
    let o = chiso(dir.path(), &["config", "check"], &[("CHISO_ADMIN__TOKEN", "tok-abc")]);
    assert!(!out(&o).1.contains("khoảng trắng"), "no warning for a clean token");
}

#[test]
fn an_at_sign_in_a_database_password_is_fully_redacted() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["text", "json"] {
        let o = chiso(
            dir.path(),
            &["config", "check", "--format", format],
            &[("CHISO_DATABASE__URL", "postgres://chiso:pa@ss-w0rd@db.example:5432/chiso")],
        );
        let (stdout, stderr) = out(&o);
        assert!(o.status.success(), "{stderr}");
        assert!(stdout.contains("postgres://chiso:***@db.example:5432/chiso"), "{stdout}");
        for part in ["pa@", "ss-w0rd", "w0rd"] {
            assert!(!stdout.contains(part) && !stderr.contains(part), "{format}: leaks {part}");
        }
    }
}

#[test]
fn an_unreadable_directory_file_is_refused_not_replaced_by_the_embedded_copy() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("config")).unwrap();
    // What Notepad saves as "Unicode": UTF-16 with a byte-order mark.
    let mut utf16 = vec![0xFF, 0xFE];
    for u in chiso::app::EMBEDDED_AGENCIES.encode_utf16() {
        utf16.extend(u.to_le_bytes());
    }
    std::fs::write(dir.path().join("config/agencies.toml"), utf16).unwrap();
    for args in [&["config", "check"][..], &["plan", "check"][..]] {
        let o = chiso(dir.path(), args, &[]);
        let (_, stderr) = out(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("config/agencies.toml") && stderr.contains("UTF-8"), "{stderr}");
        assert!(!stderr.contains("embedded"), "{stderr}");
    }
    // Absent, the embedded copy is used as before.
    std::fs::remove_file(dir.path().join("config/agencies.toml")).unwrap();
    assert!(chiso(dir.path(), &["config", "check"], &[]).status.success());
}

#[test]
fn a_cron_that_never_fires_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("chiso.toml");
    for (cron, ok) in [("0 0 7 31 2 *", false), ("0 0 7 29 2 *", true), ("0 0 7 * * MON-FRI", true)] {
        std::fs::write(&cfg, format!("[[serve.schedule]]\nid = \"x\"\njob = \"collect\"\ncron = \"{cron}\"\n"))
            .unwrap();
        let o = chiso(dir.path(), &["--config", "chiso.toml", "config", "check"], &[]);
        let (_, stderr) = out(&o);
        if ok {
            assert!(o.status.success(), "{cron}: {stderr}");
        } else {
            assert_eq!(o.status.code(), Some(2), "{cron}: {stderr}");
            assert!(stderr.contains(cron) && stderr.contains("serve.schedule"), "{stderr}");
        }
    }
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    assert!(chiso(dir.path(), &["evaluate", "--period", "2024-Q2"], &[]).status.success());
    // `chiso gaps --format csv | head -1`: megabytes of rows; head reads one line and closes
    // the pipe.
    let mut child = command(dir.path(), &["gaps", "--period", "2024-Q2", "--format", "csv"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut first).unwrap();
    // The reader is dropped here: the pipe is closed.
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(first.starts_with("\u{feff}item,measure"), "{first}");
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
    use std::os::unix::process::ExitStatusExt;
    assert!(o.status.success() || o.status.signal() == Some(libc::SIGPIPE), "{:?}", o.status);
    assert_ne!(o.status.code(), Some(101));
}

/// Exit codes as the README documents them: 0 done, 1 the job found problems, 2 unusable
/// settings or input, 3 the same job running elsewhere (tests/daemon_cli.rs and
/// `two_concurrent_ingests_run_once`).
#[test]
fn each_exit_code_for_input_and_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("a-folder")).unwrap();
    std::fs::write(d.join("page.xlsx"), "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>").unwrap();
    assert!(chiso(d, &["evaluate", "--period", "2024-Q2"], &[]).status.success());
    let runs_before = runs(d);
    for (args, names) in [
        (vec!["ingest", "missing.xlsx", "--period", "2024-Q2"], "missing.xlsx"),
        (vec!["ingest", "a-folder", "--period", "2024-Q2"], "a-folder"),
        (vec!["inspect", "missing.xlsx"], "missing.xlsx"),
        (vec!["plan", "import", "--from-text", "a-folder"], "a-folder"),
        (vec!["ingest", "page.xlsx", "--period", "2024-Q2", "--agency", "Sở Không Có"], "Sở Không Có"),
        (vec!["template", "--agency", "so_khong_co", "--period", "2024-Q2"], "so_khong_co"),
        (vec!["gaps", "--period", "2024-Q2", "--agency", "Sở Không Có"], "Sở Không Có"),
        (vec!["gaps", "--period", "2024-Q2", "--as-of", "9999"], "9999"),
        (vec!["gaps", "--period", "2024-Q3", "--as-of", "1"], "--as-of 1"),
    ] {
        let o = chiso(d, &args, &[]);
        let (stdout, stderr) = out(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(names), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: no table on unusable input: {stdout}");
    }
    assert_eq!(runs(d), runs_before, "unusable input starts no run");
    // Names resolve like everywhere else: by id, name or alias.
    for agency in ["so_yt", "Sở Y tế", "SỞ Y TẾ"] {
        let o = chiso(d, &["gaps", "--period", "2024-Q2", "--agency", agency, "--format", "json"], &[]);
        let (stdout, stderr) = out(&o);
        assert!(o.status.success(), "{agency}: {stderr}");
        let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let rows = rows.as_array().unwrap();
        assert!(!rows.is_empty() && rows.iter().all(|r| r["agency"] == "so_yt"), "{agency}");
    }
    assert!(chiso(d, &["gaps", "--period", "2024-Q2", "--as-of", "1"], &[]).status.success(), "run #1 evaluated Q2");
    // A file refused whole is a problem the job found: exit 1, the run partial.
    let o = chiso(d, &["ingest", "page.xlsx", "--period", "2024-Q2"], &[]);
    assert_eq!(o.status.code(), Some(1), "{:?}", out(&o));
    let last = runs(d).pop().unwrap();
    assert_eq!((last["job"].as_str(), last["status"].as_str()), (Some("ingest"), Some("partial")), "{last}");
}

fn runs(dir: &Path) -> Vec<serde_json::Value> {
    let o = chiso(dir, &["runs", "list", "--format", "json"], &[]);
    assert!(o.status.success(), "{:?}", out(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut v = v.as_array().unwrap().clone();
    v.sort_by_key(|r| r["id"].as_i64());
    v
}

/// English words of the crates underneath and of the old messages, which must not reach an
/// operator.
const ENGLISH: &[&str] = &[
    "cannot",
    "invalid",
    "error:",
    "not found",
    "failed",
    "must ",
    "is not",
    "No such file",
    "os error",
    "expected",
    "missing",
    "unknown",
    "refused",
    "settings are",
    "warehouse",
    "parse",
    "timed out",
];

#[test]
fn what_stops_a_command_is_said_in_vietnamese() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, text: &str| std::fs::write(d.join(name), text).unwrap();
    write("bad-type.toml", "[collect]\nconcurrency = \"lots\"\n");
    write("bad-range.toml", "[collect]\nconcurrency = 0\n");
    write("typo.toml", "[databse]\nurl = \"sqlite://x.db\"\n");
    write("syntax.toml", "[collect\n");
    write("broken-plan.toml", "[plan]\nfile = \"plan-broken.toml\"\n");
    write("plan-broken.toml", "[plan]\nid = = 1\n");
    write("no-plan.toml", "[plan]\nfile = \"plan-absent.toml\"\n");
    write("never.toml", "[[serve.schedule]]\nid = \"x\"\njob = \"collect\"\ncron = \"0 0 7 31 2 *\"\n");
    // (command line, environment, exit code, what stderr must say)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], i32, &'a [&'a str]);
    let table: &[Case] = &[
        (
            &["--config", "bad-type.toml", "config", "check"],
            &[],
            2,
            &["collect.concurrency", "có chuỗi \"lots\", cần một số nguyên"],
        ),
        (&["--config", "bad-range.toml", "config", "check"], &[], 2, &["collect.concurrency", "phải từ 1 đến 64"]),
        (&["--config", "typo.toml", "config", "check"], &[], 2, &["không có khóa `databse`", "database"]),
        (&["--config", "syntax.toml", "config", "check"], &[], 2, &["syntax.toml", "dòng 1", "sai cú pháp TOML"]),
        (&["--config", "absent.toml", "config", "check"], &[], 2, &["không đọc được absent.toml", "không có tệp"]),
        (&["--config", "broken-plan.toml", "config", "check"], &[], 2, &["plan-broken.toml", "dòng 2", "kế hoạch"]),
        (&["--config", "no-plan.toml", "plan", "check"], &[], 2, &["không đọc được plan-absent.toml"]),
        (
            &["--config", "never.toml", "config", "check"],
            &[],
            2,
            &["serve.schedule", "0 0 7 31 2 *", "không bao giờ chạy"],
        ),
        (
            &["config", "check"],
            &[("CHISO_ADMIN__BIND", "0.0.0.0:8080")],
            2,
            &["admin.token", "0.0.0.0:8080", "CHISO_ADMIN__TOKEN"],
        ),
        (
            &["config", "check"],
            &[("CHISO_ADMIN__BIND", "ở đây")],
            2,
            &["admin.bind", "không phải địa chỉ dạng 127.0.0.1:8080"],
        ),
        (&["config", "check"], &[("CHISO_DATABASE__URL", "mysql://db/x")], 2, &["database.url", "CHISO_DATABASE__URL"]),
        (
            &["template", "--agency", "so_khong_co", "--period", "2024-Q2"],
            &[],
            2,
            &["so_khong_co", "không tìm thấy cơ quan"],
        ),
        (&["inspect", "absent.xlsx"], &[], 2, &["không đọc được absent.xlsx"]),
        (
            &["remind", "--period", "2024-Q2", "--round", "khong_co", "--dry-run"],
            &[],
            2,
            &["không có đợt nhắc `khong_co`"],
        ),
        (&["outbox", "show", "4242"], &[], 2, &["không có thư số 4242"]),
        (
            &["runs", "list"],
            &[("CHISO_DATABASE__URL", "sqlite:/proc/khong-co/x.db")],
            1,
            &["không mở được kho dữ liệu", "/proc/khong-co"],
        ),
    ];
    for (args, env, code, expected) in table {
        let o = chiso(d, args, env);
        let (stdout, stderr) = out(&o);
        assert_eq!(o.status.code(), Some(*code), "{args:?}: {stdout}{stderr}");
        assert!(stderr.starts_with("lỗi: "), "{args:?}: {stderr}");
        assert!(chiso::text::is_nfc(&stderr), "{args:?}");
        for want in *expected {
            assert!(stderr.contains(want), "{args:?} lacks `{want}`: {stderr}");
        }
        let lower = stderr.to_lowercase();
        for english in ENGLISH {
            assert!(!lower.contains(&english.to_lowercase()), "{args:?} says `{english}`: {stderr}");
        }
    }
}

#[test]
fn summaries_tables_and_statuses_are_vietnamese() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cycle = chiso(d, &["cycle", "--period", "2024-Q3"], &[]);
    let (stdout, stderr) = out(&cycle);
    assert!(stdout.contains("kho dữ liệu") && stdout.contains("chỉ tiêu"), "{stdout}{stderr}");
    let mut shown = vec![("cycle".to_string(), stdout)];
    for args in [
        &["db", "migrate"][..],
        &["runs", "list"][..],
        &["runs", "show", "2"][..],
        &["outbox", "list"][..],
        &["outbox", "show", "1"][..],
        &["rejects", "--period", "2024-Q3"][..],
        &["gaps", "--period", "2024-Q3", "--limit", "5"][..],
        &["remind", "--period", "2024-Q3", "--dry-run"][..],
    ] {
        let o = chiso(d, args, &[]);
        let (stdout, stderr) = out(&o);
        assert!(o.status.code().is_some_and(|c| c <= 1), "{args:?}: {stderr}");
        assert!(!stdout.trim().is_empty(), "{args:?} printed nothing: {stderr}");
        shown.push((args.join(" "), stdout));
    }
    let outbox = &shown.iter().find(|(c, _)| c == "outbox list").unwrap().1;
    assert!(outbox.contains("thư nhắc") && outbox.contains(" thư"), "{outbox}");
    let show = &shown.iter().find(|(c, _)| c == "outbox show 1").unwrap().1;
    assert!(show.starts_with("Thư số 1:") && show.contains("trạng thái"), "{show}");
    let runs = &shown.iter().find(|(c, _)| c == "runs list").unwrap().1;
    assert!(runs.contains("thành công"), "{runs}");
    // `chiso cycle` runs through the one orchestrator: a cycle run of its own (1), then its
    // collect (2), evaluate (3) and remind (4), whose JSON counts it names.
    let cycle_run = chiso(d, &["runs", "show", "1"], &[]);
    let (cycle_run, _) = out(&cycle_run);
    assert!(cycle_run.starts_with("Lần chạy 1: cycle 2024-Q3"), "{cycle_run}");
    assert!(cycle_run.contains("\"run\": 2") && cycle_run.contains("\"run\": 4"), "{cycle_run}");
    let collect_run = &shown.iter().find(|(c, _)| c == "runs show 2").unwrap().1;
    assert!(collect_run.starts_with("Lần chạy 2: collect 2024-Q3"), "{collect_run}");
    for (command, text) in &shown {
        for english in [
            " queued",
            "succeeded",
            " partial",
            " failed",
            " messages",
            "Message ",
            "subject",
            "not before",
            "up to date",
            "applied",
            "warehouse",
            "indicators",
            "flagged",
            "unresolved",
            "reminder ",
            "attached",
        ] {
            assert!(!text.contains(english), "{command} shows `{english}`:\n{text}");
        }
    }
}
