//! Where the OCR models look (`[preprocess]` of the detector's
//! model.toml): the scale guard and the letterbox that make the working
//! image, the detector's input size, the way back to the photo's pixels,
//! and the reading order of the lines.

use std::borrow::Cow;

use image::RgbImage;

use super::detector::{DetectorPreprocess, LimitType};
use super::geometry::{Point, Quad};
use super::raster::resize_bilinear;

/// `value / multiple` rounded half to even (Python's `round`), times
/// `multiple`; at least `multiple`, so that no side becomes 0 (the
/// reference would fail on such an image, more than 100 times as long as
/// it is high).
pub fn to_multiple(value: u32, multiple: u32) -> u32 {
    let multiple = multiple.max(1);
    let rounded = (f64::from(value) / f64::from(multiple)).round_ties_even() as u32 * multiple;
    rounded.max(multiple)
}

/// The photo as the models see it: scaled by the guard, letterboxed, and
/// how to go back to the photo's pixels.
#[derive(Debug, Clone)]
pub struct WorkingImage<'a> {
    pub image: Cow<'a, RgbImage>,
    /// Black rows added above (and as many below).
    pub top: u32,
    /// The photo's pixels per working pixel, across and down.
    pub scale_x: f64,
    pub scale_y: f64,
    /// The photo's width and height.
    pub original: (u32, u32),
}

impl<'a> WorkingImage<'a> {
    /// The guard: a long side over `max_side` is scaled down to it, then a
    /// short side under `min_side` up to it (each side `int(side * ratio)`
    /// to a multiple); then an image at most `letterbox_min_height` high,
    /// or more than `letterbox_max_aspect` times as wide as high, gets
    /// black bands above and below.
    pub fn new(photo: &'a RgbImage, settings: &DetectorPreprocess) -> Self {
        let (width, height) = photo.dimensions();
        let mut image = Cow::Borrowed(photo);
        let (mut scale_x, mut scale_y) = (1.0, 1.0);
        let resized = |image: &RgbImage, ratio: f64| {
            let (w, h) = image.dimensions();
            let new_width = to_multiple((f64::from(w) * ratio) as u32, settings.multiple);
            let new_height = to_multiple((f64::from(h) * ratio) as u32, settings.multiple);
            resize_bilinear(image, new_width, new_height)
        };
        if width.max(height) > settings.max_side {
            let ratio = f64::from(settings.max_side) / f64::from(width.max(height));
            image = Cow::Owned(resized(&image, ratio));
        }
        let shorter = image.width().min(image.height());
        if shorter > 0 && shorter < settings.min_side {
            let ratio = f64::from(settings.min_side) / f64::from(shorter);
            image = Cow::Owned(resized(&image, ratio));
        }
        if image.dimensions() != (width, height) {
            scale_x = f64::from(width) / f64::from(image.width());
            scale_y = f64::from(height) / f64::from(image.height());
        }
        let (w, h) = image.dimensions();
        let mut top = 0;
        if h > 0
            && (h <= settings.letterbox_min_height
                || f64::from(w) / f64::from(h) > settings.letterbox_max_aspect)
        {
            let banded = ((f64::from(w) / settings.letterbox_max_aspect) as u32)
                .max(settings.letterbox_min_height)
                * 2;
            top = banded.abs_diff(h) / 2;
            let mut padded = RgbImage::new(w, h + 2 * top);
            image::imageops::replace(&mut padded, &*image, 0, i64::from(top));
            image = Cow::Owned(padded);
        }
        Self {
            image,
            top,
            scale_x,
            scale_y,
            original: (width, height),
        }
    }

    /// The detector's input size `(width, height)`: `limit_type = "min"`
    /// scales a shorter side under `limit_side` up to it, `"max"` a longer
    /// side over it down; each side to a multiple.
    pub fn detector_input(&self, settings: &DetectorPreprocess) -> (u32, u32) {
        let (w, h) = self.image.dimensions();
        let limit = f64::from(settings.limit_side);
        let ratio = match settings.limit_type {
            LimitType::Min if w.min(h) < settings.limit_side => limit / f64::from(w.min(h)),
            LimitType::Max if w.max(h) > settings.limit_side => limit / f64::from(w.max(h)),
            _ => 1.0,
        };
        let side = |value: u32| to_multiple((f64::from(value) * ratio) as u32, settings.multiple);
        (side(w), side(h))
    }

    /// A box of the working image in the photo's pixels: bands taken off,
    /// scaled back, clipped to the photo, rounded half to even.
    pub fn to_original(&self, quad: &Quad) -> [[f32; 2]; 4] {
        let (width, height) = (f64::from(self.original.0), f64::from(self.original.1));
        quad.map(|[x, y]| {
            let x = (x * self.scale_x).clamp(0.0, width);
            let y = ((y - f64::from(self.top)) * self.scale_y).clamp(0.0, height);
            [x.round_ties_even() as f32, y.round_ties_even() as f32]
        })
    }
}

/// The reading order of lines by their first (top-left) corners, as
/// indices into `first_corners`: top to bottom, then left to right; a line
/// whose corner is less than 10 px lower than its predecessor's and to its
/// left goes before it (rapidocr's `sorted_boxes`, one insertion pass).
pub fn reading_order(first_corners: &[Point]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..first_corners.len()).collect();
    // Stable, as Python's `sorted`.
    order.sort_by(|&a, &b| {
        let ([ax, ay], [bx, by]) = (first_corners[a], first_corners[b]);
        ay.total_cmp(&by).then(ax.total_cmp(&bx))
    });
    for i in 0..order.len().saturating_sub(1) {
        for j in (0..=i).rev() {
            let (upper, lower) = (first_corners[order[j]], first_corners[order[j + 1]]);
            if (lower[1] - upper[1]).abs() < 10.0 && lower[0] < upper[0] {
                order.swap(j, j + 1);
            } else {
                break;
            }
        }
    }
    order
}
