//! Ingesting 200,000-row long-layout workbooks (parse, normalize, store in SQLite), each
//! against calamine's bare read of the same file measured in the same run:
//! * file (a), `single`: one quarter, a `Kỳ báo cáo` column (`Quý II/2024`) on every row;
//! * file (b), `year-quarter`: eight quarters 2024-Q1 … 2025-Q4 in separate `Năm` (2024)
//!   and `Quý` (II) columns, the same commune × item pairs in each quarter; ingested for one
//!   quarter (`--period`: the other seven are skipped as "khác kỳ") and as a backfill (no
//!   period: every quarter stored, each as its own ingestion).
//!
//! On file (a) a plain Python pandas + openpyxl + sqlite3 script doing the same work is the
//! baseline (`benches/baseline_ingest.py`; needs `pip install pandas openpyxl`, skipped
//! without it).
//!
//! Run: `cargo bench --bench ingest` (add `-- --runs 5 --rows 200000`). Each measurement
//! runs in a child process so its peak resident memory (VmHWM) is its own. Every chiso line
//! checks the number of observations it stored (or yielded) against what the file holds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use chiso::catalog::plan::{Catalog, OverridesFile, PlanFile};
use chiso::demo::{DemoCell, SheetSpec, national_directory, write_book};
use chiso::domain::{MeasureKind, Period, ReportingCalendar};
use chiso::ingest::normalize::Normalized;

/// Synthetic commune-level units: at least the 3,321 of today's Việt Nam, enough for 200,000 rows
/// of commune-led items (44 items each in 2024).
const COMMUNES: usize = 4_600;

/// The sheet both files use.
const SHEET: &str = "Cấp xã";

/// The quarters file (b) holds.
fn quarters() -> Vec<Period> {
    (2024..=2025).flat_map(|y| (1..=4).map(move |q| Period::new(y, q).expect("quarter"))).collect()
}

/// The quarter collected with `--period`: file (a)'s only one, one of file (b)'s eight.
fn period() -> Period {
    Period::new(2024, 2).expect("period")
}

const ROMAN: [&str; 4] = ["I", "II", "III", "IV"];

/// The real directory plus the synthetic communes, and the plan read against it.
fn national() -> (chiso::catalog::Directory, Catalog) {
    let base = chiso::catalog::Directory::load(Path::new("config/agencies.toml")).expect("directory");
    let dir = national_directory(&base, COMMUNES).expect("national directory");
    let catalog = catalog(&dir);
    (dir, catalog)
}

/// A migrated SQLite warehouse in `dir`.
async fn fresh_warehouse(dir: &Path) -> chiso::warehouse::Warehouse {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let wh = chiso::warehouse::Warehouse::connect(&url, &Default::default()).await.expect("warehouse");
    wh.migrate().await.expect("migrate");
    wh
}

fn catalog(dir: &chiso::catalog::Directory) -> Catalog {
    let plan = PlanFile::load(Path::new("config/plans/kh-742-2023.toml")).expect("plan");
    let overrides = OverridesFile::load(Path::new("config/plans/kh-742-2023.overrides.toml")).expect("overrides");
    Catalog::build(&plan, &overrides, "overrides", dir).expect("catalog")
}

fn assignments(catalog: &Catalog, dir: &chiso::catalog::Directory, p: Period) -> chiso::catalog::assign::Assignments {
    chiso::catalog::assign::Assignments::new(catalog, dir, p.year(), ReportingCalendar::default().cutoff(p))
}

/// The commune-led, non-composite items of a synthetic commune in every one of `periods`
/// (the assignments differ per year), with whether each is a percentage.
fn commune_items(catalog: &Catalog, dir: &chiso::catalog::Directory, periods: &[Period]) -> Vec<(String, bool)> {
    let probe = chiso::domain::AgencyId::parse("bench_x900000").expect("id");
    let led = |p: Period| -> Vec<usize> {
        assignments(catalog, dir, p)
            .parts_of(&probe)
            .iter()
            .filter(|(_, part)| *part == chiso::catalog::assign::Part::Lead)
            .map(|(i, _)| *i)
            .filter(|i| !catalog.indicators[*i].is_composite())
            .collect()
    };
    let mut items = led(periods[0]);
    for p in &periods[1..] {
        let other = led(*p);
        items.retain(|i| other.contains(i));
    }
    items
        .into_iter()
        .map(|i| &catalog.indicators[i])
        .map(|i| (i.key.to_string(), *i.main_measure() == MeasureKind::Percent))
        .collect()
}

/// One row's cells before its period columns: code, name, STT, task, result, unit, note.
fn row_cells(c: usize, k: usize, salt: usize, item: &str, percent: bool) -> Vec<DemoCell> {
    let v = ((c * 7 + k * 13 + salt * 3) % 100) as f64;
    let value = if percent {
        if k.is_multiple_of(2) { DemoCell::Text(format!("{v}%")) } else { DemoCell::Number(v) }
    } else {
        DemoCell::Text(["Hoàn thành", "Đang thực hiện", "Chưa thực hiện"][(c + k + salt) % 3].into())
    };
    vec![
        DemoCell::Text((900_000 + c).to_string()),
        DemoCell::Text(format!("Xã Thử {c}")),
        DemoCell::Text(item.to_string()),
        DemoCell::Text(format!("Chỉ tiêu {item}")),
        value,
        DemoCell::Text(if percent { "%".into() } else { "trạng thái".into() }),
        DemoCell::Empty,
    ]
}

/// `rows` commune × item pairs, commune after commune.
fn pairs(items: &[(String, bool)], rows: usize) -> Vec<(usize, usize)> {
    let pairs: Vec<(usize, usize)> =
        (0..COMMUNES).flat_map(|c| (0..items.len()).map(move |k| (c, k))).take(rows).collect();
    assert_eq!(pairs.len(), rows, "not enough commune-led items for {rows} rows");
    pairs
}

fn write_sheet(path: &Path, title: &str, period_headers: &[&str], data: Vec<Vec<DemoCell>>) {
    let mut headers: Vec<String> =
        ["Mã ĐVHC", "Tên đơn vị", "STT", "Chỉ tiêu", "Kết quả", "ĐVT", "Ghi chú"].map(String::from).to_vec();
    headers.extend(period_headers.iter().map(|h| h.to_string()));
    let sheet = SheetSpec {
        name: SHEET.into(),
        title: vec![title.into()],
        header_row: 2,
        headers,
        rows: data,
        ..Default::default()
    };
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, write_book(&[sheet]).expect("xlsx")).expect("write");
}

/// File (a): one row per commune and commune-led item of 2024-Q2, eight columns, the period
/// in `Kỳ báo cáo` on every row.
fn generate_single(path: &Path, rows: usize) {
    let (dir, catalog) = national();
    let items = commune_items(&catalog, &dir, &[period()]);
    let data = pairs(&items, rows)
        .into_iter()
        .map(|(c, k)| {
            let mut r = row_cells(c, k, 0, &items[k].0, items[k].1);
            r.push(DemoCell::Text(format!("Quý {}/{}", ROMAN[usize::from(period().quarter()) - 1], period().year())));
            r
        })
        .collect();
    write_sheet(path, "SỐ LIỆU CHUYỂN ĐỔI SỐ CẤP XÃ — QUÝ II/2024", &["Kỳ báo cáo"], data);
}

/// File (b): eight quarters one after the other, `rows / 8` rows each (the same commune ×
/// item pairs, led in both years), nine columns: `Năm` a number, `Quý` a Roman numeral.
/// The title names no quarter.
fn generate_year_quarter(path: &Path, rows: usize) {
    let (dir, catalog) = national();
    let qs = quarters();
    let items = commune_items(&catalog, &dir, &qs);
    let per = rows / qs.len();
    let pairs = pairs(&items, per);
    let mut data = Vec::with_capacity(per * qs.len());
    for (n, p) in qs.iter().enumerate() {
        for &(c, k) in &pairs {
            let mut r = row_cells(c, k, n, &items[k].0, items[k].1);
            r.push(DemoCell::Number(f64::from(p.year())));
            r.push(DemoCell::Text(ROMAN[usize::from(p.quarter()) - 1].into()));
            data.push(r);
        }
    }
    write_sheet(path, "SỐ LIỆU CHUYỂN ĐỔI SỐ CẤP XÃ — TỔNG HỢP NHIỀU KỲ", &["Năm", "Quý"], data);
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// What a child measured: seconds, peak RSS in kB, observations stored (or yielded).
type Measured = (f64, u64, u64);

/// calamine alone: open, read the sheet, touch every cell.
fn child_calamine(file: &Path) -> Measured {
    use calamine::Reader;
    let started = Instant::now();
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(file).expect("open");
    let range = wb.worksheet_range(SHEET).expect("sheet");
    let cells = range.used_cells().count();
    assert!(cells > 0);
    (started.elapsed().as_secs_f64(), peak_rss_kb(), 0)
}

/// The backfill's fallback quarter, as `ingest_backfill` picks it.
fn fallback() -> Period {
    ReportingCalendar::default().reporting_period(chrono::Utc::now())
}

/// chiso's reading and normalizing alone, results dropped: where the time goes. `scope` is
/// the collected quarter, or `None` for a backfill.
fn child_parse(file: &Path, scope: Option<Period>) -> Measured {
    let (dir, catalog) = national();
    let first = scope.unwrap_or_else(fallback);
    let built = Instant::now();
    let assignments = assignments(&catalog, &dir, first);
    // A backfill builds one of these per quarter on the reading path: how much each costs.
    eprintln!("assignments of {first} built in {:.3} s (untimed)", built.elapsed().as_secs_f64());
    if scope.is_none() {
        let built = Instant::now();
        for q in quarters() {
            drop(chiso::catalog::assign::Assignments::new(
                &catalog,
                &dir,
                q.year(),
                ReportingCalendar::default().cutoff(q),
            ));
        }
        eprintln!("assignments of the file's quarters built in {:.3} s (untimed)", built.elapsed().as_secs_f64());
    }
    let started = Instant::now();
    let bytes = std::fs::read(file).expect("read");
    let spec = chiso::ingest::FileSpec {
        file_name: "bench.xlsx".into(),
        mapping: Default::default(),
        agency: None,
        period: first,
    };
    let mut n = 0u64;
    let backfill =
        chiso::ingest::ParseOptions { backfill: scope.is_none().then(ReportingCalendar::default), trace: false };
    let summary = chiso::ingest::parse_file_scoped(
        Arc::from(bytes),
        &spec,
        backfill,
        chiso::ingest::Reference { catalog: &catalog, dir: &dir, assignments: &assignments },
        &mut |x| {
            if let Normalized::Observations(o) = x {
                n += o.len() as u64;
            }
        },
    );
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(summary.file_reject, None);
    assert_eq!(summary.rejects, 0);
    eprintln!("parse: {} rows read, {n} observations", summary.rows);
    (secs, peak_rss_kb(), n)
}

/// chiso's storing alone: the file parsed beforehand (untimed), then stored.
fn child_store(file: &Path) -> Measured {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let tmp = tempfile::tempdir().expect("tmp");
        let wh = fresh_warehouse(tmp.path()).await;
        let (dir, catalog) = national();
        wh.load_catalog(&catalog, &dir).await.expect("catalog");
        let ids = wh.indicator_id_map("kh-742-2023").await.expect("ids");
        let bytes = std::fs::read(file).expect("read");
        let sha = chiso::sha256_hex(&bytes);
        wh.keep_raw(&sha, &bytes, "xlsx").await.expect("raw");
        let spec = chiso::ingest::FileSpec {
            file_name: "bench.xlsx".into(),
            mapping: Default::default(),
            agency: None,
            period: period(),
        };
        let (_, obs, _) = chiso::ingest::parse_to_vecs(
            Arc::from(bytes),
            &spec,
            &catalog,
            &dir,
            ReportingCalendar::default().cutoff(period()),
        );
        let batches: Vec<Vec<_>> = obs.chunks(chiso::ingest::BATCH).map(<[_]>::to_vec).collect();
        let started = Instant::now();
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        let feeder = tokio::spawn(async move {
            for b in batches {
                let _ = tx.send(Normalized::Observations(b)).await;
            }
        });
        let ing = chiso::warehouse::NewIngestion {
            run_id: None,
            fetch_id: None,
            source_id: "bench".into(),
            period: period(),
            sha256: sha,
            file_name: "bench.xlsx".into(),
            agency: None,
            layout: None,
            sheet: None,
        };
        let counts = wh
            .store_ingestion(&ing, &ids, rx, async { chiso::warehouse::IngestionEnd::default() })
            .await
            .expect("store");
        let _ = feeder.await;
        let secs = started.elapsed().as_secs_f64();
        let stored = wh.count_rows("observations").await.expect("count");
        assert_eq!(stored as u64, counts.observations);
        (secs, peak_rss_kb(), counts.observations)
    })
}

/// chiso: the collection pipeline on the file into a fresh SQLite warehouse, for one quarter
/// (`Some`, as `chiso ingest --period`) or as a backfill (`None`, as `chiso ingest` without
/// a period).
fn child_chiso(file: &Path, scope: Option<Period>) -> Measured {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let tmp = tempfile::tempdir().expect("tmp");
        let wh = fresh_warehouse(tmp.path()).await;
        let (dir, catalog) = national();
        let settings = chiso::config::Settings::defaults().expect("settings");
        let ctx =
            chiso::app::Context::with_warehouse(settings, dir, catalog, vec![], wh.clone()).await.expect("context");
        let ids = wh.indicator_id_map("kh-742-2023").await.expect("ids");
        // The daemon keeps the collected quarter's assignments: built before the clock starts.
        let _ = ctx.assignments(scope.unwrap_or_else(|| ctx.settings.calendar.reporting_period(chrono::Utc::now())));
        let source = chiso::sources::Source {
            id: "bench".into(),
            agency: None,
            kind: chiso::sources::SourceKind::Folder { path: ".".into(), glob: "*".into() },
            auth: None,
            mapping: Default::default(),
            enabled: true,
        };
        let run = wh
            .start_run(&chiso::warehouse::NewRun {
                job: "ingest".into(),
                period: scope,
                source: None,
                round: None,
                params: serde_json::json!({}),
                trigger: chiso::warehouse::Trigger::Cli,
                operator: None,
                dry_run: false,
                rerun_of: None,
            })
            .await
            .expect("run");
        // Timed: read the file, parse, normalize, store.
        let started = Instant::now();
        let bytes = std::fs::read(file).expect("read");
        let file = chiso::jobs::collect::FileBytes::new("bench.xlsx", bytes);
        let reports = match scope {
            Some(p) => vec![(p, chiso::jobs::collect::ingest_bytes(&ctx, run, &source, p, file, &ids).await)],
            None => chiso::jobs::collect::ingest_backfill(&ctx, run, &source, file, &ids).await,
        };
        let secs = started.elapsed().as_secs_f64();
        let mut reported = 0;
        for (p, report) in &reports {
            assert_eq!(report.error, None, "{p}");
            assert_eq!(report.outcome, "fetched", "{p}: {:?}", report.summary);
            assert_eq!(report.counts.rejects, 0, "{p}: {:?}", report.summary);
            reported += report.counts.observations;
        }
        let stored = wh.count_rows("observations").await.expect("count") as u64;
        assert_eq!(stored, reported, "stored rows against the reports");
        let periods: Vec<String> = reports.iter().map(|(p, r)| format!("{p}: {}", r.counts.observations)).collect();
        eprintln!("chiso stored {stored} observations ({})", periods.join(", "));
        (secs, peak_rss_kb(), stored)
    })
}

struct Stats {
    name: String,
    secs: Vec<f64>,
    rss_mb: Vec<f64>,
    stored: Option<u64>,
}

impl Stats {
    fn median(v: &[f64]) -> f64 {
        let mut s = v.to_vec();
        s.sort_by(|a, b| a.total_cmp(b));
        s[s.len() / 2]
    }
    fn peak(&self) -> f64 {
        self.rss_mb.iter().copied().fold(0.0, f64::max)
    }
    fn row(&self, floor: Option<f64>) -> String {
        let min = self.secs.iter().copied().fold(f64::MAX, f64::min);
        let max = self.secs.iter().copied().fold(0.0, f64::max);
        let med = Self::median(&self.secs);
        let ratio = floor.map_or_else(|| "—".to_string(), |f| format!("{:.2}×", med / f));
        let stored = self.stored.map_or_else(|| "—".to_string(), |n| n.to_string());
        format!(
            "| {:<60} | {:>8.3} | {:>8.3} | {:>8.3} | {:>8} | {:>8.0} | {:>8} |",
            self.name,
            min,
            med,
            max,
            ratio,
            self.peak(),
            stored
        )
    }
}

/// Runs a child; `None` when it fails (its stderr printed) or prints no result.
fn run_child(args: &[String]) -> Option<(f64, f64, Option<u64>)> {
    let out = Command::new(&args[0]).args(&args[1..]).output().ok()?;
    if !out.status.success() {
        eprintln!("{} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let line = String::from_utf8_lossy(&out.stdout).lines().rev().find(|l| l.starts_with("RESULT "))?.to_string();
    let mut parts = line.split_whitespace().skip(1);
    let secs: f64 = parts.next()?.parse().ok()?;
    let rss_kb: f64 = parts.next()?.parse().ok()?;
    let stored = parts.next().and_then(|s| s.parse().ok());
    Some((secs, rss_kb / 1024.0, stored))
}

/// One line of a file's table.
struct Case {
    stats: Stats,
    cmd: Vec<String>,
    /// The observations the line must store (or yield); `None` for references.
    expect: Option<u64>,
    /// A chiso ingest line, checked against the goals.
    goal: bool,
    /// The baseline may be missing (pandas not installed): its failure is a skip.
    optional: bool,
}

fn case(name: &str, cmd: Vec<String>, expect: Option<u64>, goal: bool) -> Case {
    Case {
        stats: Stats { name: name.into(), secs: vec![], rss_mb: vec![], stored: None },
        cmd,
        expect,
        goal,
        optional: false,
    }
}

fn child_main(what: &str, file: &Path) -> Measured {
    let one = |s: &str| s.parse::<Period>().expect("period");
    match what.split_once(':') {
        None if what == "calamine" => child_calamine(file),
        None if what == "store" => child_store(file),
        Some(("parse", "backfill")) => child_parse(file, None),
        Some(("parse", p)) => child_parse(file, Some(one(p))),
        Some(("chiso", "backfill")) => child_chiso(file, None),
        Some(("chiso", p)) => child_chiso(file, Some(one(p))),
        _ => panic!("unknown child `{what}`"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let what = args.get(i + 1).expect("child kind");
        let file = PathBuf::from(args.get(i + 2).expect("child file"));
        let (secs, rss, stored) = child_main(what, &file);
        println!("RESULT {secs} {rss} {stored}");
        return;
    }
    let value = |flag: &str, default: usize| {
        args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(default)
    };
    let runs = value("--runs", 5);
    let rows = value("--rows", 200_000);
    let nq = quarters().len();
    let per_quarter = rows / nq;
    let single = PathBuf::from(format!("target/bench/ingest-{rows}.xlsx"));
    let multi = PathBuf::from(format!("target/bench/ingest-{rows}-year-quarter.xlsx"));
    if !single.exists() {
        eprintln!("generating {} ({rows} rows, one quarter)…", single.display());
        generate_single(&single, rows);
    }
    if !multi.exists() {
        eprintln!("generating {} ({nq} quarters × {per_quarter} rows)…", multi.display());
        generate_year_quarter(&multi, rows);
    }
    let exe = std::env::current_exe().expect("exe").display().to_string();
    let child = |what: &str, file: &Path| vec![exe.clone(), "--child".into(), what.into(), file.display().to_string()];
    let python = std::env::var("CHISO_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let db = std::env::temp_dir().join("chiso-bench-baseline.db").display().to_string();
    let p = period().to_string();
    let (rows_u, per_u) = (rows as u64, per_quarter as u64);
    let mut baseline = case(
        "Python pandas+openpyxl+sqlite3 (baseline, ≤ 2 runs)",
        vec![python, "benches/baseline_ingest.py".into(), single.display().to_string(), db],
        None,
        false,
    );
    baseline.optional = true;
    let files: Vec<(String, &Path, Vec<Case>)> = vec![
        (
            format!("(a) one quarter, `Kỳ báo cáo` column — {rows} rows of {p}"),
            &single,
            vec![
                case("calamine bare read (reference)", child("calamine", &single), None, false),
                case(
                    &format!("chiso ingest --period {p} → SQLite"),
                    child(&format!("chiso:{p}"), &single),
                    Some(rows_u),
                    true,
                ),
                case("  read + normalize alone (no store)", child(&format!("parse:{p}"), &single), Some(rows_u), false),
                case("  store alone (parsed beforehand)", child("store", &single), Some(rows_u), false),
                baseline,
            ],
        ),
        (
            format!("(b) `Năm` + `Quý` columns — {nq} quarters × {per_quarter} rows, 2024-Q1 … 2025-Q4"),
            &multi,
            vec![
                case("calamine bare read (reference)", child("calamine", &multi), None, false),
                case(
                    &format!("chiso ingest --period {p} → SQLite (7 quarters skipped)"),
                    child(&format!("chiso:{p}"), &multi),
                    Some(per_u),
                    true,
                ),
                case("  read + normalize alone (no store)", child(&format!("parse:{p}"), &multi), Some(per_u), false),
                case(
                    &format!("chiso ingest, backfill ({nq} quarters) → SQLite"),
                    child("chiso:backfill", &multi),
                    Some(per_u * nq as u64),
                    true,
                ),
                case(
                    "  read + normalize alone (no store)",
                    child("parse:backfill", &multi),
                    Some(per_u * nq as u64),
                    false,
                ),
            ],
        ),
    ];
    let mut tables = Vec::new();
    for (title, file, mut cases) in files {
        for c in &mut cases {
            let n = if c.optional { runs.min(2) } else { runs };
            for _ in 0..n {
                match run_child(&c.cmd) {
                    Some((s, m, stored)) => {
                        if let Some(want) = c.expect {
                            assert_eq!(stored, Some(want), "{title}: {} stored the wrong number of rows", c.stats.name);
                        }
                        c.stats.secs.push(s);
                        c.stats.rss_mb.push(m);
                        c.stats.stored = c.expect.and(stored);
                    }
                    None if c.optional => break,
                    None => panic!("{title}: {} failed", c.stats.name),
                }
            }
        }
        let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        tables.push((format!("{title}, {:.1} MB", size as f64 / 1e6), cases));
    }
    println!("\ningest benchmark — {COMMUNES} commune units in the directory, {runs} runs");
    for (title, cases) in &tables {
        println!("\n{title}");
        println!(
            "| {:<60} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8} |",
            "", "min s", "median s", "max s", "× read", "peak MB", "rows"
        );
        println!("|{:-<62}|{:-<10}|{:-<10}|{:-<10}|{:-<10}|{:-<10}|{:-<10}|", "", "", "", "", "", "", "");
        let floor = Stats::median(&cases[0].stats.secs);
        for c in cases {
            if c.stats.secs.is_empty() {
                println!("| {:<60} | skipped (see stderr)", c.stats.name);
            } else {
                println!("{}", c.stats.row((!std::ptr::eq(c, &cases[0])).then_some(floor)));
            }
        }
        for c in cases.iter().filter(|c| c.goal) {
            let ratio = Stats::median(&c.stats.secs) / floor;
            let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
            println!(
                "{}: {ratio:.2}× calamine's read (goal ≤ 1.5×: {}; target 1.3×: {}), peak {:.0} MB (goal < 250 MB: {})",
                c.stats.name.trim(),
                verdict(ratio <= 1.5),
                verdict(ratio <= 1.3),
                c.stats.peak(),
                verdict(c.stats.peak() < 250.0)
            );
        }
        if let (Some(chiso), Some(py)) = (
            cases.iter().find(|c| c.goal).map(|c| Stats::median(&c.stats.secs)),
            cases.iter().find(|c| c.optional && !c.stats.secs.is_empty()).map(|c| Stats::median(&c.stats.secs)),
        ) {
            println!("Python baseline / chiso: {:.1}×", py / chiso);
        }
    }
}
