//! The plan catalogue end to end: the seed text imports to the committed file, loads into
//! SQLite and PostgreSQL identically, loads twice without changes, and updates in place.

mod common;

use chiso::catalog::plan::{Catalog, OverridesFile, PlanFile, import_text};

#[test]
fn the_committed_plan_file_is_what_the_seed_imports_to() {
    let dir = common::directory();
    let plan = import_text(&common::seed_text(), "config/plans/kh-742-2023.source.txt", &dir).unwrap();
    let committed = std::fs::read_to_string(common::repo("config/plans/kh-742-2023.toml")).unwrap();
    assert!(
        plan.to_toml().unwrap() == committed,
        "config/plans/kh-742-2023.toml is stale: run `chiso plan import --from-text config/plans/kh-742-2023.source.txt`"
    );
}

#[test]
fn the_shipped_plan_has_173_items_and_one_sub_indicator() {
    let (dir, catalog) = common::catalog();
    let report = chiso::catalog::check::CheckReport::build(&catalog, &dir);
    assert_eq!(report.items, 173);
    assert_eq!(report.indicators, 174);
    assert_eq!(report.sub_indicators, 1);
    assert!(report.unresolved_agencies.is_empty(), "{:?}", report.unresolved_agencies);
    assert!(report.unrecognized_targets.is_empty(), "{:?}", report.unrecognized_targets);
    assert!(report.ok);
    let flagged: Vec<&str> = report.flagged.iter().map(|f| f.item.as_str()).collect();
    assert_eq!(flagged, ["44", "59", "71", "72", "73", "97", "100", "116", "118.1"]);
    assert!(report.flagged.iter().all(|f| f.settled.is_some()));
    // Sections as in the appendix: I ends at 100, II at 133.
    let section_of = |n: u16| catalog.indicator(chiso::domain::ItemKey::new(n)).unwrap().section;
    use chiso::domain::Section::*;
    assert_eq!(
        (section_of(1), section_of(100), section_of(101), section_of(133), section_of(134), section_of(173)),
        (DigitalGovernment, DigitalGovernment, DigitalEconomy, DigitalEconomy, DigitalSociety, DigitalSociety)
    );
    // The sub-indicator shares its item's agencies.
    let sub = catalog.indicator(chiso::domain::ItemKey::sub(118, 1)).unwrap();
    let parent = catalog.indicator(chiso::domain::ItemKey::new(118)).unwrap();
    assert_eq!(sub.lead, parent.lead);
    assert_eq!(sub.lead.iter().map(|a| a.as_str()).collect::<Vec<_>>(), ["nhnn_cn", "ngan_hang_tm"]);
    // Overrides applied: 71 now has a target every year.
    let i71 = catalog.indicator(chiso::domain::ItemKey::new(71)).unwrap();
    assert_eq!(i71.targets.values().map(|t| t.raw.as_str()).collect::<Vec<_>>(), ["90%", "90%", "90%"]);
}

#[tokio::test]
async fn loads_into_both_warehouses_identically_and_idempotently() {
    let (dir, catalog) = common::catalog();
    let mut dumps = Vec::new();
    for db in common::all().await {
        let first = db.wh.load_catalog(&catalog, &dir).await.unwrap();
        assert_eq!(first.indicators.inserted, 174, "{}", db.name);
        assert_eq!(first.agencies.inserted, dir.len(), "{}", db.name);
        let dump_after_first = db.wh.dump_catalog(&catalog.plan.id).await.unwrap();
        let second = db.wh.load_catalog(&catalog, &dir).await.unwrap();
        assert!(
            !second.indicators.changed() && !second.agencies.changed() && !second.plan.changed(),
            "{}: {second:?}",
            db.name
        );
        assert_eq!(second.indicators.unchanged, 174);
        assert_eq!(
            db.wh.dump_catalog(&catalog.plan.id).await.unwrap(),
            dump_after_first,
            "{}: second load changed the warehouse",
            db.name
        );
        dumps.push((db.name, dump_after_first));
        db.cleanup().await;
    }
    assert!(dumps[0].1.lines().count() > 1000);
    if let [(_, sqlite), (_, postgres)] = dumps.as_slice() {
        assert_eq!(sqlite, postgres, "SQLite and PostgreSQL hold different catalogues");
    } else {
        eprintln!("CHISO_TEST_DATABASE_URL not set: compared SQLite with itself only");
    }
}

#[tokio::test]
async fn a_changed_plan_updates_in_place_and_keeps_ids() {
    let (dir, catalog) = common::catalog();
    let plan = PlanFile::load(&common::repo("config/plans/kh-742-2023.toml")).unwrap();
    let shipped = std::fs::read_to_string(common::repo("config/plans/kh-742-2023.overrides.toml")).unwrap();
    let text = format!(
        "{shipped}\n[[override]]\nitem = \"1\"\nreason = \"thử nghiệm\"\ntargets = {{ \"2025\" = \">95%\" }}\ntolerance = 2.5\n"
    );
    let overrides = OverridesFile::from_toml(&text, "test-overrides.toml").unwrap();
    let changed = Catalog::build(&plan, &overrides, "test-overrides.toml", &dir).unwrap();
    for db in common::all().await {
        db.wh.load_catalog(&catalog, &dir).await.unwrap();
        let ids_before = indicator_ids(&db.wh).await;
        let report = db.wh.load_catalog(&changed, &dir).await.unwrap();
        assert_eq!(
            (report.indicators.updated, report.indicators.unchanged, report.indicators.inserted),
            (1, 173, 0),
            "{}",
            db.name
        );
        assert_eq!(report.plan.updated, 1);
        assert_eq!(indicator_ids(&db.wh).await, ids_before, "{}: ids changed", db.name);
        let dump = db.wh.dump_catalog("kh-742-2023").await.unwrap();
        assert!(dump.contains("target 2025 \">95%\" percent"), "{}", db.name);
        db.cleanup().await;
    }
}

async fn indicator_ids(wh: &chiso::warehouse::Warehouse) -> Vec<(String, i64)> {
    wh.indicator_ids("kh-742-2023").await.unwrap()
}
