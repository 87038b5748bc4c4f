//! Text normalization shared by every stage that compares officer-written text.
//!
//! The plan and the department files spell the same thing in many ways: NFD input from
//! macOS, non-breaking spaces from Word, `Hoà` beside `Hòa`, `Sở NN& PTNT` beside
//! `Sở NN&PTNT`. Everything that compares such text goes through one of three folds:
//!
//! * [`clean`]: NFC, non-breaking spaces to spaces, runs of whitespace collapsed, trimmed.
//!   This is what we store and print.
//! * [`fold`]: `clean` + lowercase + word-final tone marks on `oa`/`oe`/`uy` moved to the
//!   modern position (`hoà` → `hòa`). Used for statuses and keywords.
//! * [`compact_key`]: `fold` with every non-alphanumeric character removed. Used for alias
//!   matching, which must ignore case, spaces and punctuation (`Sở KH&CN` = `Sở KH & CN`).
//! * [`ascii_fold`]: `fold` with diacritics removed and `đ` → `d`. Used for header
//!   detection, which must survive a workbook typed without a Vietnamese keyboard.
//!
//! Owns: the folds (what "the same text" means across the crate). Receives: `&str` from any
//! module (catalog, domain, ingest, remind, serve, sources). Hands on: folded `String`s
//! back to the caller; it depends on no other module.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// NFC, NBSP → space, whitespace runs collapsed, trimmed. Line breaks become spaces.
pub fn clean(s: &str) -> String {
    if is_already_clean(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfc() {
        if c.is_whitespace() || c == '\u{a0}' || c == '\u{200b}' || c == '\u{feff}' {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

/// True when [`clean`] would return `s` unchanged: no leading, trailing or repeated
/// whitespace, no whitespace but plain spaces, and NFC by the quick check. Most cells are.
fn is_already_clean(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.first() == Some(&b' ') || bytes.last() == Some(&b' ') {
        return false;
    }
    let mut prev_space = false;
    for &b in bytes {
        match b {
            b' ' if prev_space => return false,
            b' ' => prev_space = true,
            b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => return false,
            _ => prev_space = false,
        }
    }
    if s.is_ascii() {
        return true;
    }
    // Unicode whitespace (NBSP, zero-width space, BOM, U+2028 …) needs the slow path.
    if s.chars().any(|c| c.is_whitespace() || c == '\u{a0}' || c == '\u{200b}' || c == '\u{feff}') {
        return false;
    }
    unicode_normalization::is_nfc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes
}

/// [`clean`] that reuses the string when it is already clean.
pub fn clean_owned(s: String) -> String {
    if is_already_clean(&s) { s } else { clean(&s) }
}

/// Like [`clean`] but keeps line breaks (each line cleaned, empty lines dropped).
pub fn clean_multiline(s: &str) -> String {
    s.lines().map(clean).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

/// NFC, trailing spaces removed on each line, runs of blank lines collapsed to one: for
/// rendered plain-text letters.
pub fn clean_multiline_keep_blank(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.nfc().collect::<String>().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_matches('\n').to_string() + "\n"
}

/// Lowercased, cleaned, tone marks normalized. Stable across NFC/NFD and old/new tone
/// placement, so `Hoàn Thành`, `hoàn thành` and its NFD form all fold equal.
pub fn fold(s: &str) -> String {
    let cleaned = clean(s);
    if cleaned.is_ascii() {
        return cleaned.to_ascii_lowercase();
    }
    let lowered: String = cleaned.chars().flat_map(char::to_lowercase).collect();
    if !needs_tone_move(&lowered) {
        return lowered;
    }
    modern_tone_placement(&lowered)
}

/// Whether any `o`/`u` is followed by a toned `a`, `e` or `y`: only then can a tone move.
fn needs_tone_move(s: &str) -> bool {
    let mut prev = ' ';
    for c in s.chars() {
        if (prev == 'o' || prev == 'u')
            && matches!(c, 'à' | 'á' | 'ả' | 'ã' | 'ạ' | 'è' | 'é' | 'ẻ' | 'ẽ' | 'ẹ' | 'ỳ' | 'ý' | 'ỷ' | 'ỹ' | 'ỵ')
        {
            return true;
        }
        prev = c;
    }
    false
}

/// [`fold`] without any non-alphanumeric character: the key for alias lookups.
pub fn compact_key(s: &str) -> String {
    fold(s).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// [`fold`] with diacritics removed (`đ` → `d`): the key for header words.
pub fn ascii_fold(s: &str) -> String {
    fold(s).nfd().filter(|c| !is_combining_mark(*c)).map(|c| if c == 'đ' { 'd' } else { c }).collect()
}

/// Vietnamese has two conventions for the tone mark on the syllable-final diphthongs
/// `oa`, `oe` and `uy`: old `hoà`, `thuỷ` and modern `hòa`, `thủy`. Both appear in the
/// plan's own reference lists (`Xã Hoà Lộc` beside `Xã Hòa Hiệp`). Fold to the modern one.
fn modern_tone_placement(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if i + 1 < chars.len() {
            let next = chars[i + 1];
            let word_final = chars.get(i + 2).is_none_or(|c| !c.is_alphanumeric());
            // In `quý` the `u` belongs to the consonant `qu`: nothing moves.
            let after_q = i > 0 && chars[i - 1] == 'q';
            if word_final
                && !after_q
                && let Some(moved) = move_tone(c, next)
            {
                out.push(moved.0);
                out.push(moved.1);
                i += 2;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// `('o', 'à')` → `('ò', 'a')` and the like; `None` when nothing moves.
fn move_tone(first: char, second: char) -> Option<(char, char)> {
    let (base_second, tone) = split_tone(second)?;
    let allowed = matches!((first, base_second), ('o', 'a') | ('o', 'e') | ('u', 'y'));
    if !allowed {
        return None;
    }
    let toned_first = apply_tone(first, tone)?;
    Some((toned_first, base_second))
}

/// The five tone marks as combining characters.
const TONES: [char; 5] = ['\u{300}', '\u{301}', '\u{309}', '\u{303}', '\u{323}'];

fn split_tone(c: char) -> Option<(char, char)> {
    let decomposed: Vec<char> = c.to_string().nfd().collect();
    if decomposed.len() != 2 || !TONES.contains(&decomposed[1]) {
        return None;
    }
    Some((decomposed[0], decomposed[1]))
}

fn apply_tone(c: char, tone: char) -> Option<char> {
    let composed: String = [c, tone].iter().collect::<String>().nfc().collect();
    let mut it = composed.chars();
    let first = it.next()?;
    it.next().is_none().then_some(first)
}

/// True when the string is in Unicode NFC.
pub fn is_nfc(s: &str) -> bool {
    unicode_normalization::is_nfc(s)
}

/// An ASCII slug: `Sở Y tế` → `so_y_te`. Used to derive stable identifiers.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    let mut underscore = false;
    for c in ascii_fold(s).chars() {
        if c.is_ascii_alphanumeric() {
            if underscore && !out.is_empty() {
                out.push('_');
            }
            underscore = false;
            out.push(c);
        } else {
            underscore = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_path_agrees_with_the_slow_one() {
        for s in [
            "",
            "a",
            "Sở Y tế",
            " a",
            "a ",
            "a  b",
            "a\tb",
            "a\u{a0}b",
            "Hoa\u{300}",
            "x\u{200b}y",
            "Quý II/2024",
            "85,5%",
        ] {
            let slow: String = {
                let mut out = String::new();
                let mut pending = false;
                for c in s.nfc() {
                    if c.is_whitespace() || c == '\u{a0}' || c == '\u{200b}' || c == '\u{feff}' {
                        pending = !out.is_empty();
                        continue;
                    }
                    if pending {
                        out.push(' ');
                        pending = false;
                    }
                    out.push(c);
                }
                out
            };
            assert_eq!(clean(s), slow, "{s:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn clean_is_idempotent_and_nfc(s in "\\PC{0,40}") {
            let once = clean(&s);
            proptest::prop_assert_eq!(clean(&once), once.clone());
            proptest::prop_assert!(is_nfc(&once));
        }
    }

    #[test]
    fn clean_collapses_whitespace_and_nbsp() {
        assert_eq!(clean("  Sở\u{a0}\u{a0}  Công\tThương \n"), "Sở Công Thương");
        assert_eq!(clean("\u{a0}"), "");
    }

    #[test]
    fn fold_is_stable_across_nfd_and_case() {
        let nfd: String = "Hoàn thành".nfd().collect();
        assert_ne!(nfd, "Hoàn thành");
        assert_eq!(fold(&nfd), "hoàn thành");
        assert_eq!(fold("HOÀN THÀNH"), "hoàn thành");
    }

    #[test]
    fn fold_moves_old_style_tone_marks() {
        assert_eq!(fold("Xã Hoà Lộc"), fold("Xã Hòa Lộc"));
        assert_eq!(fold("Thuỷ"), "thủy");
        assert_eq!(fold("khoẻ"), "khỏe");
        // not syllable-final: nothing moves
        assert_eq!(fold("hoàn"), "hoàn");
        assert_eq!(fold("hoàng"), "hoàng");
        assert_eq!(fold("Quý"), "quý");
    }

    #[test]
    fn compact_key_ignores_punctuation_and_spaces() {
        assert_eq!(compact_key("Sở NN& PTNT"), compact_key("Sở NN&PTNT"));
        assert_eq!(compact_key("Sở        Công Thương"), compact_key("sở công thương"));
        assert_eq!(compact_key("Sở KH & CN"), "sởkhcn");
    }

    #[test]
    fn ascii_fold_strips_diacritics() {
        assert_eq!(ascii_fold("Kết quả thực hiện"), "ket qua thuc hien");
        assert_eq!(ascii_fold("ĐƠN VỊ"), "don vi");
    }

    #[test]
    fn slug_is_ascii() {
        assert_eq!(slug("Sở Y tế"), "so_y_te");
        assert_eq!(slug("UBND tp. Vĩnh Long"), "ubnd_tp_vinh_long");
    }
}
