//! The `herken` command: parse arguments, set up logging, load configuration, hand off.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    let args = cli::Args::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("herken: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// glibc gives every thread that allocates its own 64 MB malloc arena, up to eight per core;
/// the server's threads (gRPC, recognition, libtorch's tensors) left about ten of them, each
/// holding freed tensors. Measured on 2 cores after `herken load` at concurrency 1, 4 and 8:
/// 610 MB resident with glibc's default, 560–615 MB with two arenas, 577 MB with one, at the
/// same throughput; so one arena per two cores. `MALLOC_ARENA_MAX` in the environment still
/// decides.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: mallopt only sets an allocator parameter; called before any thread starts.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, (cores / 2).max(1) as libc::c_int) };
    }
}
