//! How the output image is encoded: `--bit-depth`, `--jpeg-quality`, `--format`.

use std::path::Path;

use clap::Args;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::image_io::{self, Encoding, OutputFormat};

/// How the output image is encoded (its format follows its extension).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Args)]
pub struct EncodingSettings {
    /// Bits per channel of the output: 8, or 16 (PNG and TIFF): the optimised pixels are
    /// floats, and 16 bits keep smooth gradients free of banding.
    #[arg(long, default_value_t = 8, value_name = "BITS", value_parser = parse_bit_depth)]
    pub bit_depth: u8,
    /// JPEG quality, 1 to 100.
    #[arg(long, default_value_t = image_io::JPEG_QUALITY, value_name = "Q")]
    pub jpeg_quality: u8,
    /// Format of the image written to stdout (-o -): png, jpeg, webp or tiff [default: png].
    /// A file's format follows its extension.
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
}

impl Default for EncodingSettings {
    fn default() -> Self {
        EncodingSettings {
            bit_depth: 8,
            jpeg_quality: image_io::JPEG_QUALITY,
            format: None,
        }
    }
}

impl EncodingSettings {
    /// The encoding of the output at `path` (None: stdout), refused before any work where
    /// the format cannot do what was asked.
    pub fn encoding(&self, path: Option<&Path>) -> Result<Encoding> {
        let format = match (path, self.format) {
            (None, format) => format.unwrap_or(OutputFormat::Png),
            (Some(path), asked) => {
                let format = OutputFormat::of(path)?;
                if asked.is_some_and(|a| a != format) {
                    return Err(Error::InvalidSetting(format!(
                        "--format {} disagrees with {}: a file's format follows its \
                         extension (--format is for -o -, stdout); rename the output or drop \
                         --format",
                        asked.map_or("", OutputFormat::name).to_lowercase(),
                        path.display()
                    )));
                }
                format
            }
        };
        if self.bit_depth == 16 && !format.holds_16_bits() {
            return Err(Error::InvalidSetting(format!(
                "--bit-depth 16: {} holds 8 bits per channel; write .png or .tif for 16 bits",
                format.name()
            )));
        }
        Ok(Encoding {
            format,
            bit_depth: self.bit_depth,
            jpeg_quality: self.jpeg_quality,
        })
    }
}

fn parse_bit_depth(s: &str) -> std::result::Result<u8, String> {
    match s.trim() {
        "8" => Ok(8),
        "16" => Ok(16),
        _ => Err(format!("'{s}': 8 or 16 bits per channel")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    #[test]
    fn the_encoding_follows_the_extension_and_refuses_what_a_format_cannot_hold() {
        let mut e = EncodingSettings::default();
        let of = |e: &EncodingSettings, p: Option<&str>| e.encoding(p.map(Path::new));
        assert_eq!(of(&e, Some("a.TIFF")).unwrap().format, OutputFormat::Tiff);
        assert_eq!(of(&e, Some("a.webp")).unwrap().format, OutputFormat::Webp);
        assert_eq!(
            of(&e, None).unwrap().format,
            OutputFormat::Png,
            "stdout: PNG"
        );
        assert!(of(&e, Some("a.gif")).is_err());
        e.bit_depth = 16;
        assert_eq!(of(&e, Some("a.png")).unwrap().bit_depth, 16);
        assert!(of(&e, Some("a.jpg"))
            .unwrap_err()
            .to_string()
            .contains(".png or .tif"));
        e.bit_depth = 8;
        e.format = Some(OutputFormat::Jpeg);
        assert_eq!(of(&e, None).unwrap().format, OutputFormat::Jpeg);
        assert!(of(&e, Some("a.png"))
            .unwrap_err()
            .to_string()
            .contains("--format"));
        // A record written before the encoding settings existed still reads.
        let mut json: serde_json::Value = serde_json::to_value(Settings::default()).unwrap();
        json.as_object_mut().unwrap().remove("encoding");
        let back: Settings = serde_json::from_value(json).unwrap();
        assert_eq!(back.encoding, EncodingSettings::default());
    }
}
