//! The digest as officers read it (insta snapshots of both parts), and the planner's
//! routing: successors of merged agencies, collecting units, copies, and agencies that
//! cannot be reached — listed, never dropped.

mod common;

use chiso::domain::{AgencyId, Period, Value};
use chiso::evaluate::{GapRow, RowKind, Status};
use chiso::remind::GroupItems;
use chiso::remind::compose::{ComposeInput, Known, context};
use chiso::remind::plan::{Digest, MessageKind, route};
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

fn sectioned_again<'a>(input: &ComposeInput<'a>) -> ComposeInput<'a> {
    ComposeInput { group_mode: chiso::remind::GroupItems::Section, coordinator: input.coordinator.clone(), ..*input }
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
        group_rows: Vec::new(),
        group_title: String::new(),
        group_more: 0,
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
    let own = chiso::remind::plan::OwnItems::new(&catalog, &dir);
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
        group_mode: chiso::remind::GroupItems::Count,
        own: &own,
    };
    let mut missing = row("6", "so_yt", Status::Missing);
    missing.target = "90%".into();
    missing.reason = "Hạn báo cáo Quý II/2024 19/06/2024 đã qua".into();
    missing.expected = Some(90.0);
    // The demo's refused 135% for item 23, as the evaluation words it.
    let refusal = chiso::evaluate::Refusal {
        location: "Báo cáo!E27".into(),
        raw_text: "135%".into(),
        code: "percent_out_of_range".into(),
        message: "Kết quả 135% vượt quá 100%".into(),
        hint: "ghi tỷ lệ từ 0 đến 100".into(),
        file: Some("BC_CDS_Quy_II_2024_SoYTe.xlsx".into()),
    };
    let mut refused = row("23", "so_yt", Status::Refused);
    refused.target = "100%".into();
    refused.reason = refusal.vi();
    refused.refused = Some(refusal);
    let mut group = row("1", "so_yt", Status::Missing);
    group.target = "100%".into();
    group.expected = Some(100.0);
    group.reason = "Hạn báo cáo Quý II/2024 19/06/2024 đã qua".into();
    let mut d = digest(vec![lagging("15", "so_yt", "100%", 97.5, 85.0, 7.5), missing, refused], MessageKind::Reminder);
    d.group_rows = vec![group];
    d.group_title = "Nhiệm vụ chung của các sở, ban, ngành tỉnh".into();
    let sectioned = ComposeInput { group_mode: chiso::remind::GroupItems::Section, ..input };
    let ctx = context(&sectioned, &d, vec!["bao-cao-2024-Q2-so_yt.xlsx".into()]);
    let r = templates.render("reminder", &ctx).unwrap();
    assert_eq!(r.subject, "[Chuyển đổi số] Nhắc báo cáo Quý II/2024 – 3 chỉ tiêu cần xử lý");
    insta::assert_snapshot!("reminder_text", r.text);
    insta::assert_snapshot!("reminder_html", r.html);
    // As one line: the group item is counted, not listed.
    let input = ComposeInput { group_mode: chiso::remind::GroupItems::Count, ..sectioned };
    let counted = Digest { group_rows: Vec::new(), group_more: 1, ..d.clone() };
    let r = templates.render("reminder", &context(&input, &counted, vec![])).unwrap();
    assert!(r.text.contains("đơn vị còn 1 chỉ tiêu cần xử lý; các chỉ tiêu này có trong tệp đính kèm"), "{}", r.text);
    assert!(!r.text.contains("Chỉ tiêu số 1\n") && !r.text.contains("Duy trì tỷ lệ dịch vụ công"), "{}", r.text);
    // Only group items, as a section: the subject counts 0 named items.
    let only_group = Digest { rows: Vec::new(), ..d.clone() };
    let r = templates.render("reminder", &context(&sectioned_again(&input), &only_group, vec![])).unwrap();
    assert_eq!(r.subject, "[Chuyển đổi số] Nhắc báo cáo Quý II/2024 – 0 chỉ tiêu được giao chủ trì cần xử lý");
    assert!(r.text.contains("Duy trì tỷ lệ dịch vụ công"), "{}", r.text);

    let only_lagging = digest(vec![lagging("15", "so_yt", "100%", 97.5, 85.0, 7.5)], MessageKind::Reminder);
    let r = templates.render("reminder", &context(&input, &only_lagging, vec![])).unwrap();
    assert_eq!(r.subject, "[Chuyển đổi số] Nhắc báo cáo Quý II/2024 – 1 chỉ tiêu chậm tiến độ");

    // The attached workbook under `omit`: Sở Y tế's named items and, of its group items, only
    // the one whose figure was refused (it must correct it); with none refused, no group rows.
    let mut omit = sectioned_again(&input);
    omit.group_mode = chiso::remind::GroupItems::Omit;
    let mut refused_group = row("1", "so_yt", Status::Refused);
    refused_group.target = "100%".into();
    let with_refused = Digest { group_rows: vec![refused_group], ..only_lagging.clone() };
    let keys_of = |d: &Digest| {
        let files = chiso::remind::compose::attachments(&omit, d).unwrap();
        assert_eq!(files.len(), 1);
        common::lead_sheet_rows(&files[0].bytes)
    };
    let named = ["141", "142", "143", "144", "145", "148"].map(String::from).to_vec();
    let rows = keys_of(&with_refused);
    let keys: Vec<String> = rows.iter().map(|(k, _)| k.clone()).filter(|k| !k.is_empty()).collect();
    assert_eq!(keys, [named.clone(), vec!["1".to_string()]].concat(), "{rows:?}");
    assert!(rows.iter().any(|(k, b)| k.is_empty() && b == "Nhiệm vụ chung của các sở, ban, ngành tỉnh"), "{rows:?}");
    let rows = keys_of(&only_lagging);
    let keys: Vec<String> = rows.iter().map(|(k, _)| k.clone()).filter(|k| !k.is_empty()).collect();
    assert_eq!(keys, named, "no group row under omit: {rows:?}");
    assert!(!rows.iter().any(|(_, b)| b.starts_with("Nhiệm vụ chung")), "{rows:?}");

    let correction = digest(Vec::new(), MessageKind::Correction);
    let r = templates.render("correction", &context(&input, &correction, vec![])).unwrap();
    assert_eq!(r.subject, "[Chuyển đổi số] Đã nhận báo cáo Quý II/2024 – không cần thực hiện thư nhắc");
    insta::assert_snapshot!("correction_text", r.text);
}

/// Named and group items alike.
fn all_rows(d: &Digest) -> Vec<&GapRow> {
    d.rows.iter().chain(&d.group_rows).collect()
}

/// These cases are about routing: every row counts, named or not.
fn plan_for(rows: &[GapRow], today: &str, round_id: &str) -> chiso::remind::plan::RoundPlan {
    plan_with(rows, today, round_id, GroupItems::Section)
}

fn plan_with(rows: &[GapRow], today: &str, round_id: &str, mode: GroupItems) -> chiso::remind::plan::RoundPlan {
    common::plan_round(rows, today, round_id, mode)
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
    // Delivered to Sở KH&CN, under the key of the agency responsible in the period: its own
    // digest and Sở TT&TT's, on whose behalf it is written.
    let khcn: Vec<&Digest> = plan.digests.iter().filter(|d| d.agency.as_str() == "so_khcn").collect();
    assert_eq!(
        khcn.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
        vec!["kh-742-2023/2024-Q4/so_khcn/sau_han", "kh-742-2023/2024-Q4/so_tttt/sau_han"]
    );
    assert_eq!(khcn.iter().map(|d| all_rows(d).len()).sum::<usize>(), 2, "its own item and the dissolved Sở TT&TT's");
    assert_eq!(khcn[1].on_behalf, vec!["Sở Thông tin và Truyền thông".to_string()]);
    assert_eq!(khcn[1].origins.iter().map(AgencyId::as_str).collect::<Vec<_>>(), vec!["so_tttt"]);
    // Sở LĐTB&XH's first successor (Sở Nội vụ) answers for it.
    let nv = plan.digests.iter().find(|d| d.agency.as_str() == "so_nv").unwrap();
    assert_eq!(nv.to[0].address, "so_nv@vinhlong.example");
    assert_eq!(nv.key, "kh-742-2023/2024-Q4/so_ldtbxh/sau_han");
    assert_eq!(plan.digests.len(), 3);
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
    assert_eq!(all_rows(&plan.digests[0]).len(), 1);
    assert_eq!(all_rows(&plan.digests[0])[0].item.to_string(), "2");
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

#[test]
fn named_items_come_first_and_group_items_follow_the_setting() {
    // Sở Y tế leads items 141–145 and 148 by name; items 1 and 4 it answers for as one of
    // `Các sở, ban, ngành tỉnh`.
    let mut named: Vec<GapRow> = ["141", "142", "143", "144", "145", "148"]
        .iter()
        .map(|k| GapRow { actual: Some(Value::Percent(90.0)), ..row(k, "so_yt", Status::OnTrack) })
        .collect();
    let group = vec![row("1", "so_yt", Status::Missing), row("4", "so_yt", Status::Missing)];
    let rows: Vec<GapRow> = named.iter().cloned().chain(group.iter().cloned()).collect();
    assert_eq!(GroupItems::default(), GroupItems::Count, "the shipped default");
    // Every named item reported: no digest by default, nor with group items left out.
    for mode in [GroupItems::Count, GroupItems::Omit] {
        let plan = plan_with(&rows, "2024-06-20", "sau_han", mode);
        assert!(plan.digests.iter().all(|d| d.agency.as_str() != "so_yt"), "{mode:?}");
    }
    // As a section of their own: a digest with 0 named items and the two group items.
    let plan = plan_with(&rows, "2024-06-20", "sau_han", GroupItems::Section);
    let d = plan.digests.iter().find(|d| d.agency.as_str() == "so_yt").expect("a digest");
    assert!(d.rows.is_empty());
    assert_eq!(d.group_rows.iter().map(|r| r.item.to_string()).collect::<Vec<_>>(), vec!["1", "4"]);
    assert_eq!(d.group_title, "Nhiệm vụ chung của các sở, ban, ngành tỉnh");
    // A named item behind: the digest leads with it and counts the group items in one line.
    named[0].status = Status::Lagging;
    let rows: Vec<GapRow> = named.iter().cloned().chain(group.iter().cloned()).collect();
    let plan = plan_with(&rows, "2024-06-20", "sau_han", GroupItems::Count);
    let d = plan.digests.iter().find(|d| d.agency.as_str() == "so_yt").expect("a digest");
    assert_eq!(d.rows.iter().map(|r| r.item.to_string()).collect::<Vec<_>>(), vec!["141"]);
    assert!(d.group_rows.is_empty());
    assert_eq!(d.group_more, 2);
    // A refused figure on a group item is listed whatever the setting: the agency sent it.
    let mut refused = group.clone();
    refused[0].status = Status::Refused;
    for mode in [GroupItems::Count, GroupItems::Omit] {
        let rows: Vec<GapRow> = refused.clone();
        let plan = plan_with(&rows, "2024-06-20", "sau_han", mode);
        let d = plan.digests.iter().find(|d| d.agency.as_str() == "so_yt").expect("a digest");
        assert!(d.rows.is_empty());
        assert_eq!(d.group_rows.iter().map(|r| r.item.to_string()).collect::<Vec<_>>(), vec!["1"], "{mode:?}");
        assert_eq!(d.group_more, usize::from(mode == GroupItems::Count), "{mode:?}");
    }
    // A commune, named for nothing, answers its level's items as its own.
    let commune = chiso::remind::plan::OwnItems::new(&common::catalog().1, &common::directory());
    assert!(commune.is_own(&row("1", "xa_29542", Status::Missing)));
    assert!(!commune.is_own(&row("1", "so_yt", Status::Missing)));
    assert!(commune.is_own(&row("141", "so_yt", Status::Missing)));
}
