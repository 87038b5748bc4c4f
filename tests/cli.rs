//! The `chiso` binary as an operator meets it, run in an empty directory (so the embedded
//! defaults and the compiled-in plan and directory are what it uses).

mod common;

use std::path::Path;
use std::process::Output;

fn chiso(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = common::chiso_command(dir);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the chiso binary runs")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn help_explains_each_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = chiso(dir.path(), &["--help"], &[]);
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    for cmd in ["config", "db", "plan", "cycle"] {
        assert!(stdout.contains(cmd), "--help lacks {cmd}: {stdout}");
    }
    let out = chiso(dir.path(), &["plan", "--help"], &[]);
    let (stdout, _) = text(&out);
    for cmd in ["import", "load", "check"] {
        assert!(stdout.contains(cmd), "plan --help lacks {cmd}");
    }
}

#[test]
fn plan_check_json_on_the_embedded_plan() {
    let dir = tempfile::tempdir().unwrap();
    let out = chiso(dir.path(), &["plan", "check", "--format", "json"], &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["indicators"], 174);
    assert_eq!(v["items"], 173);
    assert_eq!(v["unresolved_agencies"].as_array().unwrap().len(), 0);
    assert_eq!(v["ok"], true);
    assert_eq!(v["target_kinds"]["2023"]["percent"], 114);
}

#[test]
fn the_main_command_runs_twice_on_the_embedded_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let first = chiso(dir.path(), &["cycle"], &[]);
    let (stdout, stderr) = text(&first);
    assert!(first.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Quý II/2024") && stdout.contains("174 chỉ tiêu"), "{stdout}");
    assert!(dir.path().join("data/chiso.db").exists());
    // The cycle ends with the reminders, written as .eml files and said where.
    assert!(stdout.contains("data/outbox/2024-Q2"), "{stdout}");
    let emls = std::fs::read_dir(dir.path().join("data/outbox/2024-Q2")).unwrap().count();
    assert!(emls > 10, "{emls} .eml files");
    let second = chiso(dir.path(), &["cycle", "--period", "Quý III/2024"], &[]);
    let (stdout, stderr) = text(&second);
    assert!(second.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("Quý III/2024"), "{stdout}");
}

#[test]
fn bad_settings_name_file_key_and_reason_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[calendar]\ncutoff_day = 40\n").unwrap();
    let out = chiso(dir.path(), &["--config", cfg.to_str().unwrap(), "config", "check"], &[]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.toml") && stderr.contains("calendar.cutoff_day") && stderr.contains("từ 1 đến 28"),
        "{stderr}"
    );

    let out = chiso(dir.path(), &["config", "check"], &[("CHISO_DATABASE__URL", "mysql://nope")]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("CHISO_DATABASE__URL") && stderr.contains("database.url"), "{stderr}");
}

#[test]
fn secrets_are_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("CHISO_MAIL__SMTP__PASSWORD", "p4ss-w0rd-xyz"),
        ("CHISO_ADMIN__TOKEN", "tok-abcdef-123"),
        ("CHISO_DATABASE__URL", "sqlite://data/x.db"),
    ];
    for format in ["text", "json"] {
        let out = chiso(dir.path(), &["config", "check", "--format", format], &env);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        assert!(stdout.contains("[redacted]"), "{stdout}");
        for secret in ["p4ss-w0rd-xyz", "tok-abcdef-123"] {
            assert!(!stdout.contains(secret) && !stderr.contains(secret), "{format} output leaks a secret");
        }
    }
}

#[test]
fn a_malformed_seed_writes_nothing_and_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let seed = common::seed_text();
    // Drop the legal-basis cell of item 5 (a row with seven cells).
    let broken = seed.replacen("\t80%\n\t80%\n\t>80%\n\tCác sở, ban, ngành tỉnh, UBND cấp huyện, UBND cấp xã\n\tVăn phòng UBND tỉnh\n\tNghị quyết số 07-NQ/TU ngày 16/11/2022\n", "\t80%\n\t80%\n\t>80%\n\tCác sở, ban, ngành tỉnh, UBND cấp huyện, UBND cấp xã\n\tVăn phòng UBND tỉnh\n", 1);
    assert_ne!(broken, seed);
    std::fs::write(dir.path().join("broken.txt"), &broken).unwrap();
    std::fs::write(dir.path().join("plan.toml"), "existing content\n").unwrap();
    let out = chiso(dir.path(), &["plan", "import", "--from-text", "broken.txt", "--output", "plan.toml"], &[]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("broken.txt:") && stderr.contains("dòng số 5 có 7 ô trong khi tiêu đề có 8 cột"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(dir.path().join("plan.toml")).unwrap(), "existing content\n");
    assert!(!dir.path().join("plan.toml.tmp").exists());
}

#[test]
fn a_malformed_plan_file_or_override_is_refused_with_file_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.toml"), "[plan]\nid = \"x\"\n[[item]\n").unwrap();
    std::fs::write(dir.path().join("chiso.toml"), "[plan]\nfile = \"plan.toml\"\n").unwrap();
    let out = chiso(dir.path(), &["--config", "chiso.toml", "plan", "check"], &[]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("plan.toml") && stderr.contains("dòng 3"), "{stderr}");

    std::fs::write(dir.path().join("ov.toml"), "[[override]]\nitem = \"71\"\nreason = \"\"\n").unwrap();
    std::fs::write(dir.path().join("chiso.toml"), "[plan]\noverrides = \"ov.toml\"\n").unwrap();
    let out = chiso(dir.path(), &["--config", "chiso.toml", "plan", "check"], &[]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ov.toml") && stderr.contains("mục 71") && stderr.contains("reason"), "{stderr}");

    std::fs::write(dir.path().join("ov.toml"), "[[override]]\nitem = \"999\"\nreason = \"x\"\n").unwrap();
    let out = chiso(dir.path(), &["--config", "chiso.toml", "plan", "check"], &[]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("ov.toml") && stderr.contains("999"), "{stderr}");
}

#[test]
fn a_broken_template_is_refused_by_config_check() {
    let dir = tempfile::tempdir().unwrap();
    let tpl = dir.path().join("tpl");
    std::fs::create_dir(&tpl).unwrap();
    for e in std::fs::read_dir(common::repo("config/templates")).unwrap().flatten() {
        if e.path().is_dir() {
            // report/: the quarterly report's template.
            std::fs::create_dir(tpl.join(e.file_name())).unwrap();
            for f in std::fs::read_dir(e.path()).unwrap().flatten() {
                std::fs::copy(f.path(), tpl.join(e.file_name()).join(f.file_name())).unwrap();
            }
        } else {
            std::fs::copy(e.path(), tpl.join(e.file_name())).unwrap();
        }
    }
    let ok = chiso(dir.path(), &["config", "check"], &[("CHISO_REMIND__TEMPLATES", "tpl")]);
    assert!(ok.status.success(), "{}", text(&ok).1);
    std::fs::write(tpl.join("reminder.html"), "<p>{{ agency.name }</p>\n").unwrap();
    let out = chiso(dir.path(), &["config", "check"], &[("CHISO_REMIND__TEMPLATES", "tpl")]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("reminder.html") && stderr.contains("line 1"), "{stderr}");
    std::fs::write(tpl.join("reminder.html"), "<p>{{ agency.nmae }}</p>\n").unwrap();
    let out = chiso(dir.path(), &["config", "check"], &[("CHISO_REMIND__TEMPLATES", "tpl")]);
    assert_eq!(out.status.code(), Some(2), "an unknown field is refused too: {}", text(&out).1);

    // The quarterly report's template is checked as well.
    std::fs::copy(common::repo("config/templates/reminder.html"), tpl.join("reminder.html")).unwrap();
    assert!(chiso(dir.path(), &["config", "check"], &[("CHISO_REMIND__TEMPLATES", "tpl")]).status.success());
    // An `if` left open on the first line.
    let shipped = std::fs::read_to_string(common::repo("config/templates/report/report.toml")).unwrap();
    std::fs::write(tpl.join("report/report.toml"), shipped.replacen("{% endif %}", "", 1)).unwrap();
    let out = chiso(dir.path(), &["config", "check"], &[("CHISO_REMIND__TEMPLATES", "tpl")]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("report.toml") && stderr.contains("`parent`"), "{stderr}");
}
