//! Process limits set at start: the soft limit on open files is raised to the hard limit, since
//! every client connection and every upstream connection holds a descriptor and the usual soft
//! default (1024) is far below what a gateway serves.
//!
//! Entry point: [`raise_open_files`].

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// The open-files limit before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    pub soft_before: u64,
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit.
pub fn raise_open_files() -> Result<OpenFiles, String> {
    let (soft_before, hard) = getrlimit(Resource::RLIMIT_NOFILE)
        .map_err(|e| format!("cannot read the open-files limit: {e}"))?;
    if soft_before >= hard {
        return Ok(OpenFiles {
            soft_before,
            soft: soft_before,
            hard,
        });
    }
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).map_err(|e| {
        format!("cannot raise the open-files limit from {soft_before} to {hard}: {e}")
    })?;
    Ok(OpenFiles {
        soft_before,
        soft: hard,
        hard,
    })
}

/// Keeps the process's memory in normal pages. With transparent huge pages set to `always`
/// (common on Linux distributions), the allocator's first touch of its arena brings in 2 MiB
/// pages: an idle gateway held 25 MiB instead of 17. The few requests a gateway buffers at once
/// gain nothing from huge pages. Called first thing in `main`; a failure changes nothing.
pub fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
}

/// Raises the limit and logs the outcome in one line.
pub fn raise_open_files_and_log() {
    match raise_open_files() {
        Ok(l) => tracing::info!(
            soft_before = l.soft_before,
            soft = l.soft,
            hard = l.hard,
            "open-files limit: soft {} (was {}), hard {}",
            l.soft,
            l.soft_before,
            l.hard
        ),
        Err(e) => tracing::warn!(error = %e, "open-files limit unchanged"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_ends_at_the_hard_limit() {
        // Only ever raises, so running it in the test process is harmless.
        let l = raise_open_files().unwrap();
        assert_eq!(l.soft, l.hard);
        assert!(l.soft >= l.soft_before);
        assert_eq!(getrlimit(Resource::RLIMIT_NOFILE).unwrap().0, l.hard);
    }
}
