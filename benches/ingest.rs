//! Ingesting a 200,000-row long-layout workbook (parse, normalize, store in SQLite),
//! against two references measured in the same run:
//! * the floor: calamine reading the same sheet and nothing else;
//! * the baseline: a plain Python pandas + openpyxl + sqlite3 script doing the same work
//!   (`benches/baseline_ingest.py`; needs `pip install pandas openpyxl`).
//!
//! Run: `cargo bench --bench ingest` (add `-- --runs 5 --rows 200000`). Each measurement
//! runs in a child process so its peak resident memory (VmHWM) is its own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use chiso::catalog::plan::{Catalog, OverridesFile, PlanFile};
use chiso::demo::{DemoCell, SheetSpec, national_directory, write_book};
use chiso::domain::{MeasureKind, Period};

/// Synthetic commune-level units: at least the 3,321 of today's Việt Nam, enough for 200,000 rows
/// of commune-led items (44 items each in 2024).
const COMMUNES: usize = 4_600;

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

fn period() -> Period {
    Period::new(2024, 2).expect("period")
}

/// Writes the workbook: one row per commune and commune-led item, eight columns.
fn generate(path: &Path, rows: usize) {
    let (dir, catalog) = national();
    let assignments = chiso::catalog::assign::Assignments::new(
        &catalog,
        &dir,
        2024,
        chiso::domain::ReportingCalendar::default().cutoff(period()),
    );
    let probe = chiso::domain::AgencyId::parse("bench_x900000").expect("id");
    let items: Vec<(String, bool)> = assignments
        .parts_of(&probe)
        .iter()
        .filter(|(_, p)| *p == chiso::catalog::assign::Part::Lead)
        .map(|(i, _)| &catalog.indicators[*i])
        .filter(|i| !i.is_composite())
        .map(|i| (i.key.to_string(), *i.main_measure() == MeasureKind::Percent))
        .collect();
    let mut data = Vec::with_capacity(rows);
    'outer: for c in 0..COMMUNES {
        for (k, (item, percent)) in items.iter().enumerate() {
            if data.len() == rows {
                break 'outer;
            }
            let v = ((c * 7 + k * 13) % 100) as f64;
            let value = if *percent {
                if k % 2 == 0 { DemoCell::Text(format!("{}%", v)) } else { DemoCell::Number(v) }
            } else {
                DemoCell::Text(["Hoàn thành", "Đang thực hiện", "Chưa thực hiện"][(c + k) % 3].into())
            };
            data.push(vec![
                DemoCell::Text((900_000 + c).to_string()),
                DemoCell::Text(format!("Xã Thử {c}")),
                DemoCell::Text(item.clone()),
                DemoCell::Text(format!("Chỉ tiêu {item}")),
                value,
                DemoCell::Text(if *percent { "%".into() } else { "trạng thái".into() }),
                DemoCell::Empty,
                DemoCell::Text("Quý II/2024".into()),
            ]);
        }
    }
    assert_eq!(data.len(), rows, "not enough commune-led items for {rows} rows");
    let sheet = SheetSpec {
        name: "Cấp xã".into(),
        title: vec!["SỐ LIỆU CHUYỂN ĐỔI SỐ CẤP XÃ — QUÝ II/2024".into()],
        header_row: 2,
        headers: ["Mã ĐVHC", "Tên đơn vị", "STT", "Chỉ tiêu", "Kết quả", "ĐVT", "Ghi chú", "Kỳ báo cáo"]
            .map(String::from)
            .to_vec(),
        rows: data,
        ..Default::default()
    };
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, write_book(&[sheet]).expect("xlsx")).expect("write");
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// calamine alone: open, read the sheet, touch every cell.
fn child_calamine(file: &Path) -> (f64, u64) {
    use calamine::Reader;
    let started = Instant::now();
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(file).expect("open");
    let range = wb.worksheet_range("Cấp xã").expect("sheet");
    let cells = range.used_cells().count();
    assert!(cells > 0);
    (started.elapsed().as_secs_f64(), peak_rss_kb())
}

/// chiso's reading and normalizing alone, results dropped: where the time goes.
fn child_parse(file: &Path) -> (f64, u64) {
    let (dir, catalog) = national();
    let assignments = chiso::catalog::assign::Assignments::new(
        &catalog,
        &dir,
        2024,
        chiso::domain::ReportingCalendar::default().cutoff(period()),
    );
    let started = Instant::now();
    let bytes = std::fs::read(file).expect("read");
    let spec = chiso::ingest::FileSpec {
        file_name: "bench.xlsx".into(),
        mapping: Default::default(),
        agency: None,
        period: period(),
    };
    let mut n = 0usize;
    let summary =
        chiso::ingest::parse_file(std::sync::Arc::from(bytes), &spec, &catalog, &dir, &assignments, &mut |x| {
            if let chiso::ingest::normalize::Normalized::Observations(o) = x {
                n += o.len();
            }
        });
    assert_eq!(summary.rejects, 0);
    assert!(n > 0);
    (started.elapsed().as_secs_f64(), peak_rss_kb())
}

/// chiso's storing alone: the file parsed beforehand (untimed), then stored.
fn child_store(file: &Path) -> (f64, u64) {
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
            std::sync::Arc::from(bytes),
            &spec,
            &catalog,
            &dir,
            chiso::domain::ReportingCalendar::default().cutoff(period()),
        );
        let batches: Vec<Vec<_>> = obs.chunks(chiso::ingest::BATCH).map(<[_]>::to_vec).collect();
        let started = Instant::now();
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        let feeder = tokio::spawn(async move {
            for b in batches {
                let _ = tx.send(chiso::ingest::normalize::Normalized::Observations(b)).await;
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
        assert!(counts.observations > 0);
        (started.elapsed().as_secs_f64(), peak_rss_kb())
    })
}

/// chiso: the collection pipeline on the file into a fresh SQLite warehouse.
fn child_chiso(file: &Path) -> (f64, u64) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let tmp = tempfile::tempdir().expect("tmp");
        let wh = fresh_warehouse(tmp.path()).await;
        let (dir, catalog) = national();
        let settings = chiso::config::Settings::defaults().expect("settings");
        let ctx =
            chiso::app::Context::with_warehouse(settings, dir, catalog, vec![], wh.clone()).await.expect("context");
        let ids = wh.indicator_id_map("kh-742-2023").await.expect("ids");
        let _ = ctx.assignments(period());
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
                period: Some(period()),
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
        let sha = chiso::sha256_hex(&bytes);
        let report = chiso::jobs::collect::ingest_bytes(
            &ctx,
            run,
            &source,
            period(),
            "bench.xlsx",
            None,
            std::sync::Arc::from(bytes),
            sha,
            &ids,
        )
        .await;
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(report.error, None);
        assert_eq!(report.counts.rejects, 0, "{:?}", report.summary);
        let stored = wh.count_rows("observations").await.expect("count");
        eprintln!("chiso stored {stored} observations");
        (secs, peak_rss_kb())
    })
}

struct Stats {
    name: String,
    secs: Vec<f64>,
    rss_mb: Vec<f64>,
}

impl Stats {
    fn median(v: &[f64]) -> f64 {
        let mut s = v.to_vec();
        s.sort_by(|a, b| a.total_cmp(b));
        s[s.len() / 2]
    }
    fn row(&self) -> String {
        let min = self.secs.iter().copied().fold(f64::MAX, f64::min);
        let max = self.secs.iter().copied().fold(0.0, f64::max);
        format!(
            "| {:<40} | {:>8.3} | {:>8.3} | {:>8.3} | {:>10.0} |",
            self.name,
            min,
            Self::median(&self.secs),
            max,
            self.rss_mb.iter().copied().fold(0.0, f64::max)
        )
    }
}

fn run_child(args: &[&str]) -> Option<(f64, f64)> {
    let out = Command::new(args[0]).args(&args[1..]).output().ok()?;
    if !out.status.success() {
        eprintln!("{} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let line = String::from_utf8_lossy(&out.stdout).lines().rev().find(|l| l.starts_with("RESULT "))?.to_string();
    let mut parts = line.split_whitespace().skip(1);
    let secs: f64 = parts.next()?.parse().ok()?;
    let rss_kb: f64 = parts.next()?.parse().ok()?;
    Some((secs, rss_kb / 1024.0))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let what = &args[i + 1];
        let file = PathBuf::from(&args[i + 2]);
        let (secs, rss) = match what.as_str() {
            "calamine" => child_calamine(&file),
            "parse" => child_parse(&file),
            "store" => child_store(&file),
            _ => child_chiso(&file),
        };
        println!("RESULT {secs} {rss}");
        return;
    }
    let value = |flag: &str, default: usize| {
        args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(default)
    };
    let runs = value("--runs", 5);
    let rows = value("--rows", 200_000);
    let file = PathBuf::from(format!("target/bench/ingest-{rows}.xlsx"));
    if !file.exists() {
        eprintln!("generating {} ({rows} rows)…", file.display());
        generate(&file, rows);
    }
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let exe = std::env::current_exe().expect("exe").display().to_string();
    let f = file.display().to_string();
    let python = std::env::var("CHISO_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let db = std::env::temp_dir().join("chiso-bench-baseline.db").display().to_string();
    let mut all = vec![
        (
            Stats { name: "calamine bare read (floor)".into(), secs: vec![], rss_mb: vec![] },
            vec![exe.clone(), "--child".into(), "calamine".into(), f.clone()],
        ),
        (
            Stats { name: "chiso ingest → SQLite".into(), secs: vec![], rss_mb: vec![] },
            vec![exe.clone(), "--child".into(), "chiso".into(), f.clone()],
        ),
        (
            Stats { name: "  read + normalize alone (no store)".into(), secs: vec![], rss_mb: vec![] },
            vec![exe.clone(), "--child".into(), "parse".into(), f.clone()],
        ),
        (
            Stats { name: "  store alone (parsed beforehand)".into(), secs: vec![], rss_mb: vec![] },
            vec![exe.clone(), "--child".into(), "store".into(), f.clone()],
        ),
        (
            Stats { name: "Python pandas+openpyxl+sqlite3 (baseline)".into(), secs: vec![], rss_mb: vec![] },
            vec![python, "benches/baseline_ingest.py".into(), f.clone(), db],
        ),
    ];
    for (i, (stats, cmd)) in all.iter_mut().enumerate() {
        // The baseline is slow: one warm-up-free run is enough to compare.
        let n = if stats.name.starts_with("Python") { runs.min(2) } else { runs };
        let _ = i;
        for _ in 0..n {
            let argv: Vec<&str> = cmd.iter().map(String::as_str).collect();
            match run_child(&argv) {
                Some((s, m)) => {
                    stats.secs.push(s);
                    stats.rss_mb.push(m);
                }
                None => break,
            }
        }
    }
    println!("\ningest benchmark — {rows} rows, {:.1} MB, {} commune units, {runs} runs", size as f64 / 1e6, COMMUNES);
    println!("| {:<40} | {:>8} | {:>8} | {:>8} | {:>10} |", "", "min s", "median s", "max s", "peak MB");
    println!("|{:-<42}|{:-<10}|{:-<10}|{:-<10}|{:-<12}|", "", "", "", "", "");
    for (s, _) in &all {
        if !s.secs.is_empty() {
            println!("{}", s.row());
        } else {
            println!("| {:<40} | skipped (see stderr)", s.name);
        }
    }
    let med = |i: usize| (!all[i].0.secs.is_empty()).then(|| Stats::median(&all[i].0.secs));
    if let (Some(floor), Some(chiso)) = (med(0), med(1)) {
        println!("\nchiso / calamine read: {:.2}× (goal ≤ 1.5×, stretch 1.3×)", chiso / floor);
    }
    if let (Some(chiso), Some(py)) = (med(1), med(4)) {
        println!("Python baseline / chiso: {:.1}× (goal ≥ 25×)", py / chiso);
    }
}
