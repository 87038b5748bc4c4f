//! Every distinct raw target string of the appendix of Kế hoạch 742 (71 of them), with
//! its meaning worked out by hand. A new spelling in the plan fails
//! `every_raw_target_of_the_plan_is_in_the_table` until someone writes its row.

mod common;

use std::collections::BTreeSet;

use chiso::domain::target::{Comparator, Target, TargetSpec, Threshold};

fn th(t: &Threshold) -> String {
    let v = t.value;
    let v = if v.fract() == 0.0 { format!("{v:.0}") } else { v.to_string() };
    match t.cmp {
        Comparator::AtLeast => format!("≥{v}"),
        Comparator::Greater => format!(">{v}"),
    }
}

/// A compact, readable rendering of a parsed target, for the table below.
fn describe(spec: &TargetSpec) -> String {
    match spec {
        TargetSpec::None => "none".into(),
        TargetSpec::Percent { threshold, scope: None } => format!("percent {}", th(threshold)),
        TargetSpec::Percent { threshold, scope: Some(s) } => format!("percent {} ({s})", th(threshold)),
        TargetSpec::Count { threshold, unit: Some(u) } => format!("count {} {u}", th(threshold)),
        TargetSpec::Count { threshold, unit: None } => format!("count {}", th(threshold)),
        TargetSpec::Composite { measures } => {
            format!(
                "composite {}",
                measures.iter().map(|m| format!("{} {}", th(&m.threshold), m.unit)).collect::<Vec<_>>().join(" | ")
            )
        }
        TargetSpec::Ongoing => "ongoing".into(),
        TargetSpec::Milestone { deadline: None } => "milestone".into(),
        TargetSpec::Milestone { deadline: Some(d) } => format!("milestone {d}"),
        TargetSpec::Units(u) => {
            let mut parts = vec!["units".to_string()];
            if let Some(s) = &u.share {
                parts.push(format!("share{}", th(s)));
            }
            if !u.named.is_empty() {
                let ids: Vec<String> = u
                    .named
                    .iter()
                    .map(|n| n.agency.as_ref().map_or(format!("?{}", n.name), |a| a.to_string()))
                    .collect();
                parts.push(format!("named=[{}]", ids.join(" ")));
            }
            if !u.per_district.is_empty() {
                let q: Vec<String> = u
                    .per_district
                    .iter()
                    .map(|q| {
                        format!(
                            "{}:{}",
                            q.district.agency.as_ref().map_or(format!("?{}", q.district.name), |a| a.to_string()),
                            q.count
                        )
                    })
                    .collect();
                parts.push(format!("districts=[{}]", q.join(" ")));
            }
            if let Some(c) = &u.communes_per_district {
                parts.push(format!("communes{}", th(c)));
            }
            parts.join(" ")
        }
        TargetSpec::Unrecognized { reason } => format!("UNRECOGNIZED {reason}"),
    }
}

const P4: &str = "so_vhttdl so_ct so_nnptnt so_nv so_gddt";
const TABLE: &[(&str, &str)] = &[
    ("", "none"),
    ("01 chuyên gia", "count ≥1 chuyên gia"),
    ("02 chuyên gia", "count ≥2 chuyên gia"),
    ("1.000 lượt", "count ≥1000 lượt"),
    ("600 lượt", "count ≥600 lượt"),
    ("800 lượt", "count ≥800 lượt"),
    ("3", "count ≥3"),
    ("7", "count ≥7"),
    ("10", "count ≥10"),
    ("50", "count ≥50"),
    ("100", "count ≥100"),
    ("150", "count ≥150"),
    ("200", "count ≥200"),
    ("300", "count ≥300"),
    ("5 sản phẩm", "count ≥5 sản phẩm"),
    ("8 sản phẩm", "count ≥8 sản phẩm"),
    (">10 sản phẩm", "count >10 sản phẩm"),
    ("5%", "percent ≥5"),
    ("7%", "percent ≥7"),
    ("10%", "percent ≥10"),
    ("15%", "percent ≥15"),
    ("20%", "percent ≥20"),
    ("25%", "percent ≥25"),
    ("30%", "percent ≥30"),
    ("40%", "percent ≥40"),
    ("45%", "percent ≥45"),
    ("50%", "percent ≥50"),
    ("55%", "percent ≥55"),
    ("60%", "percent ≥60"),
    ("70%", "percent ≥70"),
    ("75%", "percent ≥75"),
    ("80%", "percent ≥80"),
    ("84%", "percent ≥84"),
    ("85%", "percent ≥85"),
    ("90%", "percent ≥90"),
    ("93%", "percent ≥93"),
    ("95%", "percent ≥95"),
    ("100%", "percent ≥100"),
    (">15%", "percent >15"),
    (">50%", "percent >50"),
    (">70%", "percent >70"),
    (">80%", "percent >80"),
    (">90%", "percent >90"),
    ("100% (hộ gia đình xã nông thôn mới nâng cao)", "percent ≥100 (hộ gia đình xã nông thôn mới nâng cao)"),
    (
        "300 cá nhân, cơ sở, doanh nghiệp 600 sản phẩm 100 giao dịch",
        "composite ≥300 cá nhân, cơ sở, doanh nghiệp | ≥600 sản phẩm | ≥100 giao dịch",
    ),
    (
        "400 cá nhân, cơ sở, doanh nghiệp 1.000 sản phẩm 200 giao dịch",
        "composite ≥400 cá nhân, cơ sở, doanh nghiệp | ≥1000 sản phẩm | ≥200 giao dịch",
    ),
    (
        "500 cá nhân, cơ sở, doanh nghiệp 1.300 sản phẩm 300 giao dịch",
        "composite ≥500 cá nhân, cơ sở, doanh nghiệp | ≥1300 sản phẩm | ≥300 giao dịch",
    ),
    ("Thường xuyên", "ongoing"),
    ("X", "milestone"),
    ("Hoàn thành các mục tiêu của Kế hoạch", "milestone"),
    ("Hoàn thành phê duyệt Đề án/Kế hoạch và bắt đầu triển khai", "milestone"),
    ("Tháng 12/2023", "milestone 2023-12"),
    ("UBND tp Vĩnh Long", "units named=[tp_vinh_long]"),
    ("UBND tp Vĩnh Long, UBND tx Bình Minh", "units named=[tp_vinh_long tx_binh_minh]"),
    ("Sở Văn hóa, Thể thao và Du lịch, Sở NN& PTNT và UBND xã Thuận An", "units named=[so_vhttdl so_nnptnt xa_29806]"),
    ("15% đơn vị gồm UBND huyện Bình Tân", "units share≥15 named=[h_binh_tan]"),
    ("20% đơn vị gồm: UBND tp Vĩnh Long, UBND tx Bình Minh", "units share≥20 named=[tp_vinh_long tx_binh_minh]"),
    ("25% đơn vị gồm UBND tp Vĩnh Long, UBND tx Bình Minh", "units share≥25 named=[tp_vinh_long tx_binh_minh]"),
    ("30% đơn vị gồm UBND huyện Bình Tân, UBND huyện Long Hồ", "units share≥30 named=[h_binh_tan h_long_ho]"),
    (
        "50% đơn vị gồm UBND huyện Bình Tân, UBND huyện Long Hồ, UBND huyện Tam Bình",
        "units share≥50 named=[h_binh_tan h_long_ho h_tam_binh]",
    ),
    (
        "50% đơn vị gồm: UBND tp Vĩnh Long, UBND tx Bình Minh, UBND huyện Tam Bình, UBND huyện Bình Tân",
        "units share≥50 named=[tp_vinh_long tx_binh_minh h_tam_binh h_binh_tan]",
    ),
    (
        "75% đơn vị gồm UBND tp Vĩnh Long, UBND tx Bình Minh, UBND huyện Bình Tân, UBND huyện Long Hồ, UBND huyện Mang Thít, UBND huyện Trà Ôn",
        "units share≥75 named=[tp_vinh_long tx_binh_minh h_binh_tan h_long_ho h_mang_thit h_tra_on]",
    ),
    ("mỗi huyện, tx, tp chọn 30% đơn vị cấp xã", "units communes≥30"),
    ("mỗi huyện, tx, tp chọn 70% đơn vị cấp xã", "units communes≥70"),
    (
        "10% đơn vị gồm:\n+ tp Vĩnh Long: 4 phường\n+ Bình Minh: 1 xã\n+ Bình Tân: 1 xã\n+ Long Hồ: 1 xã\n+ Tam Bình:1 xã\n+ Mang Thít:1 xã\n+ Trà Ôn:1 xã\n+ Vũng Liêm: 1 xã",
        "units share≥10 districts=[tp_vinh_long:4 tx_binh_minh:1 h_binh_tan:1 h_long_ho:1 h_tam_binh:1 h_mang_thit:1 h_tra_on:1 h_vung_liem:1]",
    ),
    (
        "25% đơn vị gồm:\n+ tp Vĩnh Long: 7 phường\n+ Bình Minh: 2 xã\n+ Bình Tân: 2 xã\n+ Long Hồ: 3 xã\n+ Tam Bình: 3 xã\n+ Mang Thít: 3 xã\n+ Trà Ôn: 3 xã\n+ Vũng Liêm:4 xã",
        "units share≥25 districts=[tp_vinh_long:7 tx_binh_minh:2 h_binh_tan:2 h_long_ho:3 h_tam_binh:3 h_mang_thit:3 h_tra_on:3 h_vung_liem:4]",
    ),
    (
        "50% đơn vị gồm:\n+ tp Vĩnh Long: 11 phường\n+ Bình Minh: 4 xã\n+ Bình Tân: 5 xã\n+ Long Hồ: 7 xã\n+ Tam Bình: 7 xã\n+ Mang Thít: 5 xã\n+ Trà Ôn: 6 xã\n+ Vũng Liêm: 9 xã",
        "units share≥50 districts=[tp_vinh_long:11 tx_binh_minh:4 h_binh_tan:5 h_long_ho:7 h_tam_binh:7 h_mang_thit:5 h_tra_on:6 h_vung_liem:9]",
    ),
    (
        "25% đơn vị, trong đó:\n+ cấp tỉnh: Sở Văn hóa, TT&DL, Sở Công Thương, Sở NN& PTNT, Sở Nội vụ, Sở GD&ĐT\n+ cấp huyện: UBND tp Vĩnh Long, UBND tx Bình Minh\n+ cấp xã: mỗi huyện, thị xã, thành phố chọn 25% đơn vị",
        "units share≥25 named=[so_vhttdl so_ct so_nnptnt so_nv so_gddt tp_vinh_long tx_binh_minh] communes≥25",
    ),
    (
        "50% đơn vị, trong đó:\n+ cấp tỉnh: Sở Văn hóa, TT&DL, Sở Công Thương, Sở NN& PTNT, Sở Nội vụ, Sở GD&ĐT, Sở Tài chính, Sở Kế hoạch và Đầu tư, Sở Tài nguyên và MT, Sở Y tế, Sở KHCN\n+ cấp huyện: UBND tp Vĩnh Long, UBND tx Bình Minh, UBND huyện Long Hồ, UBND huyện Bình Tân\n+ cấp xã: mỗi huyện, thị xã, thành phố chọn 50% đơn vị cấp xã",
        "units share≥50 named=[so_vhttdl so_ct so_nnptnt so_nv so_gddt so_tc so_khdt so_tnmt so_yt so_khcn tp_vinh_long tx_binh_minh h_long_ho h_binh_tan] communes≥50",
    ),
    (
        "50% đơn vị, trong đó:\n+ cấp tỉnh: Sở Văn hóa, TT&DL, Sở Công Thương, Sở NN& PTNT, Sở Nội vụ, Sở GD&ĐT, Sở Tài chính, Sở Kế hoạch và Đầu tư, Sở Tài nguyên và MT, Sở Y tế, Sở Xây dựng\n+ cấp huyện: UBND tp Vĩnh Long, UBND tx Bình Minh, UBND huyện Long Hồ, UBND huyện Bình Tân\n+ cấp xã: mỗi huyện, thị xã, thành phố chọn 50% đơn vị cấp xã thực hiện chuyển đổi số",
        "units share≥50 named=[so_vhttdl so_ct so_nnptnt so_nv so_gddt so_tc so_khdt so_tnmt so_yt so_xd tp_vinh_long tx_binh_minh h_long_ho h_binh_tan] communes≥50",
    ),
    (
        "70% đơn vị, trong đó:\n+ cấp tỉnh: Sở Văn hóa, TT&DL, Sở Công Thương, Sở NN& PTNT, Sở Nội vụ, Sở GD&ĐT, Sở Tài chính, Sở Kế hoạch và Đầu tư, Sở Tài nguyên và MT, Sở Y tế, Sở Xây dựng, Sở Tư pháp, Sở LĐTBXH, Sở KHCN\n+ cấp huyện: UBND tp Vĩnh Long, UBND tx Bình Minh, UBND huyện Long Hồ, UBND huyện Bình Tân, UBND huyện Tam Bình, UBND huyện Mang Thít\n+ cấp xã: mỗi huyện, thị xã, thành phố chọn 70% đơn vị cấp xã",
        "units share≥70 named=[so_vhttdl so_ct so_nnptnt so_nv so_gddt so_tc so_khdt so_tnmt so_yt so_xd so_tp so_ldtbxh so_khcn tp_vinh_long tx_binh_minh h_long_ho h_binh_tan h_tam_binh h_mang_thit] communes≥70",
    ),
];

fn plan_date() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2023, 4, 6).unwrap()
}

#[test]
fn every_row_of_the_table_parses_as_worked_out_by_hand() {
    let dir = common::directory();
    let at = dir.at(plan_date());
    let _ = P4;
    let mut failures = Vec::new();
    for (raw, expected) in TABLE {
        let got = describe(&Target::parse(raw, &at).spec);
        if got != *expected {
            failures.push(format!("{raw:?}\n   expected {expected}\n        got {got}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} rows differ:\n{}", failures.len(), TABLE.len(), failures.join("\n"));
}

#[test]
fn every_raw_target_of_the_plan_is_in_the_table() {
    let dir = common::directory();
    let plan = chiso::catalog::plan::import_text(&common::seed_text(), "kh-742-2023.source.txt", &dir).unwrap();
    let raws: BTreeSet<String> = plan.items.iter().flat_map(|i| i.targets.values().map(|t| t.raw.clone())).collect();
    let table: BTreeSet<String> = TABLE.iter().map(|(r, _)| r.to_string()).collect();
    let missing: Vec<&String> = raws.difference(&table).collect();
    assert!(missing.is_empty(), "raw targets in the plan without a row in the table: {missing:#?}");
    assert_eq!(raws.len(), 71, "the appendix has 71 distinct raw target strings");
}

#[test]
fn nfd_and_nbsp_spellings_read_the_same() {
    use unicode_normalization::UnicodeNormalization;
    let dir = common::directory();
    let at = dir.at(plan_date());
    for (raw, expected) in TABLE {
        let messy: String = raw.nfd().collect::<String>().replace(' ', "\u{a0} ");
        assert_eq!(describe(&Target::parse(&messy, &at).spec), *expected, "{raw:?} in NFD with NBSPs");
    }
}
