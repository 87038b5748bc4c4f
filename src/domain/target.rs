//! Yearly targets, parsed from the plan's raw text (which is always kept).
//!
//! | raw | kind |
//! |---|---|
//! | `100%`, `>80%` | [`TargetSpec::Percent`] (`>` strict, otherwise at least) |
//! | `1.000 lượt`, `01 chuyên gia`, `>10 sản phẩm`, `150` | [`TargetSpec::Count`] |
//! | `300 cá nhân, cơ sở, doanh nghiệp 600 sản phẩm 100 giao dịch` | [`TargetSpec::Composite`] |
//! | `Thường xuyên` | [`TargetSpec::Ongoing`] |
//! | `Hoàn thành …`, `X`, `Tháng 12/2023` | [`TargetSpec::Milestone`] |
//! | `25% đơn vị, trong đó: + cấp tỉnh: …`, `UBND tp Vĩnh Long, UBND tx Bình Minh`, `10% đơn vị gồm: + tp Vĩnh Long: 4 phường …`, `mỗi huyện, tx, tp chọn 30% đơn vị cấp xã` | [`TargetSpec::Units`] |
//! | `100% (hộ gia đình xã nông thôn mới nâng cao)` | percent with a scope note |
//! | empty | [`TargetSpec::None`] |
//!
//! Anything else is [`TargetSpec::Unrecognized`]: flagged, never guessed.
//!
//! Names of units inside a target are split and resolved by a [`UnitListParser`] (the
//! agency directory), because the plan's lists have commas inside names
//! (`Sở Văn hóa, TT&DL, Sở Công Thương`).
//!
//! Owns: `TargetSpec` and what it is made of (`Target`, `Threshold`, `Comparator`,
//! `UnitTarget`, `MeasureTarget`, `UnitRef`), and the `UnitListParser` trait with its
//! fallback `CommaSplitter`. Receives: a target's raw text from `catalog::plan`; a
//! `UnitListParser` (the `catalog::Directory`). Hands on: parsed targets to `catalog`
//! (plan, assign, check), `evaluate` (which judges against them) and `ingest::normalize`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::AgencyId;
use super::number::parse_number;
use super::value::{MeasureKind, split_number};
use crate::text::{clean, clean_multiline, fold, slug};

/// `>` (strictly more) or at least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Comparator {
    #[default]
    AtLeast,
    Greater,
}

impl Comparator {
    pub fn met(self, actual: f64, target: f64) -> bool {
        match self {
            Comparator::AtLeast => actual >= target - 1e-9,
            Comparator::Greater => actual > target + 1e-9,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::AtLeast => "",
            Comparator::Greater => ">",
        }
    }
}

/// A comparator and a number: `>80` (percent points or a count).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    #[serde(default)]
    pub cmp: Comparator,
    pub value: f64,
}

impl Threshold {
    pub fn at_least(value: f64) -> Self {
        Self { cmp: Comparator::AtLeast, value }
    }

    pub fn met_by(&self, actual: f64) -> bool {
        self.cmp.met(actual, self.value)
    }
}

/// A month deadline such as `Tháng 12/2023`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    pub year: i32,
    pub month: u32,
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.year, self.month)
    }
}

impl Serialize for YearMonth {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for YearMonth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let parsed =
            s.split_once('-').and_then(|(y, m)| Some(YearMonth { year: y.parse().ok()?, month: m.parse().ok()? }));
        parsed
            .filter(|ym| (1..=12).contains(&ym.month))
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a YYYY-MM month")))
    }
}

/// A unit named in a target, with the agency it resolved to (if it did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<AgencyId>,
}

/// `tp Vĩnh Long: 4 phường`: how many communes of a district must take part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistrictQuota {
    pub district: UnitRef,
    pub count: u32,
    /// `phường`, `xã`
    pub unit_word: String,
}

/// The participating units a target names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct UnitTarget {
    /// `25% đơn vị`: the share of units that must have done it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<Threshold>,
    /// Units named one by one (`cấp tỉnh: Sở …`, `UBND tp Vĩnh Long`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub named: Vec<UnitRef>,
    /// Per-district counts of communes (`tp Vĩnh Long: 4 phường`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_district: Vec<DistrictQuota>,
    /// `mỗi huyện, tx, tp chọn 30% đơn vị cấp xã`: the share of communes each district
    /// must bring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub communes_per_district: Option<Threshold>,
}

/// One measure of a composite target: `600 sản phẩm`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureTarget {
    /// Stable ASCII key derived from the unit words (`san_pham`).
    pub key: String,
    /// The unit words as written (`sản phẩm`).
    pub unit: String,
    #[serde(flatten)]
    pub threshold: Threshold,
}

/// What a year's target asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetSpec {
    /// No target that year.
    None,
    Percent {
        #[serde(flatten)]
        threshold: Threshold,
        /// `(hộ gia đình xã nông thôn mới nâng cao)`
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
    },
    Count {
        #[serde(flatten)]
        threshold: Threshold,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
    },
    Composite {
        measures: Vec<MeasureTarget>,
    },
    /// `Thường xuyên`: a status must be reported every quarter.
    Ongoing,
    /// Done by the deadline, or by year end when there is none.
    Milestone {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deadline: Option<YearMonth>,
    },
    Units(UnitTarget),
    /// Not understood: flagged for an operator to settle in the overrides file.
    Unrecognized {
        reason: String,
    },
}

impl TargetSpec {
    /// The kind's name as stored and printed (`percent`, `units`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            TargetSpec::None => "none",
            TargetSpec::Percent { .. } => "percent",
            TargetSpec::Count { .. } => "count",
            TargetSpec::Composite { .. } => "composite",
            TargetSpec::Ongoing => "ongoing",
            TargetSpec::Milestone { .. } => "milestone",
            TargetSpec::Units(_) => "units",
            TargetSpec::Unrecognized { .. } => "unrecognized",
        }
    }

    /// The measure a judged agency reports for this target.
    pub fn measure(&self) -> Option<MeasureKind> {
        match self {
            TargetSpec::Percent { .. } => Some(MeasureKind::Percent),
            TargetSpec::Count { unit, .. } => Some(MeasureKind::Count { unit: unit.clone() }),
            TargetSpec::Ongoing | TargetSpec::Milestone { .. } | TargetSpec::Units(_) => Some(MeasureKind::Status),
            TargetSpec::Composite { .. } | TargetSpec::None | TargetSpec::Unrecognized { .. } => None,
        }
    }

    /// Every unit reference inside the target.
    pub fn unit_refs(&self) -> Vec<&UnitRef> {
        match self {
            TargetSpec::Units(u) => u.named.iter().chain(u.per_district.iter().map(|q| &q.district)).collect(),
            _ => Vec::new(),
        }
    }
}

/// A yearly target: the raw text and what it means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub raw: String,
    #[serde(flatten)]
    pub spec: TargetSpec,
}

/// Splits a list of unit names and resolves them. The agency directory implements it.
pub trait UnitListParser {
    /// `None` when the text does not read as a list of units at all.
    fn parse_units(&self, text: &str) -> Option<Vec<UnitRef>>;
}

/// A parser that splits on commas and `và` and resolves nothing: for tests and for
/// reading targets before the directory is loaded.
pub struct CommaSplitter;

impl UnitListParser for CommaSplitter {
    fn parse_units(&self, text: &str) -> Option<Vec<UnitRef>> {
        let f = fold(text);
        if !(f.contains("ubnd") || f.contains("sở") || f.contains("xã") || f.contains("phường")) {
            return None;
        }
        Some(
            text.split([',', ';'])
                .flat_map(|p| p.split(" và "))
                .map(clean)
                .filter(|p| !p.is_empty())
                .map(|name| UnitRef { name, agency: None })
                .collect(),
        )
    }
}

impl Target {
    /// Reads a raw target cell. Never fails: what it cannot read is `Unrecognized`.
    pub fn parse(raw: &str, units: &dyn UnitListParser) -> Self {
        let raw_clean = clean_multiline(raw);
        let spec = parse_spec(&raw_clean, units);
        Target { raw: raw_clean, spec }
    }
}

fn unrecognized(reason: impl Into<String>) -> TargetSpec {
    TargetSpec::Unrecognized { reason: reason.into() }
}

fn parse_spec(raw: &str, units: &dyn UnitListParser) -> TargetSpec {
    let one_line = clean(raw);
    let folded = fold(&one_line);
    if folded.is_empty() {
        return TargetSpec::None;
    }
    if folded == "thường xuyên" || folded == "hằng năm" || folded == "hàng năm" {
        return TargetSpec::Ongoing;
    }
    if folded == "x" || folded.starts_with("hoàn thành") {
        return TargetSpec::Milestone { deadline: None };
    }
    if let Some(deadline) = parse_deadline(&folded) {
        return TargetSpec::Milestone { deadline: Some(deadline) };
    }
    if folded.starts_with("mỗi huyện") {
        return match parse_commune_share(&folded) {
            Some(t) => TargetSpec::Units(UnitTarget { communes_per_district: Some(t), ..Default::default() }),
            None => unrecognized("a per-district share of communes without a readable percent"),
        };
    }
    if let Some((threshold, rest)) = leading_percent(&one_line) {
        return parse_after_percent(threshold, rest, raw, units);
    }
    if let Some(spec) = parse_counts(&one_line) {
        return spec;
    }
    match units.parse_units(&one_line) {
        Some(named) if !named.is_empty() => TargetSpec::Units(UnitTarget { named, ..Default::default() }),
        _ => unrecognized("neither a percent, a count, a status, a deadline nor a list of units"),
    }
}

/// `Tháng 12/2023`, `tháng 12 năm 2023`, `Quý IV/2023` → the deadline month.
fn parse_deadline(folded: &str) -> Option<YearMonth> {
    if let Some(rest) = folded.strip_prefix("tháng") {
        let nums: Vec<&str> = rest.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).collect();
        if let [m, y] = nums.as_slice() {
            let month: u32 = m.parse().ok()?;
            let year: i32 = y.parse().ok()?;
            let only_digits_and_words =
                rest.chars().all(|c| c.is_ascii_digit() || c.is_whitespace() || c == '/' || "năm".contains(c));
            return ((1..=12).contains(&month) && y.len() == 4 && only_digits_and_words)
                .then_some(YearMonth { year, month });
        }
        return None;
    }
    if folded.starts_with("quý") {
        let period: crate::domain::Period = folded.parse().ok()?;
        return Some(YearMonth { year: period.year(), month: u32::from(period.quarter()) * 3 });
    }
    None
}

/// `mỗi huyện, tx, tp chọn 30% đơn vị cấp xã` → 30%.
fn parse_commune_share(folded: &str) -> Option<Threshold> {
    let idx = folded.find("chọn")?;
    let (t, _) = leading_percent(folded[idx + "chọn".len()..].trim())?;
    Some(t)
}

/// A leading `>80%` / `80 %` / `≥80%`: the threshold and the text after it.
fn leading_percent(s: &str) -> Option<(Threshold, &str)> {
    let (cmp, body) = leading_comparator(s);
    let split = split_number(body)?;
    let after = split.unit.strip_prefix('%')?;
    let value = parse_number(split.number).ok()?;
    Some((Threshold { cmp, value }, after.trim()))
}

fn leading_comparator(s: &str) -> (Comparator, &str) {
    let s = s.trim();
    for (prefix, cmp) in [
        (">=", Comparator::AtLeast),
        ("≥", Comparator::AtLeast),
        (">", Comparator::Greater),
        ("trên ", Comparator::Greater),
        ("Trên ", Comparator::Greater),
        ("tối thiểu ", Comparator::AtLeast),
        ("Tối thiểu ", Comparator::AtLeast),
        ("ít nhất ", Comparator::AtLeast),
        ("Ít nhất ", Comparator::AtLeast),
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return (cmp, rest.trim_start());
        }
    }
    (Comparator::AtLeast, s)
}

fn parse_after_percent(threshold: Threshold, rest: &str, raw: &str, units: &dyn UnitListParser) -> TargetSpec {
    if rest.is_empty() {
        return TargetSpec::Percent { threshold, scope: None };
    }
    if rest.starts_with('(') && rest.ends_with(')') {
        let scope = clean(&rest[1..rest.len() - 1]);
        return TargetSpec::Percent { threshold, scope: Some(scope) };
    }
    let folded_rest = fold(rest);
    if !folded_rest.starts_with("đơn vị") {
        return unrecognized(format!("unexpected words after the percent: `{rest}`"));
    }
    // The multi-line form: `25% đơn vị, trong đó:` followed by `+ …` lines.
    let mut target = UnitTarget { share: Some(threshold), ..Default::default() };
    let plus_lines: Vec<&str> = raw.split('+').skip(1).map(str::trim).filter(|l| !l.is_empty()).collect();
    if !plus_lines.is_empty() {
        for line in plus_lines {
            if let Err(reason) = parse_plus_line(line, &mut target, units) {
                return unrecognized(reason);
            }
        }
        return TargetSpec::Units(target);
    }
    // The one-line form: `20% đơn vị gồm: UBND tp Vĩnh Long, UBND tx Bình Minh`.
    let after_unit = rest["đơn vị".len().min(rest.len())..].trim();
    let list = strip_keyword(after_unit);
    if list.is_empty() {
        return TargetSpec::Units(target);
    }
    match units.parse_units(list) {
        Some(named) if !named.is_empty() => {
            target.named = named;
            TargetSpec::Units(target)
        }
        _ => unrecognized(format!("could not read the units in `{list}`")),
    }
}

/// Drops a leading `gồm`, `gồm:`, `, trong đó:`.
fn strip_keyword(s: &str) -> &str {
    let mut s = s.trim_start_matches([',', ':', ' ']);
    for kw in ["gồm", "trong đó", "bao gồm"] {
        if let Some(rest) = s.strip_prefix(kw) {
            s = rest;
        }
    }
    s.trim_start_matches([',', ':', ' ']).trim()
}

/// One `+ …` line of a multi-line unit target.
fn parse_plus_line(line: &str, target: &mut UnitTarget, units: &dyn UnitListParser) -> Result<(), String> {
    let line = clean(line);
    let Some((head, body)) = line.split_once(':') else {
        return Err(format!("a `+` line without `:`: `{line}`"));
    };
    let head_folded = fold(head);
    let body = body.trim();
    if head_folded == "cấp xã" {
        let share = parse_commune_share(&fold(body)).ok_or_else(|| format!("no percent of communes in `{body}`"))?;
        target.communes_per_district = Some(share);
        return Ok(());
    }
    if head_folded == "cấp tỉnh" || head_folded == "cấp huyện" {
        let named = units.parse_units(body).ok_or_else(|| format!("could not read the units in `{body}`"))?;
        target.named.extend(named);
        return Ok(());
    }
    // `tp Vĩnh Long: 4 phường`
    let split = split_number(body).ok_or_else(|| format!("no count of communes in `{line}`"))?;
    let count = parse_number(split.number).map_err(|e| e.to_string())?;
    let unit_word = fold(split.unit);
    if !matches!(unit_word.as_str(), "xã" | "phường" | "thị trấn" | "đơn vị") || count.fract() != 0.0 || count < 0.0
    {
        return Err(format!("expected a number of communes like `4 phường` in `{line}`"));
    }
    let district = units
        .parse_units(head)
        .and_then(|mut v| (v.len() == 1).then(|| v.remove(0)))
        .unwrap_or(UnitRef { name: clean(head), agency: None });
    target.per_district.push(DistrictQuota { district, count: count as u32, unit_word });
    Ok(())
}

/// `01 chuyên gia`, `>10 sản phẩm`, `150`, `1.000 lượt`, and the composite
/// `300 cá nhân, cơ sở, doanh nghiệp 600 sản phẩm 100 giao dịch`.
fn parse_counts(s: &str) -> Option<TargetSpec> {
    let (cmp, body) = leading_comparator(s);
    let mut pairs: Vec<(f64, String)> = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        let split = split_number(rest)?;
        let value = parse_number(split.number).ok()?;
        // The unit runs to the next number.
        let unit_end = split.unit.find(|c: char| c.is_ascii_digit()).unwrap_or(split.unit.len());
        let unit = split.unit[..unit_end].trim().trim_end_matches([',', ';']).trim().to_string();
        if unit.starts_with('%') {
            return None;
        }
        pairs.push((value, unit));
        rest = split.unit[unit_end..].trim();
    }
    match pairs.len() {
        0 => None,
        1 => {
            let (value, unit) = pairs.remove(0);
            Some(TargetSpec::Count { threshold: Threshold { cmp, value }, unit: (!unit.is_empty()).then_some(unit) })
        }
        _ => {
            if pairs.iter().any(|(_, u)| u.is_empty()) {
                return None;
            }
            let measures = pairs
                .into_iter()
                .map(|(value, unit)| MeasureTarget { key: slug(&unit), unit, threshold: Threshold { cmp, value } })
                .collect();
            Some(TargetSpec::Composite { measures })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> TargetSpec {
        Target::parse(raw, &CommaSplitter).spec
    }

    fn pct(cmp: Comparator, value: f64) -> TargetSpec {
        TargetSpec::Percent { threshold: Threshold { cmp, value }, scope: None }
    }

    #[test]
    fn simple_kinds() {
        use Comparator::*;
        let cases: Vec<(&str, TargetSpec)> = vec![
            ("", TargetSpec::None),
            ("\u{a0}", TargetSpec::None),
            ("100%", pct(AtLeast, 100.0)),
            ("80%", pct(AtLeast, 80.0)),
            (">80%", pct(Greater, 80.0)),
            (">50%", pct(Greater, 50.0)),
            ("5%", pct(AtLeast, 5.0)),
            ("Thường xuyên", TargetSpec::Ongoing),
            ("X", TargetSpec::Milestone { deadline: None }),
            ("Hoàn thành các mục tiêu của Kế hoạch", TargetSpec::Milestone { deadline: None }),
            ("Hoàn thành phê duyệt Đề án/Kế hoạch và bắt đầu triển khai", TargetSpec::Milestone { deadline: None }),
            ("Tháng 12/2023", TargetSpec::Milestone { deadline: Some(YearMonth { year: 2023, month: 12 }) }),
            ("Quý IV/2024", TargetSpec::Milestone { deadline: Some(YearMonth { year: 2024, month: 12 }) }),
            ("600 lượt", TargetSpec::Count { threshold: Threshold::at_least(600.0), unit: Some("lượt".into()) }),
            ("1.000 lượt", TargetSpec::Count { threshold: Threshold::at_least(1000.0), unit: Some("lượt".into()) }),
            (
                "01 chuyên gia",
                TargetSpec::Count { threshold: Threshold::at_least(1.0), unit: Some("chuyên gia".into()) },
            ),
            (
                ">10 sản phẩm",
                TargetSpec::Count {
                    threshold: Threshold { cmp: Greater, value: 10.0 }, unit: Some("sản phẩm".into())
                },
            ),
            ("150", TargetSpec::Count { threshold: Threshold::at_least(150.0), unit: None }),
            (
                "100% (hộ gia đình xã nông thôn mới nâng cao)",
                TargetSpec::Percent {
                    threshold: Threshold::at_least(100.0),
                    scope: Some("hộ gia đình xã nông thôn mới nâng cao".into()),
                },
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(parse(raw), expected, "raw {raw:?}");
        }
    }

    #[test]
    fn composite() {
        let TargetSpec::Composite { measures } = parse("300 cá nhân, cơ sở, doanh nghiệp 600 sản phẩm 100 giao dịch")
        else {
            panic!("not composite");
        };
        let got: Vec<(&str, &str, f64)> =
            measures.iter().map(|m| (m.key.as_str(), m.unit.as_str(), m.threshold.value)).collect();
        assert_eq!(
            got,
            vec![
                ("ca_nhan_co_so_doanh_nghiep", "cá nhân, cơ sở, doanh nghiệp", 300.0),
                ("san_pham", "sản phẩm", 600.0),
                ("giao_dich", "giao dịch", 100.0)
            ]
        );
        let TargetSpec::Composite { measures } = parse("500 cá nhân, cơ sở, doanh nghiệp 1.300 sản phẩm 300 giao dịch")
        else {
            panic!("not composite");
        };
        assert_eq!(measures[1].threshold.value, 1300.0);
    }

    #[test]
    fn unit_lists() {
        let TargetSpec::Units(u) = parse("20% đơn vị gồm: UBND tp Vĩnh Long, UBND tx Bình Minh") else {
            panic!()
        };
        assert_eq!(u.share, Some(Threshold::at_least(20.0)));
        assert_eq!(
            u.named.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
            ["UBND tp Vĩnh Long", "UBND tx Bình Minh"]
        );

        let TargetSpec::Units(u) = parse("15% đơn vị gồm UBND huyện Bình Tân") else { panic!() };
        assert_eq!(u.named.len(), 1);

        let TargetSpec::Units(u) = parse("UBND tp Vĩnh Long, UBND tx Bình Minh") else { panic!() };
        assert_eq!(u.share, None);
        assert_eq!(u.named.len(), 2);

        let TargetSpec::Units(u) = parse("mỗi huyện, tx, tp chọn 30% đơn vị cấp xã") else { panic!() };
        assert_eq!(u.communes_per_district, Some(Threshold::at_least(30.0)));

        let raw = "10% đơn vị gồm: \n+ tp Vĩnh Long: 4 phường \n\n+ Bình Minh: 1 xã \n+ Tam Bình:1 xã";
        let TargetSpec::Units(u) = parse(raw) else { panic!() };
        assert_eq!(u.share, Some(Threshold::at_least(10.0)));
        let quotas: Vec<(&str, u32, &str)> =
            u.per_district.iter().map(|q| (q.district.name.as_str(), q.count, q.unit_word.as_str())).collect();
        assert_eq!(quotas, [("tp Vĩnh Long", 4, "phường"), ("Bình Minh", 1, "xã"), ("Tam Bình", 1, "xã")]);

        let raw = "25% đơn vị, trong đó: \n+ cấp tỉnh: Sở Công Thương, Sở Nội vụ \n\n+ cấp huyện: UBND tp Vĩnh Long\n\n+ cấp xã: mỗi huyện, thị xã, thành phố chọn 25% đơn vị";
        let TargetSpec::Units(u) = parse(raw) else { panic!() };
        assert_eq!(u.named.len(), 3);
        assert_eq!(u.communes_per_district, Some(Threshold::at_least(25.0)));
    }

    #[test]
    fn unrecognized_is_flagged_not_guessed() {
        for raw in ["khoảng 50", "50% người dân", "tùy tình hình", "80% + 5", "+ tp: abc"] {
            assert_eq!(parse(raw).kind(), "unrecognized", "raw {raw:?}");
        }
    }

    #[test]
    fn raw_text_is_kept() {
        let t = Target::parse("  1.000\u{a0}lượt ", &CommaSplitter);
        assert_eq!(t.raw, "1.000 lượt");
    }

    #[test]
    fn serializes_flat() {
        let t = Target::parse(">80%", &CommaSplitter);
        let s = toml::to_string(&t).unwrap();
        assert!(s.contains("kind = \"percent\""), "{s}");
        assert!(s.contains("cmp = \"greater\""), "{s}");
        let back: Target = toml::from_str(&s).unwrap();
        assert_eq!(back, t);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = Target::parse(&s, &CommaSplitter);
        }

        #[test]
        fn percents_round_trip(v in 0u32..=100, strict in proptest::bool::ANY) {
            let raw = format!("{}{v}%", if strict { ">" } else { "" });
            let cmp = if strict { Comparator::Greater } else { Comparator::AtLeast };
            proptest::prop_assert_eq!(parse(&raw), pct(cmp, f64::from(v)));
        }
    }
}
