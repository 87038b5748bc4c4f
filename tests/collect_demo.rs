//! The bundled demo sources collected end to end, on SQLite and PostgreSQL.

mod common;

use std::sync::Arc;

use chiso::demo::{DemoCell, SheetSpec, title_block, write_book};
use chiso::jobs::collect::{CollectRequest, Quiet, collect};
use chiso::warehouse::{RunStatus, Trigger};

fn demo_sources() -> Vec<chiso::sources::Source> {
    chiso::sources::load(&common::repo("config/sources.toml"), &common::directory()).unwrap()
}

#[tokio::test]
async fn collecting_twice_changes_nothing() {
    let q2 = common::period("2024-Q2");
    for db in common::all().await {
        let ctx = common::context(&db, common::settings(), demo_sources()).await;
        let first = common::collect(&ctx, q2).await;
        assert_eq!(first.status, RunStatus::Succeeded, "{}: refused cells alone do not make a run partial", db.name);
        assert_eq!(first.sources.len(), 6);
        assert!(first.sources.iter().all(|s| !s.is_failed()), "{}: {:?}", db.name, first.sources);
        let counts = first.counts();
        assert_eq!(counts["files_fetched"], 6);
        // 135% (over 100), item 205 (not in the plan) and an unknown commune code. The
        // portal's figure of Cục Thống kê for item 104, which it has no part in, is kept
        // and judged not applicable, not refused.
        assert_eq!(counts["rejects"], 3, "{}: {counts}", db.name);
        assert!(counts["observations"].as_u64().unwrap() > 150);
        let dump = db.wh.dump_period(q2).await.unwrap();

        let second = common::collect(&ctx, q2).await;
        assert_eq!(second.status, RunStatus::Succeeded, "{}", db.name);
        assert!(
            second.sources.iter().all(|s| s.files.iter().all(|f| f.outcome == "unchanged")),
            "{}: {:?}",
            db.name,
            second.sources
        );
        assert_eq!(second.counts()["observations"], 0);
        assert_eq!(
            db.wh.dump_period(q2).await.unwrap(),
            dump,
            "{}: the second collection changed the warehouse",
            db.name
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn from_raw_re_reads_the_snapshots_without_fetching() {
    let q2 = common::period("2024-Q2");
    for db in common::all().await {
        let ctx = common::context(&db, common::settings(), demo_sources()).await;
        common::collect(&ctx, q2).await;
        let before = db.wh.observations("kh-742-2023", q2, false).await.unwrap();
        let fetches = db.wh.count_rows("fetches").await.unwrap();
        // Point every source somewhere empty: re-reading must not need them.
        let mut gone = demo_sources();
        for s in &mut gone {
            s.kind = chiso::sources::SourceKind::Folder { path: "/nonexistent".into(), glob: "*".into() };
        }
        let ctx = common::context(&db, common::settings(), gone).await;
        let req = CollectRequest { from_raw: true, ..CollectRequest::new(q2, Trigger::Cli, None) };
        let report = collect(&ctx, &req, Arc::new(Quiet)).await.unwrap();
        assert!(report.sources.iter().all(|s| !s.is_failed()), "{}: {:?}", db.name, report.sources);
        assert_eq!(db.wh.count_rows("fetches").await.unwrap(), fetches, "{}: --from-raw fetched", db.name);
        let after = db.wh.observations("kh-742-2023", q2, false).await.unwrap();
        let key =
            |o: &chiso::warehouse::ObservationRow| (o.item.clone(), o.measure.clone(), o.agency_id.clone(), o.value);
        assert_eq!(
            after.iter().map(key).collect::<Vec<_>>(),
            before.iter().map(key).collect::<Vec<_>>(),
            "{}",
            db.name
        );
        assert_eq!(report.counts()["observations"], 0, "re-reading the same bytes changes no value");
        assert_eq!(db.wh.rejects(q2).await.unwrap().len(), 4, "{}: rejects are replaced, not doubled", db.name);
        db.cleanup().await;
    }
}

/// Sở Y tế's drop folder.
fn inbox_source(path: &std::path::Path) -> chiso::sources::Source {
    chiso::sources::Source {
        id: "so_yt".into(),
        agency: Some(chiso::domain::AgencyId::parse("so_yt").unwrap()),
        kind: chiso::sources::SourceKind::Folder { path: path.to_path_buf(), glob: "*.xlsx".into() },
        auth: None,
        mapping: Default::default(),
        enabled: true,
    }
}

fn report(values: &[(&str, DemoCell)]) -> Vec<u8> {
    write_book(&[SheetSpec {
        name: "BC".into(),
        title: title_block("UBND tỉnh Vĩnh Long", "Sở Y tế", "Quý II năm 2024"),
        header_row: 5,
        headers: ["STT", "Nhiệm vụ", "Kết quả"].map(String::from).to_vec(),
        rows: values.iter().map(|(k, v)| vec![DemoCell::Text((*k).into()), DemoCell::Empty, v.clone()]).collect(),
        ..Default::default()
    }])
    .unwrap()
}

#[tokio::test]
async fn a_re_sent_file_supersedes_changed_values_and_keeps_history() {
    let q2 = common::period("2024-Q2");
    for db in common::all().await {
        let inbox = tempfile::tempdir().unwrap();
        let source = inbox_source(inbox.path());
        let ctx = common::context(&db, common::settings(), vec![source]).await;
        let file = inbox.path().join("bao-cao.xlsx");
        std::fs::write(&file, report(&[("1", DemoCell::Text("80%".into())), ("5", DemoCell::Text("70%".into()))]))
            .unwrap();
        // An Excel lock file in the folder is not a report.
        std::fs::write(inbox.path().join("~$bao-cao.xlsx"), b"lock").unwrap();
        let first = common::collect(&ctx, q2).await;
        assert_eq!(first.counts()["observations"], 2, "{}", db.name);
        assert_eq!(first.sources[0].files.len(), 1);

        std::fs::write(&file, report(&[("1", DemoCell::Text("90%".into())), ("5", DemoCell::Text("70%".into()))]))
            .unwrap();
        let second = common::collect(&ctx, q2).await;
        let f = &second.sources[0].files[0];
        assert_eq!((f.counts.observations, f.counts.superseded, f.counts.unchanged), (1, 1, 1), "{}: {f:?}", db.name);

        let history = db.wh.observations("kh-742-2023", q2, true).await.unwrap();
        let item1: Vec<(chiso::domain::Value, bool)> =
            history.iter().filter(|o| o.item == "1").map(|o| (o.value, o.superseded_at.is_some())).collect();
        assert_eq!(
            item1,
            [(chiso::domain::Value::Percent(80.0), true), (chiso::domain::Value::Percent(90.0), false)],
            "{}",
            db.name
        );
        let current = db.wh.observations("kh-742-2023", q2, false).await.unwrap();
        assert_eq!(current.len(), 2);
        db.cleanup().await;
    }
}

/// Cancels the collection when a source starts its second file: the first is stored.
struct CancelAtSecondFile(tokio_util::sync::CancellationToken, std::sync::atomic::AtomicUsize);

impl chiso::jobs::collect::Progress for CancelAtSecondFile {
    fn file(&self, _source: &str, _name: &str) {
        if self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            self.0.cancel();
        }
    }
}

/// A collection stopped by a shutdown in the middle of a source records what it stored,
/// not the zeros of the source it did not finish.
#[tokio::test]
async fn a_cancelled_collection_s_counts_are_what_it_stored() {
    let q2 = common::period("2024-Q2");
    for db in common::all().await {
        let inbox = tempfile::tempdir().unwrap();
        let source = inbox_source(inbox.path());
        let rows = [("1", DemoCell::Text("80%".into())), ("5", DemoCell::Text("70%".into()))];
        std::fs::write(inbox.path().join("a.xlsx"), report(&rows)).unwrap();
        std::fs::write(inbox.path().join("b.xlsx"), report(&rows[..1])).unwrap();
        let ctx = common::context(&db, common::settings(), vec![source]).await;
        let progress = Arc::new(CancelAtSecondFile(ctx.cancel.clone(), Default::default()));
        let report = collect(&ctx, &CollectRequest::new(q2, Trigger::Cli, None), progress).await.unwrap();
        assert_eq!(report.status, RunStatus::Cancelled, "{}", db.name);
        let stored = db.wh.count_rows("observations").await.unwrap();
        assert_eq!(stored, 2, "{}: the first file was stored whole", db.name);
        let run = db.wh.run(report.run_id).await.unwrap().unwrap();
        assert_eq!(run.status.as_str(), "cancelled");
        assert_eq!(run.counts["observations"].as_i64(), Some(stored), "{}: {}", db.name, run.counts);
        assert_eq!(run.counts["files_stored"].as_i64(), Some(1), "{}: {}", db.name, run.counts);
        db.cleanup().await;
    }
}
