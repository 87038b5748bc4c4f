//! The national-scale benchmark warehouse shared by the evaluate and dashboard benches:
//! 3,300 synthetic commune-level units (the real directory plus these) × the 174
//! indicators × 12 quarters (2023-Q1 … 2025-Q4), about 6.9 million observations, generated
//! once through the real storage path (`store_ingestion`) and reused.

#![allow(dead_code)]

use std::path::Path;
use std::time::Instant;

use chiso::catalog::plan::{Catalog, OverridesFile, PlanFile};
use chiso::demo::national_directory;
use chiso::domain::{MeasureKind, Period, Progress, Value};
use chiso::ingest::normalize::{NewObservation, Normalized};
use chiso::warehouse::{ConnectOptions, IngestionEnd, NewIngestion, Warehouse};

pub const COMMUNES: usize = 3_300;

pub fn catalog(dir: &chiso::catalog::Directory) -> Catalog {
    let plan = PlanFile::load(Path::new("config/plans/kh-742-2023.toml")).expect("plan");
    let overrides = OverridesFile::load(Path::new("config/plans/kh-742-2023.overrides.toml")).expect("overrides");
    Catalog::build(&plan, &overrides, "overrides", dir).expect("catalog")
}

pub fn directory() -> chiso::catalog::Directory {
    let base = chiso::catalog::Directory::load(Path::new("config/agencies.toml")).expect("directory");
    national_directory(&base, COMMUNES).expect("national directory")
}

pub fn periods() -> Vec<Period> {
    (2023..=2025).flat_map(|y| (1..=4).map(move |q| Period::new(y, q).expect("period"))).collect()
}

pub fn evaluated() -> Period {
    Period::new(2024, 3).expect("period")
}

pub async fn open(url: &str) -> Warehouse {
    let wh =
        Warehouse::connect(url, &ConnectOptions { max_connections: 4, ..Default::default() }).await.expect("warehouse");
    wh.migrate().await.expect("migrate");
    wh
}

pub fn pick(seed: u64, n: u64) -> u64 {
    (seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) >> 33) % n
}

/// Fills the warehouse unless it already holds the 12 periods.
pub async fn generate(url: &str) {
    let wh = open(url).await;
    let dir = directory();
    let catalog = catalog(&dir);
    wh.load_catalog(&catalog, &dir).await.expect("catalog");
    let have = wh.count_rows("observations").await.expect("count");
    let per_period: usize = COMMUNES * catalog.indicators.iter().map(|i| i.measures.len()).sum::<usize>();
    if have as usize >= per_period * 12 {
        eprintln!("{}: {have} observations already there", wh.url());
        return;
    }
    assert_eq!(have, 0, "{}: a partial benchmark warehouse; delete it and rerun", wh.url());
    let ids = wh.indicator_id_map("kh-742-2023").await.expect("ids");
    let communes: Vec<String> = (0..COMMUNES).map(|c| format!("bench_x{}", 900_000 + c)).collect();
    let started = Instant::now();
    for period in periods() {
        let marker = format!("national benchmark {period}");
        let sha = chiso::sha256_hex(marker.as_bytes());
        wh.keep_raw(&sha, marker.as_bytes(), "unknown").await.expect("raw");
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let indicators: Vec<(chiso::domain::ItemKey, Vec<(String, MeasureKind)>)> = catalog
            .indicators
            .iter()
            .map(|i| (i.key, i.measures.iter().map(|m| (m.key.clone(), m.kind.clone())).collect()))
            .collect();
        let communes = communes.clone();
        let feeder = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(2000);
            for (c, agency) in communes.iter().enumerate() {
                let agency: chiso::domain::AgencyId = agency.parse().expect("id");
                for (key, measures) in &indicators {
                    for (m, (measure, kind)) in measures.iter().enumerate() {
                        let seed =
                            (c as u64) << 24 | u64::from(key.number) << 8 | m as u64 | (period.code() as u64) << 40;
                        let value = match kind {
                            MeasureKind::Percent => Value::Percent(30.0 + pick(seed, 71) as f64),
                            MeasureKind::Count { .. } => Value::Count(pick(seed, 1500) as f64),
                            MeasureKind::Status => Value::Status(
                                [Progress::Done, Progress::InProgress, Progress::NotDone, Progress::Ongoing]
                                    [pick(seed, 4) as usize],
                            ),
                        };
                        batch.push(NewObservation {
                            period,
                            item: *key,
                            measure: measure.clone(),
                            agency: agency.clone(),
                            value,
                            raw_text: value.vi(),
                            note: None,
                            location: format!("Cấp xã!E{}", c + 2),
                        });
                        if batch.len() == 2000
                            && tx.send(Normalized::Observations(std::mem::take(&mut batch))).await.is_err()
                        {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send(Normalized::Observations(batch)).await;
        });
        let ing = NewIngestion {
            run_id: None,
            fetch_id: None,
            source_id: "bench".into(),
            period,
            sha256: sha,
            file_name: format!("national-{period}.xlsx"),
            agency: None,
            layout: Some("long".into()),
            sheet: None,
        };
        let counts = wh.store_ingestion(&ing, &ids, rx, async { IngestionEnd::default() }).await.expect("store");
        feeder.await.expect("feeder");
        eprintln!(
            "{}: {period}: {} observations ({:.0} s so far)",
            wh.url(),
            counts.observations,
            started.elapsed().as_secs_f64()
        );
    }
    wh.close().await;
}

/// A job context over the benchmark warehouse, with these settings (their database URL set).
pub async fn context(wh: &Warehouse, url: &str, mut settings: chiso::config::Settings) -> chiso::app::Context {
    let dir = directory();
    let catalog = catalog(&dir);
    settings.database.url = chiso::config::Secretish::new(url);
    chiso::app::Context::with_warehouse(settings, dir, catalog, vec![], wh.clone()).await.expect("context")
}
