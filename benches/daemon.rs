//! The daemon's start-up and idle footprint, measured on the release binary.
//!
//! ```sh
//! cargo bench --bench daemon                # -- --runs 5
//! ```
//!
//! For each run, on a fresh SQLite warehouse in a temporary directory:
//! * baseline: `chiso --version` (process start, nothing else) and `chiso config check`
//!   (settings, directory, plan, templates loaded and checked; no warehouse, no server),
//!   wall time and peak resident memory;
//! * `chiso serve`, first start (the warehouse is created, migrated and the catalogue
//!   stored) and second start (all there): time from spawn to `GET /readyz` answering 200;
//! * the idle daemon's resident memory (VmRSS) 5 s after it became ready.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port()
}

/// Wall time and peak RSS (KB) of a command run to its end.
fn measure(args: &[&str], dir: &std::path::Path) -> (f64, u64) {
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg(env!("CARGO_BIN_EXE_chiso"))
        .args(args)
        .current_dir(dir)
        .env("CHISO_DATABASE__URL", format!("sqlite://{}", dir.join("chiso.db").display()))
        .stdout(Stdio::null())
        .output()
        .expect("/usr/bin/time runs chiso");
    let secs = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let kb = String::from_utf8_lossy(&out.stderr).lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
    (secs, kb)
}

fn ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    matches!(s.read(&mut buf), Ok(n) if n > 12 && buf.starts_with(b"HTTP/1.1 200"))
}

fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// Seconds from spawn to ready, and the idle VmRSS / VmHWM (KB) after `idle`.
fn serve_once(dir: &std::path::Path, idle: Duration) -> (f64, u64, u64) {
    let port = free_port();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_chiso"))
        .arg("serve")
        .current_dir(dir)
        .env("CHISO_DATABASE__URL", format!("sqlite://{}", dir.join("chiso.db").display()))
        .env("CHISO_ADMIN__BIND", format!("127.0.0.1:{port}"))
        .env("CHISO_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chiso serve starts");
    let mut to_ready = None;
    for _ in 0..20_000 {
        if ready(port) {
            to_ready = Some(started.elapsed().as_secs_f64());
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let to_ready = to_ready.expect("ready within 40 s");
    std::thread::sleep(idle);
    let rss = status_kb(child.id(), "VmRSS:");
    let hwm = status_kb(child.id(), "VmHWM:");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    (to_ready, rss, hwm)
}

fn stats(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args.iter().position(|a| a == "--runs").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(5);
    let mut version = Vec::new();
    let mut check = Vec::new();
    let mut check_kb = 0;
    let mut first = Vec::new();
    let mut second = Vec::new();
    let mut rss = Vec::new();
    let mut hwm = Vec::new();
    for _ in 0..runs {
        let dir = tempfile::tempdir().expect("temp dir");
        version.push(measure(&["--version"], dir.path()).0);
        let (s, kb) = measure(&["config", "check"], dir.path());
        check.push(s);
        check_kb = check_kb.max(kb);
        let (t, _, _) = serve_once(dir.path(), Duration::from_millis(200));
        first.push(t);
        let (t, r, h) = serve_once(dir.path(), Duration::from_secs(5));
        second.push(t);
        rss.push(r as f64 / 1024.0);
        hwm.push(h as f64 / 1024.0);
    }
    let line = |name: &str, v: &mut Vec<f64>, unit: &str| {
        let (min, med, max) = stats(v);
        println!("{name:<58} min {min:>7.3} {unit}  median {med:>7.3} {unit}  max {max:>7.3} {unit}");
    };
    println!("daemon bench, {runs} runs");
    line("baseline: chiso --version", &mut version, "s ");
    line("baseline: chiso config check", &mut check, "s ");
    println!("{:<58} {:.1} MB", "baseline: chiso config check, peak RSS", check_kb as f64 / 1024.0);
    line("serve, fresh warehouse: spawn to /readyz 200", &mut first, "s ");
    line("serve, existing warehouse: spawn to /readyz 200", &mut second, "s ");
    line("serve, idle 5 s after ready: VmRSS", &mut rss, "MB");
    line("serve, idle: VmHWM (peak since start)", &mut hwm, "MB");
}
