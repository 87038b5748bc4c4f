//! Peak memory of a collection whose servers send far more than they should, measured on
//! the `chiso` binary (`/usr/bin/time -f %M`), with the servers in this process.
//!
//! ```sh
//! cargo bench --bench collect_memory              # -- --runs 3 --mib 200
//! ```
//!
//! Five HTTP sources each answer with a chunked body of `--mib` MiB (200 by default) and
//! no Content-Length, so the size limit can only be enforced while reading. Lines, each run:
//! * reference: `chiso config check`, the binary with its settings, directory, plan and
//!   templates loaded and no collection;
//! * `chiso collect` of those five sources on the default settings (50 MiB limit, 4 in
//!   parallel): every body is refused at the limit. The goal is a peak under 100 MB.
//! * the same with the limit raised above the bodies (`max_body_bytes` = 256 MiB): every
//!   body is accepted, and the byte budget (`max_bytes_in_memory`, 64 MiB) lets one body at
//!   a time into memory.

use std::process::{Command, Stdio};
use std::time::Instant;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Serves `/big/{n}.xlsx`: `mib` MiB of zeros in 64 KiB chunks, chunked.
fn start_server(mib: usize) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let app = axum::Router::new().route(
                "/big/{name}",
                axum::routing::get(move || async move {
                    const CHUNK: usize = 64 * 1024;
                    let chunks = mib * 1024 * 1024 / CHUNK;
                    let stream = futures::stream::iter(
                        (0..chunks).map(|_| Ok::<_, std::io::Error>(axum::body::Bytes::from_static(&[0u8; CHUNK]))),
                    );
                    axum::body::Body::from_stream(stream)
                }),
            );
            let _ = axum::serve(listener, app).await;
        });
    });
    port
}

/// Wall time and peak RSS (KB) of one chiso command.
fn measure(dir: &std::path::Path, args: &[&str], env: &[(&str, String)]) -> (f64, u64) {
    let started = Instant::now();
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f").arg("%M").arg(env!("CARGO_BIN_EXE_chiso")).args(args).current_dir(dir).stdout(Stdio::null());
    cmd.env("CHISO_DATABASE__URL", format!("sqlite://{}", dir.join("chiso.db").display()));
    cmd.env("CHISO_COLLECT__SOURCES", dir.join("sources.toml"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("/usr/bin/time runs chiso");
    let secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kb = stderr.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
    (secs, kb)
}

fn main() {
    let runs = arg("--runs", 3);
    let mib = arg("--mib", 200);
    let port = start_server(mib);
    let dir = tempfile::tempdir().expect("dir");
    let sources: String = (1..=5)
        .map(|n| {
            format!(
                "[[source]]\nid = \"big_{n}\"\nagency = \"so_yt\"\nkind = \"http\"\nurl = \"http://127.0.0.1:{port}/big/{n}.xlsx\"\n\n"
            )
        })
        .collect();
    std::fs::write(dir.path().join("sources.toml"), sources).expect("sources");
    let quick = [("CHISO_COLLECT__HTTP__MAX_ATTEMPTS", "1".to_string())];
    let raised = [
        ("CHISO_COLLECT__HTTP__MAX_ATTEMPTS", "1".to_string()),
        ("CHISO_COLLECT__HTTP__MAX_BODY_BYTES", (256u64 * 1024 * 1024).to_string()),
    ];
    println!("collect memory: 5 sources × {mib} MiB chunked bodies, {runs} runs, peak RSS of the chiso process");
    println!("{:<58} {:>9} {:>11}", "", "wall (s)", "peak (MB)");
    let mut rows: Vec<(&str, Vec<(f64, u64)>)> = vec![
        ("reference: chiso config check", Vec::new()),
        ("chiso collect, default limit (50 MiB): all refused", Vec::new()),
        ("chiso collect, limit 256 MiB: all accepted, budget 64 MiB", Vec::new()),
    ];
    for _ in 0..runs {
        rows[0].1.push(measure(dir.path(), &["config", "check"], &[]));
        rows[1].1.push(measure(dir.path(), &["collect", "--period", "2024-Q2"], &quick));
        rows[2].1.push(measure(dir.path(), &["collect", "--period", "2024-Q2"], &raised));
    }
    for (name, samples) in &rows {
        let mut secs: Vec<f64> = samples.iter().map(|s| s.0).collect();
        let mut kb: Vec<u64> = samples.iter().map(|s| s.1).collect();
        secs.sort_by(f64::total_cmp);
        kb.sort_unstable();
        let median = |v: &[u64]| v[v.len() / 2] as f64 / 1024.0;
        println!(
            "{name:<58} {:>9.2} {:>11.1}   (max {:.1})",
            secs[secs.len() / 2],
            median(&kb),
            *kb.last().unwrap_or(&0) as f64 / 1024.0
        );
    }
}
