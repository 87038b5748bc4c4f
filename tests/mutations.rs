//! Damaged workbooks: corpus files in each format (xlsx, xls, ods) with bytes flipped, cut
//! or repeated are read in-process. No panic may escape the reader, and a damaged file may
//! store nothing beyond what the intact file stores: (item, measure, agency, value, cell)
//! of a mutant's figures are a subset of the original's (for xls, which has no checksum,
//! without the value: see the test).
//!
//! Each case is `chiso::ingest::parse_to_vecs` minus its first step: the assignments of
//! the year (the same for every case, and most of a small file's reading time) are built
//! once and handed to `parse_file`, which is what `parse_to_vecs` then calls.
//!
//! A damaged length field can make a reader ask for gigabytes; the test caps its own
//! address space (`prlimit`, when present) so such a file aborts this test, not the machine.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use chiso::catalog::assign::Assignments;
use chiso::ingest::layout::Mapping;
use chiso::ingest::normalize::Normalized;
use chiso::ingest::{FileSpec, parse_file, parse_to_vecs};
use proptest::prelude::*;

const FILES: [(&str, &str, Option<&str>); 9] = [
    ("w01_stt_plan_number.xlsx", "2024-Q2", Some("so_yt")),
    ("w01_stt_plan_number.xls", "2024-Q2", Some("so_yt")),
    ("w01_stt_plan_number.ods", "2024-Q2", Some("so_yt")),
    ("w08_three_row_header.xlsx", "2024-Q2", Some("so_ct")),
    ("w08_three_row_header.xls", "2024-Q2", Some("so_ct")),
    ("w08_three_row_header.ods", "2024-Q2", Some("so_ct")),
    ("l01_nam_quy.xlsx", "2024-Q2", None),
    ("l01_nam_quy.xls", "2024-Q2", None),
    ("l01_nam_quy.ods", "2024-Q2", None),
];

type Tuple = (String, String, String, String, String);

struct Fixture {
    name: &'static str,
    bytes: Vec<u8>,
    spec: FileSpec,
    original: BTreeSet<Tuple>,
}

struct World {
    dir: chiso::catalog::Directory,
    catalog: chiso::catalog::plan::Catalog,
    assignments: Assignments,
    files: Vec<Fixture>,
}

fn tuples(obs: &[chiso::ingest::normalize::NewObservation]) -> BTreeSet<Tuple> {
    obs.iter()
        .map(|o| {
            (o.item.to_string(), o.measure.clone(), o.agency.to_string(), format!("{:?}", o.value), o.location.clone())
        })
        .collect()
}

/// At most 4 GiB of address space for this test process.
fn cap_memory() {
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("prlimit").args(["--pid", pid.as_str(), "--as=4294967296:4294967296"]).status();
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        cap_memory();
        let (dir, catalog) = common::catalog();
        let period: chiso::domain::Period = "2024-Q2".parse().expect("a period");
        let date = chiso::domain::ReportingCalendar::default().cutoff(period);
        let files = FILES
            .iter()
            .map(|(name, period, agency)| {
                let bytes = std::fs::read(common::repo(&format!("tests/data/corpus/{name}"))).expect("a corpus file");
                let spec = FileSpec {
                    file_name: name.to_string(),
                    mapping: Mapping::default(),
                    agency: agency.map(|a| chiso::domain::AgencyId::parse(a).expect("an agency id")),
                    period: period.parse().expect("a period"),
                };
                let (_, obs, _) = parse_to_vecs(Arc::from(bytes.clone()), &spec, &catalog, &dir, date);
                Fixture { name, bytes, spec, original: tuples(&obs) }
            })
            .collect();
        let assignments = Assignments::new(&catalog, &dir, 2024, date);
        World { dir, catalog, assignments, files }
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    /// XOR the byte at a position with a mask.
    Flip { at: usize, mask: u8 },
    /// Drop a slice.
    Cut { at: usize, len: usize },
    /// Keep only the head of the file.
    Truncate { at: usize },
    /// Insert a copy of a slice right after it.
    Repeat { at: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        2 => (any::<usize>(), 1usize..4096).prop_map(|(at, len)| Mutation::Cut { at, len }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        2 => (any::<usize>(), 1usize..4096).prop_map(|(at, len)| Mutation::Repeat { at, len }),
    ]
}

fn apply(bytes: &[u8], m: &Mutation) -> Vec<u8> {
    let n = bytes.len().max(1);
    let mut out = bytes.to_vec();
    match *m {
        Mutation::Flip { at, mask } => {
            let at = at % n;
            if let Some(b) = out.get_mut(at) {
                *b ^= mask;
            }
        }
        Mutation::Cut { at, len } => {
            let at = at % n;
            let end = (at + len).min(out.len());
            out.drain(at..end);
        }
        Mutation::Truncate { at } => out.truncate(at % n),
        Mutation::Repeat { at, len } => {
            let at = at % n;
            let end = (at + len).min(bytes.len());
            let slice = bytes[at..end].to_vec();
            out.splice(end..end, slice);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, max_shrink_iters: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn damaged_workbooks_never_panic_nor_store_what_the_file_does_not_say(which in 0usize..FILES.len(), m in mutation()) {
        let extra = extra_figures(which, &m);
        prop_assert!(extra.is_empty(), "{} mutated by {:?} stores what the intact file does not: {:?}", FILES[which].0, m, extra);
    }
}

/// What the mutant of file `which` stores that the intact file does not.
fn extra_figures(which: usize, m: &Mutation) -> Vec<Tuple> {
    let w = world();
    let f = &w.files[which];
    let mutant = apply(&f.bytes, m);
    let mut obs = Vec::new();
    let summary = parse_file(Arc::from(mutant), &f.spec, &w.catalog, &w.dir, &w.assignments, &mut |n| {
        if let Normalized::Observations(o) = n {
            obs.extend(o);
        }
    });
    // A file refused whole keeps nothing, as in the warehouse (one transaction).
    if summary.file_reject.is_some() {
        obs.clear();
    }
    // xlsx and ods are zips whose parts carry a CRC: damage is detected. An xls has no
    // checksum: a flipped bit inside a number is a different number that the damaged file
    // really holds, which no reader can tell. There the mutant may change a value, but
    // never store a figure at a cell, or for an item or agency, the intact file does not.
    // The same holds for the sheet's name in the location (`Biểu 01!D14`): the cell stays.
    let cell_of = |loc: &str| loc.rsplit_once('!').map_or(loc.to_string(), |(_, c)| c.to_string());
    let project = |t: &Tuple| {
        if f.name.ends_with(".xls") {
            (t.0.clone(), t.1.clone(), t.2.clone(), String::new(), cell_of(&t.4))
        } else {
            t.clone()
        }
    };
    let original: BTreeSet<Tuple> = f.original.iter().map(project).collect();
    tuples(&obs).iter().map(project).filter(|t| !original.contains(t)).collect()
}

/// Mutants a random draw once found, replayed on every run.
#[test]
fn damaged_cases_found_before_store_nothing_new() {
    let cases = [(4, Mutation::Flip { at: 9829725748751079694, mask: 154 })];
    for (which, m) in cases {
        assert_eq!(FILES[which].0, "w08_three_row_header.xls");
        let extra = extra_figures(which, &m);
        assert!(
            extra.is_empty(),
            "{} mutated by {:?} stores what the intact file does not: {:?}",
            FILES[which].0,
            m,
            extra
        );
    }
}

#[test]
fn the_intact_files_store_figures() {
    for f in &world().files {
        assert!(!f.original.is_empty() || f.name.starts_with("l01"), "{} stores nothing intact", f.name);
    }
}
