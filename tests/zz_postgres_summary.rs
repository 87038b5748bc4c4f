//! The last test binary of `cargo test` (test binaries run in name order): says how many
//! warehouse tests ran their PostgreSQL half, so a run without `CHISO_TEST_DATABASE_URL`
//! does not pass for a full one. The line is written past the test harness's capture, so
//! it shows in the plain `cargo test` output:
//!
//! `PostgreSQL: 0 of 27 warehouse tests ran (set CHISO_TEST_DATABASE_URL to run them)`
//!
//! With `CHISO_REQUIRE_POSTGRES` set (`.ci/run` sets it), a skipped half fails this test.

mod common;

use std::io::Write;

#[test]
fn postgresql_halves_of_the_warehouse_tests() {
    let dir = common::pg_halves_dir();
    let mut ran = std::collections::BTreeSet::new();
    let mut skipped = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.lines() {
            match line.split_once('\t') {
                Some(("ran", test)) => ran.insert(format!("{}:{test}", entry.file_name().to_string_lossy())),
                Some(("skipped", test)) => skipped.insert(format!("{}:{test}", entry.file_name().to_string_lossy())),
                _ => false,
            };
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let total = ran.len() + skipped.len();
    if total == 0 {
        // Run alone (`cargo test --test zz_postgres_summary`): nothing to report.
        return;
    }
    let line = if skipped.is_empty() {
        format!("PostgreSQL: {} of {total} warehouse tests ran", ran.len())
    } else {
        format!("PostgreSQL: {} of {total} warehouse tests ran (set CHISO_TEST_DATABASE_URL to run them)", ran.len())
    };
    // Straight to the process's stderr: the harness captures only print! and eprint!.
    let _ = writeln!(std::io::stderr().lock(), "\n{line}\n");
    assert!(
        skipped.is_empty() || std::env::var_os("CHISO_REQUIRE_POSTGRES").is_none(),
        "CHISO_REQUIRE_POSTGRES is set and {} warehouse tests skipped PostgreSQL",
        skipped.len()
    );
}
