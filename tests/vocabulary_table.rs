//! Every `[statuses]` and `[no_figure]` entry of the embedded `config/vocabulary.toml`, read
//! by `parse_value` for a status, a percent and a count indicator, in the spellings officers'
//! files bring: as written, UPPERCASE, NFD (macOS, other systems), with a trailing period,
//! with surrounding spaces.

use chiso::domain::value::{CellInput, MeasureKind, Progress, Value, ValueError, parse_value, parse_value_noted};
use chiso::domain::vocabulary::{EMBEDDED, status_key};
use unicode_normalization::UnicodeNormalization;

fn section(name: &str) -> toml::Table {
    let all: toml::Table = toml::from_str(EMBEDDED).expect("the embedded vocabulary parses");
    all.get(name).and_then(toml::Value::as_table).cloned().unwrap_or_else(|| panic!("no [{name}] section"))
}

fn words(table: &toml::Table, key: &str) -> Vec<String> {
    table
        .get(key)
        .and_then(toml::Value::as_array)
        .unwrap_or_else(|| panic!("no `{key}` list"))
        .iter()
        .map(|v| v.as_str().expect("entries are strings").to_string())
        .collect()
}

fn statuses() -> Vec<(String, Progress)> {
    let t = section("statuses");
    let mut out = Vec::new();
    for (key, p) in [
        ("done", Progress::Done),
        ("in_progress", Progress::InProgress),
        ("not_done", Progress::NotDone),
        ("ongoing", Progress::Ongoing),
    ] {
        out.extend(words(&t, key).into_iter().map(|w| (w, p)));
    }
    out
}

fn no_figure() -> Vec<String> {
    words(&section("no_figure"), "words")
}

/// The spellings a word arrives in.
fn spellings(word: &str) -> Vec<String> {
    vec![word.to_string(), word.to_uppercase(), word.nfd().collect(), format!("{word}."), format!("  {word} \u{a0}")]
}

fn kinds() -> [MeasureKind; 4] {
    [
        MeasureKind::Status,
        MeasureKind::Percent,
        MeasureKind::Count { unit: None },
        MeasureKind::Count { unit: Some("lượt".into()) },
    ]
}

#[test]
fn every_status_reads_as_that_status_in_every_indicator() {
    let mut failures = Vec::new();
    for (word, progress) in statuses() {
        for text in spellings(&word) {
            for kind in kinds() {
                let got = parse_value_noted(CellInput::Text(&text), &kind);
                // `Đã hoàn thành 100%` in a percent indicator: the figure wins.
                let figure = kind == MeasureKind::Percent && word.contains("100%");
                let ok = match &got {
                    Ok(p) if figure => p.value == Value::Percent(100.0),
                    Ok(p) => p.value == Value::Status(progress) && p.status_in_numeric == (kind != MeasureKind::Status),
                    Err(_) => false,
                };
                if !ok {
                    failures.push(format!("{text:?} as {kind:?}: expected {progress:?}, got {got:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} misread:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_no_figure_word_is_nothing_to_report_in_every_indicator() {
    let mut failures = Vec::new();
    for word in no_figure() {
        for text in spellings(&word) {
            for kind in kinds() {
                let got = parse_value(CellInput::Text(&text), &kind);
                if !matches!(&got, Err(e @ ValueError::NoFigure(_)) if e.code() == "no_figure") {
                    failures.push(format!("{text:?} as {kind:?}: expected no_figure, got {got:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} misread:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn a_status_with_its_explanation_is_still_that_status() {
    for (word, progress) in statuses() {
        for text in [format!("{word} (tháng 6/2024)"), format!("{word}: đã ban hành Quyết định 123/QĐ-UBND")]
        {
            assert_eq!(
                parse_value(CellInput::Text(&text), &MeasureKind::Status),
                Ok(Value::Status(progress)),
                "{text:?}"
            );
        }
    }
}

#[test]
fn statuses_and_no_figure_words_do_not_overlap() {
    let no: Vec<String> = no_figure().iter().map(|w| status_key(w)).collect();
    for (word, _) in statuses() {
        assert!(!no.contains(&status_key(&word)), "{word} is both a status and a no-figure word");
    }
    // `Không` is a not-done status, not "nothing to report".
    assert_eq!(parse_value(CellInput::Text("Không"), &MeasureKind::Status), Ok(Value::Status(Progress::NotDone)));
}

/// The spellings `Progress::from_text` knew before they moved into the vocabulary, and the
/// ones real department files brought: none may be lost.
#[test]
fn the_former_hard_coded_list_and_the_field_spellings_are_kept() {
    let kept: &[(&str, Progress)] = &[
        ("hoàn thành", Progress::Done),
        ("đã hoàn thành", Progress::Done),
        ("ht", Progress::Done),
        ("đạt", Progress::Done),
        ("x", Progress::Done),
        ("có", Progress::Done),
        ("rồi", Progress::Done),
        ("đã thực hiện", Progress::Done),
        ("đã triển khai", Progress::Done),
        ("hoàn thành 100%", Progress::Done),
        ("đã hoàn thành 100%", Progress::Done),
        ("xong", Progress::Done),
        ("done", Progress::Done),
        ("yes", Progress::Done),
        ("đang thực hiện", Progress::InProgress),
        ("đang triển khai", Progress::InProgress),
        ("đang làm", Progress::InProgress),
        ("đang xây dựng", Progress::InProgress),
        ("in progress", Progress::InProgress),
        ("chưa thực hiện", Progress::NotDone),
        ("chưa triển khai", Progress::NotDone),
        ("chưa hoàn thành", Progress::NotDone),
        ("chưa đạt", Progress::NotDone),
        ("không đạt", Progress::NotDone),
        ("không", Progress::NotDone),
        ("chưa", Progress::NotDone),
        ("not done", Progress::NotDone),
        ("no", Progress::NotDone),
        ("thường xuyên", Progress::Ongoing),
        ("thực hiện thường xuyên", Progress::Ongoing),
        ("đang thực hiện thường xuyên", Progress::Ongoing),
        ("duy trì", Progress::Ongoing),
        ("đã triển khai thường xuyên", Progress::Ongoing),
        ("duy trì thường xuyên", Progress::Ongoing),
    ];
    for (word, progress) in kept {
        assert_eq!(Progress::from_text(word), Some(*progress), "{word}");
    }
}
