//! Writing the claimed files: atomically, never over anything but a regular file, never over a
//! file that appeared since the plan was checked; the result and the record rescued to the temp
//! folder when their place cannot be written; side files that fail are warnings.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::claim::Claim;
use super::{kind_of, normalized, sha256_hex, FileKind};
use crate::error::{Error, Result};
use crate::image_io::{self, Encoding, Planar};

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
pub(super) struct State {
    overwrite: bool,
    owned: BTreeSet<PathBuf>,
    /// The outputs this process has claimed.
    pub(super) claims: Vec<Claim>,
    /// Folders this process made, outermost first.
    made_folders: Vec<PathBuf>,
    /// Files written so far (normalised paths): later writes of the same file replace it.
    written: BTreeSet<PathBuf>,
    /// Every file written or rescued, in order, as the user named it.
    log: Vec<Written>,
    warnings: Vec<String>,
    pub(super) notices: Vec<String>,
}

impl Outputs {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Write an image atomically, in the format its name asks for (8 bits); returns the
    /// sha256 of the bytes written.
    pub fn write_image(&self, path: &Path, image: &Planar) -> Result<String> {
        let bytes = image_io::encode(image, &Encoding::for_path(path)?, path)?;
        self.write_bytes(path, &bytes)?;
        Ok(sha256_hex(&bytes))
    }

    /// Write a text file (a run record) atomically.
    pub fn write_text(&self, path: &Path, text: &str) -> Result<()> {
        self.write_bytes(path, text.as_bytes())
    }

    /// A side file: if it cannot be written, a warning (returned and kept), and the run goes on.
    pub fn write_side_image(&self, path: &Path, image: &Planar, kind: FileKind) -> Option<String> {
        let e = self.write_image(path, image).err()?;
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
    /// and the error says where. Returns the sha256 of the image file.
    pub fn write_result_image(
        &self,
        path: &Path,
        image: &Planar,
        encoding: &Encoding,
    ) -> Result<String> {
        let bytes = image_io::encode(image, encoding, path)?;
        self.write_or_rescue(path, &bytes)?;
        Ok(sha256_hex(&bytes))
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
    pub(super) fn new(overwrite: bool, owned: BTreeSet<PathBuf>) -> State {
        let mut state = State::default();
        state.overwrite = overwrite;
        state.owned = owned;
        state
    }

    pub(super) fn into_outputs(self) -> Outputs {
        Outputs {
            state: Arc::new(Mutex::new(self)),
        }
    }

    /// Whether this process may replace `key` (a normalised path): allowed by the user, the
    /// run's own, or written by this process already.
    pub(super) fn may_replace(&self, key: &Path) -> bool {
        self.overwrite || self.owned.contains(key) || self.written.contains(key)
    }

    pub(super) fn make_folders(&mut self, file: &Path) -> Result<()> {
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
}

impl Drop for State {
    fn drop(&mut self) {
        // The claims first: their lock files sit in the folders below.
        self.claims.clear();
        // Only folders still empty go: a folder holding a result stays.
        for folder in self.made_folders.iter().rev() {
            let _ = fs::remove_dir(folder);
        }
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
