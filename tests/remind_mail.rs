//! Reminders through a real SMTP server (mailcrab, in process): what arrives is what was
//! meant — recipients, copies, subject, both parts, Vietnamese intact after encoding, and
//! a workbook attachment that opens with calamine and holds the agency's items. A rerun of
//! the same round sends nothing.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chiso::domain::Period;
use chiso::evaluate::GapRow;
use chiso::jobs::remind::{RemindReport, RemindRequest, remind};
use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use unicode_normalization::UnicodeNormalization;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_listening(port: u16) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the SMTP server on {port} does not answer");
}

/// Drains the server's channel as messages arrive (it holds only 128).
struct Inbox(Arc<std::sync::Mutex<Vec<mailcrab::MailMessage>>>);

impl Inbox {
    fn start(mut rx: tokio::sync::broadcast::Receiver<mailcrab::MailMessage>) -> Self {
        let store = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = store.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(m) => s.lock().unwrap().push(m),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        panic!("the test inbox lost {n} messages")
                    }
                    Err(_) => return,
                }
            }
        });
        Self(store)
    }

    async fn wait_for(&self, n: usize) -> Vec<mailcrab::MailMessage> {
        for _ in 0..500 {
            if self.0.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let got = self.0.lock().unwrap().clone();
        assert_eq!(got.len(), n, "messages received");
        got
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn recipients_of(r: &RemindReport) -> usize {
    r.planned.iter().filter(|p| p.state == "new").map(|p| p.to.len() + p.cc.len()).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_arrives_intact_at_a_real_smtp_server_and_a_rerun_sends_nothing() {
    let q2: Period = common::period("2024-Q2");
    // Thursday 20/06/2024 10:00 in Vĩnh Long: the day after the due date (19/06).
    let now = at("2024-06-20T10:00:00+07:00");
    for db in common::all().await {
        let port = free_port();
        let server = mailcrab::development_mail_server([127, 0, 0, 1], port).await;
        let inbox = Inbox::start(server.rx.resubscribe());
        wait_listening(port).await;
        let sources = chiso::sources::load(&common::repo("config/sources.toml"), &common::directory()).unwrap();
        let ctx = common::context(&db, common::smtp_settings(port), sources).await;
        common::collect(&ctx, q2).await;

        let report = remind(&ctx, &RemindRequest { now: Some(now), ..RemindRequest::new(q2) }, None).await.unwrap();
        assert_eq!(report.round.as_deref(), Some("sau_han"), "{}", db.name);
        assert_eq!(report.superseded, vec!["truoc_han".to_string()], "the round before the due date was missed");
        assert!(report.queued > 20, "{}: {} queued", db.name, report.queued);
        assert_eq!(report.errors, 0);
        let delivery = report.delivery.clone().unwrap();
        assert_eq!((delivery.sent, delivery.failed, delivery.partial, delivery.retrying), (report.queued, 0, 0, 0));
        let received = inbox.wait_for(recipients_of(&report)).await;

        // One message per agency; every envelope recipient once.
        let mut seen = BTreeSet::new();
        for m in &received {
            for r in &m.envelope_recipients {
                assert!(seen.insert(r.clone()), "{r} received twice");
            }
        }

        let planned =
            report.planned.iter().find(|p| p.agency.as_str() == "so_yt").expect("Sở Y tế lags in the demo quarter");
        let msg = received
            .iter()
            .find(|m| m.envelope_recipients.iter().any(|r| r == "so_yt@vinhlong.example"))
            .expect("Sở Y tế's message arrived");
        let raw = msg.raw_bytes().expect("raw message");
        let parsed = MessageParser::default().parse(&raw).expect("parses");

        // Subject and names decode to exactly what was meant (RFC 2047 words re-joined).
        assert_eq!(parsed.subject(), Some(planned.subject.as_str()));
        // The subject counts the items Sở Y tế leads by name (141–145, 148), none reported in
        // the demo; its shared items are counted in one line of the body.
        assert_eq!(planned.subject, "[Chuyển đổi số] Nhắc báo cáo Quý II/2024 – 6 chỉ tiêu chưa báo cáo");
        let from = parsed.from().and_then(|a| a.first()).unwrap();
        assert_eq!(from.name(), Some("Sở Thông tin và Truyền thông Vĩnh Long"));
        assert_eq!(from.address(), Some("chuyendoiso@vinhlong.example"));
        let to: Vec<(Option<&str>, Option<&str>)> =
            parsed.to().unwrap().iter().map(|a| (a.name(), a.address())).collect();
        assert_eq!(to, vec![(Some("Sở Y tế"), Some("so_yt@vinhlong.example"))]);
        assert!(parsed.cc().is_none(), "the after-due round copies nobody");

        // Both parts, NFC Vietnamese, the agency's items.
        let text = parsed.body_text(0).unwrap().into_owned();
        let html = parsed.body_html(0).unwrap().into_owned();
        assert_eq!(text, text.nfc().collect::<String>());
        assert!(text.starts_with("Kính gửi: Sở Y tế"), "{text}");
        assert!(html.contains("Kính gửi: <strong>Sở Y tế</strong>"), "{html}");
        let row = db
            .wh
            .outbox(Some(q2), None, None)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.agency.as_str() == "so_yt")
            .unwrap();
        let key = "kh-742-2023/2024-Q2/so_yt/sau_han";
        assert_eq!(row.key, key);
        let stored = db.wh.load_message(row.id).await.unwrap().unwrap();
        let items: Vec<serde_json::Value> = serde_json::from_str(&sqlx_items(&db, row.id).await).unwrap();
        assert_eq!(items.len(), planned.items);
        for item in &items {
            let n = item["item"].as_str().unwrap();
            assert!(text.contains(&format!("Chỉ tiêu số {n}")), "item {n} missing from the text part");
            assert!(html.contains(&format!("<td>{n}")), "item {n} missing from the HTML part");
        }
        // Message-ID from the key; the key in its own header.
        let from_box: lettre::message::Mailbox = ctx.settings.mail.from.parse().unwrap();
        let expected_id = chiso::remind::compose::message_id(key, &from_box);
        assert_eq!(stored.message_id, expected_id);
        assert_eq!(parsed.message_id(), Some(expected_id.trim_matches(['<', '>'])));
        assert_eq!(parsed.header_raw("X-Chiso-Key").map(str::trim), Some(key));

        // The attachment: the agency's own workbook, pre-filled, readable by calamine and
        // importable with no mapping.
        let attachment = parsed.attachments().next().expect("a workbook is attached");
        assert_eq!(attachment.attachment_name(), Some("bao-cao-2024-Q2-so_yt.xlsx"));
        let bytes = attachment.contents().to_vec();
        let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
        let sheet = calamine::Reader::worksheet_range_at(&mut book, 0).unwrap().unwrap();
        let cells: Vec<String> = sheet.rows().flat_map(|r| r.iter().map(|c| c.to_string())).collect();
        assert!(cells.iter().any(|c| c.contains("Sở Y tế")), "the workbook names its agency");
        for item in &items {
            let n = item["item"].as_str().unwrap();
            assert!(cells.iter().any(|c| c == n), "item {n} is not in the workbook");
        }
        let reported = db.wh.agency_values("kh-742-2023", &"so_yt".parse().unwrap(), q2).await.unwrap();
        assert!(!reported.is_empty(), "Sở Y tế reported something in the demo quarter");
        let spec = chiso::ingest::FileSpec {
            file_name: "bao-cao-2024-Q2-so_yt.xlsx".into(),
            mapping: Default::default(),
            agency: None,
            period: q2,
        };
        let (_, obs, rejects) = chiso::ingest::parse_to_vecs(
            Arc::from(bytes),
            &spec,
            &ctx.catalog,
            &ctx.dir,
            ctx.settings.calendar.cutoff(q2),
        );
        assert!(rejects.is_empty(), "{rejects:?}");
        let back: HashMap<(String, String), chiso::domain::Value> =
            obs.into_iter().map(|o| ((o.item.to_string(), o.measure), o.value)).collect();
        for (k, v) in &reported {
            assert_eq!(back.get(k), Some(v), "pre-filled value {k:?} does not come back");
        }

        // A rerun of the round queues and sends nothing.
        let again = remind(&ctx, &RemindRequest { now: Some(now), ..RemindRequest::new(q2) }, None).await.unwrap();
        assert_eq!((again.queued, again.already), (0, report.queued), "{}", db.name);
        assert_eq!(again.delivery.unwrap().sent, 0);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(inbox.len(), received.len(), "nothing more arrives");
        server.token.cancel();
        db.cleanup().await;
    }
}

async fn sqlx_items(db: &common::TestDb, id: i64) -> String {
    db.wh.outbox_items(id).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_copies_the_coordinator_the_supervisor_and_named_co_agencies() {
    let q2 = common::period("2024-Q2");
    let db = common::sqlite().await;
    let port = free_port();
    let server = mailcrab::development_mail_server([127, 0, 0, 1], port).await;
    let inbox = Inbox::start(server.rx.resubscribe());
    wait_listening(port).await;
    let sources = chiso::sources::load(&common::repo("config/sources.toml"), &common::directory()).unwrap();
    let ctx = common::context(&db, common::smtp_settings(port), sources).await;
    common::collect(&ctx, q2).await;
    // Monday 01/07/2024 09:00: ten days after the due date.
    let now = at("2024-07-01T09:00:00+07:00");
    let report = remind(&ctx, &RemindRequest { now: Some(now), ..RemindRequest::new(q2) }, None).await.unwrap();
    assert_eq!(report.round.as_deref(), Some("don_doc"));
    assert_eq!(report.superseded, vec!["truoc_han".to_string(), "sau_han".to_string()]);
    let received = inbox.wait_for(recipients_of(&report)).await;

    let yt = report.planned.iter().find(|p| p.agency.as_str() == "so_yt").unwrap();
    assert!(yt.cc.contains(&"so_tttt@vinhlong.example".to_string()), "the coordinator: {:?}", yt.cc);
    assert!(yt.cc.contains(&"ubnd_tinh@vinhlong.example".to_string()), "the supervisor: {:?}", yt.cc);
    // Every co-agency copied is named one by one on an item Sở Y tế alone leads and lags on.
    let rows: Vec<GapRow> = ctx
        .wh
        .gaps("kh-742-2023", q2, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|g| g.agency.as_str() == "so_yt")
        .map(to_row)
        .collect();
    let named: BTreeSet<String> = rows
        .iter()
        .filter(|r| r.status.needs_action() && r.status != chiso::evaluate::Status::AtRisk)
        .filter_map(|r| ctx.catalog.indicator(r.item))
        .filter(|i| i.lead.len() == 1)
        .flat_map(|i| {
            i.co.iter()
                .filter(|c| ctx.dir.get(c).is_some_and(|a| !a.is_group()))
                .map(|c| format!("{c}@vinhlong.example"))
        })
        .collect();
    for cc in &yt.cc {
        assert!(
            named.contains(cc) || cc == "so_tttt@vinhlong.example" || cc == "ubnd_tinh@vinhlong.example",
            "{cc} copied without reason"
        );
    }
    // What the copies receive is the same message, with the copies in Cc.
    let copy = received
        .iter()
        .find(|m| {
            m.envelope_recipients == vec!["ubnd_tinh@vinhlong.example".to_string()] && {
                let raw = m.raw_bytes().unwrap();
                let p = MessageParser::default().parse(&raw).unwrap();
                p.to().and_then(|a| a.first()).and_then(|a| a.address()) == Some("so_yt@vinhlong.example")
            }
        })
        .expect("the province's People's Committee got Sở Y tế's escalation");
    let raw = copy.raw_bytes().unwrap();
    let parsed = MessageParser::default().parse(&raw).unwrap();
    let cc: Vec<&str> = parsed.cc().unwrap().iter().filter_map(|a| a.address()).collect();
    assert!(cc.contains(&"so_tttt@vinhlong.example") && cc.contains(&"ubnd_tinh@vinhlong.example"), "{cc:?}");
    // A commune's supervisor is its district.
    let commune = report.planned.iter().find(|p| p.agency.starts_with("xa_")).expect("a commune lags");
    let parent = ctx.dir.get_str(&commune.agency).unwrap().parent.clone().unwrap();
    assert!(commune.cc.contains(&format!("{parent}@vinhlong.example")), "{:?}", commune.cc);
    server.token.cancel();
    db.cleanup().await;
}

fn to_row(g: chiso::warehouse::StoredGap) -> GapRow {
    GapRow {
        item: g.item.parse().unwrap(),
        measure: g.measure,
        kind: g.kind,
        agency: g.agency.to_string(),
        status: g.status,
        target: g.target,
        expected: g.expected,
        actual: g.actual,
        gap: g.gap,
        pace: g.pace,
        reason: g.reason,
        co: g.co,
        members: None,
        observation_id: g.observation_id,
        refused: g.reject,
    }
}
