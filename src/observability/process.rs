//! The process metrics Prometheus clients conventionally export (`process_*`), read from
//! Linux's `/proc/self` at each scrape, and the build's identity (`gateway_build_info`). A
//! value the system does not offer is left out, never guessed.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The clock ticks `/proc/self/stat` counts CPU time in (Linux's `USER_HZ`, 100 on every
/// architecture it runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// Appends `gateway_build_info` and the `process_*` metrics to `out`; `uptime` dates the start.
pub fn render(out: &mut String, uptime: Duration) {
    gauge(
        out,
        "gateway_build_info",
        "The running build: its version (always 1).",
        &format!("{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION")),
    );
    if let Some(cpu) = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| cpu_seconds(&s))
    {
        counter(
            out,
            "process_cpu_seconds_total",
            "User and system CPU time spent, in seconds.",
            &format!(" {cpu}"),
        );
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for (field, name, help) in [
        (
            "VmRSS:",
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
        ),
        (
            "VmSize:",
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
        ),
    ] {
        if let Some(kib) = status_value(&status, field) {
            gauge(out, name, help, &format!(" {}", kib * 1024));
        }
    }
    if let Some(threads) = status_value(&status, "Threads:") {
        gauge(
            out,
            "process_threads",
            "OS threads.",
            &format!(" {threads}"),
        );
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        gauge(
            out,
            "process_open_fds",
            "Open file descriptors.",
            &format!(" {}", fds.count()),
        );
    }
    if let Some(max) = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| max_open_files(&l))
    {
        gauge(
            out,
            "process_max_fds",
            "Most file descriptors the process may open.",
            &format!(" {max}"),
        );
    }
    #[expect(
        clippy::disallowed_methods,
        reason = "the start time is a wall-clock time"
    )]
    let now = SystemTime::now();
    if let Some(start) = now
        .checked_sub(uptime)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
    {
        gauge(
            out,
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds.",
            &format!(" {}", start.as_secs()),
        );
    }
}

fn gauge(out: &mut String, name: &str, help: &str, rest: &str) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{rest}"
    );
}

fn counter(out: &mut String, name: &str, help: &str, rest: &str) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name}{rest}"
    );
}

/// utime + stime of a `/proc/PID/stat` line, in seconds. The fields are counted after the
/// command name's closing parenthesis (the name may hold spaces and parentheses).
fn cpu_seconds(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state (3), ..., utime (14), stime (15).
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

/// The number of a `/proc/self/status` line (`VmRSS:   1234 kB`).
fn status_value(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The soft limit of `Max open files` in `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_read_field_by_field() {
        let stat = "4242 (llm gw) (x)) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0 20 0 9 0 100";
        assert_eq!(cpu_seconds(stat), Some(4.0));
        assert_eq!(cpu_seconds("garbage"), None);
        let status = "Name:\tgw\nVmSize:\t  204800 kB\nVmRSS:\t   16384 kB\nThreads:\t9\n";
        assert_eq!(status_value(status, "VmRSS:"), Some(16384));
        assert_eq!(status_value(status, "Threads:"), Some(9));
        assert_eq!(status_value(status, "VmSwap:"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024));
    }

    #[test]
    fn this_process_is_described() {
        let mut out = String::new();
        render(&mut out, Duration::from_secs(5));
        assert!(out.contains(&format!(
            "gateway_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )));
        for name in [
            "process_cpu_seconds_total ",
            "process_resident_memory_bytes ",
            "process_open_fds ",
            "process_start_time_seconds ",
        ] {
            assert!(out.contains(name), "{name} missing:\n{out}");
        }
    }
}
