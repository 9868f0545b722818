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
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::image_io;

mod claim;
mod writer;

pub use writer::{Outputs, Written};

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
            if file.kind != FileKind::Record {
                image_io::OutputFormat::of(&file.path)?;
            }
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

    /// Take the planned files for this process: make the folders, lock each main file, and
    /// check once more that none appeared meanwhile. A claim still held by a running process
    /// is refused, naming it; one left by a process that is gone is taken over with a notice.
    /// Everything made here is removed again when the returned `Outputs` goes (empty folders
    /// and the locks; never a file the run wrote).
    pub fn claim(self) -> Result<Outputs> {
        let mut state = writer::State::new(self.overwrite, self.owned);
        for file in &self.files {
            state.make_folders(&file.path)?;
        }
        for file in self.files.iter().filter(|f| f.kind.is_main()) {
            let claim = claim::claim(&file.path, &mut state.notices)?;
            state.claims.push(claim);
            // Between the check and the lock another run may have finished this file.
            let key = normalized(&file.path);
            if !state.may_replace(&key) && fs::symlink_metadata(&file.path).is_ok() {
                return Err(Error::OutputExists {
                    path: file.path.clone(),
                    kind: file.kind.to_string(),
                });
            }
        }
        Ok(state.into_outputs())
    }
}

/// Snapshots of a coarse scale k carry it in the name: `out/x.scale0.iter0050.png`.
pub fn snapshot_path_at(output: &Path, coarse_scale: Option<usize>, iteration: usize) -> PathBuf {
    let scale = coarse_scale.map_or(String::new(), |k| format!("scale{k}."));
    sibling_path(output, &format!("{scale}iter{iteration:04}"))
}

/// A PNG next to the output, tagged: (`out/x.png`, `2x2`) -> `out/x.2x2.png`.
pub fn sibling_path(output: &Path, tag: &str) -> PathBuf {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    output.with_file_name(format!("{stem}.{tag}.png"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image_io::Planar;

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
        assert!(claim::lock_path(&out).exists());
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
        outputs.write_image(&out, &img).unwrap();
        outputs.write_image(&out, &img).unwrap(); // its own file: replaced
        assert_eq!(outputs.log(), vec![Written::Written(out.clone())]);
        drop(outputs);
        assert!(out.exists() && !claim::lock_path(&out).exists());
        fs::remove_dir_all(dir).unwrap();
    }
}
