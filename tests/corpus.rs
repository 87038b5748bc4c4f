//! The reading corpus (`tests/data/corpus/`), run through the real binary: every workbook is
//! ingested into a fresh SQLite warehouse the way an operator would (`chiso ingest FILE
//! [--period P] [--agency A]`), then the stored figures and rejects are read back
//! (`chiso export observations`, `chiso rejects`) and compared with what the officer meant
//! (`FILE.expect.toml`). All mismatches of all files are reported at once. The CLI lists
//! figures one period at a time, so the warehouse's row count catches any stored in a period
//! the expectation does not name.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    agency: Option<String>,
    period: Option<String>,
    /// A source mapping (the shape of `config/sources.toml`); the CLI cannot take one yet.
    mapping: Option<toml::Value>,
    #[serde(default)]
    stored: Vec<Stored>,
    #[serde(default)]
    not_stored: Vec<NotStored>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    cell: String,
    item: String,
    #[serde(default)]
    measure: String,
    agency: String,
    period: String,
    kind: String,
    value: toml::Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotStored {
    cell: String,
    outcome: String,
    code: Option<String>,
    word: Option<String>,
    #[serde(default)]
    why: String,
}

#[derive(Debug, Clone)]
struct Got {
    item: String,
    measure: String,
    agency: String,
    period: String,
    kind: String,
    value: serde_json::Value,
    raw: String,
}

impl std::fmt::Display for Got {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = if self.measure.is_empty() { String::new() } else { format!("/{}", self.measure) };
        write!(
            f,
            "item {}{m} {} {} {} {} (raw “{}”)",
            self.item, self.agency, self.period, self.kind, self.value, self.raw
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Reject {
    location: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    raw_text: String,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus")
}

fn chiso(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = common::chiso_command(dir);
    cmd.args(args).env("RUST_LOG", "warn");
    cmd.env("CHISO_DATABASE__URL", format!("sqlite://{}", dir.join("w.db").display()));
    cmd.output().expect("the chiso binary runs")
}

fn tail(s: &[u8]) -> String {
    let s = String::from_utf8_lossy(s);
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(4)..].join(" | ")
}

fn json_list(dir: &Path, args: &[&str], problems: &mut Vec<String>) -> Vec<serde_json::Value> {
    let out = chiso(dir, args);
    if !out.status.success() {
        problems.push(format!("`chiso {}` failed: {}", args.join(" "), tail(&out.stderr)));
        return Vec::new();
    }
    match serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout) {
        Ok(v) => v,
        Err(e) => {
            problems.push(format!("`chiso {}` printed no JSON list: {e}", args.join(" ")));
            Vec::new()
        }
    }
}

fn fold(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfc().collect::<String>().to_lowercase()
}

fn value_matches(kind: &str, want: &toml::Value, got: &serde_json::Value) -> bool {
    match (kind, want) {
        ("status", toml::Value::String(s)) => got.as_str() == Some(s.as_str()),
        (_, toml::Value::Float(f)) => got.as_f64().is_some_and(|g| (g - f).abs() < 1e-6),
        (_, toml::Value::Integer(i)) => got.as_f64().is_some_and(|g| (g - *i as f64).abs() < 1e-6),
        _ => false,
    }
}

fn show_value(kind: &str, v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{kind} {s}"),
        other => format!("{kind} {other}"),
    }
}

/// Ingests one workbook and compares; returns the mismatches (empty when read exactly).
fn check(file: &Path) -> Vec<String> {
    let name = file.file_name().expect("a file name").to_string_lossy().into_owned();
    let mut problems = Vec::new();
    let expect_path = file.with_file_name(format!("{name}.expect.toml"));
    let text = match std::fs::read_to_string(&expect_path) {
        Ok(t) => t,
        Err(e) => return vec![format!("no expectation {}: {e}", expect_path.display())],
    };
    let exp: Expect = match toml::from_str(&text) {
        Ok(e) => e,
        Err(e) => return vec![format!("{} does not parse: {e}", expect_path.display())],
    };
    if exp.mapping.is_some() {
        problems.push("the expectation has a mapping, which `chiso ingest` cannot take".into());
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let path = file.to_string_lossy().into_owned();
    let mut args = vec!["ingest", path.as_str()];
    if let Some(p) = &exp.period {
        args.extend(["--period", p.as_str()]);
    }
    if let Some(a) = &exp.agency {
        args.extend(["--agency", a.as_str()]);
    }
    let out = chiso(dir, &args);
    let ingest_note = (!out.status.success())
        .then(|| format!("`chiso ingest` exited {:?}: {}", out.status.code(), tail(&out.stderr)));

    let mut periods: BTreeSet<String> = exp.stored.iter().map(|s| s.period.clone()).collect();
    periods.extend(exp.period.clone());
    let mut got: BTreeMap<String, Vec<Got>> = BTreeMap::new();
    let mut rejects: Vec<Reject> = Vec::new();
    for p in &periods {
        for o in json_list(dir, &["export", "observations", "--period", p, "--format", "json"], &mut problems) {
            let s = |k: &str| o[k].as_str().unwrap_or_default().to_string();
            got.entry(s("location")).or_default().push(Got {
                item: s("item"),
                measure: s("measure"),
                agency: s("agency_id"),
                period: s("period"),
                kind: o["value"]["kind"].as_str().unwrap_or_default().to_string(),
                value: o["value"]["value"].clone(),
                raw: s("raw_text"),
            });
        }
        for r in json_list(dir, &["rejects", "--period", p, "--format", "json"], &mut problems) {
            if let Ok(r) = serde_json::from_value::<Reject>(r) {
                rejects.push(r);
            }
        }
    }

    // Figures stored in a period nobody exported would escape the comparison: count them all.
    let exported: usize = got.values().map(Vec::len).sum();
    if let Some(total) = stored_total(&dir.join("w.db"))
        && total as usize > exported
    {
        problems.push(format!(
            "{} figure(s) stored in periods other than {} (not expected)",
            total as usize - exported,
            periods.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }

    let mut expected_cells = BTreeSet::new();
    for s in &exp.stored {
        expected_cells.insert((s.cell.clone(), s.period.clone()));
        let want = format!(
            "item {}{} {} {} {}",
            s.item,
            if s.measure.is_empty() { String::new() } else { format!("/{}", s.measure) },
            s.agency,
            s.period,
            show_value(&s.kind, &s.value)
        );
        let here: Vec<&Got> = got.get(&s.cell).into_iter().flatten().filter(|g| g.period == s.period).collect();
        let exact = here.iter().any(|g| {
            g.item == s.item
                && g.measure == s.measure
                && g.agency == s.agency
                && g.kind == s.kind
                && value_matches(&s.kind, &s.value, &g.value)
        });
        if !exact {
            let got_text = if here.is_empty() {
                match rejects.iter().find(|r| r.location == s.cell) {
                    Some(r) => format!("refused [{}] {} (raw “{}”)", r.code, r.message, r.raw_text),
                    None => "nothing stored".into(),
                }
            } else {
                here.iter().map(|g| g.to_string()).collect::<Vec<_>>().join("; ")
            };
            problems.push(format!("{}: expected {want}; got {got_text}", s.cell));
        }
    }
    let mut listed = BTreeSet::new();
    for n in &exp.not_stored {
        listed.insert(n.cell.clone());
        if let Some(gs) = got.get(&n.cell) {
            let gs = gs.iter().map(|g| g.to_string()).collect::<Vec<_>>().join("; ");
            problems.push(format!("{}: expected {} ({}); got stored {gs}", n.cell, n.outcome, n.why));
            continue;
        }
        let here: Vec<&Reject> = rejects.iter().filter(|r| r.location == n.cell).collect();
        match n.outcome.as_str() {
            "skipped" => {
                if let Some(r) = here.first() {
                    problems.push(format!(
                        "{}: expected skipped ({}); got refused [{}] {}",
                        n.cell, n.why, r.code, r.message
                    ));
                }
            }
            "refused" | "held" => {
                let ok = here.iter().any(|r| {
                    n.code.as_ref().is_none_or(|c| &r.code == c)
                        && n.word.as_ref().is_none_or(|w| fold(&r.message).contains(&fold(w)))
                });
                if !ok {
                    let got_text = if here.is_empty() {
                        "no reject at this cell".to_string()
                    } else {
                        here.iter().map(|r| format!("[{}] {}", r.code, r.message)).collect::<Vec<_>>().join("; ")
                    };
                    problems.push(format!(
                        "{}: expected {}{}{} ({}); got {got_text}",
                        n.cell,
                        n.outcome,
                        n.code.as_ref().map(|c| format!(" [{c}]")).unwrap_or_default(),
                        n.word.as_ref().map(|w| format!(" with “{w}”")).unwrap_or_default(),
                        n.why
                    ));
                }
            }
            other => problems.push(format!("{}: unknown outcome `{other}` in the expectation", n.cell)),
        }
    }
    for (cell, gs) in &got {
        for g in gs {
            if !expected_cells.contains(&(cell.clone(), g.period.clone())) && !listed.contains(cell) {
                problems.push(format!("{cell}: stored but not expected: {g}"));
            }
        }
    }
    if !problems.is_empty() {
        for r in rejects.iter().filter(|r| r.location == name) {
            problems.push(format!("(the whole file was refused: [{}] {})", r.code, r.message));
        }
        if let Some(n) = ingest_note {
            problems.push(format!("({n})"));
        }
    }
    problems
}

/// Every observation row in the warehouse, whatever its period.
fn stored_total(db: &Path) -> Option<i64> {
    if !db.exists() {
        return None;
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.ok()?;
        let n: Option<i64> = sqlx::query_scalar("SELECT COUNT(*) FROM observations").fetch_one(&pool).await.ok();
        pool.close().await;
        n
    })
}

fn workbooks() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the corpus folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "xlsx" | "xls" | "ods" | "xlsb"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_workbook_is_read_as_its_officer_meant() {
    let files = workbooks();
    assert!(files.len() >= 40, "the corpus holds {} workbooks, fewer than 40", files.len());
    for f in &files {
        let name = f.file_name().unwrap_or_default().to_string_lossy().into_owned();
        assert!(f.with_file_name(format!("{name}.expect.toml")).exists(), "{name} has no expectation");
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<(String, Vec<String>)>> = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(f) = files.get(i) else { break };
                    let problems = check(f);
                    let name = f.file_name().unwrap_or_default().to_string_lossy().into_owned();
                    results.lock().expect("results").push((name, problems));
                }
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort();
    let exact = results.iter().filter(|(_, p)| p.is_empty()).count();
    let mut report = String::new();
    for (name, problems) in &results {
        if problems.is_empty() {
            continue;
        }
        report.push_str(&format!("\n{name}: {} mismatch(es)\n", problems.len()));
        for p in problems {
            report.push_str(&format!("    {p}\n"));
        }
    }
    let summary = format!("corpus: {exact} of {} workbooks read exactly", results.len());
    println!("{summary}");
    assert!(exact == results.len(), "{report}\n{summary}");
}
