//! Every header, unit, non-data-row and co-agency-table entry of the embedded
//! `config/vocabulary.toml`, read back through the vocabulary as the readers use it, as
//! written, in capitals, without diacritics (a workbook typed without a Vietnamese keyboard)
//! and NFD-decomposed. (Statuses and "nothing to report" words: `tests/vocabulary_table.rs`.)

use chiso::domain::vocabulary::{EMBEDDED, HeaderRole, UnitWord, Vocabulary};
use unicode_normalization::UnicodeNormalization;

fn table(path: &[&str]) -> toml::Table {
    let mut t: toml::Table = toml::from_str(EMBEDDED).expect("the embedded vocabulary parses");
    for p in path {
        t = t.get(*p).and_then(toml::Value::as_table).cloned().unwrap_or_else(|| panic!("no [{p}]"));
    }
    t
}

fn list(t: &toml::Table, key: &str) -> Vec<String> {
    t.get(key)
        .and_then(toml::Value::as_array)
        .map(|a| a.iter().map(|v| v.as_str().expect("strings").to_string()).collect())
        .unwrap_or_default()
}

/// The spellings one entry arrives in.
fn spellings(word: &str) -> Vec<String> {
    let no_marks: String = word
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'đ' => 'd',
            'Đ' => 'D',
            c => c,
        })
        .collect();
    vec![word.to_string(), word.to_uppercase(), no_marks, word.nfd().collect()]
}

const ROLES: [(&str, HeaderRole); 13] = [
    ("item", HeaderRole::Item),
    ("task", HeaderRole::Task),
    ("value", HeaderRole::Value),
    ("note", HeaderRole::Note),
    ("uom", HeaderRole::Uom),
    ("unit_code", HeaderRole::UnitCode),
    ("unit_name", HeaderRole::UnitName),
    ("district", HeaderRole::District),
    ("period", HeaderRole::Period),
    ("year", HeaderRole::Year),
    ("quarter", HeaderRole::Quarter),
    ("month", HeaderRole::Month),
    ("other", HeaderRole::Other),
];

#[test]
fn every_header_word_names_its_role() {
    let v = Vocabulary::embedded();
    let mut checked = 0;
    for (key, role) in ROLES {
        let t = table(&["headers", key]);
        for kind in ["exact", "starts", "contains"] {
            for word in list(&t, kind) {
                for s in spellings(&word) {
                    assert!(v.heading_is(&s, role), "[headers.{key}] {kind} “{word}” as “{s}” is not {role:?}");
                    // The role the readers take: this one, or one tried before it in
                    // `HeaderRole::ORDER` that the same heading also names.
                    let got = v.header_role(&s);
                    let earlier = HeaderRole::ORDER.iter().take_while(|r| **r != role).any(|r| Some(*r) == got);
                    assert!(got == Some(role) || earlier, "“{s}” reads as {got:?}, not {role:?}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "{checked} header words");
    // Headings no role claims.
    for h in ["Cơ sở pháp lý", "", "Số liệu năm trước x"] {
        let got = v.header_role(h);
        assert!(got.is_none() || got == Some(HeaderRole::Other), "“{h}” → {got:?}");
    }
}

#[test]
fn every_unit_word_names_its_unit() {
    let v = Vocabulary::embedded();
    let t = table(&["units"]);
    for (key, unit) in [("percent", UnitWord::Percent), ("count", UnitWord::Count)] {
        let words = list(&t, key);
        assert!(!words.is_empty());
        for word in words {
            for s in spellings(&word) {
                assert_eq!(v.unit_of(&s), Some(unit), "[units] {key} “{word}” as “{s}”");
            }
        }
    }
    assert_eq!(v.unit_of("Tỷ lệ hộ gia đình (%)"), Some(UnitWord::Percent));
    assert_eq!(v.unit_of("Ghi chú"), None);
}

#[test]
fn every_non_data_row_word_starts_a_non_data_row() {
    let v = Vocabulary::embedded();
    let words = list(&table(&["non_data_rows"]), "starts_with");
    assert!(words.len() > 20);
    for word in words {
        for s in spellings(&word) {
            assert!(v.is_non_data_row(&format!("{s} xxx")), "[non_data_rows] “{word}” as “{s}”");
        }
    }
    for data in ["Tỷ lệ hồ sơ được xử lý trực tuyến", "5", "Số lượng doanh nghiệp"] {
        assert!(!v.is_non_data_row(data), "“{data}” is data");
    }
}

#[test]
fn every_co_agency_heading_opens_the_co_agency_table() {
    let v = Vocabulary::embedded();
    for word in list(&table(&["tables"]), "cooperation") {
        for s in spellings(&word) {
            assert!(v.is_cooperation_heading(&s), "[tables] “{word}” as “{s}”");
            assert!(v.is_cooperation_heading(&format!("II. {s}")), "“II. {s}”");
        }
    }
}
