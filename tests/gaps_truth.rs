//! Gaps and digests that tell each agency the truth, through the `chiso` binary as an
//! operator runs it on the demo quarter (the demo's Sở Y tế sent 135% for item 23): a
//! refused figure is `refused` with its cell, text, reason and what to write, in
//! `chiso gaps` and in both parts of the agency's digest, never "Chưa báo cáo".

mod common;

use std::path::Path;
use std::process::Output;

use mail_parser::{MessageParser, MimeHeaders};

fn chiso(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = common::chiso_command(dir);
    cmd.args(args);
    cmd.output().expect("the chiso binary runs")
}

/// Copies a directory tree (the shipped `config/`, with the demo sources).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A working directory holding the shipped settings and demo sources.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&common::repo("config"), &dir.path().join("config"));
    dir
}

/// A job context whose mail is written as .eml files under a temporary directory.
async fn file_context(db: &common::TestDb) -> (chiso::app::Context, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let mut settings = common::settings();
    settings.mail.outbox_dir = out.path().to_path_buf();
    (common::context(db, settings, Vec::new()).await, out)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Splits one CSV line (fields quoted when they hold a comma or a quote).
fn csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}

#[test]
fn a_refused_figure_is_named_with_its_cell_and_reason_in_gaps_and_in_both_digest_parts() {
    let dir = workdir();
    let cycle = chiso(dir.path(), &["cycle", "--period", "2024-Q2"]);
    assert!(dir.path().join("data/chiso.db").exists(), "{}", stdout(&cycle));

    // `chiso gaps`: the row of item 23 for Sở Y tế is refused, with the cell and the reason.
    let out = chiso(dir.path(), &["gaps", "--period", "2024-Q2", "--agency", "so_yt", "--format", "csv"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    // The CSV starts with a UTF-8 BOM, for Excel.
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    let header = csv_line(lines.next().unwrap());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<Vec<String>> = lines.map(csv_line).collect();
    let item23: Vec<&Vec<String>> = rows.iter().filter(|r| r[col("item")] == "23").collect();
    assert_eq!(item23.len(), 1, "{item23:?}");
    let r = item23[0];
    assert_eq!(r[col("status")], "refused");
    assert_eq!(r[col("status_vi")], "Số liệu không hợp lệ");
    let reason = &r[col("reason")];
    assert!(reason.starts_with("Ô E"), "{reason}");
    assert!(reason.contains("ghi “135%”"), "{reason}");
    assert!(reason.contains("vượt quá 100%"), "{reason}");
    assert!(reason.ends_with("; ghi tỷ lệ từ 0 đến 100"), "{reason}");
    // Nothing is stored as an actual figure, and no row of the agency says "not reported"
    // for the item.
    assert_eq!(r[col("actual")], "");
    assert!(!rows.iter().any(|r| r[col("item")] == "23" && r[col("status")] == "missing"));

    // The JSON carries the reject itself.
    let out = chiso(dir.path(), &["gaps", "--period", "2024-Q2", "--agency", "so_yt", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let row = json.as_array().unwrap().iter().find(|r| r["item"] == "23").unwrap();
    assert_eq!(row["reject"]["raw_text"], "135%");
    assert_eq!(row["reject"]["code"], "percent_out_of_range");
    assert!(row["reject"]["location"].as_str().unwrap().contains("!E"), "{row}");
    // Rows judged on a figure carry no reject.
    assert!(json.as_array().unwrap().iter().filter(|r| r["status"] != "refused").all(|r| r.get("reject").is_none()));

    // The digest of Sở Y tế, both parts.
    let eml = std::fs::read_dir(dir.path().join("data/outbox/2024-Q2"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("so_yt__"))
        .expect("Sở Y tế got a digest");
    let raw = std::fs::read(&eml).unwrap();
    let parsed = MessageParser::default().parse(&raw).unwrap();
    let plain = parsed.body_text(0).unwrap().into_owned();
    let html = parsed.body_html(0).unwrap().into_owned();
    let block = plain.split("Chỉ tiêu số ").find(|b| b.starts_with("23")).expect("item 23 in the plain part");
    assert!(block.contains("Kết quả đã báo cáo: “135%” (không được ghi nhận)"), "{block}");
    assert!(block.contains("Tình trạng: Số liệu không hợp lệ – Ô E"), "{block}");
    assert!(block.contains("ghi tỷ lệ từ 0 đến 100"), "{block}");
    assert!(!block.contains("Chưa báo cáo"), "{block}");
    assert!(!block.contains("chưa có"), "{block}");
    let cell =
        html.split("<tr>").find(|b| b.contains("<td>23</td>") || b.contains("<td>23<")).expect("item 23 in HTML");
    assert!(cell.contains("Số liệu không hợp lệ"), "{cell}");
    assert!(cell.contains("&ldquo;135%&rdquo;") || cell.contains("“135%”"), "{cell}");
    assert!(cell.contains("ghi tỷ lệ từ 0 đến 100"), "{cell}");
    assert!(!cell.contains("chưa báo cáo") && !cell.contains("Chưa báo cáo"), "{cell}");

    // "Why did Sở Y tế get this?": `chiso outbox show` names the round, the runs and every
    // item with its status, figure and refused cell.
    let list = chiso(dir.path(), &["outbox", "list", "--period", "2024-Q2", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    let id = list.as_array().unwrap().iter().find(|m| m["agency"] == "so_yt").unwrap()["id"].as_i64().unwrap();
    let show = stdout(&chiso(dir.path(), &["outbox", "show", &id.to_string()]));
    assert!(show.contains("dựa trên lần đánh giá #"), "{show}");
    let line = show.lines().find(|l| l.trim_start().starts_with("chỉ tiêu 23 ")).expect("item 23 listed");
    assert!(line.contains("(so_yt): Số liệu không hợp lệ; số liệu: “135%” (không được ghi nhận); Ô E"), "{line}");
    let missing = show.lines().find(|l| l.trim_start().starts_with("chỉ tiêu 141 ")).expect("item 141 listed");
    assert!(missing.contains("Chưa báo cáo; số liệu: chưa có; Hạn báo cáo"), "{missing}");
}

/// The shipped plan judged for a quarter on the given count figures, long after its due date.
fn judge(p: &str, figures: &[(&str, &str, f64)]) -> Vec<chiso::evaluate::GapRow> {
    let (dir, catalog) = common::catalog();
    judge_in(&dir, &catalog, p, figures)
}

/// [`judge`] on a given catalogue.
fn judge_in(
    dir: &chiso::catalog::Directory,
    catalog: &chiso::catalog::plan::Catalog,
    p: &str,
    figures: &[(&str, &str, f64)],
) -> Vec<chiso::evaluate::GapRow> {
    use chiso::evaluate::{EvalInput, Observations, Observed, evaluate};
    let settings = common::settings();
    let period = common::period(p);
    let assignments =
        chiso::catalog::assign::Assignments::new(catalog, dir, period.year(), settings.calendar.cutoff(period));
    let mut current = Observations::default();
    for (n, (item, agency, v)) in figures.iter().enumerate() {
        let i = catalog.indicators.iter().position(|x| x.key.to_string() == *item).unwrap();
        let a = dir.index_of(&agency.parse().unwrap()).unwrap();
        let value = chiso::domain::Value::Count(*v);
        current.insert(i, 0, a, Observed { value, id: n as i64 + 1 });
    }
    let previous = Observations::default();
    evaluate(&EvalInput {
        catalog,
        dir,
        assignments: &assignments,
        calendar: &settings.calendar,
        settings: settings.evaluate,
        period,
        now: "2026-01-15T03:00:00Z".parse().unwrap(),
        current: &current,
        previous_year_end: &previous,
    })
}

/// Item 105's rows of 2024-Q4.
fn judge_q4(figures: &[(&str, &str, f64)]) -> Vec<chiso::evaluate::GapRow> {
    judge("2024-Q4", figures).into_iter().filter(|r| r.item.to_string() == "105").collect()
}

fn digests_for(rows: &[chiso::evaluate::GapRow]) -> Vec<String> {
    let plan = common::plan_round(rows, "2025-02-03", "sau_han", chiso::remind::GroupItems::Count);
    plan.digests.iter().map(|d| d.agency.to_string()).collect()
}

#[test]
fn two_leads_of_a_summed_target_are_judged_on_their_joint_figure() {
    use chiso::evaluate::{RowKind, Status};
    // Item 105, 2024: 8 products, led by Sở KH&CN and Sở NN&PTNT.
    let rows = judge_q4(&[("105", "so_khcn", 5.0), ("105", "so_nnptnt", 3.0)]);
    let joint = rows.iter().find(|r| r.kind == RowKind::Aggregate).unwrap();
    assert_eq!(joint.actual.and_then(|v| v.number()), Some(8.0));
    assert_eq!(joint.status, Status::OnTrack);
    for (agency, share) in [("so_khcn", "5"), ("so_nnptnt", "3")] {
        let r = rows.iter().find(|r| r.agency == agency).unwrap();
        assert_eq!(r.status, Status::OnTrack, "{agency}: {}", r.reason);
        assert!(
            r.reason.starts_with(&format!("Phần của đơn vị: {share}; chỉ tiêu chung của 2 đơn vị")),
            "{}",
            r.reason
        );
    }
    assert_eq!(digests_for(&rows), Vec::<String>::new(), "together they met it: nobody is reminded");

    // 5 + 2 = 7 of 8: the joint figure lags, both are reminded, each told its share.
    let rows = judge_q4(&[("105", "so_khcn", 5.0), ("105", "so_nnptnt", 2.0)]);
    for (agency, share) in [("so_khcn", "5"), ("so_nnptnt", "2")] {
        let r = rows.iter().find(|r| r.agency == agency).unwrap();
        assert!(r.status.needs_action(), "{agency}: {:?}", r.status);
        assert_eq!((r.expected, r.gap), (Some(8.0), Some(1.0)), "{agency}: the joint shortfall");
        assert!(r.reason.starts_with(&format!("Phần của đơn vị: {share};")), "{}", r.reason);
    }
    let mut reminded = digests_for(&rows);
    reminded.sort();
    assert_eq!(reminded, vec!["so_khcn".to_string(), "so_nnptnt".to_string()]);

    // One lead's 8 covers the target: the other, silent, is not reminded either.
    let rows = judge_q4(&[("105", "so_khcn", 8.0)]);
    let silent = rows.iter().find(|r| r.agency.as_str() == "so_nnptnt").unwrap();
    assert_eq!(silent.status, Status::OnTrack, "{}", silent.reason);
    assert!(silent.reason.starts_with("Đơn vị chưa báo cáo phần của mình"), "{}", silent.reason);
    assert!(silent.actual.is_none());
    assert_eq!(digests_for(&rows), Vec::<String>::new());
}

#[test]
fn a_group_with_no_members_after_the_reorganisation_is_not_applicable_with_its_reason() {
    use chiso::evaluate::Status;
    let judge = |p: &str| judge(p, &[]);
    let q3 = judge("2025-Q3");
    for item in ["12", "41", "42", "43", "45", "46", "72"] {
        let rows: Vec<_> = q3.iter().filter(|r| r.item.to_string() == item).collect();
        assert_eq!(rows.len(), 1, "item {item}: {rows:?}");
        assert_eq!(rows[0].status, Status::NotApplicable, "item {item}");
        assert_eq!(
            rows[0].reason.split_once("để giao chủ trì; ").map(|(_, why)| why).unwrap_or(&rows[0].reason),
            "cấp huyện không còn từ 01/07/2025 khi sắp xếp đơn vị hành chính (chính quyền địa phương hai cấp)",
            "item {item}"
        );
    }
    let reason_of = |item: &str| q3.iter().find(|r| r.item.to_string() == item).unwrap().reason.clone();
    assert!(reason_of("12").starts_with("Không áp dụng: “UBND cấp huyện” không còn đơn vị nào"), "{}", reason_of("12"));
    assert!(reason_of("42").contains("“Thành phố Vĩnh Long”, “Thị xã Bình Minh”"), "{}", reason_of("42"));
    // No row of the quarter is `missing` for want of members.
    assert!(!q3.iter().any(|r| r.status == Status::Missing && r.reason.contains("chưa có thành viên")));
    assert!(!q3.iter().any(|r| r.agency.starts_with("h_")), "no district is judged after 1/7/2025");
    // Before the reorganisation the districts answer for item 12.
    let q2 = judge("2025-Q2");
    assert!(
        q2.iter()
            .any(|r| r.item.to_string() == "12" && r.agency.as_str() == "h_long_ho" && r.status == Status::Missing)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn letters_are_signed_and_sent_by_the_coordinator_of_the_day_and_greet_the_people_s_committee() {
    use chiso::jobs::remind::{RemindRequest, remind};
    for (period, now, sender) in [
        ("2024-Q4", "2024-12-20T10:00:00+07:00", "Sở Thông tin và Truyền thông Vĩnh Long"),
        ("2025-Q1", "2025-03-24T10:00:00+07:00", "Sở Khoa học và Công nghệ Vĩnh Long"),
    ] {
        let db = common::sqlite().await;
        let (ctx, out) = file_context(&db).await;
        let now: chrono::DateTime<chrono::Utc> = chrono::DateTime::parse_from_rfc3339(now).unwrap().into();
        let q = common::period(period);
        let report = remind(&ctx, &RemindRequest { now: Some(now), ..RemindRequest::new(q) }, None).await.unwrap();
        assert!(report.queued > 0, "{period}");
        let eml = |prefix: &str| {
            let path = std::fs::read_dir(out.path().join(period))
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
                .unwrap_or_else(|| panic!("{period}: no letter to {prefix}"));
            std::fs::read(path).unwrap()
        };
        let raw = eml("h_long_ho__");
        let parsed = MessageParser::default().parse(&raw).unwrap();
        let from = parsed.from().and_then(|a| a.first()).unwrap();
        assert_eq!(from.name(), Some(sender), "{period}");
        assert_eq!(from.address(), Some("chuyendoiso@vinhlong.example"), "the address stays");
        let text = parsed.body_text(0).unwrap().replace("\r\n", "\n");
        assert!(text.starts_with("Kính gửi: UBND huyện Long Hồ"), "{text}");
        let signature = sender.trim_end_matches(" Vĩnh Long");
        assert!(text.contains(&format!("Trân trọng,\n{signature}\n")), "{period}: {text}");
        let to = parsed.to().and_then(|a| a.first()).unwrap();
        assert_eq!(to.name(), Some("UBND huyện Long Hồ"));
        // A department is greeted by its own name.
        let raw = eml("so_yt__");
        let text = MessageParser::default().parse(&raw).unwrap().body_text(0).unwrap().replace("\r\n", "\n");
        assert!(text.starts_with("Kính gửi: Sở Y tế\n"), "{text}");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_round_run_again_after_a_merger_queues_nothing() {
    use chiso::jobs::remind::{RemindRequest, remind};
    let db = common::sqlite().await;
    let (ctx, _out) = file_context(&db).await;
    let q2 = common::period("2025-Q2");
    let at = |s: &str| -> chrono::DateTime<chrono::Utc> { chrono::DateTime::parse_from_rfc3339(s).unwrap().into() };
    let round =
        |now: &str| RemindRequest { now: Some(at(now)), round: Some("sau_han".into()), ..RemindRequest::new(q2) };
    // The day after the due date, before the communes merged on 1/7/2025.
    let first = remind(&ctx, &round("2025-06-20T10:00:00+07:00"), None).await.unwrap();
    assert!(first.queued > 100, "{}", first.queued);
    let keys: std::collections::BTreeSet<String> =
        db.wh.outbox(Some(q2), None, None).await.unwrap().into_iter().map(|r| r.key).collect();
    assert!(keys.contains("kh-742-2023/2025-Q2/xa_29542/sau_han"), "a commune of the period is named in its key");
    // The same round again after the merger: the communes of the period were reminded, their
    // successors are not reminded again.
    let again = remind(&ctx, &round("2025-07-10T10:00:00+07:00"), None).await.unwrap();
    assert_eq!(
        again.queued,
        0,
        "{:?}",
        again.planned.iter().filter(|p| p.state == "new").map(|p| &p.key).collect::<Vec<_>>()
    );
    let after: std::collections::BTreeSet<String> =
        db.wh.outbox(Some(q2), None, None).await.unwrap().into_iter().map(|r| r.key).collect();
    assert_eq!(after, keys, "no key names a successor");
    db.cleanup().await;
}

#[test]
fn a_composite_measure_reads_in_the_plan_s_words() {
    let (dir, catalog) = common::catalog();
    let ind = catalog.indicators.iter().find(|i| i.key.to_string() == "122").unwrap();
    let mut row = judge("2024-Q4", &[]).into_iter().find(|r| r.item.to_string() == "122").unwrap();
    row.measure = "ca_nhan_co_so_doanh_nghiep".into();
    row.agency = "so_yt".into();
    let line = chiso::remind::compose::digest_item(&row, Some(ind), &dir, &"so_yt".parse().unwrap());
    assert_eq!(line.measure, "cá nhân, cơ sở, doanh nghiệp");
    assert!(!line.measure.contains('_'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_is_kept_apart_and_never_becomes_the_current_table() {
    use chiso::evaluate::Status;
    use chiso::jobs::evaluate::{EvaluateRequest, evaluate};
    use chiso::jobs::remind::{RemindRequest, remind};
    for db in common::all().await {
        let (ctx, _out) = file_context(&db).await;
        let q2 = common::period("2024-Q2");
        let at = |s: &str| -> chrono::DateTime<chrono::Utc> { chrono::DateTime::parse_from_rfc3339(s).unwrap().into() };
        let live = EvaluateRequest {
            now: Some(at("2024-06-25T10:00:00+07:00")),
            ..EvaluateRequest::new(q2, chiso::warehouse::Trigger::Cli, None)
        };
        let live_run = evaluate(&ctx, &live).await.unwrap().run_id;
        let current = db.wh.gaps("kh-742-2023", q2, None).await.unwrap();
        assert!(current.iter().any(|g| g.status == Status::Missing));
        // `remind --at` a moment before the due date: judged then, stored apart.
        let replay = RemindRequest {
            now: Some(at("2024-06-17T10:00:00+07:00")),
            replay: true,
            deliver: false,
            ..RemindRequest::new(q2)
        };
        let r = remind(&ctx, &replay, None).await.unwrap();
        let replay_run = r.evaluation_run.unwrap();
        assert_ne!(replay_run, live_run);
        assert_eq!(
            db.wh.gaps("kh-742-2023", q2, None).await.unwrap(),
            current,
            "{}: the live table is unchanged",
            db.name
        );
        let then = db.wh.gaps("kh-742-2023", q2, Some(replay_run)).await.unwrap();
        assert_eq!(then.len(), current.len());
        assert!(then.iter().all(|g| g.valid_from_run == replay_run));
        assert!(!then.iter().any(|g| g.status == Status::Missing), "before the due date nothing is missing yet");
        assert!(then.iter().any(|g| g.status == Status::NotDue));
        // The live run's own view is untouched by the replay.
        assert_eq!(db.wh.gaps("kh-742-2023", q2, Some(live_run)).await.unwrap(), current);
        // `evaluate --at` likewise.
        let e = evaluate(&ctx, &EvaluateRequest { replay: true, now: Some(at("2024-05-01T10:00:00+07:00")), ..live })
            .await
            .unwrap();
        assert_eq!(db.wh.gaps("kh-742-2023", q2, None).await.unwrap(), current);
        assert_eq!(db.wh.gaps("kh-742-2023", q2, Some(e.run_id)).await.unwrap().len(), current.len());
        db.cleanup().await;
    }
}

#[test]
fn a_dry_rerun_of_a_remind_run_counts_what_it_would_queue() {
    let dir = workdir();
    let out = chiso(dir.path(), &["remind", "--period", "2024-Q2", "--no-send", "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let run = report["run_id"].as_i64().unwrap().to_string();
    let queued = report["queued"].as_u64().unwrap();
    assert!(queued > 10);
    let out = chiso(dir.path(), &["rerun", &run, "--dry-run"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    // Everything was queued by the first run: the rerun would queue nothing new.
    assert!(text.contains("0 thư sẽ được xếp hàng (0 thư đính chính), 0 thư rút lại"), "{text}");
    assert!(text.contains(&format!("{queued} thư đã gửi trước đó")), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attached_workbook_lists_named_items_first_and_group_items_as_the_setting_says() {
    use chiso::catalog::assign::{Assignments, Part};
    use chiso::jobs::remind::{RemindRequest, remind};
    use chiso::remind::GroupItems;
    let q = common::period("2024-Q4");
    let now: chrono::DateTime<chrono::Utc> =
        chrono::DateTime::parse_from_rfc3339("2024-12-20T10:00:00+07:00").unwrap().into();
    // What the plan gives Sở Y tế in 2024, read from the catalogue: by name, or as a member
    // of a group lead.
    let (dir, catalog) = common::catalog();
    let settings = common::settings();
    let assignments = Assignments::new(&catalog, &dir, 2024, settings.calendar.cutoff(q));
    let yt: chiso::domain::AgencyId = "so_yt".parse().unwrap();
    let (mut named, mut group) = (Vec::new(), Vec::new());
    for &(i, part) in assignments.parts_of(&yt) {
        let ind = &catalog.indicators[i];
        if part != Part::Lead {
            continue;
        }
        for m in &ind.measures {
            let key = if m.key.is_empty() { ind.key.to_string() } else { format!("{}:{}", ind.key, m.key) };
            if ind.lead.contains(&yt) { named.push(key) } else { group.push(key) }
        }
    }
    assert!(named.len() >= 6 && group.len() > 20, "{named:?} {group:?}");
    for mode in [GroupItems::Section, GroupItems::Count, GroupItems::Omit] {
        let db = common::sqlite().await;
        let out = tempfile::tempdir().unwrap();
        let mut s = common::settings();
        s.mail.outbox_dir = out.path().to_path_buf();
        s.remind.group_items = mode;
        let ctx = common::context(&db, s, Vec::new()).await;
        let report = remind(&ctx, &RemindRequest { now: Some(now), ..RemindRequest::new(q) }, None).await.unwrap();
        assert!(report.queued > 0, "{mode:?}");
        let path = std::fs::read_dir(out.path().join("2024-Q4"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("so_yt__"))
            .expect("a letter to Sở Y tế");
        let raw = std::fs::read(path).unwrap();
        let parsed = MessageParser::default().parse(&raw).unwrap();
        let a = parsed.attachments().next().expect("a workbook is attached");
        assert_eq!(a.attachment_name(), Some("bao-cao-2024-Q4-so_yt.xlsx"));
        let rows = common::lead_sheet_rows(a.contents());
        let keys: Vec<&str> = rows.iter().map(|(k, _)| k.as_str()).filter(|k| !k.is_empty()).collect();
        let title = "Nhiệm vụ chung của các sở, ban, ngành tỉnh";
        let heading = rows.iter().position(|(k, b)| k.is_empty() && b == title);
        // The named items first, in the plan's order.
        assert_eq!(keys[..named.len()], named.iter().map(String::as_str).collect::<Vec<_>>()[..], "{mode:?}");
        if mode == GroupItems::Omit {
            assert_eq!(heading, None, "no group section when group items are left out");
            assert_eq!(keys.len(), named.len(), "{mode:?}: no group row: {keys:?}");
            assert!(!group.iter().any(|g| keys.contains(&g.as_str())));
        } else {
            let heading = heading.unwrap_or_else(|| panic!("{mode:?}: no “{title}” heading in {rows:?}"));
            let before: Vec<&str> = rows[..heading].iter().map(|(k, _)| k.as_str()).filter(|k| !k.is_empty()).collect();
            assert_eq!(before.len(), named.len(), "{mode:?}: only named items above the group heading");
            assert_eq!(keys[named.len()..], group.iter().map(String::as_str).collect::<Vec<_>>()[..], "{mode:?}");
        }
        db.cleanup().await;
    }
}

/// The shipped catalogue with `extra` appended to the shipped overrides file.
fn catalog_with(
    extra: &str,
) -> Result<(chiso::catalog::Directory, chiso::catalog::plan::Catalog), chiso::catalog::plan::PlanError> {
    use chiso::catalog::plan::{Catalog, OverridesFile, PlanFile};
    let dir = common::directory();
    let plan = PlanFile::load(&common::repo("config/plans/kh-742-2023.toml")).unwrap();
    let path = "config/plans/kh-742-2023.overrides.toml";
    let text = std::fs::read_to_string(common::repo(path)).unwrap() + extra;
    let overrides = OverridesFile::from_toml(&text, path)?;
    let catalog = Catalog::build(&plan, &overrides, path, &dir)?;
    Ok((dir, catalog))
}

fn override_105(shared: &str) -> String {
    format!("\n[[override]]\nitem = \"105\"\nreason = \"Kiểm thử.\"\nshared = \"{shared}\"\n")
}

#[test]
fn the_overrides_file_says_whether_leads_share_a_target_or_each_meets_it() {
    use chiso::evaluate::{RowKind, Status};
    let rows_105 = |shared: &str, figures: &[(&str, &str, f64)]| {
        let (dir, catalog) = catalog_with(&override_105(shared)).unwrap();
        judge_in(&dir, &catalog, "2024-Q4", figures)
            .into_iter()
            .filter(|r| r.item.to_string() == "105")
            .collect::<Vec<_>>()
    };
    let figures = [("105", "so_khcn", 5.0), ("105", "so_nnptnt", 3.0)];
    // `joint`: 5 + 3 against 8 reminds neither lead, as the default rule does.
    let joint = rows_105("joint", &figures);
    for agency in ["so_khcn", "so_nnptnt"] {
        let r = joint.iter().find(|r| r.agency == agency && r.kind != RowKind::Aggregate).unwrap();
        assert_eq!(r.status, Status::OnTrack, "{agency}: {}", r.reason);
        assert!(r.reason.contains("chỉ tiêu chung của 2 đơn vị chủ trì"), "{}", r.reason);
    }
    assert_eq!(digests_for(&joint), Vec::<String>::new());
    // `each`: both are judged against the whole 8 on their own figures, and both reminded.
    let each = rows_105("each", &figures);
    for (agency, actual) in [("so_khcn", 5.0), ("so_nnptnt", 3.0)] {
        let r = each.iter().find(|r| r.agency == agency && r.kind != RowKind::Aggregate).unwrap();
        assert_eq!(r.status, Status::Lagging, "{agency}: {}", r.reason);
        assert_eq!((r.expected, r.gap), (Some(8.0), Some(8.0 - actual)), "{agency}");
        assert!(!r.reason.contains("chỉ tiêu chung"), "{agency} is not told of a joint target: {}", r.reason);
    }
    let mut reminded = digests_for(&each);
    reminded.sort();
    assert_eq!(reminded, vec!["so_khcn".to_string(), "so_nnptnt".to_string()]);
    // With no `shared` the shipped rule stands (joint for a summed count).
    let default = judge_q4(&figures);
    let (dir, catalog) = common::catalog();
    assert_eq!(catalog.indicator("105".parse().unwrap()).unwrap().shared, None);
    assert_eq!(
        default,
        judge_in(&dir, &catalog, "2024-Q4", &figures)
            .into_iter()
            .filter(|r| r.item.to_string() == "105")
            .collect::<Vec<_>>()
    );
    assert_eq!(default, joint, "`joint` on item 105 is what the default already does");
}

#[test]
fn a_shared_setting_that_cannot_apply_is_refused_at_load_naming_the_item_and_the_file() {
    let file = "config/plans/kh-742-2023.overrides.toml";
    // Item 141 is Sở Y tế's alone; item 6 is a percent (90%) every department, district and commune leads.
    let single = "\n[[override]]\nitem = \"141\"\nreason = \"Kiểm thử.\"\nshared = \"each\"\n";
    for (extra, says) in [
        (override_105("both"), "mục 105: `shared = \"both\"` không hợp lệ; ghi \"joint\""),
        (single.to_string(), "mục 141: `shared` chỉ dùng cho chỉ tiêu có nhiều đơn vị chủ trì"),
        (
            "\n[[override]]\nitem = \"6\"\nreason = \"Kiểm thử.\"\nshared = \"joint\"\n".to_string(),
            "mục 6: `shared = \"joint\"` chỉ dùng cho chỉ tiêu số lượng được cộng dồn",
        ),
    ] {
        let err = catalog_with(&extra).err().unwrap_or_else(|| panic!("{extra} was accepted")).to_string();
        assert!(err.starts_with(&format!("{file}: ")), "{err}");
        assert!(err.contains(says), "{err}");
    }
    // `each` on a shared percent is fine: it is what percents do anyway.
    assert!(catalog_with("\n[[override]]\nitem = \"6\"\nreason = \"Kiểm thử.\"\nshared = \"each\"\n").is_ok());
}

#[test]
fn each_reorganised_lead_s_items_go_where_the_readme_says() {
    use chiso::evaluate::Status;
    // The README's table, department mergers of 1/3/2025: judged on the successor from 2025-Q1.
    let q1 = judge("2025-Q1", &[]);
    for (gone, successor, items) in [
        ("so_tttt", "so_khcn", "29 34 35 57 58 59 84 85 87 95 96 126 128 140 169 170 171 172"),
        ("so_nnptnt", "so_nnmt", "37 103 105 115 127 129 130"),
        ("so_khdt", "so_tc", "62 63 64 65 87 88 89 90 104 106 107 108 109 110 115 125 126 127 129 130 133"),
        ("so_ldtbxh", "so_nv", "147 163 165 166"),
    ] {
        for item in items.split(' ') {
            let rows: Vec<_> = q1.iter().filter(|r| r.item.to_string() == item).collect();
            assert!(rows.iter().any(|r| r.agency == successor), "item {item}: {successor} answers for {gone}");
            assert!(!rows.iter().any(|r| r.agency == gone), "item {item}: {gone} is no longer judged: {rows:#?}");
        }
    }
    // District level beside other leads: judged on the others from 2025-Q3, no district row.
    let q3 = judge("2025-Q3", &[]);
    let beside = "5 6 7 9 10 14 15 18 21 22 23 24 25 26 27 30 31 47 48 51 60 74 75 79 82 83 86 91 93 94 116 117 120 121 \
                  122 134 135 136 137 138 146 167 168";
    for item in beside.split_whitespace() {
        let rows: Vec<_> = q3.iter().filter(|r| r.item.to_string() == item).collect();
        assert!(rows.iter().any(|r| r.status != Status::NotApplicable), "item {item} is still judged");
        assert!(!rows.iter().any(|r| r.agency.starts_with("h_")), "item {item}: no district row");
    }
}

#[test]
fn the_template_command_splits_named_and_group_items_like_the_attached_workbook() {
    let dir = workdir();
    let out = dir.path().join("so_yt.xlsx");
    let o =
        chiso(dir.path(), &["template", "--agency", "so_yt", "--period", "2024-Q2", "--output", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("Sở Y tế — Quý II/2024: 6 chỉ tiêu chủ trì, "), "{}", stdout(&o));
    let rows = common::lead_sheet_rows(&std::fs::read(&out).unwrap());
    let heading = rows
        .iter()
        .position(|(k, b)| k.is_empty() && b == "Nhiệm vụ chung của các sở, ban, ngành tỉnh")
        .unwrap_or_else(|| panic!("no group heading: {rows:?}"));
    let named: Vec<&str> = rows[..heading].iter().map(|(k, _)| k.as_str()).filter(|k| !k.is_empty()).collect();
    assert_eq!(named, ["141", "142", "143", "144", "145", "148"]);
    let group: Vec<&str> = rows[heading..].iter().map(|(k, _)| k.as_str()).filter(|k| !k.is_empty()).collect();
    assert!(group.starts_with(&["1", "5"]) && group.contains(&"23"), "{group:?}");
}
