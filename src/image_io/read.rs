//! Reading exemplars: PNG, JPEG, WebP, TIFF, TGA and BMP, 8 or 16 bits, from a file or stdin;
//! special files, huge headers and endless inputs refused before anything large is read.

use std::fs;
use std::path::Path;

use image::ImageReader;
use ndarray::Array3;

use super::Planar;
use crate::error::{Error, Result};

/// A decoded exemplar and what was done to make it RGB.
#[derive(Debug)]
pub struct Loaded {
    pub image: Planar,
    pub notices: Vec<String>,
    /// The sha256 of the file's bytes (empty for bytes not read from a file).
    pub sha256: String,
}

/// Largest exemplar side read: beyond it the decoded image alone would take gigabytes.
pub const MAX_EXEMPLAR_SIDE: u32 = 16384;

/// Largest exemplar file read: a photo of the largest accepted size compresses far below it,
/// and a bigger file (or an endless one, like /dev/zero) is refused before it fills memory.
pub const MAX_EXEMPLAR_BYTES: u64 = 256 << 20;

/// What neurotex reads, for messages.
pub const READABLE: &str = "PNG, JPEG, WebP, TIFF, TGA and BMP";

/// The exemplar name that means standard input.
pub const STDIN: &str = "-";

/// Whether `path` names standard input (`-`).
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// Read an exemplar: PNG, JPEG, WebP, TIFF, TGA or BMP, 8 or 16 bits per channel (by content,
/// or by extension for TGA, which has no signature), from a file or from standard input (`-`).
/// Grayscale and alpha are converted to RGB with a notice; 16-bit images keep their precision.
pub fn load_rgb(path: &Path) -> Result<Loaded> {
    let from_file;
    let bytes = if is_stdin(path) {
        stdin_bytes()?
    } else {
        from_file = read_exemplar(path)?;
        &from_file
    };
    let mut loaded = decode_rgb(bytes, path)?;
    loaded.sha256 = crate::outputs::sha256_hex(bytes);
    Ok(loaded)
}

/// Width and height from the image's header, without decoding it: what the memory check needs
/// before anything large is allocated.
pub fn dimensions(path: &Path) -> Result<(u32, u32)> {
    let header = if is_stdin(path) {
        reader_for(stdin_bytes()?, path).into_dimensions()
    } else {
        check_regular_file(path)?;
        // The format from the extension, replaced by the one the content shows, if any.
        ImageReader::open(path)
            .and_then(|r| r.with_guessed_format())
            .map_err(|e| open_error(path, e))?
            .into_dimensions()
    };
    let (w, h) = header.map_err(|e| Error::ImageRead {
        path: path.to_path_buf(),
        reason: not_an_image(e),
    })?;
    check_side(w, h, path)?;
    Ok((w, h))
}

fn not_an_image(e: impl std::fmt::Display) -> String {
    format!("{e} (neurotex reads {READABLE}; is the file complete and really an image?)")
}

/// Standard input's bytes, read once: the header is needed before the image, and a pipe can
/// be read only once. Refused when it is a terminal (nothing was piped in) or too large.
fn stdin_bytes() -> Result<&'static [u8]> {
    use std::io::{IsTerminal, Read};
    static BYTES: std::sync::OnceLock<std::result::Result<Vec<u8>, String>> =
        std::sync::OnceLock::new();
    let read = || {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Err(
                "standard input is a terminal: pipe an image in (neurotex synth - -o \
                        out.png < photo.jpg)"
                    .to_string(),
            );
        }
        let mut bytes = Vec::new();
        stdin
            .lock()
            .take(MAX_EXEMPLAR_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| e.to_string())?;
        if bytes.len() as u64 > MAX_EXEMPLAR_BYTES {
            return Err(too_big_reason());
        }
        Ok(bytes)
    };
    match BYTES.get_or_init(read) {
        Ok(bytes) => Ok(bytes),
        Err(reason) => Err(Error::ImageRead {
            path: STDIN.into(),
            reason: reason.clone(),
        }),
    }
}

/// A reader for an image's bytes: the format from its content, or else from the name's
/// extension (TGA has no signature).
fn reader_for<'a>(bytes: &'a [u8], path: &Path) -> ImageReader<std::io::Cursor<&'a [u8]>> {
    let mut reader = ImageReader::new(std::io::Cursor::new(bytes));
    if let Ok(format) = image::ImageFormat::from_path(path) {
        reader.set_format(format);
    }
    // Reading from memory cannot fail; a format the content shows replaces the extension's.
    reader.with_guessed_format().expect("in-memory read")
}

/// A file that would not open, with what to do where the user can do something.
fn open_error(path: &Path, e: std::io::Error) -> Error {
    let reason = match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            format!("{e}: allow your user to read it (e.g. chmod u+r)")
        }
        _ => e.to_string(),
    };
    Error::ImageRead {
        path: path.to_path_buf(),
        reason,
    }
}

/// A file claiming 50000x50000 is refused from its header, before anything is allocated.
fn check_side(w: u32, h: u32, path: &Path) -> Result<()> {
    if w.max(h) > MAX_EXEMPLAR_SIDE {
        return Err(Error::ImageRead {
            path: path.to_path_buf(),
            reason: format!(
                "{w}x{h} is too large (at most {MAX_EXEMPLAR_SIDE} pixels per side): resize it \
                 first; the exemplar's statistics need no more than a few hundred pixels"
            ),
        });
    }
    Ok(())
}

/// The exemplar must be a regular file (a FIFO would block forever, a device never end) that
/// this user may read.
fn check_regular_file(path: &Path) -> Result<fs::Metadata> {
    let fail = |reason: String| Error::ImageRead {
        path: path.to_path_buf(),
        reason,
    };
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => match fs::symlink_metadata(path) {
            Ok(_) => fail("a symbolic link to a file that does not exist".into()),
            Err(_) => fail("no such file".into()),
        },
        std::io::ErrorKind::PermissionDenied => {
            fail(format!("{e}: allow your user to read it (e.g. chmod u+r)"))
        }
        _ if e.raw_os_error() == Some(40) => fail(
            "a loop of symbolic links (each points on to the next, back to the first): point \
             the link at the image itself"
                .into(),
        ),
        _ => fail(e.to_string()),
    })?;
    if meta.is_dir() {
        return Err(fail("it is a folder, not an image".into()));
    }
    if !meta.is_file() {
        return Err(fail(
            "not a regular file (a pipe, device or socket): save the image to a file first".into(),
        ));
    }
    Ok(meta)
}

fn too_big_reason() -> String {
    format!(
        "the image is larger than {} MiB: resize or recompress it first; the exemplar's \
         statistics need no more than a few hundred pixels per side",
        MAX_EXEMPLAR_BYTES >> 20
    )
}

/// The file's bytes, refusing special files and anything over MAX_EXEMPLAR_BYTES.
fn read_exemplar(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let fail = |reason: String| Error::ImageRead {
        path: path.to_path_buf(),
        reason,
    };
    check_regular_file(path)?;
    let too_big = || fail(too_big_reason());
    let file = fs::File::open(path).map_err(|e| open_error(path, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_EXEMPLAR_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_EXEMPLAR_BYTES {
        return Err(too_big());
    }
    Ok(bytes)
}

/// Decode an image file's bytes (`path` only names it in messages). The fuzzed entry point.
pub fn decode_rgb(bytes: &[u8], path: &Path) -> Result<Loaded> {
    let fail = |reason: String| Error::ImageRead {
        path: path.to_path_buf(),
        reason,
    };
    // The header first: a file claiming 50000x50000 is refused before anything is allocated.
    if let Ok((w, h)) = reader_for(bytes, path).into_dimensions() {
        check_side(w, h, path)?;
    }
    // The decoder's default allocation limit (512 MiB) is below what the largest accepted
    // image needs: allow that, and no more.
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_EXEMPLAR_SIDE as u64 * MAX_EXEMPLAR_SIDE as u64 * 8);
    let mut reader = reader_for(bytes, path);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| fail(not_an_image(e)))?;
    let mut notices = Vec::new();
    let color = decoded.color();
    if !color.has_color() {
        notices.push(format!(
            "{}: grayscale image, converted to RGB (R = G = B)",
            path.display()
        ));
    }
    if color.has_alpha() {
        notices.push(format!(
            "{}: alpha channel ignored (the colour channels are used as they are)",
            path.display()
        ));
    }
    if decoded.width() == 0 || decoded.height() == 0 {
        return Err(fail("the image is empty".into()));
    }
    // Floats straight from the decoded samples: a 16-bit exemplar keeps its precision.
    let rgb = decoded.to_rgb32f();
    let (w, h) = rgb.dimensions();
    Ok(Loaded {
        image: Array3::from_shape_fn((3, h as usize, w as usize), |(c, y, x)| {
            rgb.get_pixel(x as u32, y as u32)[c].clamp(0.0, 1.0)
        }),
        notices,
        sha256: String::new(),
    })
}
