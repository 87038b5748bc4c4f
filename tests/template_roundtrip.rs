//! For every agency of the directory: generate its workbook for a quarter, fill every
//! input cell, ingest it with no mapping, and find exactly the values written.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use chiso::domain::{ItemKey, MeasureKind, Period, Progress, Value};
use chiso::ingest::sheet::FileFormat;
use chiso::report::template::{KnownValues, build_spec, build_spec_with, write};

struct Filled(HashMap<(ItemKey, String), Value>, Period);

impl KnownValues for Filled {
    fn value(&self, item: ItemKey, measure: &str, period: Period) -> Option<Value> {
        (period == self.1).then(|| self.0.get(&(item, measure.to_string())).copied()).flatten()
    }
}

/// A deterministic value for a line, varied across agencies and items.
fn value_for(kind: &MeasureKind, seed: u64) -> Value {
    let x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) >> 33;
    match kind {
        MeasureKind::Percent => Value::Percent((x % 1001) as f64 / 10.0),
        MeasureKind::Count { .. } => Value::Count((x % 5000) as f64),
        MeasureKind::Status => Value::Status(
            [Progress::Done, Progress::InProgress, Progress::NotDone, Progress::Ongoing][(x % 4) as usize],
        ),
    }
}

#[tokio::test]
async fn every_agency_s_filled_workbook_imports_exactly() {
    let period: Period = "2024-Q3".parse().unwrap();
    for db in common::all().await {
        let ctx = common::context(&db, common::settings(), vec![]).await;
        let ids = db.wh.indicator_id_map("kh-742-2023").await.unwrap();
        let source = chiso::sources::Source {
            id: "manual".into(),
            agency: None,
            kind: chiso::sources::SourceKind::Folder { path: ".".into(), glob: "*".into() },
            auth: None,
            mapping: Default::default(),
            enabled: true,
        };
        let run = db
            .wh
            .start_run(&chiso::warehouse::NewRun {
                job: "ingest".into(),
                period: Some(period),
                source: Some("manual".into()),
                round: None,
                params: serde_json::json!({}),
                trigger: chiso::warehouse::Trigger::Cli,
                operator: None,
                dry_run: false,
                rerun_of: None,
            })
            .await
            .unwrap();
        let mut agencies_with_lines = 0;
        let mut values_checked = 0;
        let assignments = ctx.assignments(period);
        for (n, agency) in ctx.dir.iter().filter(|a| !a.is_group()).enumerate() {
            let empty = build_spec_with(
                &chiso::report::template::TemplateBasis {
                    catalog: &ctx.catalog,
                    dir: &ctx.dir,
                    calendar: &ctx.settings.calendar,
                    assignments: &assignments,
                },
                &agency.id,
                period,
                &(),
            );
            if empty.lead.is_empty() && empty.co.is_empty() {
                continue;
            }
            agencies_with_lines += 1;
            let written: HashMap<(ItemKey, String), Value> = empty
                .lead
                .iter()
                .chain(&empty.co)
                .enumerate()
                .map(|(i, l)| ((l.key, l.measure.clone()), value_for(&l.kind, (n * 1000 + i) as u64)))
                .collect();
            let spec = build_spec_with(
                &chiso::report::template::TemplateBasis {
                    catalog: &ctx.catalog,
                    dir: &ctx.dir,
                    calendar: &ctx.settings.calendar,
                    assignments: &assignments,
                },
                &agency.id,
                period,
                &Filled(written.clone(), period),
            );
            let bytes = write(&spec).unwrap();
            assert_eq!(FileFormat::detect(&bytes), FileFormat::Xlsx);
            let name = format!("{}-{period}.xlsx", agency.id);
            let report = chiso::jobs::collect::ingest_bytes(
                &ctx,
                run,
                &source,
                period,
                chiso::jobs::collect::FileBytes::new(&name, bytes),
                &ids,
            )
            .await;
            assert_eq!(report.error, None, "{}", agency.id);
            assert_eq!(report.counts.rejects, 0, "{}: {:?}", agency.id, report);
            assert!(report.summary.as_ref().unwrap().file_reject.is_none(), "{}: {:?}", agency.id, report.summary);
            assert_eq!(
                report.summary.as_ref().unwrap().agency.as_ref(),
                Some(&agency.id),
                "the agency comes from the workbook"
            );
            let stored = db.wh.agency_values("kh-742-2023", &agency.id, period).await.unwrap();
            let stored: HashMap<(ItemKey, String), Value> =
                stored.into_iter().map(|((k, m), v)| ((k.parse().unwrap(), m), v)).collect();
            assert_eq!(stored, written, "{}: the stored values differ from what was written", agency.id);
            values_checked += written.len();
        }
        assert!(agencies_with_lines > 150, "{}: only {agencies_with_lines} agencies have a workbook", db.name);
        eprintln!("{}: {agencies_with_lines} workbooks, {values_checked} values round-tripped", db.name);
        db.cleanup().await;
    }
}

#[test]
fn a_value_typed_as_a_percent_in_excel_reads_as_its_percentage() {
    // Typing `85,5%` into the input cell makes Excel store 0.855 with a percent format.
    use chiso::demo::{DemoCell, SheetSpec, write_book};
    let (dir, catalog) = common::catalog();
    let period: Period = "2024-Q3".parse().unwrap();
    let spec = build_spec(
        &catalog,
        &dir,
        &chiso::domain::ReportingCalendar::default(),
        &chiso::domain::AgencyId::parse("so_yt").unwrap(),
        period,
        &(),
    );
    let line = spec.lead.iter().find(|l| l.kind == MeasureKind::Percent).unwrap();
    // Rebuild the workbook's two sheets by hand with the percent cell, keeping the marker.
    let mut rows = vec![vec![DemoCell::Empty; 8]; 1];
    rows[0][0] = DemoCell::Text(line.key.to_string());
    rows[0][6] = DemoCell::Percent(0.855);
    let data =
        SheetSpec { name: "Báo cáo".into(), header_row: 7, headers: vec!["Mã".into()], rows, ..Default::default() };
    let marker = SheetSpec {
        name: "_chiso".into(),
        hidden: true,
        header_row: 0,
        headers: vec!["chiso-template".into(), "1".into()],
        rows: [
            ("plan", "kh-742-2023"),
            ("agency", "so_yt"),
            ("period", "2024-Q3"),
            ("sheets", "Báo cáo"),
            ("header_row", "8"),
            ("key_column", "A"),
            ("value_column", "G"),
            ("note_column", "H"),
        ]
        .iter()
        .map(|(k, v)| vec![DemoCell::Text((*k).into()), DemoCell::Text((*v).into())])
        .collect(),
        ..Default::default()
    };
    let bytes = write_book(&[data, marker]).unwrap();
    let file =
        chiso::ingest::FileSpec { file_name: "so_yt.xlsx".into(), mapping: Default::default(), agency: None, period };
    let (_, obs, rejects) = chiso::ingest::parse_to_vecs(
        Arc::from(bytes),
        &file,
        &catalog,
        &dir,
        chiso::domain::ReportingCalendar::default().cutoff(period),
    );
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(obs.len(), 1);
    assert_eq!(obs[0].value, Value::Percent(85.5));
}

/// Workbooks shared by agencies of the same shape (the reminder round's cache) are each
/// agency's own: its name in the title, its id in the hidden sheet, importable with no
/// mapping as that agency; names that need escaping in XML survive.
#[test]
fn cached_workbooks_belong_to_their_agency() {
    let period: Period = "2024-Q3".parse().unwrap();
    let (dir, catalog) = common::catalog();
    let calendar = chiso::domain::ReportingCalendar::default();
    let assignments = chiso::catalog::assign::Assignments::new(&catalog, &dir, 2024, calendar.cutoff(period));
    let communes = dir.of_level(chiso::catalog::Level::Commune, calendar.cutoff(period));
    let cache = chiso::report::template::WorkbookCache::default();
    for (i, agency) in communes.iter().take(4).enumerate() {
        let mut spec = build_spec_with(
            &chiso::report::template::TemplateBasis {
                catalog: &catalog,
                dir: &dir,
                calendar: &calendar,
                assignments: &assignments,
            },
            agency,
            period,
            &(),
        );
        if i == 3 {
            spec.agency_name = "Xã <Thử> & \"Nghiệm\"".into();
        }
        let bytes = cache.write(&spec).unwrap();
        let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
        let sheet = calamine::Reader::worksheet_range_at(&mut book, 0).unwrap().unwrap();
        let title = sheet.get_value((1, 1)).map(|c| c.to_string()).unwrap_or_default();
        assert_eq!(title, spec.agency_name.to_uppercase(), "{agency}");
        // Fill one input and import: it comes back as this agency's.
        let line = spec.lead[0].clone();
        let v = match line.kind {
            MeasureKind::Percent => Value::Percent(42.0),
            MeasureKind::Count { .. } => Value::Count(42.0),
            MeasureKind::Status => Value::Status(Progress::Done),
        };
        let filled = build_spec_with(
            &chiso::report::template::TemplateBasis {
                catalog: &catalog,
                dir: &dir,
                calendar: &calendar,
                assignments: &assignments,
            },
            agency,
            period,
            &Filled([((line.key, line.measure.clone()), v)].into_iter().collect(), period),
        );
        let bytes = cache.write(&filled).unwrap();
        let file =
            chiso::ingest::FileSpec { file_name: "x.xlsx".into(), mapping: Default::default(), agency: None, period };
        let (_, obs, rejects) =
            chiso::ingest::parse_to_vecs(Arc::from(bytes), &file, &catalog, &dir, calendar.cutoff(period));
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(obs.len(), 1);
        assert_eq!(&obs[0].agency, agency);
        assert_eq!(obs[0].value, v);
    }
}
