//! The outcome events (`chiso::events`) count what the jobs report: a collection of the demo
//! sources, collected again, then a reminder round sent to files, on SQLite and PostgreSQL,
//! with the process's `/metrics` recorder. Alone in its test binary, so that no other test
//! emits events meanwhile: each figure is the counter's change over one step.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chiso::jobs::remind::{RemindRequest, remind};

/// `chiso_events_total` by event, as `/metrics` renders it.
fn events() -> HashMap<String, u64> {
    let text = chiso::serve::metrics::handle().expect("the recorder").render();
    text.lines()
        .filter_map(|l| l.strip_prefix("chiso_events_total{event=\""))
        .filter_map(|l| {
            let (event, value) = l.split_once("\"} ")?;
            Some((event.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

fn delta(before: &HashMap<String, u64>, after: &HashMap<String, u64>, event: &str) -> u64 {
    after.get(event).copied().unwrap_or(0) - before.get(event).copied().unwrap_or(0)
}

/// The log, as the daemon's text format writes it.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_counters_say_what_the_collection_and_the_round_did() {
    let log = Log::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("chiso=info"))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let q2 = common::period("2024-Q2");
    let outbox = tempfile::tempdir().unwrap();
    for db in common::all().await {
        let mut settings = common::settings();
        settings.mail.outbox_dir = outbox.path().join(db.name);
        let sources = chiso::sources::load(&common::repo("config/sources.toml"), &common::directory()).unwrap();
        let ctx = common::context(&db, settings, sources).await;

        let before = events();
        let first = common::collect(&ctx, q2).await;
        let after = events();
        let counts = first.counts();
        let files = first.sources.iter().map(|s| s.files.len() as u64).sum::<u64>();
        assert_eq!(delta(&before, &after, "fetched"), counts["files_fetched"].as_u64().unwrap(), "{}", db.name);
        assert_eq!(delta(&before, &after, "fetched"), files, "{}: every file is fetched once", db.name);
        assert_eq!(delta(&before, &after, "stored"), counts["observations"].as_u64().unwrap(), "{}", db.name);
        assert!(delta(&before, &after, "stored") > 150, "{}", db.name);
        // The demo's three refused cells are held, each with its reason; no file is refused whole.
        assert_eq!(delta(&before, &after, "held"), counts["rejects"].as_u64().unwrap(), "{}", db.name);
        assert_eq!(delta(&before, &after, "held"), 3, "{}", db.name);
        for none in ["rejected", "unchanged", "failed", "reminded", "sent"] {
            assert_eq!(delta(&before, &after, none), 0, "{}: {none}", db.name);
        }

        // The same files again: all unchanged, nothing stored or held.
        let before = events();
        common::collect(&ctx, q2).await;
        let after = events();
        assert_eq!(delta(&before, &after, "unchanged"), files, "{}", db.name);
        for none in ["fetched", "stored", "held"] {
            assert_eq!(delta(&before, &after, none), 0, "{}: {none}", db.name);
        }

        // A round, judged and sent during working hours (10:00 in Vĩnh Long, a Tuesday).
        let before = events();
        let now = "2026-12-01T03:00:00Z".parse().unwrap();
        let round = remind(&ctx, &RemindRequest { now: Some(now), ..RemindRequest::new(q2) }, None).await.unwrap();
        let after = events();
        assert!(round.queued > 0, "{}: {round:?}", db.name);
        assert_eq!(delta(&before, &after, "reminded"), round.queued as u64, "{}", db.name);
        let delivery = round.delivery.expect("the round sends");
        assert!(delivery.recipients_sent > 0, "{}: {delivery:?}", db.name);
        assert_eq!(delta(&before, &after, "sent"), delivery.recipients_sent as u64, "{}", db.name);
        assert_eq!(delta(&before, &after, "failed"), 0, "{}", db.name);
        db.cleanup().await;
    }
    // Each outcome's line sits in the spans of its job and source: run, job, period, source.
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let stored = text.lines().find(|l| l.contains("event=\"stored\"")).expect("a stored event in the log");
    assert!(
        stored.contains("collect{") && stored.contains("job=\"collect\"") && stored.contains(" run_id="),
        "{stored}"
    );
    assert!(stored.contains("period=2024-Q2") && stored.contains("collect_source{source="), "{stored}");
    let sent = text.lines().find(|l| l.contains("event=\"sent\"")).expect("a sent event in the log");
    assert!(sent.contains("remind{") && sent.contains("deliver_due{job=\"deliver\"}"), "{sent}");
}
