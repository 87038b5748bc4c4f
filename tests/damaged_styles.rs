//! An xlsx whose styles part is lost (a damaged central directory renames it, a tool drops
//! it) no longer says which numbers are percentages: a percent-formatted 1 (100%) reads as a
//! bare 1 (1%). Found by the mutation test (a one-bit flip in the zip's central directory):
//! such a file is refused as damaged, and nothing of it is stored.

mod common;

use std::io::{Read, Write};
use std::sync::Arc;

use chiso::ingest::layout::Mapping;
use chiso::ingest::{FileSpec, parse_to_vecs};

/// The workbook rewritten without the zip entries `drop` names.
fn without(bytes: &[u8], drop: &str) -> Vec<u8> {
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).expect("entry");
        let name = f.name().expect("an entry name").to_string();
        if name == drop {
            continue;
        }
        let mut data = Vec::new();
        f.read_to_end(&mut data).expect("read");
        out.start_file(name, zip::write::SimpleFileOptions::default()).expect("start");
        out.write_all(&data).expect("write");
    }
    out.finish().expect("finish").into_inner()
}

#[test]
fn a_workbook_that_lost_its_styles_is_refused_not_read_as_bare_numbers() {
    let (dir, catalog) = common::catalog();
    let bytes = std::fs::read(common::repo("tests/data/corpus/w01_stt_plan_number.xlsx")).expect("corpus file");
    let spec = FileSpec {
        file_name: "w01_stt_plan_number.xlsx".into(),
        mapping: Mapping::default(),
        agency: Some(chiso::domain::AgencyId::parse("so_yt").expect("id")),
        period: "2024-Q2".parse().expect("period"),
    };
    let date = chrono::NaiveDate::from_ymd_opt(2024, 6, 30).expect("date");
    let (summary, obs, _) = parse_to_vecs(Arc::from(bytes.clone()), &spec, &catalog, &dir, date);
    assert!(summary.file_reject.is_none());
    let six = obs.iter().find(|o| o.item.to_string() == "6").expect("item 6 in the intact file");
    assert_eq!(six.value, chiso::domain::Value::Percent(100.0), "a percent-formatted 1 is 100%");
    let damaged = without(&bytes, "xl/styles.xml");
    let (summary, obs, _) = parse_to_vecs(Arc::from(damaged), &spec, &catalog, &dir, date);
    assert!(obs.is_empty(), "nothing of a damaged workbook is stored: {obs:?}");
    let reject = summary.file_reject.expect("the file is refused");
    assert!(reject.message.contains("hỏng") || reject.code.contains("corrupt"), "{reject:?}");
}
