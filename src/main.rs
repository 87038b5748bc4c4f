//! The `chiso` binary: parses the command line, sets up logging, and calls the library.
//! Errors reach the terminal with their whole cause chain.
//!
//! Owns: the process: the Tokio runtime, SIGPIPE, the exit code. Receives: the parsed
//! `cli::Cli` (parsed by `cli::localized`). Hands on: the command to `cli::run`, and its
//! error to `cli::describe_error` and `cli::exit_code`.

// No function past 120 lines, as in the library (clippy.toml).
#![warn(clippy::too_many_lines)]

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    let parsed =
        cli::localized(cli::Cli::command()).try_get_matches().and_then(|matches| cli::Cli::from_arg_matches(&matches));
    let args = match parsed {
        Ok(args) => args,
        Err(e) => {
            let (text, code) = cli::command_line_error(&e);
            if code == ExitCode::SUCCESS {
                println!("{text}");
            } else {
                eprintln!("{text}");
            }
            return code;
        }
    };
    if !matches!(args.command, cli::Command::Serve) {
        restore_sigpipe();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{}: {}: {e}", cli::texts::ERROR_PREFIX, cli::texts::NO_RUNTIME);
            return ExitCode::from(70);
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}: {}", cli::texts::ERROR_PREFIX, cli::describe_error(&e));
            ExitCode::from(cli::exit_code(&e))
        }
    }
}

/// A command whose reader went away (`chiso runs list | head -1`) ends at once, quietly, with
/// the conventional status of a closed pipe, as other command-line tools do; Rust ignores
/// SIGPIPE and would panic on the next print instead. The daemon keeps ignoring it: its
/// sockets' writes report a closed peer as an error.
fn restore_sigpipe() {
    // SAFETY: called before any thread starts; SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
