//! Every file a run writes. `OutputPlan` lists and checks them all before any work: none is an
//! input, none is named twice, none exists unless the user allowed replacing it, and every
//! folder can be made. `OutputPlan::claim` then takes them for this process (a lock file per
//! output, so a second run on the same output refuses at once) and returns `Outputs`, through
//! which every write goes: atomically, never over anything but a regular file, never over a
//! file that appeared since the check. Side files (snapshots, previews, sheets) that cannot be
//! written are warnings: they never cost the run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::image_io::{self, Planar};

/// Longest file name (bytes) that Linux file systems accept.
pub const MAX_NAME_BYTES: usize = 255;

/// What a planned file is, for messages and for deciding what is claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Output,
    Record,
    Snapshot,
    TiledPreview,
    Sheet,
}

impl FileKind {
    /// Side files never end a run when they cannot be written; only the main files are locked
    /// (their side files share their name, so a run holding the output holds its snapshots).
    fn is_main(self) -> bool {
        matches!(self, FileKind::Output | FileKind::Record | FileKind::Sheet)
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Output => "output",
            FileKind::Record => "run record",
            FileKind::Snapshot => "snapshot",
            FileKind::TiledPreview => "tiled 2x2 preview",
            FileKind::Sheet => "contact sheet",
        })
    }
}

/// One file a run may write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    pub path: PathBuf,
    pub kind: FileKind,
}

impl PlannedFile {
    pub fn new(path: impl Into<PathBuf>, kind: FileKind) -> Self {
        PlannedFile {
            path: path.into(),
            kind,
        }
    }
}

/// The checked list of files a run may write.
#[derive(Debug)]
pub struct OutputPlan {
    files: Vec<PlannedFile>,
    overwrite: bool,
    /// Files this run may replace without `--overwrite`: a resumed run's own output and record.
    owned: BTreeSet<PathBuf>,
}

impl OutputPlan {
    /// Check every file before any work: not one of `inputs` (same device and inode, also
    /// through links), not planned twice, not existing unless `overwrite` (or `owned`), only a
    /// regular file where one is replaced, and a folder that exists or can be made. Nothing is
    /// created or changed here.
    pub fn check(
        files: Vec<PlannedFile>,
        inputs: &[&Path],
        overwrite: bool,
        owned: &[PathBuf],
    ) -> Result<OutputPlan> {
        let owned: BTreeSet<PathBuf> = owned.iter().map(|p| normalized(p)).collect();
        let input_ids: Vec<(&Path, (u64, u64))> = inputs
            .iter()
            .filter_map(|p| file_id(p).map(|id| (*p, id)))
            .collect();
        let mut seen: BTreeMap<PathBuf, &PlannedFile> = BTreeMap::new();
        let mut seen_ids: BTreeMap<(u64, u64), &PlannedFile> = BTreeMap::new();
        let mut folders_checked = BTreeSet::new();
        for file in &files {
            let key = normalized(&file.path);
            let id = file_id(&file.path);
            if let Some((input, _)) = input_ids.iter().find(|(_, i)| Some(*i) == id) {
                return Err(Error::WouldOverwriteInput {
                    path: file.path.clone(),
                    kind: file.kind.to_string(),
                    input: input.to_path_buf(),
                });
            }
            let twice = seen
                .get(&key)
                .or_else(|| id.and_then(|id| seen_ids.get(&id)));
            if let Some(first) = twice {
                return Err(Error::OutputConflict {
                    path: file.path.clone(),
                    first: first.kind.to_string(),
                    second: file.kind.to_string(),
                });
            }
            check_name_and_type(file, overwrite || owned.contains(&key))?;
            let folder = nearest_existing_folder(&file.path)?;
            if folders_checked.insert(folder.clone()) {
                check_folder_writable(&file.path, &folder)?;
            }
            seen.insert(key, file);
            if let Some(id) = id {
                seen_ids.insert(id, file);
            }
        }
        Ok(OutputPlan {
            files,
            overwrite,
            owned,
        })
    }

    pub fn files(&self) -> &[PlannedFile] {
        &self.files
    }

    /// Take the planned files for this process: make the folders, lock each main file, and
    /// check once more that none appeared meanwhile. A claim still held by a running process
    /// is refused, naming it; one left by a process that is gone is taken over with a notice.
    /// Everything made here is removed again when the returned `Outputs` goes (empty folders
    /// and the locks; never a file the run wrote).
    pub fn claim(self) -> Result<Outputs> {
        let mut state = State::default();
        state.overwrite = self.overwrite;
        state.owned = self.owned;
        for file in &self.files {
            state.make_folders(&file.path)?;
        }
        for file in self.files.iter().filter(|f| f.kind.is_main()) {
            state.lock(&file.path)?;
            // Between the check and the lock another run may have finished this file.
            let key = normalized(&file.path);
            if !state.may_replace(&key) && fs::symlink_metadata(&file.path).is_ok() {
                return Err(Error::OutputExists {
                    path: file.path.clone(),
                    kind: file.kind.to_string(),
                });
            }
        }
        Ok(Outputs {
            state: Arc::new(Mutex::new(state)),
        })
    }
}

/// A file written, or rescued elsewhere because its place could not be written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Written {
    Written(PathBuf),
    Rescued { wanted: PathBuf, at: PathBuf },
}

/// The claimed files of one process (shared by the runs of a `--count` batch): every write
/// goes through here.
#[derive(Clone, Debug)]
pub struct Outputs {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    overwrite: bool,
    owned: BTreeSet<PathBuf>,
    /// Lock files this process holds.
    locks: Vec<PathBuf>,
    /// Folders this process made, outermost first.
    made_folders: Vec<PathBuf>,
    /// Files written so far (normalised paths): later writes of the same file replace it.
    written: BTreeSet<PathBuf>,
    /// Every file written or rescued, in order, as the user named it.
    log: Vec<Written>,
    warnings: Vec<String>,
    notices: Vec<String>,
}

impl Outputs {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Write a PNG atomically; returns the sha256 of the bytes written.
    pub fn write_png(&self, path: &Path, image: &Planar) -> Result<String> {
        let png = image_io::encode_png(image, path)?;
        self.write_bytes(path, &png)?;
        Ok(sha256_hex(&png))
    }

    /// Write a text file (a run record) atomically.
    pub fn write_text(&self, path: &Path, text: &str) -> Result<()> {
        self.write_bytes(path, text.as_bytes())
    }

    /// A side file: if it cannot be written, a warning (returned and kept), and the run goes on.
    pub fn write_side_png(&self, path: &Path, image: &Planar, kind: FileKind) -> Option<String> {
        let e = self.write_png(path, image).err()?;
        let warning = format!(
            "the {kind} {} was not written ({e}); the run goes on",
            path.display()
        );
        self.warn(warning.clone());
        Some(warning)
    }

    /// Keep a warning for the closing lines.
    pub fn warn(&self, warning: String) {
        self.state().warnings.push(warning);
    }

    /// The result: if its place cannot be written (a full disk, a folder removed meanwhile),
    /// minutes of work must not be lost: it is saved in the temp folder, with its extension,
    /// and the error says where. Returns the sha256 of the PNG.
    pub fn write_result_png(&self, path: &Path, image: &Planar) -> Result<String> {
        let png = image_io::encode_png(image, path)?;
        self.write_or_rescue(path, &png)?;
        Ok(sha256_hex(&png))
    }

    /// The run record, likewise rescued when its place cannot be written.
    pub fn write_result_text(&self, path: &Path, text: &str) -> Result<()> {
        self.write_or_rescue(path, text.as_bytes())
    }

    fn write_or_rescue(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let e = match self.write_bytes(path, bytes) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let rescue = rescue_path(path);
        let kept = match image_io::write_synced(&rescue, bytes) {
            Ok(()) => {
                self.state().log.push(Written::Rescued {
                    wanted: path.to_path_buf(),
                    at: rescue.clone(),
                });
                format!("it was saved to {} instead", rescue.display())
            }
            Err(_) => "it could not be saved elsewhere either".to_string(),
        };
        let reason = match e {
            Error::OutputNotWritable { reason, .. } => reason,
            other => other.to_string(),
        };
        Err(Error::OutputNotWritable {
            path: path.to_path_buf(),
            reason: format!("{reason}; {kept}"),
        })
    }

    /// Every file written or rescued so far, in order, each once.
    pub fn log(&self) -> Vec<Written> {
        let mut seen = BTreeSet::new();
        self.state()
            .log
            .iter()
            .filter(|w| seen.insert((*w).clone()))
            .cloned()
            .collect()
    }

    /// Warnings about side files that could not be written.
    pub fn warnings(&self) -> Vec<String> {
        self.state().warnings.clone()
    }

    /// Notices from the claim (a stale claim taken over).
    pub fn notices(&self) -> Vec<String> {
        self.state().notices.clone()
    }

    /// Write bytes atomically (a PNG encoded already, a record).
    pub(crate) fn write_bytes(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let fail = |reason: String| Error::OutputNotWritable {
            path: path.to_path_buf(),
            reason,
        };
        let key = normalized(path);
        let replace = self.state().may_replace(&key);
        let tmp = image_io::temp_sibling(path);
        if let Err(reason) = image_io::write_synced(&tmp, bytes) {
            let _ = fs::remove_file(&tmp);
            return Err(fail(reason));
        }
        let published = if replace {
            replace_regular_file(&tmp, path)
        } else {
            publish_new(&tmp, path)
        };
        let _ = fs::remove_file(&tmp);
        published?;
        let mut state = self.state();
        state.written.insert(key);
        state.log.push(Written::Written(path.to_path_buf()));
        Ok(())
    }
}

impl State {
    /// Whether this process may replace `key` (a normalised path): allowed by the user, the
    /// run's own, or written by this process already.
    fn may_replace(&self, key: &Path) -> bool {
        self.overwrite || self.owned.contains(key) || self.written.contains(key)
    }

    fn make_folders(&mut self, file: &Path) -> Result<()> {
        let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) else {
            return Ok(());
        };
        let mut missing = Vec::new();
        let mut at = parent;
        while fs::metadata(at).is_err() {
            missing.push(at.to_path_buf());
            match at.parent().filter(|p| !p.as_os_str().is_empty()) {
                Some(up) => at = up,
                None => break,
            }
        }
        for folder in missing.into_iter().rev() {
            match fs::create_dir(&folder) {
                Ok(()) => self.made_folders.push(folder),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(Error::OutputNotWritable {
                        path: file.to_path_buf(),
                        reason: format!("cannot create folder {}: {e}", folder.display()),
                    })
                }
            }
        }
        Ok(())
    }

    fn lock(&mut self, file: &Path) -> Result<()> {
        let lock = lock_path(file);
        for attempt in 0..2 {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock)
            {
                Ok(mut f) => {
                    let me = Holder::this_process(file);
                    f.write_all(me.to_text().as_bytes())
                        .map_err(|e| Error::OutputNotWritable {
                            path: file.to_path_buf(),
                            reason: format!("cannot write the claim {}: {e}", lock.display()),
                        })?;
                    self.locks.push(lock);
                    return Ok(());
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
                            self.notices.push(format!(
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
}

impl Drop for State {
    fn drop(&mut self) {
        let me = std::process::id();
        for lock in &self.locks {
            let ours = fs::read_to_string(lock)
                .ok()
                .and_then(|t| Holder::parse(&t))
                .is_some_and(|h| h.pid == me);
            if ours {
                let _ = fs::remove_file(lock);
            }
        }
        // Only folders still empty go: a folder holding a result stays.
        for folder in self.made_folders.iter().rev() {
            let _ = fs::remove_dir(folder);
        }
    }
}

/// Who holds a claim: a process, identified by pid and start time (pids are reused).
struct Holder {
    pid: u32,
    start_ticks: u64,
    since_unix: u64,
}

impl Holder {
    fn this_process(_file: &Path) -> Holder {
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
fn lock_path(file: &Path) -> PathBuf {
    let hash = sha256_hex(normalized(file).as_os_str().as_bytes());
    file.with_file_name(format!(".neurotex-{}.lock", &hash[..16]))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The sha256 of a file's content.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    Ok(sha256_hex(&fs::read(path)?))
}

/// Device and inode of an existing file (following links), the identity that survives any
/// spelling of its path.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// An absolute path with its existing part resolved (links, `..`), for comparing names of files
/// that may not exist yet.
pub fn normalized(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = fs::canonicalize(existing) {
            let mut out = real;
            for part in rest.iter().rev() {
                match part {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::CurDir => {}
                    other => out.push(other.as_os_str()),
                }
            }
            return out;
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(up), Some(last)) => {
                rest.push(last);
                existing = up;
            }
            _ => return absolute,
        }
    }
}

/// The name must fit the file system and must not be a folder; an existing file may be replaced
/// only if `replace` and only if it is a regular file (never a link's target, a FIFO, a device).
fn check_name_and_type(file: &PlannedFile, replace: bool) -> Result<()> {
    let path = &file.path;
    let fail = |reason: String| Error::OutputNotWritable {
        path: path.clone(),
        reason,
    };
    let bytes = path.as_os_str().as_bytes();
    if bytes.is_empty() {
        return Err(fail("empty path".into()));
    }
    let Some(name) = path.file_name().filter(|_| !bytes.ends_with(b"/")) else {
        return Err(fail(format!(
            "it names a folder: give a file name in it, e.g. {}",
            path.join("out.png").display()
        )));
    };
    if name.len() > MAX_NAME_BYTES {
        let tagged = if file.kind == FileKind::Output {
            String::new()
        } else {
            format!(" (the {} adds a tag to the output's name)", file.kind)
        };
        return Err(fail(format!(
            "the name is {} bytes long, more than the {MAX_NAME_BYTES} a file system allows{tagged}: \
             choose a shorter name",
            name.len()
        )));
    }
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(fail(e.to_string())),
    };
    let what = kind_of(&meta.file_type());
    if meta.is_dir() {
        return Err(fail(format!(
            "it is a folder: give a file name in it, e.g. {}",
            path.join("out.png").display()
        )));
    }
    if !replace {
        return Err(Error::OutputExists {
            path: path.clone(),
            kind: file.kind.to_string(),
        });
    }
    match what {
        None => Ok(()),
        Some(what) => Err(Error::NotARegularFile {
            path: path.clone(),
            what,
        }),
    }
}

/// None for a regular file, else what it is.
fn kind_of(t: &fs::FileType) -> Option<&'static str> {
    if t.is_file() {
        None
    } else if t.is_symlink() {
        Some("symbolic link")
    } else if t.is_dir() {
        Some("folder")
    } else if t.is_fifo() {
        Some("named pipe (FIFO)")
    } else if t.is_char_device() || t.is_block_device() {
        Some("device")
    } else if t.is_socket() {
        Some("socket")
    } else {
        Some("special file")
    }
}

/// The nearest folder above `file` that exists (where its missing folders would be made).
fn nearest_existing_folder(file: &Path) -> Result<PathBuf> {
    let mut at = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    loop {
        match fs::metadata(at) {
            Ok(m) if m.is_dir() => return Ok(at.to_path_buf()),
            Ok(_) => {
                return Err(Error::OutputNotWritable {
                    path: file.to_path_buf(),
                    reason: format!("{} is a file, not a folder", at.display()),
                })
            }
            Err(_) => match at.parent() {
                Some(up) if !up.as_os_str().is_empty() => at = up,
                _ => return Ok(PathBuf::from(".")),
            },
        }
    }
}

/// Prove that files can be made in `folder` by making (and removing) one.
fn check_folder_writable(file: &Path, folder: &Path) -> Result<()> {
    let probe = image_io::temp_sibling(&folder.join("probe"));
    match fs::File::create(&probe) {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(Error::OutputNotWritable {
            path: file.to_path_buf(),
            reason: format!(
                "cannot write in {} ({e}): choose a folder you can write to",
                folder.display()
            ),
        }),
    }
}

/// Put `tmp` in place of `path`, which this process may replace: only ever a regular file.
fn replace_regular_file(tmp: &Path, path: &Path) -> Result<()> {
    if let Ok(meta) = fs::symlink_metadata(path) {
        if let Some(what) = kind_of(&meta.file_type()) {
            return Err(Error::NotARegularFile {
                path: path.to_path_buf(),
                what,
            });
        }
    }
    fs::rename(tmp, path).map_err(|e| Error::OutputNotWritable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Put `tmp` at `path`, which must not exist: a hard link fails if anything appeared there since
/// the plan was checked, where a rename would replace it.
fn publish_new(tmp: &Path, path: &Path) -> Result<()> {
    match fs::hard_link(tmp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::OutputExists {
            path: path.to_path_buf(),
            kind: "file".into(),
        }),
        // File systems without hard links (FAT, some network mounts): check, then rename.
        Err(_) if fs::symlink_metadata(path).is_err() => {
            fs::rename(tmp, path).map_err(|e| Error::OutputNotWritable {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
        }
        Err(_) => Err(Error::OutputExists {
            path: path.to_path_buf(),
            kind: "file".into(),
        }),
    }
}

/// Where a result that could not be written is saved: the temp folder, the same extension, a
/// name short enough for any file system.
fn rescue_path(path: &Path) -> PathBuf {
    let ext = path
        .extension()
        .map_or("png".into(), |e| e.to_string_lossy().into_owned());
    let stem: String = path
        .file_stem()
        .map_or("out".into(), |s| s.to_string_lossy().into_owned())
        .chars()
        .take(100)
        .collect();
    std::env::temp_dir().join(format!(
        "neurotex-rescued-{}-{stem}.{ext}",
        std::process::id()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("neurotex-outputs-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn names_are_compared_after_resolving_what_exists() {
        let dir = scratch("norm");
        fs::create_dir_all(dir.join("a")).unwrap();
        assert_eq!(
            normalized(&dir.join("a/../b/./x.png")),
            normalized(&dir.join("b/x.png"))
        );
        std::os::unix::fs::symlink(dir.join("a"), dir.join("link")).unwrap();
        assert_eq!(
            normalized(&dir.join("link/x.png")),
            normalized(&dir.join("a/x.png"))
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_start_time_of_this_process_is_read() {
        assert!(process_start_ticks(std::process::id()).is_some());
        let me = Holder::this_process(Path::new("x"));
        assert!(Holder::parse(&me.to_text()).unwrap().is_running());
        assert!(process_start_ticks(u32::MAX).is_none());
    }

    #[test]
    fn a_failed_claim_leaves_no_folder_and_a_dropped_one_only_its_files() {
        let dir = scratch("claim");
        let out = dir.join("new/deeper/o.png");
        let plan = OutputPlan::check(
            vec![PlannedFile::new(&out, FileKind::Output)],
            &[],
            false,
            &[],
        )
        .unwrap();
        assert!(!dir.join("new").exists(), "checking creates nothing");
        let outputs = plan.claim().unwrap();
        assert!(lock_path(&out).exists());
        drop(outputs);
        assert!(!dir.join("new").exists(), "unused folders are removed");

        let outputs = OutputPlan::check(
            vec![PlannedFile::new(&out, FileKind::Output)],
            &[],
            false,
            &[],
        )
        .unwrap()
        .claim()
        .unwrap();
        let img = Planar::from_elem((3, 4, 4), 0.5);
        outputs.write_png(&out, &img).unwrap();
        outputs.write_png(&out, &img).unwrap(); // its own file: replaced
        assert_eq!(outputs.log(), vec![Written::Written(out.clone())]);
        drop(outputs);
        assert!(out.exists() && !lock_path(&out).exists());
        fs::remove_dir_all(dir).unwrap();
    }
}
