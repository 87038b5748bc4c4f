//! HTTP sources against real servers on loopback: wiremock, and a raw TCP server for a
//! body cut short. Each fault ends as documented, with nothing half-written. Runs on
//! SQLite, and on PostgreSQL when configured.

mod common;

use std::time::{Duration, Instant};

use chiso::demo::{DemoCell, SheetSpec, title_block, write_book};
use chiso::sources::{Auth, Source, SourceKind};
use chiso::warehouse::RunStatus;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A small Sở Y tế report with two values.
fn workbook() -> Vec<u8> {
    write_book(&[SheetSpec {
        name: "BC".into(),
        title: title_block("UBND tỉnh Vĩnh Long", "Sở Y tế", "Quý II năm 2024"),
        header_row: 5,
        headers: ["STT", "Nhiệm vụ", "Kết quả"].map(String::from).to_vec(),
        rows: vec![
            vec![DemoCell::Text("1".into()), DemoCell::Empty, DemoCell::Text("95%".into())],
            vec![DemoCell::Text("5".into()), DemoCell::Empty, DemoCell::Percent(0.81)],
        ],
        ..Default::default()
    }])
    .unwrap()
}

fn http_source(url: &str) -> Source {
    Source {
        id: "so_yt_web".into(),
        agency: Some(chiso::domain::AgencyId::parse("so_yt").unwrap()),
        kind: SourceKind::Http { url: url.into() },
        auth: None,
        mapping: Default::default(),
        enabled: true,
    }
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[tokio::test]
async fn etag_then_304_is_not_fetched_twice() {
    for db in common::all().await {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/bc-2024-q2.xlsx"))
            .and(header("if-none-match", "\"v1\""))
            .respond_with(ResponseTemplate::new(304))
            .with_priority(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/bc-2024-q2.xlsx"))
            .respond_with(ResponseTemplate::new(200).insert_header("ETag", "\"v1\"").set_body_raw(workbook(), XLSX))
            .with_priority(2)
            .expect(1)
            .mount(&server)
            .await;
        let url = format!("{}/bc-{{year}}-q{{quarter}}.xlsx", server.uri());
        let ctx = common::context(&db, common::settings(), vec![http_source(&url)]).await;
        let first = common::collect(&ctx, common::period("2024-Q2")).await;
        assert_eq!(first.status, RunStatus::Succeeded, "{}", db.name);
        assert_eq!(first.sources[0].observations(), 2);
        let dump = db.wh.dump_period(common::period("2024-Q2")).await.unwrap();
        let second = common::collect(&ctx, common::period("2024-Q2")).await;
        assert_eq!(second.sources[0].files[0].outcome, "not_modified", "{}", db.name);
        assert_eq!(
            db.wh.dump_period(common::period("2024-Q2")).await.unwrap(),
            dump,
            "{}: a 304 changed the warehouse",
            db.name
        );
        let log = db.wh.fetch_log("so_yt_web").await.unwrap();
        assert_eq!(log.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(), ["fetched", "not_modified"]);
        server.verify().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_500_then_success_is_retried() {
    for db in common::all().await {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(500))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(workbook(), XLSX))
            .with_priority(2)
            .mount(&server)
            .await;
        let ctx =
            common::context(&db, common::settings(), vec![http_source(&format!("{}/bc.xlsx", server.uri()))]).await;
        let report = common::collect(&ctx, common::period("2024-Q2")).await;
        assert_eq!(report.status, RunStatus::Succeeded, "{}", db.name);
        assert_eq!(report.sources[0].observations(), 2);
        let log = db.wh.fetch_log("so_yt_web").await.unwrap();
        assert_eq!((log[0].0.as_str(), log[0].1, log[0].2), ("fetched", 2, Some(200)), "{}: {log:?}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_429_waits_for_retry_after() {
    for db in common::all().await {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(workbook(), XLSX))
            .with_priority(2)
            .mount(&server)
            .await;
        // Our own backoff is 10 ms: only Retry-After can make the retry wait a second.
        let ctx =
            common::context(&db, common::settings(), vec![http_source(&format!("{}/bc.xlsx", server.uri()))]).await;
        let started = Instant::now();
        let report = common::collect(&ctx, common::period("2024-Q2")).await;
        assert!(started.elapsed() >= Duration::from_millis(950), "{}: retried before Retry-After", db.name);
        assert_eq!(report.status, RunStatus::Succeeded);
        // The 429, then the one retry that succeeds.
        assert_eq!(server.received_requests().await.unwrap().len(), 2);
        db.cleanup().await;
    }
}

/// Runs a collection expected to fail, and checks the failure is recorded and nothing of
/// the source was stored.
async fn expect_failure(
    db: &common::TestDb,
    settings: chiso::config::Settings,
    source: Source,
    code: &str,
    attempts: i64,
) -> String {
    let ctx = common::context(db, settings, vec![source]).await;
    let report = common::collect(&ctx, common::period("2024-Q2")).await;
    assert_eq!(report.status, RunStatus::Failed, "{}", db.name);
    assert_eq!(report.sources[0].files[0].outcome, "failed");
    let log = db.wh.fetch_log("so_yt_web").await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].0.as_str(), log[0].1), ("failed", attempts), "{}: {log:?}", db.name);
    for table in ["observations", "ingestions", "raw_files"] {
        assert_eq!(db.wh.count_rows(table).await.unwrap(), 0, "{}: {table} written by a failed fetch", db.name);
    }
    let rejects = db.wh.rejects(common::period("2024-Q2")).await.unwrap();
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].code, code, "{}", db.name);
    rejects[0].message.clone()
}

#[tokio::test]
async fn a_timeout_gives_up_after_the_attempts() {
    for db in common::all().await {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(workbook(), XLSX).set_delay(Duration::from_secs(5)))
            .mount(&server)
            .await;
        let mut settings = common::settings();
        settings.collect.http.read_timeout_secs = 0.3;
        settings.collect.http.max_attempts = 2;
        let message =
            expect_failure(&db, settings, http_source(&format!("{}/bc.xlsx", server.uri())), "fetch_timeout", 2).await;
        assert_eq!(message, "Máy chủ của đơn vị không phản hồi trong thời gian chờ");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_body_cut_short_is_not_kept() {
    for db in common::all().await {
        // A server that promises 5,000 bytes and hangs up after 100.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 2048];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 5000\r\n\r\n",
                    )
                    .await;
                let _ = sock.write_all(&[b'P'; 100]).await;
                let _ = sock.shutdown().await;
            }
        });
        let mut settings = common::settings();
        settings.collect.http.max_attempts = 3;
        let message =
            expect_failure(&db, settings, http_source(&format!("http://{addr}/bc.xlsx")), "fetch_truncated", 3).await;
        assert_eq!(message, "Tệp tải về bị cắt ngang (kết nối đứt giữa chừng)");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_401_is_not_retried_and_says_why() {
    for db in common::all().await {
        let server = MockServer::start().await;
        Mock::given(method("GET")).respond_with(ResponseTemplate::new(401)).expect(1).mount(&server).await;
        let message = expect_failure(
            &db,
            common::settings(),
            http_source(&format!("{}/bc.xlsx", server.uri())),
            "fetch_unauthorized",
            1,
        )
        .await;
        assert!(message.contains("HTTP 401") && message.contains("token"), "{message}");
        server.verify().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused() {
    for db in common::all().await {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(vec![b'x'; 5_000], XLSX))
            .mount(&server)
            .await;
        let mut settings = common::settings();
        settings.collect.http.max_body_bytes = 1_000;
        expect_failure(&db, settings, http_source(&format!("{}/bc.xlsx", server.uri())), "fetch_too_large", 1).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_html_error_page_served_as_xlsx_is_kept_and_refused() {
    for db in common::all().await {
        let server = MockServer::start().await;
        let html =
            "<!DOCTYPE html><html><head><title>Đăng nhập</title></head><body>Phiên làm việc đã hết hạn</body></html>";
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(html, XLSX))
            .mount(&server)
            .await;
        let ctx =
            common::context(&db, common::settings(), vec![http_source(&format!("{}/bc.xlsx", server.uri()))]).await;
        let report = common::collect(&ctx, common::period("2024-Q2")).await;
        assert_eq!(report.sources[0].files[0].outcome, "rejected", "{}", db.name);
        assert_eq!(report.status, RunStatus::Partial);
        assert_eq!(db.wh.count_rows("observations").await.unwrap(), 0);
        assert_eq!(db.wh.count_rows("raw_files").await.unwrap(), 1, "the page is kept as evidence");
        let rejects = db.wh.rejects(common::period("2024-Q2")).await.unwrap();
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].code, "html_page");
        assert!(rejects[0].message.contains("trang web (HTML)"));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn one_bad_source_does_not_stop_the_others() {
    for db in common::all().await {
        let good = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(workbook(), XLSX))
            .mount(&good)
            .await;
        let bad = MockServer::start().await;
        Mock::given(method("GET")).respond_with(ResponseTemplate::new(404)).mount(&bad).await;
        let mut broken = http_source(&format!("{}/nope.xlsx", bad.uri()));
        broken.id = "broken".into();
        let ctx =
            common::context(&db, common::settings(), vec![broken, http_source(&format!("{}/bc.xlsx", good.uri()))])
                .await;
        let report = common::collect(&ctx, common::period("2024-Q2")).await;
        assert_eq!(report.status, RunStatus::Partial, "{}", db.name);
        assert!(report.sources[0].is_failed());
        assert_eq!(report.sources[1].observations(), 2);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bearer_tokens_come_from_the_environment_and_pages_are_followed() {
    // SAFETY of the test: the variable name is unique to this test.
    unsafe { std::env::set_var("CHISO_TEST_PORTAL_TOKEN", "s3cr3t-portal") };
    for db in common::all().await {
        let server = MockServer::start().await;
        let page = |records: serde_json::Value| {
            ResponseTemplate::new(200).set_body_json(serde_json::json!({ "data": records }))
        };
        Mock::given(method("GET"))
            .and(path("/api/chi-tieu"))
            .and(header("authorization", "Bearer s3cr3t-portal"))
            .and(wiremock::matchers::query_param("page", "1"))
            .respond_with(page(serde_json::json!([
                {"ma": "101", "nam": 2024, "ky": 14, "loai": 4, "giatri": 6.2},
                {"ma": "102", "nam": 2024, "ky": 14, "loai": 4, "giatri": 41},
            ])))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/chi-tieu"))
            .and(header("authorization", "Bearer s3cr3t-portal"))
            .and(wiremock::matchers::query_param("page", "2"))
            .respond_with(page(serde_json::json!([{"ma": "102", "nam": 2024, "ky": 13, "loai": 4, "giatri": 39}])))
            .mount(&server)
            .await;
        // Without totals, pages are read until an empty one: a short page proves nothing.
        Mock::given(method("GET"))
            .and(path("/api/chi-tieu"))
            .and(wiremock::matchers::query_param("page", "3"))
            .respond_with(page(serde_json::json!([])))
            .mount(&server)
            .await;
        let json: chiso::sources::json_api::JsonMapping = toml::from_str(
            "records = \"$.data[*]\"\nitem = \"ma\"\nvalue = \"giatri\"\nyear = \"nam\"\nperiod = \"ky\"\nperiod_codes = { \"13\" = 1, \"14\" = 2 }\nkind = \"loai\"\nkeep_kinds = [\"4\"]\n[pagination]\nkind = \"page\"\nsize = 2\n",
        )
        .unwrap();
        let source = Source {
            id: "portal".into(),
            agency: Some(chiso::domain::AgencyId::parse("cuc_thong_ke").unwrap()),
            kind: SourceKind::JsonApi { url: format!("{}/api/chi-tieu", server.uri()), json: Box::new(json) },
            auth: Some(Auth {
                header: "Authorization".into(),
                scheme: "Bearer".into(),
                env: "CHISO_TEST_PORTAL_TOKEN".into(),
            }),
            mapping: Default::default(),
            enabled: true,
        };
        let ctx = common::context(&db, common::settings(), vec![source]).await;
        let report = common::collect(&ctx, common::period("2024-Q2")).await;
        assert_eq!(report.status, RunStatus::Succeeded, "{}: {:?}", db.name, report.sources[0]);
        assert_eq!(report.sources[0].observations(), 2);
        assert_eq!(server.received_requests().await.unwrap().len(), 3);
        let obs = db.wh.observations("kh-742-2023", common::period("2024-Q2"), false).await.unwrap();
        assert_eq!(
            obs.iter().map(|o| (o.item.as_str(), o.location.as_str())).collect::<Vec<_>>(),
            [("101", "trang 1, bản ghi 1"), ("102", "trang 1, bản ghi 2")]
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_server_that_trickles_a_byte_per_read_is_cut_off_by_the_request_deadline() {
    let db = common::sqlite().await;
    // Each byte arrives well within the read timeout; the whole never does.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n").await;
                for _ in 0..100_000 {
                    if sock.write_all(b"P").await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
    });
    let mut settings = common::settings();
    settings.collect.http.read_timeout_secs = 2.0;
    settings.collect.http.request_timeout_secs = 1.0;
    settings.collect.http.max_attempts = 2;
    let started = Instant::now();
    let message =
        expect_failure(&db, settings, http_source(&format!("http://{addr}/bc.xlsx")), "fetch_timeout", 2).await;
    assert!(started.elapsed() < Duration::from_secs(10), "held for {:?}", started.elapsed());
    assert_eq!(message, "Máy chủ của đơn vị không phản hồi trong thời gian chờ");
    db.cleanup().await;
}

#[tokio::test]
async fn a_percent_encoded_file_name_is_shown_decoded() {
    for db in common::all().await {
        let server = MockServer::start().await;
        let book = write_book(&[SheetSpec {
            name: "BC".into(),
            title: title_block("UBND tỉnh Vĩnh Long", "Sở Y tế", "Quý II năm 2024"),
            header_row: 5,
            headers: ["STT", "Nhiệm vụ", "Kết quả"].map(String::from).to_vec(),
            rows: vec![
                vec![DemoCell::Text("1".into()), DemoCell::Empty, DemoCell::Text("95%".into())],
                vec![DemoCell::Text("5".into()), DemoCell::Empty, DemoCell::Text("chưa rõ".into())],
            ],
            ..Default::default()
        }])
        .unwrap();
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(book, XLSX))
            .mount(&server)
            .await;
        let url = format!("{}/bao-cao/S%E1%BB%9F%20Y%20t%E1%BA%BF.xlsx?token=abc", server.uri());
        let ctx = common::context(&db, common::settings(), vec![http_source(&url)]).await;
        let report = common::collect(&ctx, common::period("2024-Q2")).await;
        assert_eq!(report.sources[0].files[0].name, "Sở Y tế.xlsx", "{}", db.name);
        let rejects = db.wh.rejects(common::period("2024-Q2")).await.unwrap();
        assert!(!rejects.is_empty());
        assert!(rejects.iter().all(|r| r.file_name.as_deref() == Some("Sở Y tế.xlsx")), "{rejects:?}");
        let obs = db.wh.observations("kh-742-2023", common::period("2024-Q2"), false).await.unwrap();
        assert!(obs.iter().all(|o| o.file_name == "Sở Y tế.xlsx"), "{obs:?}");
        db.cleanup().await;
    }
}

#[test]
fn urls_are_shown_decoded_without_their_query_or_credentials() {
    use chiso::sources::{file_name_of, shown_url};
    assert_eq!(file_name_of("https://x.example/bc/S%E1%BB%9F%20Y%20t%E1%BA%BF.xlsx?token=1"), "Sở Y tế.xlsx");
    assert_eq!(file_name_of("https://x.example/bc/bao-cao.xlsx"), "bao-cao.xlsx");
    assert_eq!(file_name_of("file://config/demo/S%E1%BB%9F.xlsx"), "Sở.xlsx");
    assert_eq!(
        shown_url("https://user:p%40ss@x.example/S%E1%BB%9F%20Y%20t%E1%BA%BF.xlsx?token=abc"),
        "https://x.example/Sở Y tế.xlsx?…"
    );
    assert_eq!(shown_url("https://x.example/api"), "https://x.example/api");
    assert_eq!(shown_url("config/demo/inbox/a.xlsx"), "config/demo/inbox/a.xlsx");
}
