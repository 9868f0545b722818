//! Output sizes: `WxH` or one number, each side between 1 and MAX_SIDE.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Largest side accepted: beyond it a single VGG-16 pass does not fit a workstation's memory.
pub const MAX_SIDE: u32 = 8192;

/// Output size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    /// `WxH` or `N` (square).
    pub fn parse(text: &str) -> Result<Size> {
        let bad = || Error::InvalidSize {
            given: text.to_string(),
            reason: "write it as WIDTHxHEIGHT (e.g. 512x256) or one number for a square".into(),
        };
        let nums = text
            .trim()
            .split(['x', 'X'])
            .map(|p| p.trim().parse::<u64>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| bad())?;
        match nums[..] {
            [n] => Size::checked(n, n),
            [w, h] => Size::checked(w, h),
            _ => Err(bad()),
        }
    }

    /// A size whose sides are in 1..=MAX_SIDE (rounding to what the network needs comes later).
    pub fn checked(width: u64, height: u64) -> Result<Size> {
        let bad = |reason: String| Error::InvalidSize {
            given: format!("{width}x{height}"),
            reason,
        };
        if width == 0 || height == 0 {
            return Err(bad(
                "width and height must be at least 1 pixel (sizes are rounded to multiples of \
                 16, the network's step)"
                    .into(),
            ));
        }
        if width > MAX_SIDE as u64 || height > MAX_SIDE as u64 {
            return Err(bad(format!(
                "each side must be at most {MAX_SIDE} pixels (try 1024x1024 or less)"
            )));
        }
        Ok(Size {
            width: width as u32,
            height: height as u32,
        })
    }

    /// Round each side to the nearest multiple of `m` (at least `m`).
    pub fn rounded_to(self, m: u32) -> Size {
        let r = |v: u32| (((v + m / 2) / m) * m).max(m);
        Size {
            width: r(self.width),
            height: r(self.height),
        }
    }

    pub fn pixels(self) -> u64 {
        self.width as u64 * self.height as u64
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}
