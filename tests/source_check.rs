//! `chiso config check` checks the sources on this machine, as the service unit's
//! `ExecStartPre` runs it: a drop folder that is missing, a token variable that is unset, an
//! item pattern that cannot be read and a unit code that names no agency are each refused
//! with the source's id and the reason, exit 2.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn config_check(dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chiso"));
    cmd.current_dir(dir).args(["config", "check"]).env("NO_COLOR", "1");
    for (k, _) in std::env::vars() {
        if k.starts_with("CHISO_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("CHISO_COLLECT__SOURCES", "sources.toml");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the chiso binary runs")
}

fn all_text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

const PORTAL: &str = r#"
[[source]]
id = "cong_bao_cao"
kind = "json_api"
url = "https://portal.example/api/chi-tieu"
auth = { header = "Authorization", scheme = "Bearer", env = "CHISO_TEST_CHECK_PORTAL_TOKEN" }

[source.json]
records = "$.data[*]"
item = "ma_chi_tieu"
item_pattern = "CDS-{item}"
value = "gia_tri"
unit = "ma_don_vi"
unit_codes = { "VL.DV.013" = "so_yt" }
"#;

#[test]
fn a_sound_source_file_passes() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::create_dir_all(dir.path().join("inbox/so_yt")).expect("inbox");
    let folder = "[[source]]\nid = \"so_yt\"\nagency = \"so_yt\"\nkind = \"folder\"\npath = \"inbox/so_yt\"\n";
    std::fs::write(dir.path().join("sources.toml"), format!("{folder}{PORTAL}")).expect("sources");
    let out = config_check(dir.path(), &[("CHISO_TEST_CHECK_PORTAL_TOKEN", "t0k3n")]);
    assert_eq!(out.status.code(), Some(0), "{}", all_text(&out));
    assert!(all_text(&out).contains("2 nguồn"), "{}", all_text(&out));
}

#[test]
fn a_missing_folder_and_an_unset_token_are_refused_with_the_source_and_the_reason() {
    let dir = tempfile::tempdir().expect("dir");
    let folder = "[[source]]\nid = \"so_yt\"\nagency = \"so_yt\"\nkind = \"folder\"\npath = \"inbox/so_yt\"\n";
    std::fs::write(dir.path().join("sources.toml"), format!("{folder}{PORTAL}")).expect("sources");
    let out = config_check(dir.path(), &[]);
    let text = all_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("nguồn `so_yt`") && text.contains("inbox/so_yt") && text.contains("không tồn tại"), "{text}");
    assert!(
        text.contains("nguồn `cong_bao_cao`")
            && text.contains("CHISO_TEST_CHECK_PORTAL_TOKEN")
            && text.contains("chưa được đặt"),
        "{text}"
    );
    assert!(!text.contains("# OK"), "{text}");
    // An empty variable is no token either.
    std::fs::create_dir_all(dir.path().join("inbox/so_yt")).expect("inbox");
    let out = config_check(dir.path(), &[("CHISO_TEST_CHECK_PORTAL_TOKEN", "  ")]);
    let text = all_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("để trống") && !text.contains("so_yt`: thư mục"), "{text}");
}

#[test]
fn a_bad_item_pattern_is_refused_with_the_source() {
    let dir = tempfile::tempdir().expect("dir");
    let bad = PORTAL.replace("item_pattern = \"CDS-{item}\"", "item_pattern = \"CDS-{so}\"");
    std::fs::write(dir.path().join("sources.toml"), bad).expect("sources");
    let out = config_check(dir.path(), &[("CHISO_TEST_CHECK_PORTAL_TOKEN", "t")]);
    let text = all_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("cong_bao_cao") && text.contains("item_pattern") && text.contains("{item}"), "{text}");
}

#[test]
fn unit_codes_and_item_codes_must_name_real_agencies_and_items() {
    let dir = tempfile::tempdir().expect("dir");
    let bad = PORTAL
        .replace("\"VL.DV.013\" = \"so_yt\"", "\"VL.DV.013\" = \"so_yt\", \"VL.DV.099\" = \"so_khong_co\"")
        .replace(
            "item_pattern = \"CDS-{item}\"",
            "item_pattern = \"CDS-{item}\"\nitem_codes = { \"CDS-X\" = \"999\" }",
        );
    std::fs::write(dir.path().join("sources.toml"), bad).expect("sources");
    let out = config_check(dir.path(), &[("CHISO_TEST_CHECK_PORTAL_TOKEN", "t")]);
    let text = all_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("VL.DV.099") && text.contains("so_khong_co"), "{text}");
    assert!(text.contains("CDS-X") && text.contains("999"), "{text}");
    assert!(!text.contains("VL.DV.013”"), "a sound code is not reported: {text}");
}
