//! Storing one file's observations, on both backends: every text comes back exactly as it
//! was read (the SQLite path binds texts through SQLite's C API without copying them), rows
//! of items the plan does not know are left out, and a batch the warehouse refuses leaves
//! nothing of the file behind while what was stored before stays current.

mod common;

use std::collections::HashMap;

use chiso::domain::{AgencyId, ItemKey, Period, Progress, Value};
use chiso::ingest::normalize::{NewObservation, Normalized};
use chiso::warehouse::{IngestionEnd, NewIngestion, Warehouse, WarehouseError};

fn obs(item: &str, value: Value, raw: &str, note: Option<&str>, location: &str) -> NewObservation {
    NewObservation {
        period: Period::new(2024, 2).unwrap(),
        item: item.parse().unwrap(),
        measure: String::new(),
        agency: "so_yt".parse().unwrap(),
        value,
        raw_text: raw.into(),
        note: note.map(str::to_string),
        location: location.into(),
    }
}

fn ingestion(period: Period, sha: &str, file: &str) -> NewIngestion {
    NewIngestion {
        run_id: None,
        fetch_id: None,
        source_id: "so_yt_thu_muc".into(),
        period,
        sha256: sha.into(),
        file_name: file.into(),
        agency: Some("so_yt".parse().unwrap()),
        layout: None,
        sheet: None,
    }
}

/// Stores `rows` as one file, in batches the way the collection sends them.
async fn store(
    wh: &Warehouse,
    period: Period,
    file: &str,
    ids: &HashMap<ItemKey, i64>,
    rows: Vec<NewObservation>,
) -> Result<u64, WarehouseError> {
    let bytes = format!("{file}: {} rows", rows.len()).into_bytes();
    let sha = chiso::sha256_hex(&bytes);
    wh.keep_raw(&sha, &bytes, "xlsx").await?;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let feeder = tokio::spawn(async move {
        for chunk in rows.chunks(700) {
            let _ = tx.send(Normalized::Observations(chunk.to_vec())).await;
        }
    });
    let stored = wh.store_ingestion(&ingestion(period, &sha, file), ids, rx, async { IngestionEnd::default() }).await;
    feeder.await.unwrap();
    stored.map(|c| c.observations)
}

#[tokio::test]
async fn texts_and_values_come_back_exactly_and_unknown_items_are_left_out() {
    let q2 = common::period("2024-Q2");
    let so_yt: AgencyId = "so_yt".parse().unwrap();
    let mut views = Vec::new();
    for db in common::all().await {
        let _ctx = common::context(&db, common::settings(), vec![]).await;
        let mut ids = db.wh.indicator_id_map("kh-742-2023").await.unwrap();
        let note = "Số liệu đã xác minh: \"đạt\" — 'Sở Y tế'\nDòng 2; 100% 🙂";
        let mut rows = vec![
            obs("1", Value::Percent(85.5), "85,5%", Some(note), "Báo cáo!E7"),
            obs("2", Value::Count(1000.0), "1.000 lượt", None, "Báo cáo!E8"),
            obs("3", Value::Status(Progress::Done), "Hoàn thành", Some(""), "Báo cáo!E9"),
        ];
        // Enough rows for several batches and statements: the same three items again,
        // which the store keeps as given (deduplication happens before it).
        for i in 0..2_500 {
            rows.push(obs(
                "1",
                Value::Percent(f64::from(i % 101)),
                &format!("{}%", i % 101),
                None,
                &format!("Báo cáo!E{}", 10 + i),
            ));
        }
        // Item 3 is unknown to this warehouse's id map: its rows are not stored.
        ids.remove(&"3".parse().unwrap());
        let stored = store(&db.wh, q2, "so_yt_2024_q2.xlsx", &ids, rows).await.unwrap();
        assert_eq!(stored, 2_502, "{}", db.name);

        let view = db.wh.observations("kh-742-2023", q2, true).await.unwrap();
        assert_eq!(view.len(), 2_502, "{}", db.name);
        let first = view.iter().find(|o| o.location == "Báo cáo!E7").unwrap();
        assert_eq!((first.item.as_str(), first.raw_text.as_str()), ("1", "85,5%"), "{}", db.name);
        assert_eq!(first.value, Value::Percent(85.5));
        assert_eq!(first.note.as_deref(), Some(note), "{}", db.name);
        assert_eq!((first.source_id.as_str(), first.file_name.as_str()), ("so_yt_thu_muc", "so_yt_2024_q2.xlsx"));
        assert!((chrono::Utc::now() - first.loaded_at).num_seconds().abs() < 60, "{}: {}", db.name, first.loaded_at);
        let second = view.iter().find(|o| o.location == "Báo cáo!E8").unwrap();
        assert_eq!(
            (second.value, second.raw_text.as_str(), second.note.as_deref()),
            (Value::Count(1000.0), "1.000 lượt", None)
        );
        assert!(view.iter().all(|o| o.item != "3"), "{}", db.name);
        let last = view.iter().find(|o| o.location == "Báo cáo!E2509").unwrap();
        assert_eq!((last.value, last.raw_text.as_str()), (Value::Percent(2499.0 % 101.0), "75%"));

        let values = db.wh.agency_values("kh-742-2023", &so_yt, q2).await.unwrap();
        assert!(values.contains_key(&("2".to_string(), String::new())), "{}: {values:?}", db.name);
        views.push(db.wh.dump_period(q2).await.unwrap());
    }
    // Both backends hold the same thing.
    assert!(views.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn a_refused_batch_leaves_nothing_of_the_file_and_keeps_what_was_there() {
    let q2 = common::period("2024-Q2");
    for db in common::all().await {
        let _ctx = common::context(&db, common::settings(), vec![]).await;
        let ids = db.wh.indicator_id_map("kh-742-2023").await.unwrap();
        let first = vec![obs("1", Value::Percent(40.0), "40%", None, "Báo cáo!E7")];
        assert_eq!(store(&db.wh, q2, "lan_1.xlsx", &ids, first).await.unwrap(), 1);
        let before = db.wh.dump_period(q2).await.unwrap();

        // The second file's 1,500th row names an indicator the warehouse does not have: the
        // database refuses that batch after the first has gone in.
        let mut broken = ids.clone();
        broken.insert("2".parse().unwrap(), 987_654_321);
        let mut rows: Vec<_> =
            (0..1_499).map(|i| obs("1", Value::Percent(90.0), "90%", None, &format!("Báo cáo!E{}", 7 + i))).collect();
        rows.push(obs("2", Value::Count(5.0), "5", None, "Báo cáo!E1506"));
        let err = store(&db.wh, q2, "lan_2.xlsx", &broken, rows).await.unwrap_err();
        assert!(err.to_string().to_lowercase().contains("foreign key"), "{}: {err}", db.name);

        // Nothing of the second file, the first file's value still current.
        assert_eq!(db.wh.dump_period(q2).await.unwrap(), before, "{}", db.name);
        let current = db.wh.observations("kh-742-2023", q2, false).await.unwrap();
        assert_eq!(current.len(), 1, "{}", db.name);
        assert_eq!((current[0].value, current[0].file_name.as_str()), (Value::Percent(40.0), "lan_1.xlsx"));
    }
}

/// The same file sent again with the same values: nothing new. With the same values and a
/// changed note: the note is stored as a new version of the observation, the old one kept
/// in its history.
#[tokio::test]
async fn a_changed_note_is_stored_as_a_new_version() {
    let q2 = common::period("2024-Q2");
    for db in common::all().await {
        let _ctx = common::context(&db, common::settings(), vec![]).await;
        let ids = db.wh.indicator_id_map("kh-742-2023").await.unwrap();
        let file = "so_yt_2024_q2.xlsx";
        let rows = |note1: &str| {
            vec![
                obs("1", Value::Percent(85.5), "85,5%", Some(note1), "Báo cáo!E7"),
                obs("2", Value::Count(1000.0), "1.000", Some("không đổi"), "Báo cáo!E8"),
            ]
        };
        assert_eq!(store(&db.wh, q2, file, &ids, rows("Đã xác minh")).await.unwrap(), 2);
        let wh = &db.wh;
        let stored = store(wh, q2, file, &ids, rows("Đã xác minh")).await.unwrap();
        assert_eq!(stored, 0, "{}: same values, same notes: nothing new", db.name);
        let stored = store(wh, q2, file, &ids, {
            let mut r = rows("Đã xác minh, bổ sung 2 xã");
            r.push(obs("3", Value::Percent(1.0), "1%", None, "Báo cáo!E9"));
            r
        })
        .await
        .unwrap();
        assert_eq!(stored, 2, "{}: the changed note and the new row", db.name);
        let current = wh.observations("kh-742-2023", q2, false).await.unwrap();
        let item1: Vec<_> = current.iter().filter(|o| o.item == "1").collect();
        assert_eq!(item1.len(), 1);
        assert_eq!(item1[0].note.as_deref(), Some("Đã xác minh, bổ sung 2 xã"), "{}", db.name);
        let history = wh.observations("kh-742-2023", q2, true).await.unwrap();
        let old: Vec<_> = history.iter().filter(|o| o.item == "1" && o.superseded_at.is_some()).collect();
        assert_eq!(old.len(), 1, "{}", db.name);
        assert_eq!(old[0].note.as_deref(), Some("Đã xác minh"), "{}: the old note is kept in the history", db.name);
        let item2: Vec<_> = history.iter().filter(|o| o.item == "2").collect();
        assert_eq!(item2.len(), 1, "{}: an unchanged row gets no new version", db.name);
        db.cleanup().await;
    }
}
