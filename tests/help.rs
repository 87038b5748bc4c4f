//! `--help` of every command, in Vietnamese: snapshots a reviewer reads by eye
//! (`tests/snapshots/help__*.snap`). Command names and flags stay English.
//!
//! The commands are found by walking the tree the binary itself shows: each help's `Lệnh:`
//! list names the subcommands to visit next, so a new subcommand gets its snapshot (and
//! fails the test until a reviewer accepts it) without anyone listing it here.

use std::process::Command;

fn help(path: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_chiso")).args(path).arg("--help").output().unwrap();
    assert!(out.status.success(), "{path:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands a help lists under its `Lệnh:` heading.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Lệnh:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn every_command_s_help_is_vietnamese() {
    let mut todo: Vec<Vec<String>> = vec![vec![]];
    let mut seen = Vec::new();
    while let Some(path) = todo.pop() {
        let help = help(&path);
        assert!(chiso::text::is_nfc(&help), "{path:?}");
        // clap's own English headings and markers are replaced.
        for english in
            ["Usage:", "Options:", "Commands:", "Arguments:", "Print help", "[default:", "[possible values:", "[env:"]
        {
            assert!(!help.contains(english), "{path:?} shows `{english}`:\n{help}");
        }
        // Every option and argument says what it is for: on its line, or (long layout) on the
        // next one.
        let lines: Vec<&str> = help.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            let indent = line.len() - t.len();
            if !((2..=6).contains(&indent) && (t.starts_with('-') || t.starts_with(['<', '[']))) {
                continue;
            }
            let words = line.split("  ").filter(|w| !w.trim().is_empty()).count();
            let next = lines.get(i + 1).map(|l| l.trim()).unwrap_or("");
            let described = words >= 2 || (!next.is_empty() && !next.starts_with('-'));
            assert!(described, "{path:?}: `{t}` has no help:\n{help}");
        }
        for sub in subcommands(&help) {
            let mut next = path.clone();
            next.push(sub);
            todo.push(next);
        }
        let name = if path.is_empty() { "chiso".to_string() } else { format!("chiso_{}", path.join("_")) };
        insta::assert_snapshot!(name.clone(), help);
        seen.push(name);
    }
    // The walk reaches the nested commands, not just the first level.
    for nested in ["chiso_outbox_retry", "chiso_runs_show", "chiso_export_observations", "chiso_plan_check"] {
        assert!(seen.iter().any(|s| s == nested), "{nested} not visited: {seen:?}");
    }
}

/// clap's English words that must not reach an operator.
const CLAP_ENGLISH: &[&str] = &[
    "error:",
    "Usage:",
    "unexpected argument",
    "invalid value",
    "a value is required",
    "For more information",
    "the following required arguments",
    "possible values",
    "[OPTIONS]",
    "<COMMAND>",
    "tip:",
    "unrecognized subcommand",
    "cannot be used with",
    "did you mean",
];

#[test]
fn a_wrong_command_line_is_refused_in_vietnamese_with_exit_2() {
    // (command line, what the message must say)
    let table: &[(&[&str], &[&str])] = &[
        (
            &["gaps", "--perod", "2024-Q2"],
            &["không có tùy chọn `--perod`", "có phải ý là `--period`?", "Cách dùng: chiso gaps"],
        ),
        (
            &["gaps", "--period", "2024-Q2", "--format", "xls"],
            &["giá trị `xls` không dùng được cho --format", "table, csv, json, xlsx", "`xlsx`"],
        ),
        (&["runs", "list", "--format", "yaml"], &["giá trị `yaml`", "text, json"]),
        (&["gaps"], &["thiếu tham số bắt buộc: --period <QUÝ>"]),
        (&["template", "--period", "2024-Q2"], &["thiếu tham số bắt buộc: --agency <CƠ_QUAN>"]),
        (&["gaps", "--period"], &["--period <QUÝ> cần một giá trị"]),
        (&["gaps", "--period", "2024-Q9"], &["giá trị `2024-Q9` không dùng được cho --period", "cần một quý"]),
        (&["evaluate", "--period", "quý năm"], &["giá trị `quý năm`", "cần một quý"]),
        (&["evaluate", "--period", "2024-Q2", "--at", "hôm qua"], &["giá trị `hôm qua`", "RFC 3339"]),
        (&["runs", "show", "mười"], &["giá trị `mười`", "cần một số nguyên"]),
        (&["frobnicate"], &["không có lệnh `frobnicate`"]),
        (&["outbox", "retry", "1", "--failed"], &["không dùng cùng với --failed"]),
        (&["outbox", "retry", "--period", "2024-Q2"], &["thiếu tham số bắt buộc"]),
    ];
    for (args, expected) in table {
        let out = Command::new(env!("CARGO_BIN_EXE_chiso")).args(*args).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}:\n{stderr}");
        assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
        assert!(stderr.starts_with("lỗi: "), "{args:?}:\n{stderr}");
        assert!(chiso::text::is_nfc(&stderr), "{args:?}");
        for want in *expected {
            assert!(stderr.contains(want), "{args:?} lacks `{want}`:\n{stderr}");
        }
        for english in CLAP_ENGLISH {
            assert!(!stderr.contains(english), "{args:?} shows `{english}`:\n{stderr}");
        }
    }
}

#[test]
fn a_command_without_its_subcommand_shows_its_help_in_vietnamese_with_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_chiso")).arg("outbox").output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("Cách dùng: chiso outbox [TÙY_CHỌN] <LỆNH>"), "{stderr}");
    for english in CLAP_ENGLISH {
        assert!(!stderr.contains(english), "shows `{english}`:\n{stderr}");
    }
}

#[test]
fn help_and_version_go_to_stdout_with_exit_0() {
    for flag in ["--help", "-h", "--version", "-V"] {
        let out = Command::new(env!("CARGO_BIN_EXE_chiso")).arg(flag).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(out.stderr.is_empty(), "{flag}");
        assert!(!out.stdout.is_empty(), "{flag}");
    }
}
