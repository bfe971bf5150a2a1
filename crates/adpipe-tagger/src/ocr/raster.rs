//! Pixel operations of the OCR pipeline, with OpenCV's conventions as
//! `scripts/ocr-reference.py` reproduces them: the bilinear resize
//! (`INTER_LINEAR`) and the perspective warp with bicubic sampling
//! (`INTER_CUBIC`, edges replicated).
//!
//! Written here rather than taken from a crate: `image` and
//! `fast_image_resize` antialias when they shrink (OpenCV samples four
//! pixels whatever the scale), and `imageproc`'s bicubic warp is
//! Catmull-Rom (A = -0.5, OpenCV's is -0.75) rounded to 8 bits after each
//! row. The recogniser reads a line differently when its crop is a shade
//! off, so the pixels must be the reference's.

use image::{Rgb, RgbImage};

use super::geometry::{self, Quad};

/// Source positions and weights along one axis: OpenCV samples output
/// pixel `i` at `(i + 0.5) * scale - 0.5`, clamped at the edges.
fn bilinear_taps(source: u32, target: u32) -> Vec<(usize, usize, f64)> {
    let scale = f64::from(source) / f64::from(target);
    let last = source as usize - 1;
    (0..target)
        .map(|index| {
            let position = ((f64::from(index) + 0.5) * scale - 0.5).max(0.0);
            let low = (position.floor() as usize).min(last);
            let high = (low + 1).min(last);
            (low, high, position - low as f64)
        })
        .collect()
}

/// Rounds half to even and clamps to a byte, as `np.rint` then a cast.
fn to_byte(value: f64) -> u8 {
    value.round_ties_even().clamp(0.0, 255.0) as u8
}

/// Bilinear resize with OpenCV's `INTER_LINEAR` pixel convention and no
/// antialiasing, computed in f64 and rounded half to even as the reference.
/// An empty image or target gives an empty image.
pub fn resize_bilinear(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    if image.dimensions() == (width, height) {
        return image.clone();
    }
    if image.width() == 0 || image.height() == 0 || width == 0 || height == 0 {
        return RgbImage::new(width, height);
    }
    let columns = bilinear_taps(image.width(), width);
    let rows = bilinear_taps(image.height(), height);
    let mut out = RgbImage::new(width, height);
    for (y, &(top, bottom, down)) in rows.iter().enumerate() {
        for (x, &(left, right, across)) in columns.iter().enumerate() {
            let pixel = |column: usize, row: usize| image.get_pixel(column as u32, row as u32).0;
            let (a, b) = (pixel(left, top), pixel(right, top));
            let (c, d) = (pixel(left, bottom), pixel(right, bottom));
            let mut value = [0u8; 3];
            for channel in 0..3 {
                let upper = f64::from(a[channel]) * (1.0 - across) + f64::from(b[channel]) * across;
                let lower = f64::from(c[channel]) * (1.0 - across) + f64::from(d[channel]) * across;
                value[channel] = to_byte(upper * (1.0 - down) + lower * down);
            }
            out.put_pixel(x as u32, y as u32, Rgb(value));
        }
    }
    out
}

/// OpenCV's bicubic weights (A = -0.75) of the taps at -1, 0, 1 and 2 for
/// a fraction `t` in 0..1.
pub fn cubic_weights(t: f64) -> [f64; 4] {
    const A: f64 = -0.75;
    let w0 = ((A * (t + 1.0) - 5.0 * A) * (t + 1.0) + 8.0 * A) * (t + 1.0) - 4.0 * A;
    let w1 = ((A + 2.0) * t - (A + 3.0)) * t * t + 1.0;
    let w2 = ((A + 2.0) * (1.0 - t) - (A + 3.0)) * (1.0 - t) * (1.0 - t) + 1.0;
    [w0, w1, w2, 1.0 - w0 - w1 - w2]
}

/// The `quad` of `image` (clockwise from its top-left corner) straightened
/// onto a `width` x `height` rectangle: each output pixel is sampled
/// bicubically where the perspective transform takes it, edges
/// replicated. None when the quad is degenerate.
pub fn warp_quad(image: &RgbImage, quad: &Quad, width: u32, height: u32) -> Option<RgbImage> {
    let (w, h) = (f64::from(width), f64::from(height));
    let target: Quad = [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]];
    // The reference solves quad -> target and inverts it; solving
    // target -> quad directly is the same map, to rounding.
    let inverse = geometry::perspective_transform(&target, quad)?;
    let (source_width, source_height) = (image.width() as i64, image.height() as i64);
    if source_width == 0 || source_height == 0 {
        return None;
    }
    let mut out = RgbImage::new(width, height);
    for y in 0..height {
        for x in 0..width {
            let [sx, sy] = geometry::apply(&inverse, f64::from(x), f64::from(y));
            if !sx.is_finite() || !sy.is_finite() {
                return None;
            }
            let (x0, y0) = (sx.floor(), sy.floor());
            let (wx, wy) = (cubic_weights(sx - x0), cubic_weights(sy - y0));
            let (x0, y0) = (x0 as i64, y0 as i64);
            let mut sum = [0.0f64; 3];
            for (j, weight_y) in wy.iter().enumerate() {
                let row = (y0 + j as i64 - 1).clamp(0, source_height - 1) as u32;
                for (i, weight_x) in wx.iter().enumerate() {
                    let column = (x0 + i as i64 - 1).clamp(0, source_width - 1) as u32;
                    let pixel = image.get_pixel(column, row).0;
                    let weight = weight_y * weight_x;
                    for channel in 0..3 {
                        sum[channel] += weight * f64::from(pixel[channel]);
                    }
                }
            }
            out.put_pixel(x, y, Rgb(sum.map(to_byte)));
        }
    }
    Some(out)
}

/// The image turned 90 degrees counter-clockwise (`np.rot90`).
pub fn rotate_counter_clockwise(image: &RgbImage) -> RgbImage {
    let (width, height) = image.dimensions();
    RgbImage::from_fn(height, width, |x, y| *image.get_pixel(width - 1 - y, x))
}

/// `cv2.dilate` with a 2x2 kernel of ones: a pixel is set when it or its
/// neighbour to the left, above, or above-left is; the mask grows right and
/// down. `mask` is row-major, `width` wide.
pub fn dilate_2x2(mask: &[bool], width: usize) -> Vec<bool> {
    let mut out = mask.to_vec();
    if width == 0 {
        return out;
    }
    for (index, set) in out.iter_mut().enumerate() {
        let (x, y) = (index % width, index / width);
        let left = x > 0 && mask[index - 1];
        let above = y > 0 && mask[index - width];
        let above_left = x > 0 && y > 0 && mask[index - width - 1];
        *set |= left || above || above_left;
    }
    out
}
