//! The settings check of the sources (`chiso config check`, and the service unit's
//! `ExecStartPre`): what a source needs on this machine before its first collection. A
//! drop folder that does not exist, a token variable that is not set, a portal mapping
//! that names items or agencies that do not exist are found here, with the source's id,
//! rather than by a failed collection at night.
//!
//! Owns: `check_sources` and `SourceProblem`. Receives: the `Source`s, the
//! `catalog::Directory`, the `catalog::plan::Catalog` and a `Period` from `cli` (`chiso
//! config check`). Hands on: the list of `SourceProblem`s to `cli`, which prints them.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Source, SourceKind, expand};
use crate::catalog::Directory;
use crate::catalog::plan::Catalog;
use crate::domain::{ItemKey, Period};

/// One problem of one source, in Vietnamese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceProblem {
    pub source: String,
    pub problem: String,
}

/// Every problem of the enabled sources, for `period` (the folder and file names that
/// hold `{year}`/`{quarter}` are checked up to their first placeholder).
pub fn check_sources(sources: &[Source], dir: &Directory, catalog: &Catalog, period: Period) -> Vec<SourceProblem> {
    let mut out = Vec::new();
    for s in sources.iter().filter(|s| s.enabled) {
        let mut problem = |p: String| out.push(SourceProblem { source: s.id.clone(), problem: p });
        if let Some(auth) = &s.auth {
            match std::env::var_os(&auth.env) {
                None => problem(format!(
                    "biến môi trường {} (mã truy cập của nguồn) chưa được đặt: thêm vào tệp môi trường của dịch vụ",
                    auth.env
                )),
                Some(v) if v.to_string_lossy().trim().is_empty() => {
                    problem(format!("biến môi trường {} (mã truy cập của nguồn) đang để trống", auth.env))
                }
                Some(_) => {}
            }
        }
        match &s.kind {
            SourceKind::Folder { path, .. } => {
                if let Some(p) = folder_problem(path, period) {
                    problem(p);
                }
            }
            SourceKind::Http { url } | SourceKind::JsonApi { url, .. } => {
                if let Some(path) = url.strip_prefix("file://") {
                    let parent = Path::new(path).parent().map(Path::to_path_buf).unwrap_or_default();
                    if let Some(p) = folder_problem(&parent, period) {
                        problem(p);
                    }
                }
            }
        }
        if let SourceKind::JsonApi { json, .. } = &s.kind {
            for (code, item) in &json.item_codes {
                if item.parse::<ItemKey>().ok().and_then(|k| catalog.indicator(k)).is_none() {
                    problem(format!(
                        "item_codes: mã “{code}” trỏ tới chỉ tiêu số {item}, kế hoạch không có chỉ tiêu này"
                    ));
                }
            }
            if let Some(p) = &json.item_pattern {
                match super::json_api::ItemPattern::parse(p) {
                    Err(e) => problem(format!("item_pattern: {e}")),
                    Ok(pattern) => {
                        // The pattern must read back every item of the plan.
                        let lost: Vec<String> = catalog
                            .indicators
                            .iter()
                            .map(|i| i.key.to_string())
                            .filter(|k| pattern.item(&pattern.code_for(k)).as_deref() != Some(k.as_str()))
                            .take(3)
                            .collect();
                        if !lost.is_empty() {
                            problem(format!(
                                "item_pattern “{p}” không đọc lại được số chỉ tiêu {} của kế hoạch",
                                lost.join(", ")
                            ));
                        }
                    }
                }
            }
            for (code, agency) in &json.unit_codes {
                if dir.get(agency).is_none() {
                    problem(format!(
                        "unit_codes: mã “{code}” trỏ tới đơn vị “{agency}”, danh mục cơ quan, đơn vị không có đơn vị này"
                    ));
                }
            }
        }
    }
    out
}

/// Why a folder cannot be read, or `None`. A path with placeholders is checked up to the
/// first one (the quarter's own folder may not exist before its files arrive).
fn folder_problem(path: &Path, period: Period) -> Option<String> {
    let shown = path.display().to_string();
    let fixed: PathBuf = if shown.contains('{') {
        let before = &shown[..shown.find('{').unwrap_or(shown.len())];
        match before.rfind('/') {
            Some(i) => PathBuf::from(&before[..i.max(1)]),
            None => PathBuf::from("."),
        }
    } else {
        PathBuf::from(expand(&shown, period))
    };
    match std::fs::read_dir(&fixed) {
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some(format!("thư mục {} không tồn tại: tạo thư mục hoặc sửa đường dẫn (path) của nguồn", fixed.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Some(format!("không có quyền đọc thư mục {}: cấp quyền đọc cho tài khoản chạy chiso", fixed.display()))
        }
        Err(e) => Some(format!("không đọc được thư mục {} ({e})", fixed.display())),
    }
}
