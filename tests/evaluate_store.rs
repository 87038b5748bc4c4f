//! Evaluations as stored versions: a late report updates the current view and the view
//! at an earlier run is still there — "what did we know when we sent the reminder".

mod common;

use std::collections::HashMap;

use chiso::domain::{ItemKey, MeasureKind, Period, Progress, Value};
use chiso::evaluate::Status;
use chiso::jobs::evaluate::{EvaluateRequest, evaluate};
use chiso::report::template::{KnownValues, build_spec, write};
use chiso::warehouse::Trigger;
use chrono::{TimeZone, Utc};

struct Fill(HashMap<(ItemKey, String), Value>);

impl KnownValues for Fill {
    fn value(&self, item: ItemKey, measure: &str, _: Period) -> Option<Value> {
        self.0.get(&(item, measure.to_string())).copied()
    }
}

#[tokio::test]
async fn a_late_report_changes_the_current_view_and_keeps_history() {
    let q2 = common::period("2024-Q2");
    let now = Utc.with_ymd_and_hms(2024, 7, 1, 3, 0, 0).unwrap();
    let req = |now| EvaluateRequest { now: Some(now), ..EvaluateRequest::new(q2, Trigger::Cli, None) };
    for db in common::all().await {
        let sources = chiso::sources::load(&common::repo("config/sources.toml"), &common::directory()).unwrap();
        let ctx = common::context(&db, common::settings(), sources).await;
        common::collect(&ctx, q2).await;
        let first = evaluate(&ctx, &req(now)).await.unwrap();
        assert_eq!(first.counts.new as usize, first.rows.len(), "{}", db.name);
        let khcn_before: Vec<Status> = db
            .wh
            .gaps("kh-742-2023", q2, None)
            .await
            .unwrap()
            .into_iter()
            .filter(|g| g.agency.as_str() == "so_khcn")
            .map(|g| g.status)
            .collect();
        assert!(
            !khcn_before.is_empty() && khcn_before.iter().all(|s| *s == Status::Missing),
            "{}: {khcn_before:?}",
            db.name
        );

        // Sở KH&CN sends its workbook late, every value filled.
        let spec = build_spec(&ctx.catalog, &ctx.dir, &ctx.settings.calendar, &"so_khcn".parse().unwrap(), q2, &());
        let values: HashMap<(ItemKey, String), Value> = spec
            .lead
            .iter()
            .map(|l| {
                let v = match l.kind {
                    MeasureKind::Percent => Value::Percent(100.0),
                    MeasureKind::Count { .. } => Value::Count(10_000.0),
                    MeasureKind::Status => Value::Status(Progress::Done),
                };
                ((l.key, l.measure.clone()), v)
            })
            .collect();
        let filled =
            build_spec(&ctx.catalog, &ctx.dir, &ctx.settings.calendar, &"so_khcn".parse().unwrap(), q2, &Fill(values));
        let bytes = write(&filled).unwrap();
        let ids = db.wh.indicator_id_map("kh-742-2023").await.unwrap();
        let source = ctx.sources[0].clone();
        let source = chiso::sources::Source { id: "manual".into(), agency: None, ..source };
        let report = chiso::jobs::collect::ingest_bytes(
            &ctx,
            first.run_id,
            &source,
            q2,
            chiso::jobs::collect::FileBytes::new("so_khcn.xlsx", bytes.clone()),
            &ids,
        )
        .await;
        assert!(report.counts.observations > 0, "{}: {report:?}", db.name);

        let second = evaluate(&ctx, &req(now)).await.unwrap();
        assert!(second.counts.changed > 0 && second.counts.unchanged > 0, "{}: {:?}", db.name, second.counts);
        assert_eq!(second.counts.new, 0);
        let current = db.wh.gaps("kh-742-2023", q2, None).await.unwrap();
        let khcn_now: Vec<&chiso::warehouse::StoredGap> =
            current.iter().filter(|g| g.agency.as_str() == "so_khcn").collect();
        assert!(
            khcn_now.iter().all(|g| g.status != Status::Missing && g.valid_from_run == second.run_id),
            "{}",
            db.name
        );
        // Rows nobody touched still date from the first run; Sở Y tế's rows of counts it
        // shares with Sở KH&CN (judged on the joint figure) are the ones that moved.
        let yt: Vec<_> = current.iter().filter(|g| g.agency.as_str() == "so_yt").collect();
        assert!(yt.iter().filter(|g| !g.reason.contains("chỉ tiêu chung")).all(|g| g.valid_from_run == first.run_id));
        assert!(yt.iter().any(|g| g.valid_from_run == first.run_id));
        // What was known after the first run.
        let then = db.wh.gaps("kh-742-2023", q2, Some(first.run_id)).await.unwrap();
        assert_eq!(then.len(), current.len());
        assert!(
            then.iter().filter(|g| g.agency.as_str() == "so_khcn").all(|g| g.status == Status::Missing),
            "{}",
            db.name
        );

        // Nothing new: nothing written.
        let third = evaluate(&ctx, &req(now)).await.unwrap();
        assert_eq!((third.counts.new, third.counts.changed, third.counts.gone), (0, 0, 0), "{}", db.name);
        assert_eq!(third.counts.unchanged as usize, third.rows.len());
        db.cleanup().await;
    }
}

/// Item 29 (2024: `25% đơn vị, trong đó: …`): the members report their status, and the
/// coordinating department's own percentage is the item's figure in the aggregate row.
#[tokio::test]
async fn the_lead_s_share_of_units_is_the_item_s_figure() {
    use chiso::demo::{DemoCell, SheetSpec, title_block, write_book};
    let q2 = common::period("2024-Q2");
    let now = Utc.with_ymd_and_hms(2024, 7, 1, 3, 0, 0).unwrap();
    for db in common::all().await {
        let ctx = common::context(&db, common::settings(), vec![]).await;
        let task = ctx.catalog.indicator("29".parse().unwrap()).unwrap().task.clone();
        let bytes = write_book(&[SheetSpec {
            name: "Báo cáo".into(),
            title: title_block("UBND tỉnh Vĩnh Long", "Sở Thông tin và Truyền thông", "Quý II năm 2024"),
            header_row: 5,
            headers: ["STT", "Nhiệm vụ", "Kết quả thực hiện"].map(String::from).to_vec(),
            rows: vec![vec![DemoCell::Text("29".into()), DemoCell::Text(task), DemoCell::Text("30%".into())]],
            ..Default::default()
        }])
        .unwrap();
        let ids = db.wh.indicator_id_map("kh-742-2023").await.unwrap();
        let source = chiso::sources::Source {
            id: "manual".into(),
            agency: None,
            kind: chiso::sources::SourceKind::Folder { path: ".".into(), glob: "*".into() },
            auth: None,
            mapping: Default::default(),
            enabled: true,
        };
        let run = evaluate(&ctx, &EvaluateRequest { now: Some(now), ..EvaluateRequest::new(q2, Trigger::Cli, None) })
            .await
            .unwrap()
            .run_id;
        let report = chiso::jobs::collect::ingest_bytes(
            &ctx,
            run,
            &source,
            q2,
            chiso::jobs::collect::FileBytes::new("so_tttt.xlsx", bytes.clone()),
            &ids,
        )
        .await;
        assert_eq!((report.counts.observations, report.counts.rejects), (1, 0), "{}: {report:?}", db.name);
        evaluate(&ctx, &EvaluateRequest { now: Some(now), ..EvaluateRequest::new(q2, Trigger::Cli, None) })
            .await
            .unwrap();
        let gaps = db.wh.gaps("kh-742-2023", q2, None).await.unwrap();
        let agg = gaps
            .iter()
            .find(|g| g.item == "29" && g.kind.as_str() == "aggregate")
            .unwrap_or_else(|| panic!("{}: no aggregate row for item 29", db.name));
        assert_eq!(agg.actual, Some(Value::Percent(30.0)), "{}: {agg:?}", db.name);
        assert!(agg.reason.starts_with("Theo số liệu của cơ quan chủ trì: 30% đơn vị"), "{}: {}", db.name, agg.reason);
        db.cleanup().await;
    }
}
