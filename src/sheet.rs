//! Labelled contact sheets: images in rows, each with a caption, drawn with a built-in 8x8
//! bitmap font so that no font file has to be installed.

use ndarray::{s, Array3};

use crate::image_io::{resize, Planar};

/// One captioned image of a sheet.
pub struct Tile {
    pub caption: String,
    pub image: Planar,
}

const PAD: usize = 6;
const GLYPH: usize = 8;

/// Draw `text` in black at (x, y), each font pixel `scale` image pixels; clipped to the image.
pub fn draw_text(img: &mut Planar, x: usize, y: usize, text: &str, scale: usize) {
    let (_, h, w) = img.dim();
    for (i, ch) in text.chars().enumerate() {
        let glyph = font8x8::legacy::BASIC_LEGACY[if ch.is_ascii() {
            ch as usize
        } else {
            b'?' as usize
        }];
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..GLYPH {
                if bits & (1 << col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let (px, py) = (x + (i * GLYPH + col) * scale + dx, y + row * scale + dy);
                        if px < w && py < h {
                            img.slice_mut(s![.., py, px]).fill(0.0);
                        }
                    }
                }
            }
        }
    }
}

/// A sheet with a title (large) and a subtitle, then one row per entry: the row's caption, then its tiles side by side,
/// each resized to `tile` x `tile` with its caption above it (cut to fit the tile's width).
pub fn labelled_sheet(
    title: &str,
    subtitle: &str,
    rows: &[(String, Vec<Tile>)],
    tile: usize,
) -> Planar {
    let columns = rows.iter().map(|(_, t)| t.len()).max().unwrap_or(1).max(1);
    let title_h = 3 * GLYPH + 3 * PAD;
    let row_h = GLYPH + PAD + GLYPH + PAD + tile + PAD; // row caption, tile captions, tiles
    let width = PAD + columns * (tile + PAD);
    let height = title_h + rows.len() * row_h;
    let mut sheet = Array3::from_elem((3, height, width), 1.0f32);
    draw_text(&mut sheet, PAD, PAD, title, 2);
    draw_text(&mut sheet, PAD, 2 * GLYPH + 2 * PAD, subtitle, 1);
    for (r, (caption, tiles)) in rows.iter().enumerate() {
        let y0 = title_h + r * row_h;
        draw_text(&mut sheet, PAD, y0, caption, 1);
        for (c, t) in tiles.iter().enumerate() {
            let x0 = PAD + c * (tile + PAD);
            let max_chars = tile / GLYPH;
            let text: String = t.caption.chars().take(max_chars).collect();
            draw_text(&mut sheet, x0, y0 + GLYPH + PAD, &text, 1);
            let (_, th, tw) = t.image.dim();
            let img = if (th, tw) == (tile, tile) {
                t.image.clone()
            } else {
                resize(&t.image, tile as u32, tile as u32)
            };
            let ty = y0 + 2 * (GLYPH + PAD);
            sheet
                .slice_mut(s![.., ty..ty + tile, x0..x0 + tile])
                .assign(&img);
        }
    }
    sheet
}

/// Stack sheets vertically (e.g. one per study axis into a combined sheet).
pub fn stack(sheets: &[Planar]) -> Planar {
    let width = sheets.iter().map(|s| s.dim().2).max().unwrap_or(1);
    let height: usize = sheets.iter().map(|s| s.dim().1).sum();
    let mut out = Array3::from_elem((3, height.max(1), width), 1.0f32);
    let mut y = 0;
    for s in sheets {
        let (_, h, w) = s.dim();
        out.slice_mut(s![.., y..y + h, ..w]).assign(s);
        y += h;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_drawn_in_black_where_the_glyph_is() {
        let mut img = Array3::from_elem((3, 8, 16), 1.0f32);
        draw_text(&mut img, 0, 0, "I", 1);
        let dark = img.iter().filter(|v| **v == 0.0).count();
        assert!(dark > 0 && dark < 3 * 64, "{dark}");
        let mut blank = Array3::from_elem((3, 8, 8), 1.0f32);
        draw_text(&mut blank, 0, 0, " ", 1);
        assert!(blank.iter().all(|v| *v == 1.0));
    }

    #[test]
    fn sheet_holds_every_tile() {
        let t = |v: f32| Tile {
            caption: "x".into(),
            image: Array3::from_elem((3, 10, 10), v),
        };
        let sheet = labelled_sheet(
            "t",
            "s",
            &[
                ("a".into(), vec![t(0.5), t(0.25)]),
                ("b".into(), vec![t(0.5)]),
            ],
            10,
        );
        let (_, h, w) = sheet.dim();
        assert_eq!(w, PAD + 2 * (10 + PAD));
        assert_eq!(h, 3 * GLYPH + 3 * PAD + 2 * (2 * (GLYPH + PAD) + 10 + PAD));
        assert!(sheet.iter().any(|v| *v == 0.25));
        assert_eq!(stack(&[sheet.clone(), sheet]).dim(), (3, 2 * h, w));
    }
}
