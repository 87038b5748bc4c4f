//! Identifiers parsed once at the boundary: agencies, plan items, plan sections.
//!
//! Owns: `AgencyId`, `ItemKey` and `Section`, with their parsing and printing. Receives:
//! ids and item numbers as text from the plan and directory files (`catalog`), workbook
//! cells (`ingest`), the command line and the API. Hands on: the parsed ids to every module
//! above `domain` (re-exported as `domain::AgencyId`, `domain::ItemKey`,
//! `domain::Section`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A stable ASCII identifier of an agency or a group (`so_tttt`, `xa_29806`,
/// `ubnd_cap_xa`): lowercase letters, digits and `_`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgencyId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an agency id: use lowercase ASCII letters, digits and `_`, starting with a letter (like so_tttt)"
)]
pub struct AgencyIdError(pub String);

impl AgencyId {
    pub fn parse(s: &str) -> Result<Self, AgencyIdError> {
        let ok = s.len() <= 64
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok { Ok(Self(s.to_string())) } else { Err(AgencyIdError(s.to_string())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AgencyId {
    type Err = AgencyIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for AgencyId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AgencyId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The number of a plan item (`5`) or of a sub-indicator (`118.1`, the "trong đó" row
/// under item 118).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemKey {
    pub number: u16,
    /// 0 for the item itself, 1.. for its sub-indicators.
    pub sub: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a plan item number (expected like 5, 05, 5. or 118.1)")]
pub struct ItemKeyError(pub String);

impl ItemKey {
    pub fn new(number: u16) -> Self {
        Self { number, sub: 0 }
    }

    pub fn sub(number: u16, sub: u8) -> Self {
        Self { number, sub }
    }

    pub fn is_sub(self) -> bool {
        self.sub > 0
    }

    /// The item a sub-indicator belongs to.
    pub fn parent(self) -> Self {
        Self { number: self.number, sub: 0 }
    }
}

impl fmt::Display for ItemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.sub == 0 { write!(f, "{}", self.number) } else { write!(f, "{}.{}", self.number, self.sub) }
    }
}

impl FromStr for ItemKey {
    type Err = ItemKeyError;

    /// Accepts what an STT cell holds: `5`, `05`, `5.`, ` 5 `, `118.1`, and the float
    /// `5.0` that a numeric cell turns into.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ItemKeyError(s.trim().to_string());
        let t = s.trim().trim_end_matches('.').trim();
        let (number, sub) = match t.split_once('.') {
            Some((n, sub)) => (n, sub),
            None => (t, "0"),
        };
        let digits = |x: &str| !x.is_empty() && x.len() <= 4 && x.chars().all(|c| c.is_ascii_digit());
        if !digits(number) || !digits(sub) {
            return Err(err());
        }
        let number: u16 = number.parse().map_err(|_| err())?;
        let sub: u8 = sub.parse().map_err(|_| err())?;
        if number == 0 {
            return Err(err());
        }
        Ok(Self { number, sub })
    }
}

impl Serialize for ItemKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ItemKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u16),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(ItemKey::new(n)),
            Raw::Str(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// The three pillars of the plan (sections I–III of the appendix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// I. Chính quyền số
    DigitalGovernment,
    /// II. Kinh tế số
    DigitalEconomy,
    /// III. Xã hội số
    DigitalSociety,
}

impl Section {
    pub const ALL: [Section; 3] = [Section::DigitalGovernment, Section::DigitalEconomy, Section::DigitalSociety];

    pub fn vi(self) -> &'static str {
        match self {
            Section::DigitalGovernment => "Chính quyền số",
            Section::DigitalEconomy => "Kinh tế số",
            Section::DigitalSociety => "Xã hội số",
        }
    }

    pub fn roman(self) -> &'static str {
        match self {
            Section::DigitalGovernment => "I",
            Section::DigitalEconomy => "II",
            Section::DigitalSociety => "III",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Section::DigitalGovernment => "digital_government",
            Section::DigitalEconomy => "digital_economy",
            Section::DigitalSociety => "digital_society",
        }
    }

    /// Reads a heading such as `II. KINH TẾ SỐ`, a Vietnamese name, the roman numeral or the
    /// snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        let folded = crate::text::ascii_fold(s);
        let name = folded.trim_start_matches(['i', '.', ' ']);
        let by_name = match name {
            "chinh quyen so" => Some(Section::DigitalGovernment),
            "kinh te so" => Some(Section::DigitalEconomy),
            "xa hoi so" => Some(Section::DigitalSociety),
            _ => None,
        };
        by_name.or(match folded.as_str() {
            "i" | "digital_government" => Some(Section::DigitalGovernment),
            "ii" | "digital_economy" => Some(Section::DigitalEconomy),
            "iii" | "digital_society" => Some(Section::DigitalSociety),
            _ => None,
        })
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn item_keys_from_stt_cells() {
        for (input, expected) in [
            ("5", ItemKey::new(5)),
            ("05", ItemKey::new(5)),
            ("5.", ItemKey::new(5)),
            (" 5 ", ItemKey::new(5)),
            ("5.0", ItemKey::new(5)),
            ("118.1", ItemKey::sub(118, 1)),
            ("173", ItemKey::new(173)),
        ] {
            assert_eq!(input.parse::<ItemKey>(), Ok(expected), "{input:?}");
        }
        for bad in ["", "0", "a", "5a", "-5", "1.2.3", "12345", "."] {
            assert!(bad.parse::<ItemKey>().is_err(), "{bad:?}");
        }
        assert_eq!(ItemKey::sub(118, 1).to_string(), "118.1");
        assert_eq!(ItemKey::sub(118, 1).parent(), ItemKey::new(118));
    }

    #[test]
    fn agency_ids() {
        assert!(AgencyId::parse("so_tttt").is_ok());
        assert!(AgencyId::parse("xa_29806").is_ok());
        for bad in ["", "So_tttt", "1abc", "sở", "a-b", "a b"] {
            assert!(AgencyId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sections_from_headings() {
        assert_eq!(Section::parse("I. CHÍNH QUYỀN SỐ"), Some(Section::DigitalGovernment));
        assert_eq!(Section::parse("II. KINH TẾ SỐ"), Some(Section::DigitalEconomy));
        assert_eq!(Section::parse("III. XÃ HỘI SỐ"), Some(Section::DigitalSociety));
        assert_eq!(Section::parse("Xã hội số"), Some(Section::DigitalSociety));
        assert_eq!(Section::parse("digital_economy"), Some(Section::DigitalEconomy));
        assert_eq!(Section::parse("IV. KHÁC"), None);
    }

    proptest! {
        #[test]
        fn item_keys_round_trip(n in 1u16..10000, sub in 0u8..10) {
            let key = ItemKey::sub(n, sub);
            prop_assert_eq!(key.to_string().parse::<ItemKey>(), Ok(key));
        }
    }
}
