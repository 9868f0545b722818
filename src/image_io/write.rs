//! Writing images: the format a name asks for, encoded in memory, written atomically.

use std::fs;
use std::path::{Path, PathBuf};

use super::{to_rgb16, to_rgb8, Planar};
use crate::error::{Error, Result};

/// The image formats neurotex writes, chosen by the output's extension (or `--format` for
/// stdout).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// PNG, 8 or 16 bits per channel.
    Png,
    /// JPEG, 8 bits, at --jpeg-quality.
    Jpeg,
    /// WebP, lossless, 8 bits.
    Webp,
    /// TIFF, 8 or 16 bits per channel.
    Tiff,
}

impl OutputFormat {
    /// The format a file name asks for: `.png`, `.jpg`/`.jpeg`, `.webp`, `.tif`/`.tiff` (any
    /// case). Anything else is refused before any work, never written as PNG bytes under
    /// another name.
    pub fn of(path: &Path) -> Result<OutputFormat> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "png" => Ok(OutputFormat::Png),
            "jpg" | "jpeg" => Ok(OutputFormat::Jpeg),
            "webp" => Ok(OutputFormat::Webp),
            "tif" | "tiff" => Ok(OutputFormat::Tiff),
            _ => Err(Error::OutputNotWritable {
                path: path.to_path_buf(),
                reason: format!(
                    "{}: neurotex writes PNG (.png), JPEG (.jpg, .jpeg), WebP (.webp) and TIFF \
                     (.tif, .tiff); name the output with one of those",
                    if ext.is_empty() {
                        "the name has no extension".to_string()
                    } else {
                        format!(".{ext} is not a format neurotex writes")
                    }
                ),
            }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Png => "PNG",
            OutputFormat::Jpeg => "JPEG",
            OutputFormat::Webp => "WebP",
            OutputFormat::Tiff => "TIFF",
        }
    }

    /// Whether the format holds 16 bits per channel.
    pub fn holds_16_bits(self) -> bool {
        matches!(self, OutputFormat::Png | OutputFormat::Tiff)
    }
}

/// How an image is encoded: its format, bits per channel and (JPEG) quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    pub format: OutputFormat,
    /// 8 or 16 (PNG and TIFF only).
    pub bit_depth: u8,
    /// 1 to 100 (JPEG only).
    pub jpeg_quality: u8,
}

/// Default quality of JPEG output (out of 100).
pub const JPEG_QUALITY: u8 = 95;

impl Encoding {
    /// 8-bit PNG: the side files (snapshots, previews, sheets) and `save_png`.
    pub const PNG: Encoding = Encoding {
        format: OutputFormat::Png,
        bit_depth: 8,
        jpeg_quality: JPEG_QUALITY,
    };

    /// The defaults for a file name: its extension's format, 8 bits, JPEG quality 95.
    pub fn for_path(path: &Path) -> Result<Encoding> {
        Ok(Encoding {
            format: OutputFormat::of(path)?,
            ..Encoding::PNG
        })
    }
}

/// Encode an image in memory (`path` only names it in messages): a buffered file writer can
/// lose a write error (a full disk) when it is dropped, and a truncated file would then be
/// renamed into place. Float pixels are rounded to the nearest 8- or 16-bit level.
pub fn encode(image: &Planar, encoding: &Encoding, path: &Path) -> Result<Vec<u8>> {
    let fail = |e: image::ImageError| Error::OutputNotWritable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut bytes = Vec::new();
    let mut cursor = std::io::Cursor::new(&mut bytes);
    let format = match encoding.format {
        OutputFormat::Jpeg => {
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut cursor, encoding.jpeg_quality)
                .encode_image(&to_rgb8(image))
                .map_err(fail)?;
            return Ok(bytes);
        }
        OutputFormat::Png => image::ImageFormat::Png,
        // The image crate's WebP encoder is lossless.
        OutputFormat::Webp => image::ImageFormat::WebP,
        OutputFormat::Tiff => image::ImageFormat::Tiff,
    };
    let pixels = if encoding.bit_depth == 16 && encoding.format.holds_16_bits() {
        image::DynamicImage::ImageRgb16(to_rgb16(image))
    } else {
        image::DynamicImage::ImageRgb8(to_rgb8(image))
    };
    pixels.write_to(&mut cursor, format).map_err(fail)?;
    Ok(bytes)
}

/// Write a PNG atomically: to a temporary file in the same folder, then rename, so that an
/// interrupted run never leaves a half-written file where a good one was. (A synthesis writes
/// through `outputs::Outputs`, which also refuses to replace what is not its own.)
pub fn save_png(image: &Planar, path: &Path) -> Result<()> {
    let png = encode(image, &Encoding::PNG, path)?;
    write_atomically(path, |tmp| write_synced(tmp, &png))
}

/// Write and flush to the disk, reporting every error (e.g. no space left).
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> std::result::Result<(), String> {
    use std::io::Write;
    let mut file = fs::File::create(path).map_err(|e| e.to_string())?;
    file.write_all(bytes).map_err(|e| e.to_string())?;
    file.sync_all().map_err(|e| e.to_string())
}

/// Write any file atomically (temporary sibling + rename), creating the folder.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> std::result::Result<(), String>,
) -> Result<()> {
    let fail = |reason: String| Error::OutputNotWritable {
        path: path.to_path_buf(),
        reason,
    };
    ensure_parent(path)?;
    let tmp = temp_sibling(path);
    if let Err(reason) = write(&tmp) {
        let _ = fs::remove_file(&tmp);
        return Err(fail(reason));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        fail(e.to_string())
    })
}

/// A temporary file in `path`'s folder. Short whatever `path`'s name (a name that fits the file
/// system must not fail for its temporary's sake), and unique per writer, also between threads
/// of one process: two writers sharing a temporary file could rename a file the other is still
/// writing.
pub(crate) fn temp_sibling(path: &Path) -> PathBuf {
    static WRITERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let writer = WRITERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    path.with_file_name(format!(".neurotex-{}-{writer}.tmp", std::process::id()))
}

fn ensure_parent(path: &Path) -> Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => fs::create_dir_all(dir).map_err(|e| Error::OutputNotWritable {
            path: path.to_path_buf(),
            reason: format!("cannot create folder {}: {e}", dir.display()),
        }),
        None => Ok(()),
    }
}

/// Prove, before any long computation, that `path` can be written: its folder exists or can be
/// created, a file can be created there, and `path` is not a folder. Nothing existing is touched.
pub fn check_writable(path: &Path) -> Result<()> {
    let fail = |reason: String| Error::OutputNotWritable {
        path: path.to_path_buf(),
        reason,
    };
    if path.as_os_str().is_empty() {
        return Err(fail("empty path".into()));
    }
    if path.is_dir() {
        return Err(fail("it is a folder: give a file name".into()));
    }
    ensure_parent(path)?;
    let probe = temp_sibling(path);
    fs::write(&probe, b"").map_err(|e| fail(format!("{e} (choose a folder you can write to)")))?;
    let _ = fs::remove_file(&probe);
    Ok(())
}
