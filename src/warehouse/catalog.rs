//! Storing the plan catalogue and the agency directory, idempotently: loading the same
//! files twice writes nothing the second time, and a changed file updates rows in place so
//! indicator ids (which observations and evaluations refer to) never change.
//!
//! Owns: the stored plan catalogue and directory, and their indicator ids. Receives:
//! `catalog::plan::Catalog` and `catalog::Directory` from `app::Context` and `cli::plan`.
//! Hands on: `CatalogLoad` (with its `Counts`) to them; indicator ids to
//! `warehouse::collect` (`indicator_id_map`); `dump_catalog` to the tests.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{QueryContext, Warehouse, WarehouseError, json, with_pool};
use crate::catalog::Directory;
use crate::catalog::plan::{Catalog, Indicator};

/// How many rows a load inserted, updated, left alone, or retired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Rows no longer in the files, kept (history refers to them) but marked inactive.
    pub retired: usize,
}

impl Counts {
    pub fn changed(&self) -> bool {
        self.inserted + self.updated + self.retired > 0
    }
}

/// What `chiso plan load` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CatalogLoad {
    pub plan_id: String,
    pub plan: Counts,
    pub agencies: Counts,
    pub indicators: Counts,
}

/// The content of an indicator that, when it changes, rewrites its row, targets and
/// assignments.
#[derive(Serialize)]
struct IndicatorContent<'a> {
    section: &'a str,
    task: &'a str,
    legal_basis: &'a str,
    measures: &'a [crate::catalog::plan::Measure],
    trajectory: crate::catalog::plan::Trajectory,
    aggregate: crate::catalog::plan::Aggregate,
    tolerance: Option<f64>,
    flags: &'a [crate::catalog::plan::Flag],
    settled: &'a Option<String>,
    targets: &'a std::collections::BTreeMap<i32, crate::domain::Target>,
    lead: &'a [crate::domain::AgencyId],
    co: &'a [crate::domain::AgencyId],
}

fn indicator_sha(i: &Indicator) -> String {
    crate::sha256_hex(
        json(&IndicatorContent {
            section: i.section.as_str(),
            task: &i.task,
            legal_basis: &i.legal_basis,
            measures: &i.measures,
            trajectory: i.trajectory,
            aggregate: i.aggregate,
            tolerance: i.tolerance,
            flags: &i.flags,
            settled: &i.settled,
            targets: &i.targets,
            lead: &i.lead,
            co: &i.co,
        })
        .as_bytes(),
    )
}

fn snake<T: Serialize>(v: &T) -> String {
    json(v).trim_matches('"').to_string()
}

// The steps of `load_catalog` are macros, not functions: each runs the same statements on
// either backend's transaction (`with_pool!` gives a SQLite or a PostgreSQL one), and a
// function generic over sqlx's `Database` would need a bound for every bound type.

/// Writes the directory's agencies: new and changed ones upserted, those no longer in the
/// directory marked so (kept: history refers to them).
macro_rules! store_agencies {
    ($tx:ident, $dir:expr, $now:expr, $counts:expr) => {{
        let existing: HashMap<String, (String, bool)> =
            sqlx::query("SELECT id, content_sha, in_directory FROM agencies")
                .fetch_all(&mut *$tx)
                .await
                .op("agency read")?
                .into_iter()
                .map(|r| (r.get::<String, _>(0), (r.get::<String, _>(1), r.get::<bool, _>(2))))
                .collect();
        for a in $dir.iter() {
            let sha = crate::sha256_hex(json(a).as_bytes());
            match existing.get(a.id.as_str()) {
                Some((old, true)) if *old == sha => {
                    $counts.unchanged += 1;
                    continue;
                }
                Some(_) => $counts.updated += 1,
                None => $counts.inserted += 1,
            }
            sqlx::query(
                "INSERT INTO agencies (id, name, short_name, level, parent_id, code, emails, aliases, valid_from, valid_to, \
                 successors, members, contact_via, note, content_sha, in_directory, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, short_name = excluded.short_name, level = excluded.level, \
                 parent_id = excluded.parent_id, code = excluded.code, emails = excluded.emails, aliases = excluded.aliases, \
                 valid_from = excluded.valid_from, valid_to = excluded.valid_to, successors = excluded.successors, \
                 members = excluded.members, contact_via = excluded.contact_via, note = excluded.note, \
                 content_sha = excluded.content_sha, in_directory = excluded.in_directory, updated_at = excluded.updated_at",
            )
            .bind(a.id.as_str())
            .bind(&a.name)
            .bind(&a.short_name)
            .bind(snake(&a.level))
            .bind(a.parent.as_ref().map(|p| p.as_str()))
            .bind(&a.code)
            .bind(json(&a.emails))
            .bind(json(&a.aliases))
            .bind(a.valid_from)
            .bind(a.valid_to)
            .bind(json(&a.successors))
            .bind(a.members.as_ref().map(json))
            .bind(a.contact_via.as_ref().map(|c| c.as_str()))
            .bind(&a.note)
            .bind(&sha)
            .bind(true)
            .bind($now)
            .execute(&mut *$tx)
            .await
            .op("agency write")?;
        }
        for (id, (_, in_dir)) in &existing {
            if *in_dir && $dir.get_str(id).is_none() {
                sqlx::query("UPDATE agencies SET in_directory = $1, updated_at = $2 WHERE id = $3")
                    .bind(false)
                    .bind($now)
                    .bind(id)
                    .execute(&mut *$tx)
                    .await
                    .op("agency retire")?;
                $counts.retired += 1;
            }
        }
    }};
}

/// Writes the plan's row when its fingerprint changed.
macro_rules! store_plan {
    ($tx:ident, $catalog:expr, $now:expr, $counts:expr) => {{
        let plan = &$catalog.plan;
        let old_fingerprint: Option<String> = sqlx::query_scalar("SELECT fingerprint FROM plans WHERE id = $1")
            .bind(&plan.id)
            .fetch_optional(&mut *$tx)
            .await
            .op("plan read")?;
        match old_fingerprint.as_deref() {
            Some(f) if f == $catalog.fingerprint => $counts.unchanged += 1,
            other => {
                if other.is_some() {
                    $counts.updated += 1;
                } else {
                    $counts.inserted += 1;
                }
                let issued: NaiveDate = plan.issued_on;
                sqlx::query(
                    "INSERT INTO plans (id, symbol, title, issued_on, years, source, source_sha256, fingerprint, loaded_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET symbol = excluded.symbol, \
                     title = excluded.title, issued_on = excluded.issued_on, years = excluded.years, source = excluded.source, \
                     source_sha256 = excluded.source_sha256, fingerprint = excluded.fingerprint, loaded_at = excluded.loaded_at",
                )
                .bind(&plan.id)
                .bind(&plan.symbol)
                .bind(&plan.title)
                .bind(issued)
                .bind(json(&plan.years))
                .bind(&plan.source)
                .bind(&plan.source_sha256)
                .bind(&$catalog.fingerprint)
                .bind($now)
                .execute(&mut *$tx)
                .await
                .op("plan write")?;
            }
        }
    }};
}

/// Writes the plan's indicators with their targets and assignments: new and changed ones
/// upserted (an existing row keeps its id), those no longer in the plan marked inactive.
macro_rules! store_indicators {
    ($tx:ident, $catalog:expr, $now:expr, $counts:expr) => {{
        let plan = &$catalog.plan;
        let existing: HashMap<String, (i64, String, bool)> =
            sqlx::query("SELECT item_key, id, content_sha, active FROM indicators WHERE plan_id = $1")
                .bind(&plan.id)
                .fetch_all(&mut *$tx)
                .await
                .op("indicator read")?
                .into_iter()
                .map(|r| (r.get::<String, _>(0), (r.get::<i64, _>(1), r.get::<String, _>(2), r.get::<bool, _>(3))))
                .collect();
        for ind in &$catalog.indicators {
            let key = ind.key.to_string();
            let sha = indicator_sha(ind);
            match existing.get(&key) {
                Some((_, old, true)) if *old == sha => {
                    $counts.unchanged += 1;
                    continue;
                }
                Some(_) => $counts.updated += 1,
                None => $counts.inserted += 1,
            }
            // One upsert for new and changed rows; the id of an existing row is kept.
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO indicators (plan_id, item_key, number, sub, section, task, legal_basis, measures, trajectory, \
                 aggregate, tolerance, flags, settled, content_sha, active, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                 ON CONFLICT (plan_id, item_key) DO UPDATE SET section = excluded.section, task = excluded.task, \
                 legal_basis = excluded.legal_basis, measures = excluded.measures, trajectory = excluded.trajectory, \
                 aggregate = excluded.aggregate, tolerance = excluded.tolerance, flags = excluded.flags, \
                 settled = excluded.settled, content_sha = excluded.content_sha, active = excluded.active, \
                 updated_at = excluded.updated_at RETURNING id",
            )
            .bind(&plan.id)
            .bind(&key)
            .bind(i64::from(ind.key.number))
            .bind(i64::from(ind.key.sub))
            .bind(ind.section.as_str())
            .bind(&ind.task)
            .bind(&ind.legal_basis)
            .bind(json(&ind.measures))
            .bind(snake(&ind.trajectory))
            .bind(snake(&ind.aggregate))
            .bind(ind.tolerance)
            .bind(json(&ind.flags))
            .bind(&ind.settled)
            .bind(&sha)
            .bind(true)
            .bind($now)
            .fetch_one(&mut *$tx)
            .await
            .op("indicator write")?;
            sqlx::query("DELETE FROM targets WHERE indicator_id = $1")
                .bind(id)
                .execute(&mut *$tx)
                .await
                .op("target delete")?;
            sqlx::query("DELETE FROM assignments WHERE indicator_id = $1")
                .bind(id)
                .execute(&mut *$tx)
                .await
                .op("assignment delete")?;
            for (year, target) in &ind.targets {
                sqlx::query(
                    "INSERT INTO targets (indicator_id, year, raw, kind, spec) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(i64::from(*year))
                .bind(&target.raw)
                .bind(target.spec.kind())
                .bind(json(&target.spec))
                .execute(&mut *$tx)
                .await
                .op("target insert")?;
            }
            let roles = ind
                .lead
                .iter()
                .map(|a| (a, "lead"))
                .enumerate()
                .chain(ind.co.iter().map(|a| (a, "co")).enumerate());
            for (position, (agency, role)) in roles {
                sqlx::query(
                    "INSERT INTO assignments (indicator_id, agency_id, role, position) VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(agency.as_str())
                .bind(role)
                .bind(position as i64)
                .execute(&mut *$tx)
                .await
                .op("assignment insert")?;
            }
        }
        for (key, (id, _, active)) in &existing {
            if *active && !$catalog.indicators.iter().any(|i| i.key.to_string() == *key) {
                sqlx::query("UPDATE indicators SET active = $1, updated_at = $2 WHERE id = $3")
                    .bind(false)
                    .bind($now)
                    .bind(id)
                    .execute(&mut *$tx)
                    .await
                    .op("indicator retire")?;
                $counts.retired += 1;
            }
        }
    }};
}

impl Warehouse {
    /// Stores the directory and the catalogue in one transaction.
    pub async fn load_catalog(&self, catalog: &Catalog, dir: &Directory) -> Result<CatalogLoad, WarehouseError> {
        let now = Utc::now();
        let mut report = CatalogLoad { plan_id: catalog.plan.id.clone(), ..Default::default() };
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await.op("catalog load")?;
            store_agencies!(tx, dir, now, report.agencies);
            store_plan!(tx, catalog, now, report.plan);
            store_indicators!(tx, catalog, now, report.indicators);
            tx.commit().await.op("catalog load")?;
            Ok::<_, WarehouseError>(())
        })?;
        Ok(report)
    }

    /// A canonical text dump of the stored catalogue (ids excluded): two warehouses that
    /// hold the same plan dump the same text.
    pub async fn dump_catalog(&self, plan_id: &str) -> Result<String, WarehouseError> {
        with_pool!(self, |pool| {
            let mut out = String::new();
            let plan = sqlx::query(
                "SELECT id, symbol, title, issued_on, years, source_sha256, fingerprint FROM plans WHERE id = $1",
            )
            .bind(plan_id)
            .fetch_optional(pool)
            .await
            .op("plan read")?;
            if let Some(p) = plan {
                let issued: NaiveDate = p.get(3);
                out.push_str(&format!(
                    "plan {} {} {} {} {} {} {}\n",
                    p.get::<String, _>(0),
                    p.get::<String, _>(1),
                    p.get::<String, _>(2),
                    issued,
                    p.get::<String, _>(4),
                    p.get::<String, _>(5),
                    p.get::<String, _>(6)
                ));
            }
            for r in sqlx::query("SELECT id, content_sha, valid_from, valid_to, in_directory FROM agencies ORDER BY id")
                .fetch_all(pool)
                .await
                .op("agency read")?
            {
                let from: Option<NaiveDate> = r.get(2);
                let to: Option<NaiveDate> = r.get(3);
                out.push_str(&format!(
                    "agency {} {} {:?} {:?} {}\n",
                    r.get::<String, _>(0),
                    r.get::<String, _>(1),
                    from,
                    to,
                    r.get::<bool, _>(4)
                ));
            }
            let rows = sqlx::query(
                "SELECT i.item_key, i.section, i.task, i.measures, i.trajectory, i.aggregate, i.flags, i.content_sha, i.active, i.number, i.sub \
                 FROM indicators i WHERE plan_id = $1 ORDER BY i.number, i.sub",
            )
            .bind(plan_id)
            .fetch_all(pool)
            .await
            .op("indicator read")?;
            for r in rows {
                let key: String = r.get(0);
                out.push_str(&format!(
                    "indicator {key} {} {} {} {} {} {} {} {}\n",
                    r.get::<String, _>(1),
                    r.get::<String, _>(2),
                    r.get::<String, _>(3),
                    r.get::<String, _>(4),
                    r.get::<String, _>(5),
                    r.get::<String, _>(6),
                    r.get::<String, _>(7),
                    r.get::<bool, _>(8)
                ));
                let targets = sqlx::query(
                    "SELECT t.year, t.raw, t.kind, t.spec FROM targets t JOIN indicators i ON i.id = t.indicator_id \
                     WHERE i.plan_id = $1 AND i.item_key = $2 ORDER BY t.year",
                )
                .bind(plan_id)
                .bind(&key)
                .fetch_all(pool)
                .await
                .op("target read")?;
                for t in targets {
                    out.push_str(&format!(
                        "  target {} {:?} {} {}\n",
                        t.get::<i64, _>(0),
                        t.get::<String, _>(1),
                        t.get::<String, _>(2),
                        t.get::<String, _>(3)
                    ));
                }
                let assignments = sqlx::query(
                    "SELECT a.role, a.position, a.agency_id FROM assignments a JOIN indicators i ON i.id = a.indicator_id \
                     WHERE i.plan_id = $1 AND i.item_key = $2 ORDER BY a.role, a.position",
                )
                .bind(plan_id)
                .bind(&key)
                .fetch_all(pool)
                .await
                .op("assignment read")?;
                for a in assignments {
                    out.push_str(&format!(
                        "  {} {} {}\n",
                        a.get::<String, _>(0),
                        a.get::<i64, _>(1),
                        a.get::<String, _>(2)
                    ));
                }
            }
            Ok::<_, WarehouseError>(out)
        })
    }
}

impl Warehouse {
    /// `(item key, id)` of a plan's indicators, ordered by item.
    pub async fn indicator_ids(&self, plan_id: &str) -> Result<Vec<(String, i64)>, WarehouseError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query("SELECT item_key, id FROM indicators WHERE plan_id = $1 ORDER BY number, sub")
                .bind(plan_id)
                .fetch_all(pool)
                .await
                .op("indicator read")?;
            Ok(rows.into_iter().map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1))).collect())
        })
    }
}
