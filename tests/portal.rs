//! A stand-in for the provincial reporting portal, on loopback (axum), read through a
//! `json_api` source mapped the way an operator maps a real portal: `item_pattern` for its
//! indicator codes and `unit_codes` for its unit codes, with nothing added to
//! `config/agencies.toml`. The portal caps its pages below the size chiso asks for, and
//! announces its totals in each of the ways portals do (both counts, only one, none).
//! Every record must be stored, or the run must say what is missing. Runs on SQLite, and
//! on PostgreSQL when configured.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chiso::domain::{AgencyId, MeasureKind};
use chiso::sources::{Source, SourceKind};
use chiso::warehouse::RunStatus;
use serde_json::{Value as Json, json};

/// What the portal announces of the whole with each page.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Announce {
    Both,
    PagesOnly,
    TotalOnly,
    Nothing,
}

#[derive(Debug, Clone)]
struct PortalState {
    records: Vec<Json>,
    /// The portal's page-size cap.
    cap: usize,
    announce: Announce,
    /// A total larger than the records served.
    extra_total: usize,
    /// Pages whose body is cut short, every time.
    broken_pages: BTreeSet<usize>,
    requests: Arc<Mutex<Vec<(usize, usize)>>>,
}

async fn serve_page(
    State(state): State<Arc<Mutex<PortalState>>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let st = state.lock().expect("portal state").clone();
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let asked: usize = q.get("pageSize").or(q.get("limit")).and_then(|p| p.parse().ok()).unwrap_or(20);
    let size = asked.min(st.cap).max(1);
    // Offset paging (`offset`, `limit`) when asked so; page numbers otherwise.
    let offset: usize = q.get("offset").and_then(|o| o.parse().ok()).unwrap_or((page - 1) * size);
    let page = offset / size + 1;
    st.requests.lock().expect("requests").push((page, asked));
    let total = st.records.len() + st.extra_total;
    let data: Vec<&Json> = st.records.iter().skip(offset).take(size).collect();
    let mut meta = serde_json::Map::new();
    if matches!(st.announce, Announce::Both | Announce::PagesOnly) {
        meta.insert("total_pages".into(), json!(total.div_ceil(size)));
    }
    if matches!(st.announce, Announce::Both | Announce::TotalOnly) {
        meta.insert("total".into(), json!(total));
    }
    // A next link while records remain, as cursor portals give.
    let next = (offset + data.len() < st.records.len()).then(|| format!("?page={}&pageSize={size}", page + 1));
    let body = serde_json::to_vec(&json!({ "data": data, "meta": meta, "page": page, "links": { "next": next } }))
        .expect("json");
    if st.broken_pages.contains(&page) {
        // Half the body, then the connection breaks.
        let half = body[..body.len() / 2].to_vec();
        let stream = futures::stream::iter(vec![
            Ok::<_, std::io::Error>(half),
            Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "portal crashed")),
        ]);
        return ([("content-type", "application/json")], axum::body::Body::from_stream(stream)).into_response();
    }
    ([("content-type", "application/json")], body).into_response()
}

struct Portal {
    url: String,
    state: Arc<Mutex<PortalState>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Portal {
    async fn start(records: Vec<Json>, cap: usize, announce: Announce) -> Self {
        let state = Arc::new(Mutex::new(PortalState {
            records,
            cap,
            announce,
            extra_total: 0,
            broken_pages: BTreeSet::new(),
            requests: Arc::default(),
        }));
        let app = axum::Router::new().route("/api/chi-tieu", axum::routing::get(serve_page)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/api/chi-tieu", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, state, _task: task }
    }

    fn set(&self, f: impl FnOnce(&mut PortalState)) {
        f(&mut self.state.lock().expect("portal state"));
    }

    fn requests(&self) -> Vec<(usize, usize)> {
        self.state.lock().expect("portal state").requests.lock().expect("requests").clone()
    }
}

/// The portal's records: every named lead of every single-measure item of the plan, for
/// 2024-Q1 and 2024-Q2 (period codes 13, 14), with the portal's own codes
/// (`CDS-007`, `VL.DV.013`). Returns the records and the portal's unit codes.
fn portal_records() -> (Vec<Json>, BTreeMap<String, AgencyId>) {
    let (dir, catalog) = common::catalog();
    let mut codes: BTreeMap<AgencyId, String> = BTreeMap::new();
    let mut records = Vec::new();
    for (i, ind) in catalog.indicators.iter().enumerate() {
        for quarter_code in [13, 14] {
            if ind.is_composite() || ind.lead.len() != 1 {
                continue;
            }
            let lead = &ind.lead[0];
            if dir.get(lead).is_none_or(|a| a.is_group()) {
                continue;
            }
            let value = match ind.main_measure() {
                MeasureKind::Percent => json!(40 + (i % 50) as i64 + quarter_code - 13),
                MeasureKind::Count { .. } => json!((i % 9) as i64 + quarter_code - 12),
                MeasureKind::Status => continue,
            };
            let next = codes.len() + 1;
            let code = codes.entry(lead.clone()).or_insert_with(|| format!("VL.DV.{next:03}")).clone();
            let key = ind.key.to_string();
            let item_code = match key.split_once('.') {
                Some((w, p)) => format!("CDS-{:0>3}.{p}", w),
                None => format!("CDS-{key:0>3}"),
            };
            records.push(json!({
                "ma_chi_tieu": item_code,
                "ma_don_vi": code,
                "nam": 2024,
                "ky": quarter_code,
                "gia_tri": value,
                "ngay_cap_nhat": "2024-07-02T08:00:00+07:00",
            }));
        }
    }
    (records, codes.into_iter().map(|(a, c)| (c, a)).collect())
}

fn portal_source(url: &str, size: usize, unit_codes: &BTreeMap<String, AgencyId>, extra: &str) -> Source {
    paged_source(url, unit_codes, extra, &format!("kind = \"page\"\nsize_param = \"pageSize\"\nsize = {size}"))
}

fn paged_source(url: &str, unit_codes: &BTreeMap<String, AgencyId>, extra: &str, pagination: &str) -> Source {
    let units = unit_codes.iter().map(|(c, a)| format!("\"{c}\" = \"{a}\"")).collect::<Vec<_>>().join(", ");
    let json: chiso::sources::json_api::JsonMapping = toml::from_str(&format!(
        r#"
records = "$.data[*]"
item = "ma_chi_tieu"
item_pattern = "CDS-{{item}}"
value = "gia_tri"
unit = "ma_don_vi"
unit_codes = {{ {units} }}
year = "nam"
period = "ky"
period_codes = {{ "13" = 1, "14" = 2, "15" = 3, "16" = 4 }}
{extra}
[pagination]
{pagination}
"#
    ))
    .expect("the portal mapping");
    Source {
        id: "cong_bao_cao".into(),
        agency: None,
        kind: SourceKind::JsonApi { url: url.into(), json: Box::new(json) },
        auth: None,
        mapping: Default::default(),
        enabled: true,
    }
}

fn fast_settings() -> chiso::config::Settings {
    let mut s = common::settings();
    s.collect.http.max_attempts = 2;
    s.collect.http.backoff_base_ms = 5;
    s
}

/// (item, agency) of every current observation of 2024-Q2.
async fn stored(db: &common::TestDb) -> BTreeSet<(String, String)> {
    db.wh
        .observations("kh-742-2023", common::period("2024-Q2"), false)
        .await
        .expect("observations")
        .into_iter()
        .map(|o| (o.item, o.agency_id.to_string()))
        .collect()
}

/// (item, agency) the portal holds for 2024-Q2.
fn expected(records: &[Json], unit_codes: &BTreeMap<String, AgencyId>) -> BTreeSet<(String, String)> {
    let pattern = chiso::sources::json_api::ItemPattern::parse("CDS-{item}").expect("pattern");
    records
        .iter()
        .filter(|r| r["ky"] == 14)
        .map(|r| {
            let item = pattern.item(r["ma_chi_tieu"].as_str().expect("code")).expect("item");
            (item, unit_codes[r["ma_don_vi"].as_str().expect("unit")].to_string())
        })
        .collect()
}

#[tokio::test]
async fn every_record_is_stored_whatever_the_page_size_and_whatever_the_portal_announces() {
    let (records, unit_codes) = portal_records();
    let want = expected(&records, &unit_codes);
    assert!(want.len() > 60, "the plan gives {} named-lead items", want.len());
    let agencies = std::fs::read_to_string(common::repo("config/agencies.toml")).expect("directory");
    assert!(!agencies.contains("VL.DV."), "the portal's codes live in the source, not in the directory");
    for db in common::all().await {
        let portal = Portal::start(records.clone(), 25, Announce::Both).await;
        for announce in [Announce::Both, Announce::PagesOnly, Announce::TotalOnly, Announce::Nothing] {
            portal.set(|s| s.announce = announce);
            for size in [7, 25, 200] {
                portal.set(|s| s.requests.lock().expect("requests").clear());
                let source = portal_source(&portal.url, size, &unit_codes, "");
                let ctx = common::context(&db, fast_settings(), vec![source]).await;
                let report = common::collect(&ctx, common::period("2024-Q2")).await;
                let case = format!("{}: {announce:?}, page size {size} against a cap of 25", db.name);
                assert_eq!(report.status, RunStatus::Succeeded, "{case}: {:?}", report.sources[0].files);
                let got = stored(&db).await;
                assert_eq!(got, want, "{case}: every record of the quarter is stored");
                let asked: Vec<usize> = portal.requests().iter().map(|r| r.1).collect();
                if size > 25 && announce != Announce::Nothing {
                    assert!(
                        asked[1..].iter().all(|&a| a == 25),
                        "{case}: the cap is asked for after page 1: {asked:?}"
                    );
                }
                if size > 25 && announce == Announce::Nothing {
                    assert!(
                        asked[2..].iter().all(|&a| a == 25),
                        "{case}: a second full page reveals the cap: {asked:?}"
                    );
                }
                let rejects = db.wh.rejects(common::period("2024-Q2")).await.expect("rejects");
                assert!(rejects.is_empty(), "{case}: {rejects:?}");
            }
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_total_larger_than_what_was_served_ends_partial_with_a_reject() {
    let (records, unit_codes) = portal_records();
    let want = expected(&records, &unit_codes);
    for db in common::all().await {
        let portal = Portal::start(records.clone(), 25, Announce::Both).await;
        for announce in [Announce::Both, Announce::TotalOnly] {
            portal.set(|s| {
                s.extra_total = 30;
                s.announce = announce;
            });
            let ctx =
                common::context(&db, fast_settings(), vec![portal_source(&portal.url, 25, &unit_codes, "")]).await;
            let report = common::collect(&ctx, common::period("2024-Q2")).await;
            let case = format!("{}: {announce:?}", db.name);
            assert_eq!(report.status, RunStatus::Partial, "{case}");
            assert_eq!(report.sources[0].files[0].outcome, "incomplete", "{case}");
            assert_eq!(stored(&db).await, want, "{case}: what was served is kept");
            let rejects = db.wh.rejects(common::period("2024-Q2")).await.expect("rejects");
            let missing: Vec<_> = rejects.iter().filter(|r| r.code == "page_missing").collect();
            assert!(
                missing.len() == 1 && missing[0].message.contains(&format!("báo có {}", records.len() + 30)),
                "{case}: {rejects:?}"
            );
            let run = db.wh.run(report.run_id).await.expect("run").expect("the run");
            assert_eq!(run.status.as_str(), "partial");
            assert!(
                run.counts["failures"][0]["reason"].as_str().is_some_and(|r| r.contains("thiếu 30 bản ghi")),
                "{:?}",
                run.counts
            );
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_truncated_page_2_of_11_keeps_the_other_pages_and_is_refused_by_number() {
    let (records, unit_codes) = portal_records();
    let size = records.len().div_ceil(11);
    assert_eq!(records.len().div_ceil(size), 11, "11 pages");
    for db in common::all().await {
        let portal = Portal::start(records.clone(), size, Announce::PagesOnly).await;
        portal.set(|s| {
            s.broken_pages.insert(2);
        });
        let ctx = common::context(&db, fast_settings(), vec![portal_source(&portal.url, size, &unit_codes, "")]).await;
        let report = common::collect(&ctx, common::period("2024-Q2")).await;
        assert_eq!(report.status, RunStatus::Partial, "{}", db.name);
        let pages: BTreeSet<usize> = portal.requests().iter().map(|r| r.0).collect();
        assert_eq!(pages, (1..=11).collect(), "every page is asked for");
        let on_page_2: Vec<Json> = records.iter().skip(size).take(size).cloned().collect();
        let lost = expected(&on_page_2, &unit_codes);
        let all = expected(&records, &unit_codes);
        let got = stored(&db).await;
        assert!(!lost.is_empty());
        assert_eq!(got, all.difference(&lost).cloned().collect(), "{}: pages 1 and 3–11 are stored", db.name);
        assert!(got.is_disjoint(&lost), "nothing of page 2 is stored");
        let rejects = db.wh.rejects(common::period("2024-Q2")).await.expect("rejects");
        let page2: Vec<_> = rejects.iter().filter(|r| r.code == "page_missing").collect();
        assert_eq!(page2.len(), 1, "{rejects:?}");
        assert!(
            page2[0].location.starts_with("trang 2 (") && page2[0].location.contains("/api/chi-tieu"),
            "{:?}",
            page2[0]
        );
        assert!(page2[0].message.contains("trang 2"), "{}", page2[0].message);
        // The portal is mended: the next collection reads the whole source again.
        portal.set(|s| s.broken_pages.clear());
        let again = common::collect(&ctx, common::period("2024-Q2")).await;
        assert_eq!(again.status, RunStatus::Succeeded, "{}", db.name);
        assert_eq!(stored(&db).await, all);
        let rejects = db.wh.rejects(common::period("2024-Q2")).await.expect("rejects");
        assert!(rejects.is_empty(), "the missing page's reject is no longer current: {rejects:?}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn duplicates_are_refused_and_a_declared_version_settles_them() {
    let (_, unit_codes) = portal_records();
    let (dir, catalog) = common::catalog();
    let ind = catalog
        .indicators
        .iter()
        .find(|i| {
            i.lead.len() == 1
                && dir.get(&i.lead[0]).is_some_and(|a| !a.is_group())
                && matches!(i.main_measure(), MeasureKind::Count { .. })
                && !i.is_composite()
        })
        .expect("a count item with one named lead");
    let item = ind.key.to_string();
    let code = unit_codes.iter().find(|(_, a)| **a == ind.lead[0]).map(|(c, _)| c.clone()).expect("its unit code");
    let rec = |v: i64, at: &str| json!({"ma_chi_tieu": format!("CDS-{item}"), "ma_don_vi": code, "nam": 2024, "ky": 14, "gia_tri": v, "ngay_cap_nhat": at});
    let records = vec![rec(3, "2024-07-01 08:00:00"), rec(5, "2024-07-03 09:30:00")];
    for db in common::all().await {
        let portal = Portal::start(records.clone(), 100, Announce::Both).await;
        let ctx = common::context(&db, fast_settings(), vec![portal_source(&portal.url, 100, &unit_codes, "")]).await;
        let report = common::collect(&ctx, common::period("2024-Q2")).await;
        assert_eq!(report.sources[0].rejects(), 2, "{}", db.name);
        assert!(stored(&db).await.is_empty(), "{}: neither copy is stored", db.name);
        let rejects = db.wh.rejects(common::period("2024-Q2")).await.expect("rejects");
        assert!(rejects.iter().all(|r| r.code == "duplicate" && r.item_key.as_deref() == Some(item.as_str())));
        // The operator declares the source's version field and re-reads the snapshot: the
        // later record is kept.
        let ctx = common::context(
            &db,
            fast_settings(),
            vec![portal_source(&portal.url, 100, &unit_codes, "version = \"ngay_cap_nhat\"")],
        )
        .await;
        let req = chiso::jobs::collect::CollectRequest {
            from_raw: true,
            ..chiso::jobs::collect::CollectRequest::new(common::period("2024-Q2"), chiso::warehouse::Trigger::Cli, None)
        };
        let report =
            chiso::jobs::collect::collect(&ctx, &req, Arc::new(chiso::jobs::collect::Quiet)).await.expect("collect");
        assert_eq!(report.sources[0].rejects(), 0, "{}", db.name);
        let obs = db.wh.observations("kh-742-2023", common::period("2024-Q2"), false).await.expect("observations");
        assert_eq!(obs.len(), 1);
        assert_eq!(obs[0].value, chiso::domain::Value::Count(5.0), "the later version");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_null_or_unknown_unit_code_is_refused_and_never_stored_by_name() {
    let (_, unit_codes) = portal_records();
    let so_yt = AgencyId::parse("so_yt").expect("id");
    let item = common::catalog()
        .1
        .indicators
        .iter()
        .find(|i| i.lead == [so_yt.clone()] && !i.is_composite() && !matches!(i.main_measure(), MeasureKind::Status))
        .expect("an item Sở Y tế leads")
        .key
        .to_string();
    let rec = |unit: Json| json!({"ma_chi_tieu": format!("CDS-{item}"), "ma_don_vi": unit, "nam": 2024, "ky": 14, "gia_tri": 50});
    let records =
        vec![rec(Json::Null), rec(json!("VL.DV.999")), rec(json!("Sở Y tế")), rec(json!("so_yt")), rec(json!(""))];
    for db in common::all().await {
        let portal = Portal::start(records.clone(), 100, Announce::Both).await;
        let ctx = common::context(&db, fast_settings(), vec![portal_source(&portal.url, 100, &unit_codes, "")]).await;
        let report = common::collect(&ctx, common::period("2024-Q2")).await;
        assert_eq!(report.sources[0].observations(), 0, "{}", db.name);
        assert!(stored(&db).await.is_empty(), "{}: nothing is stored under a name or an id", db.name);
        let rejects = db.wh.rejects(common::period("2024-Q2")).await.expect("rejects");
        let given: Vec<&str> = rejects.iter().map(|r| r.raw_text.as_str()).collect();
        assert_eq!(rejects.len(), 5, "{rejects:?}");
        assert!(rejects.iter().all(|r| r.code == "unknown_unit_code"));
        for code in ["VL.DV.999", "Sở Y tế", "so_yt"] {
            assert!(given.contains(&code), "the reject carries the code it gave: {given:?}");
            assert!(rejects.iter().any(|r| r.message.contains(code)));
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_boolean_is_refused_as_a_status() {
    let (_, unit_codes) = portal_records();
    let (code, agency) = unit_codes.iter().next().map(|(c, a)| (c.clone(), a.clone())).expect("a unit");
    let item =
        common::catalog().1.indicators.iter().find(|i| i.lead == [agency.clone()]).expect("an item").key.to_string();
    let records =
        vec![json!({"ma_chi_tieu": format!("CDS-{item}"), "ma_don_vi": code, "nam": 2024, "ky": 14, "gia_tri": true})];
    let db = common::sqlite().await;
    let portal = Portal::start(records, 100, Announce::Both).await;
    let ctx = common::context(&db, fast_settings(), vec![portal_source(&portal.url, 100, &unit_codes, "")]).await;
    common::collect(&ctx, common::period("2024-Q2")).await;
    assert!(stored(&db).await.is_empty());
    let rejects = db.wh.rejects(common::period("2024-Q2")).await.expect("rejects");
    assert_eq!(rejects.len(), 1);
    assert_eq!((rejects[0].code.as_str(), rejects[0].raw_text.as_str()), ("bool_value", "true"));
    db.cleanup().await;
}

#[tokio::test]
async fn a_failed_fetch_says_why_in_the_run() {
    let (_, unit_codes) = portal_records();
    let db = common::sqlite().await;
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(wiremock::ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let ctx = common::context(
        &db,
        fast_settings(),
        vec![portal_source(&format!("{}/api", server.uri()), 50, &unit_codes, "")],
    )
    .await;
    let report = common::collect(&ctx, common::period("2024-Q2")).await;
    assert_eq!(report.status, RunStatus::Failed);
    let run = db.wh.run(report.run_id).await.expect("run").expect("the run");
    let failure = &run.counts["failures"][0];
    assert_eq!(failure["source"], "cong_bao_cao");
    assert!(failure["reason"].as_str().is_some_and(|r| r.contains("HTTP 503") && r.contains("2 lần thử")), "{failure}");
    assert!(run.error.as_deref().is_some_and(|e| e.contains("HTTP 503")), "{:?}", run.error);
    db.cleanup().await;
}

#[tokio::test]
async fn offset_and_next_link_pagination_read_every_record_past_the_cap() {
    let (records, unit_codes) = portal_records();
    let want = expected(&records, &unit_codes);
    for db in common::all().await {
        let portal = Portal::start(records.clone(), 25, Announce::TotalOnly).await;
        // The next link's pages are the portal's default size, 20.
        for (name, pagination, per_page) in [
            ("offset", "kind = \"offset\"\nlimit = 60", 25),
            ("offset with a configured cap", "kind = \"offset\"\nlimit = 60\nmax_size = 25", 25),
            ("next link", "kind = \"next_link\"\npath = \"$.links.next\"", 20),
        ] {
            portal.set(|s| s.requests.lock().expect("requests").clear());
            let ctx =
                common::context(&db, fast_settings(), vec![paged_source(&portal.url, &unit_codes, "", pagination)])
                    .await;
            let report = common::collect(&ctx, common::period("2024-Q2")).await;
            let case = format!("{}: {name}", db.name);
            assert_eq!(report.status, RunStatus::Succeeded, "{case}: {:?}", report.sources[0].files);
            assert_eq!(stored(&db).await, want, "{case}");
            assert_eq!(portal.requests().len(), records.len().div_ceil(per_page), "{case}: one request per page");
        }
        db.cleanup().await;
    }
}
