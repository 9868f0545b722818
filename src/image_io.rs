//! Image input and output. Images live in memory as planar RGB float32 [3, H, W] in [0, 1], the
//! convention of the models' image input.

use std::fs;
use std::path::{Path, PathBuf};

use image::{ImageReader, RgbImage};
use ndarray::Array3;

use crate::error::{Error, Result};

/// Planar RGB image, [3, height, width], values in [0, 1].
pub type Planar = Array3<f32>;

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

pub fn from_rgb8(rgb: &RgbImage) -> Planar {
    let (w, h) = rgb.dimensions();
    Array3::from_shape_fn((3, h as usize, w as usize), |(c, y, x)| {
        rgb.get_pixel(x as u32, y as u32)[c] as f32 / 255.0
    })
}

/// 16-bit RGB, rounded to the nearest of 65536 levels.
pub fn to_rgb16(image: &Planar) -> image::ImageBuffer<image::Rgb<u16>, Vec<u16>> {
    let (_, h, w) = image.dim();
    image::ImageBuffer::from_fn(w as u32, h as u32, |x, y| {
        let px = |c| (image[[c, y as usize, x as usize]].clamp(0.0, 1.0) * 65535.0).round() as u16;
        image::Rgb([px(0), px(1), px(2)])
    })
}

pub fn to_rgb8(image: &Planar) -> RgbImage {
    let (_, h, w) = image.dim();
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let px = |c| (image[[c, y as usize, x as usize]].clamp(0.0, 1.0) * 255.0).round() as u8;
        image::Rgb([px(0), px(1), px(2)])
    })
}

/// Resize with a Lanczos filter in float precision, clamped to [0, 1] (Lanczos overshoots at
/// edges). Used for the exemplar (--exemplar-scale, coarse scales) and to carry a coarse-scale
/// result up to the next scale, where 8-bit rounding would add noise to the optimised pixels.
pub fn resize(image: &Planar, width: u32, height: u32) -> Planar {
    let (_, h, w) = image.dim();
    let src = image::Rgb32FImage::from_fn(w as u32, h as u32, |x, y| {
        let (x, y) = (x as usize, y as usize);
        image::Rgb([image[[0, y, x]], image[[1, y, x]], image[[2, y, x]]])
    });
    let out = image::imageops::resize(&src, width, height, image::imageops::FilterType::Lanczos3);
    Array3::from_shape_fn((3, height as usize, width as usize), |(c, y, x)| {
        out.get_pixel(x as u32, y as u32)[c].clamp(0.0, 1.0)
    })
}

/// One output row or column of a bilinear resize: its two source neighbours and the weight of
/// the second.
type Tap = (usize, usize, f32);

/// Index `k` of a row or column of `n` samples, possibly outside it: wrapped around (`wrap`:
/// periodic) or the nearest edge sample.
pub(crate) fn edge_index(k: isize, n: usize, wrap: bool) -> usize {
    if wrap {
        k.rem_euclid(n as isize) as usize
    } else {
        k.clamp(0, n as isize - 1) as usize
    }
}

/// The taps of a bilinear resize from `from` to `to` samples (pixel centres aligned); `wrap`
/// treats the signal as periodic, otherwise edges are repeated.
fn bilinear_taps(from: usize, to: usize, wrap: bool) -> Vec<Tap> {
    let at = |k: isize| edge_index(k, from, wrap);
    (0..to)
        .map(|i| {
            let p = (i as f32 + 0.5) * from as f32 / to as f32 - 0.5;
            let lo = p.floor();
            (at(lo as isize), at(lo as isize + 1), p - lo)
        })
        .collect()
}

/// Bilinear resize, optionally treating the image as periodic (`wrap`: a tileable texture's
/// right edge neighbours its left). Used to carry a coarse-scale result up to the next scale:
/// unlike Lanczos it never overshoots, so no pixel is pushed to 0 or 1, where the solver's
/// sigmoid parametrisation would all but freeze it.
pub fn upsample(image: &Planar, width: u32, height: u32, wrap: bool) -> Planar {
    let (_, h, w) = image.dim();
    let rows = bilinear_taps(h, height as usize, wrap);
    let cols = bilinear_taps(w, width as usize, wrap);
    Array3::from_shape_fn((3, height as usize, width as usize), |(c, y, x)| {
        let (y0, y1, fy) = rows[y];
        let (x0, x1, fx) = cols[x];
        let top = image[[c, y0, x0]] * (1.0 - fx) + image[[c, y0, x1]] * fx;
        let bottom = image[[c, y1, x0]] * (1.0 - fx) + image[[c, y1, x1]] * fx;
        top * (1.0 - fy) + bottom * fy
    })
}

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

/// Place images side by side on one PNG (a contact sheet), with a gap between them.
pub fn contact_sheet(images: &[&Planar], gap: usize) -> Planar {
    let h = images.iter().map(|i| i.dim().1).max().unwrap_or(0);
    let w: usize =
        images.iter().map(|i| i.dim().2).sum::<usize>() + gap * images.len().saturating_sub(1);
    let mut sheet = Array3::from_elem((3, h, w), 1.0f32);
    let mut x0 = 0;
    for img in images {
        let (_, ih, iw) = img.dim();
        sheet
            .slice_mut(ndarray::s![.., ..ih, x0..x0 + iw])
            .assign(img);
        x0 += iw + gap;
    }
    sheet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_is_exact_at_8_bits() {
        let dir = std::env::temp_dir().join(format!("neurotex-io-{}", std::process::id()));
        let img = Array3::from_shape_fn((3, 5, 7), |(c, y, x)| {
            ((c * 35 + y * 7 + x) % 256) as f32 / 255.0
        });
        let path = dir.join("sub/rt.png");
        save_png(&img, &path).unwrap();
        let back = load_rgb(&path).unwrap();
        assert!(back.notices.is_empty());
        assert_eq!(back.image, img);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn jpeg_grayscale_and_rgba_are_read_as_rgb_with_notices() {
        let dir = std::env::temp_dir().join(format!("neurotex-fmt-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let gray = image::GrayImage::from_fn(20, 10, |x, _| image::Luma([(x * 12) as u8]));
        let jpg = dir.join("gray.JPG");
        gray.save_with_format(&jpg, image::ImageFormat::Jpeg)
            .unwrap();
        let loaded = load_rgb(&jpg).unwrap();
        assert_eq!(loaded.image.dim(), (3, 10, 20));
        assert!(loaded.notices[0].contains("grayscale"));
        // R = G = B after conversion.
        assert_eq!(
            loaded.image.index_axis(ndarray::Axis(0), 0),
            loaded.image.index_axis(ndarray::Axis(0), 2)
        );

        let rgba = image::RgbaImage::from_pixel(8, 8, image::Rgba([255, 0, 0, 128]));
        let png = dir.join("rgba.png");
        rgba.save(&png).unwrap();
        let loaded = load_rgb(&png).unwrap();
        assert!(loaded.notices.iter().any(|n| n.contains("alpha")));
        assert_eq!(loaded.image[[0, 3, 3]], 1.0);
        assert_eq!(loaded.image[[1, 3, 3]], 0.0);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn upsample_interpolates_without_overshoot_and_wraps_when_asked() {
        // A column edge: 0 on the left half, 1 on the right.
        let img = Array3::from_shape_fn((3, 2, 4), |(_, _, x)| if x < 2 { 0.0f32 } else { 1.0 });
        let up = upsample(&img, 8, 4, false);
        assert!(up.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(up[[0, 0, 0]], 0.0); // clamped edge: the left border stays dark
        assert_eq!(up[[0, 0, 7]], 1.0);
        // Wrapped: the left border blends with the right edge, as on a torus.
        let wrapped = upsample(&img, 8, 4, true);
        assert_eq!(wrapped[[0, 0, 0]], 0.25);
        assert_eq!(wrapped[[0, 0, 7]], 0.75);
        // Same-size upsampling is the identity.
        assert_eq!(upsample(&img, 4, 2, true), img);
    }

    #[test]
    fn contact_sheet_places_images_side_by_side() {
        let a = Array3::from_elem((3, 4, 2), 0.0f32);
        let b = Array3::from_elem((3, 2, 3), 0.5f32);
        let sheet = contact_sheet(&[&a, &b], 1);
        assert_eq!(sheet.dim(), (3, 4, 6));
        assert_eq!(sheet[[0, 0, 0]], 0.0);
        assert_eq!(sheet[[0, 0, 2]], 1.0, "gap is white");
        assert_eq!(sheet[[0, 1, 3]], 0.5);
        assert_eq!(sheet[[0, 3, 4]], 1.0, "below a shorter image is white");
    }

    #[test]
    fn unreadable_inputs_are_clear_errors() {
        let missing = load_rgb(Path::new("/nonexistent/x.png"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("no such file"), "{missing}");
        let dir = std::env::temp_dir().join(format!("neurotex-bad-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.png");
        fs::write(&bad, b"\x89PNG\r\n\x1a\nnot really").unwrap();
        assert!(load_rgb(&bad).is_err());
        assert!(check_writable(&dir).is_err(), "a folder is not a file");
        fs::remove_dir_all(dir).unwrap();
    }
}
