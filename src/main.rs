use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use meetfield::cli::{self, Cli, Command};
use meetfield::config::{Config, LogFormat};

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(
        &config,
        matches!(cli.command, Command::Serve | Command::Worker),
    );
    for var in Config::unknown_env_vars() {
        tracing::warn!("ignoring {var}: no such setting (see docs/configuration.md)");
    }
    // Blocking work is database calls (at most the pool size at once) and
    // signing; a bounded pool keeps threads and their malloc arenas few.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(64)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(cli::run(cli, config));
    // Let blocking tasks (database calls) finish before exit handlers run.
    runtime.shutdown_timeout(std::time::Duration::from_secs(10));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, no backtrace: the admin reads this.
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// glibc gives threads their own malloc arenas (up to 8 per core), which
/// under delivery load held ~17 MiB more than two arenas do at the same
/// throughput (benches/delivery.rs). `MALLOC_ARENA_MAX` still wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: called first thing in main, before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// The server logs at the configured level; one-shot commands only warn, so
/// their own output stays readable.
fn init_tracing(config: &Config, serving: bool) {
    let filter = if serving || std::env::var_os("RUST_LOG").is_some() {
        std::env::var("RUST_LOG").unwrap_or_else(|_| config.log.clone())
    } else {
        "warn".to_string()
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
