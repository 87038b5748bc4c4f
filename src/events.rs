//! The pipeline's outcomes, each one call that both logs and counts it: a file fetched or
//! found unchanged, figures stored, a file refused whole, rows held with their reason,
//! reminders queued, recipients sent, and failures. The log line (English, for machines)
//! carries the enclosing span's `run_id`, `job`, `period` and `source` (the stage entry
//! points are `#[instrument]`ed); the counter is `chiso_events_total{event}` in
//! `/metrics`. Because both come from the same call they never disagree.
//!
//! Owns: the list of outcomes and their counter. Receives: an [`Event`], how many, and what
//! it is about, from `jobs`, `remind` and `sources`. Hands on: a `tracing` event and a
//! `metrics` increment (a no-op outside `chiso serve`, which installs the recorder).

use std::fmt::Display;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// A file or a portal's pages fetched with new content.
    Fetched,
    /// A fetch whose content is the one already stored (nothing ingested again).
    Unchanged,
    /// Figures stored from a file (`n` = how many).
    Stored,
    /// A file refused whole: nothing of it stored.
    Rejected,
    /// Rows held, not stored, each with its reason for the officer (`n` = how many).
    Held,
    /// Reminders and corrections queued in the outbox (`n` = how many).
    Reminded,
    /// A message delivered to a recipient.
    Sent,
    /// A fetch, a composition or a delivery that failed.
    Failed,
}

impl Event {
    pub const ALL: [Event; 8] = [
        Event::Fetched,
        Event::Unchanged,
        Event::Stored,
        Event::Rejected,
        Event::Held,
        Event::Reminded,
        Event::Sent,
        Event::Failed,
    ];

    /// The `event` label of the counter and the log line.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Fetched => "fetched",
            Event::Unchanged => "unchanged",
            Event::Stored => "stored",
            Event::Rejected => "rejected",
            Event::Held => "held",
            Event::Reminded => "reminded",
            Event::Sent => "sent",
            Event::Failed => "failed",
        }
    }

    /// Logs and counts `n` of this outcome about `what` (a file, a message key). Nothing
    /// is logged or counted for `n == 0`.
    pub fn emit(self, n: u64, what: &str) {
        self.record(n, what, None);
    }

    /// [`Event::emit`] with the reason (an error, a refusal), logged with it.
    pub fn emit_because(self, n: u64, what: &str, reason: impl Display) {
        self.record(n, what, Some(&reason));
    }

    fn record(self, n: u64, what: &str, reason: Option<&dyn Display>) {
        if n == 0 {
            return;
        }
        metrics::counter!("chiso_events_total", "event" => self.as_str()).increment(n);
        let event = self.as_str();
        // An absent reason is left out of the line, not written empty.
        let reason = reason.map(tracing::field::display);
        match self {
            Event::Failed | Event::Rejected => tracing::warn!(event, n, what, reason, "{event}"),
            _ => tracing::info!(event, n, what, reason, "{event}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_has_its_own_label() {
        let labels: std::collections::BTreeSet<&str> = Event::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(labels.len(), Event::ALL.len());
        assert!(labels.iter().all(|l| l.chars().all(|c| c.is_ascii_lowercase())));
    }

    /// A writer the test's subscriber logs into.
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn one_call_logs_the_outcome_in_its_span_and_counts_it() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            metrics::with_local_recorder(&recorder, || {
                let span = tracing::info_span!("collect", run_id = 7, period = "2024-Q3", source = "so-y-te");
                let _in = span.enter();
                Event::Stored.emit(12, "so-y-te-q3.xlsx");
                Event::Stored.emit(3, "so-y-te-q3b.xlsx");
                Event::Held.emit(0, "so-y-te-q3.xlsx");
                Event::Failed.emit_because(1, "https://portal/api", "HTTP 503");
            });
        });
        let text = handle.render();
        assert!(text.contains(r#"chiso_events_total{event="stored"} 15"#), "{text}");
        assert!(text.contains(r#"chiso_events_total{event="failed"} 1"#), "{text}");
        assert!(!text.contains(r#"event="held""#), "nothing held, nothing counted: {text}");
        let log = String::from_utf8(buffer.0.lock().map(|b| b.clone()).unwrap_or_default()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 3, "{log}");
        assert!(
            lines[0].contains("INFO") && lines[0].contains("run_id=7") && lines[0].contains("source=\"so-y-te\""),
            "{log}"
        );
        assert!(lines[0].contains("event=\"stored\"") && lines[0].contains("n=12"), "{log}");
        assert!(lines[2].contains("WARN") && lines[2].contains("reason=HTTP 503"), "{log}");
    }
}
