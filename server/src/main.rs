//! `chat-server`: reads the environment, starts the server, stops on SIGTERM/SIGINT.
//! Everything else lives in the library (`server`), where tests can reach it.

use server::config::Config;
use server::{Application, shutdown_signal, telemetry};
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: Argon2's 19 MiB, 64-byte-aligned work area is never
/// reused by glibc (each sign-up or login grew the process by ~19 MiB, measured), and
/// mimalloc also keeps long-lived servers with many sockets less fragmented.
///
/// The `system-allocator` feature leaves the system's malloc in place, for heap profilers
/// that hook malloc (heaptrack) and to compare allocators with `LD_PRELOAD`
/// (docs/BENCHMARKS.md, "Where the memory goes").
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init_tracing();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("chat-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            // {:#} prints the context chain on one line.
            eprintln!("chat-server: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    // Once the configuration is known to be good (a refused one exits with one line).
    raise_open_file_limit();
    // stdout on purpose: tests and the task runner read the chosen address from this line.
    #[allow(clippy::print_stdout)]
    {
        println!("chat-server listening on http://{}", app.local_addr());
    }
    match app.run_until_stopped(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Raises the soft open-file limit to the hard one. Every socket and every HTTP connection
/// is a descriptor, and so is each database connection: at the soft limit (often 1,024)
/// the server can neither accept clients nor reconnect to its database. Raising the hard
/// limit is the service manager's job (`LimitNOFILE=`, docs/SERVER.md).
fn raise_open_file_limit() {
    use rlimit::Resource;
    match Resource::NOFILE.get() {
        Ok((soft, hard)) => {
            if soft < hard
                && let Err(e) = Resource::NOFILE.set(hard, hard)
            {
                tracing::warn!(soft, hard, error = %e, "could not raise the open-file limit");
            }
            let limit = Resource::NOFILE.get().map_or(soft, |(soft, _)| soft);
            tracing::info!(limit, "open files allowed");
        }
        Err(e) => tracing::warn!(error = %e, "could not read the open-file limit"),
    }
}
