//! The gap rules, case by case, with expectations worked out by hand, on a small plan
//! read through the real appendix reader and directory.

use chiso::catalog::Directory;
use chiso::catalog::assign::Assignments;
use chiso::catalog::plan::{Catalog, OverridesFile, import_text};
use chiso::domain::{ItemKey, Period, Progress, ReportingCalendar, Value};
use chiso::evaluate::{EvalInput, EvalSettings, GapRow, Observations, Observed, RowKind, Status, evaluate};
use chrono::{DateTime, TimeZone, Utc};

const DIRECTORY: &str = r#"
[[agency]]
id = "so_a"
name = "Sở A"
level = "province"
[[agency]]
id = "so_b"
name = "Sở B"
level = "province"
[[agency]]
id = "cac_so"
name = "Các sở, ban, ngành tỉnh"
level = "group"
members = { level = "province" }
[[agency]]
id = "h1"
name = "Huyện Một"
level = "district"
[[agency]]
id = "h2"
name = "Huyện Hai"
level = "district"
[[agency]]
id = "x1"
name = "Xã Một"
level = "commune"
parent = "h1"
[[agency]]
id = "x2"
name = "Xã Hai"
level = "commune"
parent = "h1"
[[agency]]
id = "x3"
name = "Xã Ba"
level = "commune"
parent = "h1"
valid_to = "2024-10-31"
successors = ["x1"]
[[agency]]
id = "x4"
name = "Xã Bốn"
level = "commune"
parent = "h2"
[[agency]]
id = "x5"
name = "Xã Năm"
level = "commune"
parent = "h2"
[[agency]]
id = "ubnd_cap_huyen"
name = "UBND cấp huyện"
level = "group"
members = { level = "district" }
[[agency]]
id = "ubnd_cap_xa"
name = "UBND cấp xã"
level = "group"
members = { level = "commune" }
"#;

fn plan_text() -> String {
    let rows: &[(&str, &str, [&str; 3], &str)] = &[
        ("1", "Tỷ lệ tuyến tính", ["40%", "80%", ">90%"], "Sở A"),
        ("2", "Số lượt tập huấn", ["600 lượt", "800 lượt", "1.000 lượt"], "Sở A"),
        ("3", "Nhiệm vụ thường xuyên", ["Thường xuyên", "Thường xuyên", "Thường xuyên"], "Sở B"),
        ("4", "Mốc giữa năm", ["", "Tháng 6/2024", ""], "Sở B"),
        ("5", "Mốc cuối năm", ["Hoàn thành phê duyệt", "Hoàn thành triển khai", "X"], "Sở B"),
        ("6", "Tỷ lệ của các sở", ["60%", "80%", "100%"], "Các sở, ban, ngành tỉnh"),
        ("7", "Huyện được chọn", ["", "UBND huyện Một", ""], "UBND cấp huyện"),
        (
            "8",
            "Xã theo chỉ tiêu từng huyện",
            ["", "50% đơn vị gồm: \n+ Huyện Một: 1 xã \n+ Huyện Hai: 2 xã", ""],
            "UBND cấp xã",
        ),
        ("9", "Số sản phẩm cuối năm", ["3 sản phẩm", "5 sản phẩm", "8 sản phẩm"], "Sở A"),
        ("10", "Không có chỉ tiêu 2024", ["50%", "", "70%"], "Sở A"),
        ("11", "Tỷ lệ của các xã", ["50%", "50%", "50%"], "UBND cấp xã"),
    ];
    let mut t = String::from(
        "PHỤ LỤC\n(kèm theo Kế hoạch số 9/KH-UBND ngày 02/01/2023 của UBND tỉnh)\n \tNhiệm vụ\n\tNăm 2023\n\tNăm 2024\n\tNăm 2025\n\tCơ quan chủ trì\n\tCơ quan phối hợp\n\tCăn cứ pháp lý\n\n\tI. CHÍNH QUYỀN SỐ\n\n",
    );
    for (n, task, targets, lead) in rows {
        t.push_str(&format!(
            "\t{n}.\n\t{task}\n\t{}\n\t{}\n\t{}\n\t{lead}\n\t\n\tNQ 07\n\n",
            targets[0], targets[1], targets[2]
        ));
    }
    t
}

struct World {
    dir: Directory,
    catalog: Catalog,
}

fn world() -> World {
    let dir = Directory::from_toml(DIRECTORY, "test-agencies.toml").unwrap();
    let plan = import_text(&plan_text(), "test-plan.txt", &dir).unwrap();
    let flags: Vec<String> =
        plan.items.iter().flat_map(|i| i.flags.iter().map(move |f| format!("{} {:?}", i.key, f.code))).collect();
    assert!(
        flags.iter().all(|f| f.contains("Partial")
            || f.contains("10 ")
            || f.starts_with("4 ")
            || f.starts_with("7 ")
            || f.starts_with("8 ")),
        "{flags:?}"
    );
    let overrides = OverridesFile::from_toml(
        "[[override]]\nitem = \"9\"\nreason = \"đánh giá cuối năm\"\ntrajectory = \"year_end\"\n",
        "ov.toml",
    )
    .unwrap();
    let catalog = Catalog::build(&plan, &overrides, "ov.toml", &dir).unwrap();
    World { dir, catalog }
}

fn p(s: &str) -> Period {
    s.parse().unwrap()
}

/// Long after every due date.
fn late() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

struct Case<'a> {
    period: &'a str,
    now: DateTime<Utc>,
    /// (item, agency, value) reported this period.
    reports: Vec<(&'a str, &'a str, Value)>,
    /// (item, agency, value) reported in Q4 of the year before.
    last_year: Vec<(&'a str, &'a str, Value)>,
}

fn run(w: &World, case: &Case<'_>) -> Vec<GapRow> {
    let period = p(case.period);
    let cal = ReportingCalendar::default();
    let assignments = Assignments::new(&w.catalog, &w.dir, period.year(), cal.cutoff(period));
    let fill = |reports: &[(&str, &str, Value)]| {
        let mut obs = Observations::default();
        for (i, (item, agency, value)) in reports.iter().enumerate() {
            let key: ItemKey = item.parse().unwrap();
            let index = w.catalog.indicators.iter().position(|x| x.key == key).unwrap();
            let a = w.dir.index_of(&agency.parse().unwrap()).unwrap();
            obs.insert(index, 0, a, Observed { value: *value, id: i as i64 + 1 });
        }
        obs
    };
    let current = fill(&case.reports);
    let previous = fill(&case.last_year);
    evaluate(&EvalInput {
        catalog: &w.catalog,
        dir: &w.dir,
        assignments: &assignments,
        calendar: &cal,
        settings: EvalSettings::default(),
        period,
        now: case.now,
        current: &current,
        previous_year_end: &previous,
    })
}

fn row<'r>(rows: &'r [GapRow], item: &str, agency: &str) -> &'r GapRow {
    rows.iter()
        .find(|r| r.item.to_string() == item && r.agency == agency)
        .unwrap_or_else(|| panic!("no row for item {item}, {agency}"))
}

fn pct(v: f64) -> Value {
    Value::Percent(v)
}

/// (case, item, agency, status, expected, gap, pace, reason fragment)
type Expect<'a> = (&'a str, &'a str, Status, Option<f64>, Option<f64>, Option<f64>, &'a str);

fn check(w: &World, case: Case<'_>, expects: &[Expect<'_>]) {
    let rows = run(w, &case);
    for (item, agency, status, expected, gap, pace, reason) in expects {
        let r = row(&rows, item, agency);
        let ctx = format!("{} item {item} {agency}: {r:?}", case.period);
        assert_eq!(r.status, *status, "{ctx}");
        assert_eq!(r.expected.map(|x| (x * 1000.0).round() / 1000.0), *expected, "{ctx}");
        assert_eq!(r.gap.map(|x| (x * 1000.0).round() / 1000.0), *gap, "{ctx}");
        assert_eq!(r.pace.map(|x| (x * 1000.0).round() / 1000.0), *pace, "{ctx}");
        assert!(r.reason.contains(reason), "{ctx}: reason lacks {reason:?}");
        assert!(chiso::text::is_nfc(&r.reason));
    }
}

#[test]
fn linear_percent_from_last_year_s_target_or_actual() {
    let w = world();
    // 2024-Q2, baseline = 2023 target 40: expected 40 + (80 - 40) × 2/4 = 60; pace (80 - a) / 2.
    let cases = [
        (60.0, Status::OnTrack, 0.0, 10.0, "Đạt 60%"),
        (57.0, Status::AtRisk, 3.0, 11.5, "trong ngưỡng"),
        (50.0, Status::Lagging, 10.0, 15.0, "Thiếu 10 điểm %"),
    ];
    for (actual, status, gap, pace, reason) in cases {
        let case =
            Case { period: "2024-Q2", now: late(), reports: vec![("1", "so_a", pct(actual))], last_year: vec![] };
        check(&w, case, &[("1", "so_a", status, Some(60.0), Some(gap), Some(pace), reason)]);
    }
    // Baseline from last year's actual 50: expected 50 + 30 × 2/4 = 65; 60 is exactly 5 short: at risk.
    let case = Case {
        period: "2024-Q2",
        now: late(),
        reports: vec![("1", "so_a", pct(60.0))],
        last_year: vec![("1", "so_a", pct(50.0))],
    };
    check(&w, case, &[("1", "so_a", Status::AtRisk, Some(65.0), Some(5.0), Some(10.0), "Thiếu 5 điểm %")]);
    // The first plan year has no earlier target: from 0, Q1 expects 40 × 1/4 = 10.
    let case = Case { period: "2023-Q1", now: late(), reports: vec![("1", "so_a", pct(10.0))], last_year: vec![] };
    check(&w, case, &[("1", "so_a", Status::OnTrack, Some(10.0), Some(0.0), Some(10.0), "")]);
}

#[test]
fn strict_targets_need_more_than_the_number() {
    let w = world();
    // 2025-Q4 `>90%` from baseline 2024 target 80: expected 90 at Q4, no pace left.
    let case = Case { period: "2025-Q4", now: late(), reports: vec![("1", "so_a", pct(90.0))], last_year: vec![] };
    check(&w, case, &[("1", "so_a", Status::AtRisk, Some(90.0), Some(0.0), None, "trên 90%")]);
    let case = Case { period: "2025-Q4", now: late(), reports: vec![("1", "so_a", pct(90.5))], last_year: vec![] };
    check(&w, case, &[("1", "so_a", Status::OnTrack, Some(90.0), Some(-0.5), None, "Đạt 90,5%")]);
    // At-least: exactly on target is on track.
    let case = Case { period: "2024-Q4", now: late(), reports: vec![("1", "so_a", pct(80.0))], last_year: vec![] };
    check(&w, case, &[("1", "so_a", Status::OnTrack, Some(80.0), Some(0.0), None, "")]);
}

#[test]
fn cumulative_counts_restart_each_year() {
    let w = world();
    // 800 lượt in 2024, Q3 expects 800 × 3/4 = 600; tolerance 10% of 600 = 60.
    for (actual, status, gap, pace) in [
        (600.0, Status::OnTrack, 0.0, 200.0),
        (550.0, Status::AtRisk, 50.0, 250.0),
        (500.0, Status::Lagging, 100.0, 300.0),
    ] {
        let case = Case {
            period: "2024-Q3",
            now: late(),
            reports: vec![("2", "so_a", Value::Count(actual))],
            last_year: vec![("2", "so_a", Value::Count(700.0))],
        };
        check(&w, case, &[("2", "so_a", status, Some(600.0), Some(gap), Some(pace), "")]);
    }
}

#[test]
fn year_end_counts_are_judged_at_q4_only() {
    let w = world();
    let case =
        Case { period: "2024-Q2", now: late(), reports: vec![("9", "so_a", Value::Count(2.0))], last_year: vec![] };
    check(&w, case, &[("9", "so_a", Status::NotDue, None, None, Some(1.5), "đánh giá vào Quý IV/2024")]);
    let case =
        Case { period: "2024-Q4", now: late(), reports: vec![("9", "so_a", Value::Count(5.0))], last_year: vec![] };
    check(&w, case, &[("9", "so_a", Status::OnTrack, Some(5.0), Some(0.0), None, "")]);
}

#[test]
fn the_due_date_ends_at_local_midnight() {
    let w = world();
    // 2024-Q2 is due 19/06/2024; in Hà Nội that day ends at 17:00 UTC.
    let last_minute = Utc.with_ymd_and_hms(2024, 6, 19, 16, 59, 59).unwrap();
    let next_day = Utc.with_ymd_and_hms(2024, 6, 19, 17, 0, 0).unwrap();
    let case = Case { period: "2024-Q2", now: last_minute, reports: vec![], last_year: vec![] };
    check(&w, case, &[("3", "so_b", Status::NotDue, None, None, None, "Hạn báo cáo Quý II/2024 19/06/2024")]);
    let case = Case { period: "2024-Q2", now: next_day, reports: vec![], last_year: vec![] };
    check(&w, case, &[("3", "so_b", Status::Missing, None, None, None, "Hạn báo cáo Quý II/2024 19/06/2024 đã qua")]);
}

#[test]
fn ongoing_tasks_need_a_status_each_quarter() {
    let w = world();
    for (value, status) in
        [(Progress::Ongoing, Status::OnTrack), (Progress::Done, Status::OnTrack), (Progress::NotDone, Status::Lagging)]
    {
        let case = Case {
            period: "2024-Q3",
            now: late(),
            reports: vec![("3", "so_b", Value::Status(value))],
            last_year: vec![],
        };
        check(&w, case, &[("3", "so_b", status, None, None, None, "")]);
    }
}

#[test]
fn milestones_by_deadline_or_year_end() {
    let w = world();
    let s = Value::Status;
    // Tháng 6/2024: Q1 before the deadline; Q2 ends on it.
    let c = |period, v: Option<Progress>| Case {
        period,
        now: late(),
        reports: v.map(|v| ("4", "so_b", s(v))).into_iter().collect(),
        last_year: vec![],
    };
    check(
        &w,
        c("2024-Q1", Some(Progress::InProgress)),
        &[("4", "so_b", Status::OnTrack, None, None, None, "hạn hoàn thành 30/06/2024")],
    );
    check(
        &w,
        c("2024-Q1", Some(Progress::NotDone)),
        &[("4", "so_b", Status::AtRisk, None, None, None, "Chưa thực hiện")],
    );
    check(
        &w,
        c("2024-Q2", Some(Progress::InProgress)),
        &[("4", "so_b", Status::Overdue, None, None, None, "hạn 30/06/2024 đã qua")],
    );
    check(&w, c("2024-Q2", Some(Progress::Done)), &[("4", "so_b", Status::Done, None, None, None, "Đã hoàn thành")]);
    check(&w, c("2024-Q2", None), &[("4", "so_b", Status::Overdue, None, None, None, "Chưa báo cáo và đã quá hạn")]);
    // Year-end milestones.
    let c5 = |period, v| Case { period, now: late(), reports: vec![("5", "so_b", s(v))], last_year: vec![] };
    check(&w, c5("2024-Q3", Progress::NotDone), &[("5", "so_b", Status::AtRisk, None, None, None, "31/12/2024")]);
    check(&w, c5("2024-Q4", Progress::NotDone), &[("5", "so_b", Status::Overdue, None, None, None, "")]);
    check(&w, c5("2025-Q4", Progress::Done), &[("5", "so_b", Status::Done, None, None, None, "")]);
}

#[test]
fn a_year_without_target_is_not_applicable() {
    let w = world();
    let rows =
        run(&w, &Case { period: "2024-Q2", now: late(), reports: vec![("10", "so_a", pct(60.0))], last_year: vec![] });
    let r: Vec<&GapRow> = rows.iter().filter(|r| r.item.to_string() == "10").collect();
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].status, r[0].agency.as_str()), (Status::NotApplicable, "*"));
    assert_eq!(r[0].reason, "Năm 2024 không có chỉ tiêu");
}

#[test]
fn group_leads_are_judged_member_by_member_with_an_aggregate() {
    let w = world();
    // 2024-Q4: expected 80 for each; the mean of 70 and 90 is 80.
    let case = Case {
        period: "2024-Q4",
        now: late(),
        reports: vec![("6", "so_a", pct(70.0)), ("6", "so_b", pct(90.0))],
        last_year: vec![],
    };
    let rows = run(&w, &case);
    assert_eq!(row(&rows, "6", "so_a").status, Status::Lagging);
    assert_eq!(row(&rows, "6", "so_b").status, Status::OnTrack);
    let agg = rows.iter().find(|r| r.item.to_string() == "6" && r.kind == RowKind::Aggregate).unwrap();
    assert_eq!(
        (agg.agency.as_str(), agg.status, agg.actual, agg.members),
        ("*", Status::OnTrack, Some(pct(80.0)), Some((2, 1)))
    );
    assert!(agg.reason.starts_with("Bình quân 2/2 đơn vị đã báo cáo"), "{}", agg.reason);
    // One silent member: judged missing; the aggregate is the mean of who reported.
    let case = Case { period: "2024-Q4", now: late(), reports: vec![("6", "so_b", pct(90.0))], last_year: vec![] };
    let rows = run(&w, &case);
    assert_eq!(row(&rows, "6", "so_a").status, Status::Missing);
    let agg = rows.iter().find(|r| r.item.to_string() == "6" && r.kind == RowKind::Aggregate).unwrap();
    assert_eq!((agg.actual, agg.members), (Some(pct(90.0)), Some((2, 1))));
}

#[test]
fn a_named_target_judges_only_the_units_it_names() {
    let w = world();
    let case = Case {
        period: "2024-Q4",
        now: late(),
        reports: vec![("7", "h1", Value::Status(Progress::Done))],
        last_year: vec![],
    };
    let rows = run(&w, &case);
    assert_eq!(row(&rows, "7", "h1").status, Status::Done);
    let h2 = row(&rows, "7", "h2");
    assert_eq!(h2.status, Status::NotApplicable);
    assert_eq!(h2.reason, "Chỉ tiêu năm 2024 không giao cho đơn vị này");
}

#[test]
fn per_district_quotas_and_group_expansion_across_a_merger() {
    let w = world();
    let s = Value::Status;
    // 2024-Q4: Xã Ba (x3) was merged into Xã Một on 1/11/2024: communes are x1, x2, x4, x5.
    let reports = vec![
        ("8", "x1", s(Progress::Done)),
        ("8", "x2", s(Progress::InProgress)),
        ("8", "x4", s(Progress::Done)),
        ("8", "x5", s(Progress::NotDone)),
    ];
    let rows = run(&w, &Case { period: "2024-Q4", now: late(), reports, last_year: vec![] });
    let members: Vec<&str> = rows
        .iter()
        .filter(|r| r.item.to_string() == "8" && r.kind == RowKind::Member)
        .map(|r| r.agency.as_str())
        .collect();
    assert_eq!(members, ["x1", "x2", "x4", "x5"]);
    let d1 = rows
        .iter()
        .find(|r| r.item.to_string() == "8" && r.kind == RowKind::District && r.agency.as_str() == "h1")
        .unwrap();
    assert_eq!((d1.status, d1.actual, d1.expected), (Status::OnTrack, Some(Value::Count(1.0)), Some(1.0)));
    assert!(d1.reason.starts_with("1/1 xã (trên 2) đã hoàn thành"), "{}", d1.reason);
    let d2 = rows
        .iter()
        .find(|r| r.item.to_string() == "8" && r.kind == RowKind::District && r.agency.as_str() == "h2")
        .unwrap();
    assert_eq!((d2.status, d2.gap), (Status::Lagging, Some(1.0)));
    let agg = rows.iter().find(|r| r.item.to_string() == "8" && r.kind == RowKind::Aggregate).unwrap();
    assert_eq!((agg.status, agg.actual), (Status::OnTrack, Some(pct(50.0))));
    // In 2024-Q3, before the merger, Xã Ba answers for item 11 too; in Q4 it does not.
    let q3 = run(&w, &Case { period: "2024-Q3", now: late(), reports: vec![], last_year: vec![] });
    let q4 = run(&w, &Case { period: "2024-Q4", now: late(), reports: vec![], last_year: vec![] });
    let judged = |rows: &[GapRow]| {
        rows.iter()
            .filter(|r| r.item.to_string() == "11" && r.kind == RowKind::Member)
            .map(|r| r.agency.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(judged(&q3), ["x1", "x2", "x3", "x4", "x5"]);
    assert_eq!(judged(&q4), ["x1", "x2", "x4", "x5"]);
}

#[test]
fn a_status_in_a_numeric_indicator_is_judged() {
    let w = world();
    let done = Value::Status(Progress::Done);
    let going = Value::Status(Progress::InProgress);
    let not_done = Value::Status(Progress::NotDone);
    let ongoing = Value::Status(Progress::Ongoing);
    // (item, agency, reported, status, reason fragment); 2024-Q2, item 1 expects 60%.
    let table: &[(&str, &str, Value, Status, &str)] = &[
        ("1", "so_a", done, Status::Done, "Báo cáo “Hoàn thành”, không ghi số liệu"),
        ("1", "so_a", going, Status::Lagging, "Báo cáo “Đang thực hiện”, không ghi số liệu để so với mức cần có 60%"),
        ("1", "so_a", not_done, Status::Lagging, "Báo cáo “Chưa thực hiện”, không ghi số liệu"),
        // 80% this year after 40% last year raises the level: ongoing is not enough.
        ("1", "so_a", ongoing, Status::Lagging, "Báo cáo “Thường xuyên”, không ghi số liệu"),
        ("2", "so_a", done, Status::Done, "không ghi số liệu"),
        ("2", "so_a", not_done, Status::Lagging, "Báo cáo “Chưa thực hiện”, không ghi số liệu"),
        // Judged at Q4 only.
        ("9", "so_a", going, Status::NotDue, "chỉ tiêu đánh giá vào Quý IV/2024"),
        ("9", "so_a", done, Status::Done, "không ghi số liệu"),
        // 50% each year: a level kept, so `Thường xuyên` meets it.
        ("11", "x1", ongoing, Status::OnTrack, "Báo cáo “Thường xuyên”, không ghi số liệu; chỉ tiêu duy trì 50%"),
    ];
    for (item, agency, value, status, reason) in table {
        let case = Case { period: "2024-Q2", now: late(), reports: vec![(item, agency, *value)], last_year: vec![] };
        let rows = run(&w, &case);
        let r = row(&rows, item, agency);
        assert_eq!(r.status, *status, "item {item} {agency} {value:?}: {r:?}");
        assert_eq!(r.actual, Some(*value), "{r:?}");
        assert_eq!(r.gap, None, "{r:?}");
        assert!(r.reason.contains(reason), "item {item} {agency} {value:?}: {:?} lacks {reason:?}", r.reason);
        assert!(chiso::text::is_nfc(&r.reason));
    }
}

#[test]
fn aggregates_leave_statuses_out_of_the_figure() {
    let w = world();
    // One member reports a figure, the other a status: the mean is of the figure alone.
    let case = Case {
        period: "2024-Q4",
        now: late(),
        reports: vec![("6", "so_a", Value::Status(Progress::Done)), ("6", "so_b", pct(90.0))],
        last_year: vec![],
    };
    let rows = run(&w, &case);
    assert_eq!(row(&rows, "6", "so_a").status, Status::Done);
    let agg = rows.iter().find(|r| r.item.to_string() == "6" && r.kind == RowKind::Aggregate).unwrap();
    assert_eq!((agg.status, agg.actual, agg.members), (Status::OnTrack, Some(pct(90.0)), Some((2, 2))));
    assert!(agg.reason.contains("1 đơn vị báo cáo trạng thái, không tính"), "{}", agg.reason);
    // Only statuses: no figure at all, the worst member stands for the indicator.
    let case = Case {
        period: "2024-Q4",
        now: late(),
        reports: vec![("6", "so_a", Value::Status(Progress::Done)), ("6", "so_b", Value::Status(Progress::InProgress))],
        last_year: vec![],
    };
    let rows = run(&w, &case);
    let agg = rows.iter().find(|r| r.item.to_string() == "6" && r.kind == RowKind::Aggregate).unwrap();
    assert_eq!((agg.status, agg.actual, agg.members), (Status::Lagging, None, Some((2, 1))));
    assert!(agg.reason.starts_with("2/2 đơn vị báo cáo trạng thái, không ghi số liệu"), "{}", agg.reason);
}
