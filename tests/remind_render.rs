//! The digest as officers read it (insta snapshots of both parts), and the planner's
//! routing: successors of merged agencies, collecting units, copies, and agencies that
//! cannot be reached — listed, never dropped.

mod common;

use std::collections::HashMap;

use chiso::domain::{AgencyId, Period, Value};
use chiso::evaluate::{GapRow, RowKind, Status};
use chiso::remind::SendingCalendar;
use chiso::remind::compose::{ComposeInput, Known, context};
use chiso::remind::plan::{Digest, MessageKind, PlanInput, plan_round, route};
use chiso::remind::render::{Named, Templates};
use chrono::{DateTime, NaiveDate, Utc};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn row(item: &str, agency: &str, status: Status) -> GapRow {
    GapRow {
        item: item.parse().unwrap(),
        measure: String::new(),
        kind: RowKind::Member,
        agency: agency.into(),
        status,
        target: String::new(),
        expected: None,
        actual: None,
        gap: None,
        pace: None,
        reason: String::new(),
        co: Vec::new(),
        members: None,
        observation_id: None,
        refused: None,
    }
}

fn lagging(item: &str, agency: &str, target: &str, expected: f64, actual: f64, pace: f64) -> GapRow {
    GapRow {
        target: target.into(),
        expected: Some(expected),
        actual: Some(Value::Percent(actual)),
        gap: Some(expected - actual),
        pace: Some(pace),
        reason: format!("Thiếu {} điểm % so với mức cần có {}%", expected - actual, expected).replace('.', ","),
        ..row(item, agency, Status::Lagging)
    }
}

fn digest(rows: Vec<GapRow>, kind: MessageKind) -> Digest {
    Digest {
        key: "kh-742-2023/2024-Q2/so_yt/sau_han".into(),
        kind,
        agency: "so_yt".parse().unwrap(),
        agency_name: "Sở Y tế".into(),
        origins: vec!["so_yt".parse().unwrap()],
        on_behalf: Vec::new(),
        rows,
        to: Vec::new(),
        cc: Vec::new(),
        not_before: at("2024-06-20T07:30:00+07:00"),
        held_by_interval: false,
        copies_missing: Vec::new(),
        reminded_at: Some(at("2024-06-20T09:12:00+07:00")),
    }
}

#[test]
fn the_digest_reads_well_in_both_parts() {
    let (dir, catalog) = common::catalog();
    let settings = common::settings();
    let period: Period = "2024-Q2".parse().unwrap();
    let templates = Templates::load(&common::repo("config/templates")).unwrap();
    let assignments = chiso::catalog::assign::Assignments::new(&catalog, &dir, 2024, settings.calendar.cutoff(period));
    let from: lettre::message::Mailbox = settings.mail.from.parse().unwrap();
    let round = settings.remind.rounds.iter().find(|r| r.id == "sau_han").unwrap();
    let known = Known::default();
    let books = chiso::report::template::WorkbookCache::default();
    let input = ComposeInput {
        catalog: &catalog,
        dir: &dir,
        calendar: &settings.calendar,
        assignments: &assignments,
        templates: &templates,
        books: &books,
        known: &known,
        period,
        round,
        subject_prefix: &settings.remind.subject_prefix,
        from: &from,
        coordinator: Named {
            name: "Sở Thông tin và Truyền thông".into(), email: "so_tttt@vinhlong.example".into()
        },
        now: at("2024-06-20T10:00:00+07:00"),
        run_id: None,
        evaluation_run: None,
    };
    let mut missing = row("6", "so_yt", Status::Missing);
    missing.target = "90%".into();
    missing.reason = "Chưa báo cáo Quý II/2024 (hạn 19/06/2024)".into();
    let d = digest(vec![lagging("15", "so_yt", "100%", 97.5, 85.0, 7.5), missing], MessageKind::Reminder);
    let ctx = context(&input, &d, vec!["bao-cao-2024-Q2-so_yt.xlsx".into()]);
    let r = templates.render("reminder", &ctx).unwrap();
    assert_eq!(r.subject, "[Chuyển đổi số] Nhắc báo cáo Quý II/2024 – 2 chỉ tiêu cần xử lý");
    insta::assert_snapshot!("reminder_text", r.text);
    insta::assert_snapshot!("reminder_html", r.html);

    let only_lagging = digest(vec![lagging("15", "so_yt", "100%", 97.5, 85.0, 7.5)], MessageKind::Reminder);
    let r = templates.render("reminder", &context(&input, &only_lagging, vec![])).unwrap();
    assert_eq!(r.subject, "[Chuyển đổi số] Nhắc báo cáo Quý II/2024 – 1 chỉ tiêu chậm tiến độ");

    let correction = digest(Vec::new(), MessageKind::Correction);
    let r = templates.render("correction", &context(&input, &correction, vec![])).unwrap();
    assert_eq!(r.subject, "[Chuyển đổi số] Đã nhận báo cáo Quý II/2024 – không cần thực hiện thư nhắc");
    insta::assert_snapshot!("correction_text", r.text);
}

fn plan_for(rows: &[GapRow], today: &str, round_id: &str) -> chiso::remind::plan::RoundPlan {
    let (dir, catalog) = common::catalog();
    let mut settings = common::settings();
    let sending = SendingCalendar::new(&settings.remind.working, settings.calendar.timezone).unwrap();
    let round = settings.remind.rounds.iter().find(|r| r.id == round_id).unwrap().clone();
    settings.remind.rounds.clear();
    let now: DateTime<Utc> = format!("{today}T03:00:00Z").parse().unwrap();
    let last = HashMap::new();
    plan_round(&PlanInput {
        catalog: &catalog,
        dir: &dir,
        settings: &settings.remind,
        sending: &sending,
        coordinator: &settings.plan.coordinator,
        plan_id: "kh-742-2023",
        period: "2024-Q4".parse().unwrap(),
        round: &round,
        opens_at: now,
        now,
        today: NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap(),
        rows,
        last: &last,
        key_suffix: None,
    })
}

#[test]
fn merged_agencies_are_reached_through_their_successors() {
    let rows = vec![
        row("1", "so_tttt", Status::Missing),
        row("2", "so_khcn", Status::Lagging),
        row("3", "so_ldtbxh", Status::Missing),
    ];
    let plan = plan_for(&rows, "2025-06-02", "sau_han");
    assert!(plan.unreachable.is_empty(), "{:?}", plan.unreachable);
    let khcn = plan.digests.iter().find(|d| d.agency.as_str() == "so_khcn").unwrap();
    assert_eq!(khcn.rows.len(), 2, "its own item and the dissolved Sở TT&TT's");
    assert_eq!(khcn.on_behalf, vec!["Sở Thông tin và Truyền thông".to_string()]);
    assert_eq!(khcn.origins.iter().map(AgencyId::as_str).collect::<Vec<_>>(), vec!["so_khcn", "so_tttt"]);
    assert_eq!(khcn.key, "kh-742-2023/2024-Q4/so_khcn/sau_han");
    // Sở LĐTB&XH's first successor (Sở Nội vụ) answers for it.
    let nv = plan.digests.iter().find(|d| d.agency.as_str() == "so_nv").unwrap();
    assert_eq!(nv.to[0].address, "so_nv@vinhlong.example");
    assert_eq!(plan.digests.len(), 2);
    // Before the merger each is written to itself.
    let before = plan_for(&rows, "2024-12-20", "sau_han");
    assert_eq!(before.digests.len(), 3);
}

#[test]
fn agencies_without_an_address_or_a_successor_are_listed_for_the_operator() {
    let dir = common::directory();
    let rows = vec![
        row("4", "ban_dan_toc", Status::Missing),
        row("5", "h_long_ho", Status::Lagging),
        row("5", "h_long_ho", Status::Missing),
        GapRow { kind: RowKind::Aggregate, ..row("7", "*", Status::Missing) },
        GapRow { kind: RowKind::Aggregate, ..row("8", "ubnd_cap_xa", Status::Lagging) },
    ];
    let plan = plan_for(&rows, "2025-08-01", "sau_han");
    assert!(plan.digests.is_empty(), "{:?}", plan.digests.iter().map(|d| &d.agency).collect::<Vec<_>>());
    let mut listed: Vec<(String, usize)> = plan.unreachable.iter().map(|u| (u.agency.clone(), u.items)).collect();
    listed.sort();
    assert_eq!(listed, vec![("ban_dan_toc".to_string(), 1), ("h_long_ho".to_string(), 2)]);
    let reason = |id: &str| plan.unreachable.iter().find(|u| u.agency == id).unwrap().reason.clone();
    assert!(reason("ban_dan_toc").contains("không có địa chỉ"), "{}", reason("ban_dan_toc"));
    assert!(reason("h_long_ho").contains("không có đơn vị kế thừa"), "{}", reason("h_long_ho"));
    assert!(
        route(&dir, &"truong_pho_thong".parse().unwrap(), NaiveDate::from_ymd_opt(2024, 6, 1).unwrap())
            .is_ok_and(|a| a.as_str() == "so_gddt")
    );
}

#[test]
fn the_round_before_the_due_date_asks_only_who_has_not_reported() {
    let mut reported = row("1", "so_yt", Status::NotDue);
    reported.actual = Some(Value::Percent(50.0));
    let rows = vec![reported, row("2", "so_yt", Status::NotDue), row("3", "so_tc", Status::OnTrack)];
    let plan = plan_for(&rows, "2024-12-16", "truoc_han");
    assert_eq!(plan.digests.len(), 1);
    assert_eq!(plan.digests[0].rows.len(), 1);
    assert_eq!(plan.digests[0].rows[0].item.to_string(), "2");
}

#[test]
fn escalations_copy_named_co_agencies_only_on_items_one_agency_leads() {
    let (_, catalog) = common::catalog();
    // An item led by one department with co-agencies named one by one.
    let ind = catalog
        .indicators
        .iter()
        .find(|i| {
            let dir = common::directory();
            i.lead.len() == 1
                && i.lead[0].as_str() != "so_tttt"
                && dir.get(&i.lead[0]).is_some_and(|a| !a.is_group())
                && i.co.iter().any(|c| {
                    c.as_str() != "so_tttt" && dir.get(c).is_some_and(|a| !a.is_group() && !a.emails.is_empty())
                })
        })
        .expect("such an item exists in the plan");
    let lead = ind.lead[0].as_str();
    let rows = vec![row(&ind.key.to_string(), lead, Status::Missing)];
    let plan = plan_for(&rows, "2024-12-30", "don_doc");
    let d = &plan.digests[0];
    let cc: Vec<&str> = d.cc.iter().map(|r| r.address.as_str()).collect();
    assert!(cc.contains(&"so_tttt@vinhlong.example"), "the coordinator: {cc:?}");
    assert!(cc.contains(&"ubnd_tinh@vinhlong.example"), "the supervisor: {cc:?}");
    let dir = common::directory();
    for co in ind.co.iter().filter(|c| dir.get(c).is_some_and(|a| !a.is_group() && !a.emails.is_empty())) {
        if co.as_str() != lead {
            assert!(cc.contains(&format!("{co}@vinhlong.example").as_str()), "{co} not copied: {cc:?}");
        }
    }
    // An item every commune leads: its co-agencies (departments) are not copied on each
    // commune's reminder; only the coordinator and the commune's district are.
    let group_led = catalog
        .indicators
        .iter()
        .find(|i| {
            i.lead.iter().all(|l| dir.get(l).is_some_and(|a| a.is_group()))
                && i.co.iter().any(|c| c.as_str() != "so_tttt" && dir.get(c).is_some_and(|a| !a.is_group()))
        })
        .expect("such an item exists in the plan");
    let commune =
        dir.of_level(chiso::catalog::Level::Commune, NaiveDate::from_ymd_opt(2024, 12, 30).unwrap())[0].clone();
    let district = dir.get(&commune).unwrap().parent.clone().unwrap();
    let rows = vec![row(&group_led.key.to_string(), commune.as_str(), Status::Missing)];
    let plan = plan_for(&rows, "2024-12-30", "don_doc");
    let cc: Vec<String> = plan.digests[0].cc.iter().map(|r| r.address.clone()).collect();
    assert_eq!(cc, vec!["so_tttt@vinhlong.example".to_string(), format!("{district}@vinhlong.example")]);
}
