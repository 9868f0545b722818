//! Claims: a lock file beside each main output, created exclusively and holding the process
//! that writes it, so that a second run on the same output refuses at once, naming the first;
//! a claim whose process is gone (killed outright) is taken over with a notice.

use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{normalized, sha256_hex};
use crate::error::{Error, Result};

/// A lock file this process holds; removed when dropped (if it is still ours).
#[derive(Debug)]
pub(super) struct Claim {
    lock: PathBuf,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let ours = fs::read_to_string(&self.lock)
            .ok()
            .and_then(|t| Holder::parse(&t))
            .is_some_and(|h| h.pid == std::process::id());
        if ours {
            let _ = fs::remove_file(&self.lock);
        }
    }
}

/// Claim `file` for this process; a notice is added when a dead process's claim is taken over.
pub(super) fn claim(file: &Path, notices: &mut Vec<String>) -> Result<Claim> {
    let lock = lock_path(file);
    for attempt in 0..2 {
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(mut f) => {
                let me = Holder::this_process();
                f.write_all(me.to_text().as_bytes())
                    .map_err(|e| Error::OutputNotWritable {
                        path: file.to_path_buf(),
                        reason: format!("cannot write the claim {}: {e}", lock.display()),
                    })?;
                return Ok(Claim { lock });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt == 0 => {
                let holder = fs::read_to_string(&lock)
                    .ok()
                    .and_then(|t| Holder::parse(&t));
                match holder {
                    Some(h) if h.is_running() => {
                        return Err(Error::OutputBusy {
                            path: file.to_path_buf(),
                            pid: h.pid,
                            seconds: h.age_seconds(),
                        })
                    }
                    _ => {
                        notices.push(format!(
                            "{} was claimed by a neurotex run that is no longer running{}: \
                             taken over",
                            file.display(),
                            holder.map_or(String::new(), |h| format!(" (process {})", h.pid))
                        ));
                        let _ = fs::remove_file(&lock);
                    }
                }
            }
            Err(e) => {
                return Err(Error::OutputNotWritable {
                    path: file.to_path_buf(),
                    reason: format!("cannot create the claim {}: {e}", lock.display()),
                })
            }
        }
    }
    // Taken over, and another process took it first.
    Err(Error::OutputNotWritable {
        path: file.to_path_buf(),
        reason: "another neurotex run claimed it at the same moment: try again".into(),
    })
}

/// Who holds a claim: a process, identified by pid and start time (pids are reused).
struct Holder {
    pid: u32,
    start_ticks: u64,
    since_unix: u64,
}

impl Holder {
    fn this_process() -> Holder {
        let pid = std::process::id();
        Holder {
            pid,
            start_ticks: process_start_ticks(pid).unwrap_or(0),
            since_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }

    fn to_text(&self) -> String {
        format!(
            "neurotex claim\npid {}\nstart {}\nsince {}\n",
            self.pid, self.start_ticks, self.since_unix
        )
    }

    fn parse(text: &str) -> Option<Holder> {
        let field = |name: &str| -> Option<u64> {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        };
        Some(Holder {
            pid: field("pid ")? as u32,
            start_ticks: field("start ")?,
            since_unix: field("since ").unwrap_or(0),
        })
    }

    /// The same process (same pid, same start time) is still there.
    fn is_running(&self) -> bool {
        process_start_ticks(self.pid)
            .is_some_and(|t| self.start_ticks == 0 || t == self.start_ticks)
    }

    fn age_seconds(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .saturating_sub(self.since_unix)
    }
}

/// A process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or None
/// when no such process exists.
fn process_start_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from its end.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// The lock file of an output: hidden, beside it, named by a hash of its full path so that any
/// valid output name has a valid lock name.
pub(super) fn lock_path(file: &Path) -> PathBuf {
    let hash = sha256_hex(normalized(file).as_os_str().as_bytes());
    file.with_file_name(format!(".neurotex-{}.lock", &hash[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_time_of_this_process_is_read() {
        assert!(process_start_ticks(std::process::id()).is_some());
        let me = Holder::this_process();
        assert!(Holder::parse(&me.to_text()).unwrap().is_running());
        assert!(process_start_ticks(u32::MAX).is_none());
    }
}
