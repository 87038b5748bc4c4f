//! Reruns: a department re-sends its workbook; a dry-run rerun of the collection shows the
//! values it would supersede, the statuses that would flip and the reminders that would be
//! sent or corrected — and writes nothing but its run records; the rerun itself then does it.

mod common;

use std::collections::HashMap;

use chiso::domain::{ItemKey, MeasureKind, Period, Progress, Value};
use chiso::jobs::dispatch::{JobKind, JobSpec, Origin, execute};
use chiso::report::template::{KnownValues, build_spec, write};
use chiso::sources::{Source, SourceKind};
use chiso::warehouse::{RunFilter, Trigger};
use chrono::{DateTime, Utc};

struct Fill(HashMap<(ItemKey, String), Value>);

impl KnownValues for Fill {
    fn value(&self, item: ItemKey, measure: &str, _: Period) -> Option<Value> {
        self.0.get(&(item, measure.to_string())).copied()
    }
}

/// Sở Y tế's workbook with every percent at `pct`, counts and statuses accordingly.
fn workbook(ctx: &chiso::app::Context, pct: f64) -> Vec<u8> {
    let q2 = common::period("2024-Q2");
    let agency = "so_yt".parse().unwrap();
    let spec = build_spec(&ctx.catalog, &ctx.dir, &ctx.settings.calendar, &agency, q2, &());
    let values = spec
        .lead
        .iter()
        .map(|l| {
            let v = match l.kind {
                MeasureKind::Percent => Value::Percent(pct),
                MeasureKind::Count { .. } => Value::Count(pct * 1000.0),
                MeasureKind::Status => Value::Status(if pct >= 100.0 { Progress::Done } else { Progress::InProgress }),
            };
            ((l.key, l.measure.clone()), v)
        })
        .collect();
    write(&build_spec(&ctx.catalog, &ctx.dir, &ctx.settings.calendar, &agency, q2, &Fill(values))).unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_rerun_previews_values_statuses_and_reminders_then_the_rerun_applies_them() {
    for db in common::all().await {
        let inbox = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let source = Source {
            id: "so_yt".into(),
            agency: Some("so_yt".parse().unwrap()),
            kind: SourceKind::Folder { path: inbox.path().to_path_buf(), glob: "*.xlsx".into() },
            auth: None,
            mapping: Default::default(),
            enabled: true,
        };
        let mut s = common::settings();
        s.mail.outbox_dir = out.path().to_path_buf();
        let ctx = common::context(&db, s, vec![source]).await;
        let q2 = common::period("2024-Q2");
        std::fs::write(inbox.path().join("so_yt.xlsx"), workbook(&ctx, 40.0)).unwrap();
        let first_at =
            Origin { now: Some(at("2024-06-20T10:00:00+07:00")), ..Origin::new(Trigger::Cli, Some("test".into())) };
        let cycle = execute(&ctx, &JobSpec::new(JobKind::Cycle, Some(q2)), &first_at).await.unwrap();
        assert_eq!(cycle.status, "succeeded", "{}", cycle.summary);
        let yt_reminded = db
            .wh
            .outbox(Some(q2), None, None)
            .await
            .unwrap()
            .iter()
            .any(|m| m.agency.as_str() == "so_yt" && m.kind == "reminder");
        assert!(yt_reminded, "Sở Y tế lags at 40% and is reminded");
        let collect_run = cycle.summary["collect"]["run"].as_i64().unwrap();

        // The department re-sends its file: everything at 100%.
        std::fs::write(inbox.path().join("so_yt.xlsx"), workbook(&ctx, 100.0)).unwrap();
        let before = (db.wh.dump_period(q2).await.unwrap(), db.wh.outbox(Some(q2), None, None).await.unwrap().len());
        let run = db.wh.run(collect_run).await.unwrap().unwrap();
        let mut spec = JobSpec::from_run(&run).unwrap();
        spec.dry_run = true;
        let later = Origin {
            rerun_of: Some(collect_run),
            now: Some(at("2024-07-01T09:00:00+07:00")),
            ..Origin::new(Trigger::Cli, Some("test".into()))
        };
        let preview = execute(&ctx, &spec, &later).await.unwrap();
        let changes = preview.summary["collect"]["preview"]["changes"].as_array().unwrap().clone();
        assert!(!changes.is_empty(), "{}", preview.summary);
        assert!(changes.iter().all(|c| c["agency"] == "so_yt" && !c["old"].is_null()), "every value supersedes one");
        let pct = |v: &serde_json::Value| (v["kind"] == "percent").then(|| v["value"].as_f64()).flatten();
        assert!(changes.iter().any(|c| pct(&c["old"]) == Some(40.0) && pct(&c["new"]) == Some(100.0)), "{changes:?}");
        assert!(
            changes.iter().all(|c| c["location"].as_str().unwrap().starts_with("Báo cáo!G")),
            "each change says its cell"
        );
        let flips = preview.summary["flips"].as_array().unwrap();
        assert!(
            flips.iter().any(|f| f["agency"] == "so_yt"
                && f["from"] == "lagging"
                && ["on_track", "done"].contains(&f["to"].as_str().unwrap())),
            "{flips:?}"
        );
        let planned = preview.summary["remind"]["planned"].as_array().unwrap();
        let yt = planned.iter().find(|p| p["agency"] == "so_yt").expect("Sở Y tế in the plan");
        assert_eq!((yt["kind"].as_str(), yt["state"].as_str()), (Some("correction"), Some("new")), "{yt}");
        // Nothing written but run records.
        let after = (db.wh.dump_period(q2).await.unwrap(), db.wh.outbox(Some(q2), None, None).await.unwrap().len());
        assert!(before == after, "a dry run changed the warehouse");
        let dry = db.wh.runs(&RunFilter { job: Some("collect".into()), ..Default::default() }).await.unwrap();
        assert!(dry[0].dry_run && dry[0].rerun_of == Some(collect_run), "{:?}", dry[0]);

        // The rerun itself.
        spec.dry_run = false;
        let done = execute(&ctx, &spec, &later).await.unwrap();
        assert_eq!(
            done.summary["counts"]["superseded"].as_u64().unwrap() as usize,
            changes.iter().filter(|c| !c["old"].is_null()).count()
        );
        db.cleanup().await;
    }
}
