//! From the detector's probability map to text boxes (DB post-processing,
//! `[postprocess]` of the detector's model.toml), as the reference's pure
//! geometry does it: binarise, dilate, one candidate per 8-connected
//! region, its minimum-area rectangle, the mean probability inside it, the
//! rectangle grown by the unclip distance.

use image::{ImageBuffer, Luma};
use imageproc::region_labelling::{Connectivity, connected_components};

use super::detector::Postprocess;
use super::geometry::{self, Point, Quad};
use super::raster::dilate_2x2;

/// The detector's output: one text probability per pixel, row-major.
#[derive(Debug, Clone)]
pub struct ProbabilityMap {
    pub width: usize,
    pub height: usize,
    pub values: Vec<f32>,
}

/// A candidate box in the map's pixels (in the reference's corner order)
/// and its score, the mean probability inside the box before it grew.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub corners: Quad,
    pub score: f32,
}

/// The boxes of `map`, in the order of the regions' first pixels (raster
/// order, as OpenCV numbers connected components), at most
/// `max_candidates` regions looked at.
pub fn candidates(map: &ProbabilityMap, settings: &Postprocess) -> Vec<Candidate> {
    let mut mask: Vec<bool> = map
        .values
        .iter()
        .map(|&value| value > settings.thresh)
        .collect();
    if settings.dilate {
        mask = dilate_2x2(&mask, map.width);
    }
    regions(&mask, map.width, map.height)
        .into_iter()
        .take(settings.max_candidates)
        .filter_map(|region| candidate(map, &region, settings))
        .collect()
}

/// Each region's pixels that the hull needs: per row its leftmost and
/// rightmost pixel (rows top to bottom), with its pixel count.
struct Region {
    rows: Vec<(u32, u32, u32)>,
    pixels: usize,
}

/// The 8-connected regions of `mask`, numbered in raster order of their
/// first pixel: `imageproc` labels them so, as OpenCV does.
fn regions(mask: &[bool], width: usize, height: usize) -> Vec<Region> {
    let (Ok(width), Ok(height)) = (u32::try_from(width), u32::try_from(height)) else {
        return Vec::new();
    };
    let raw: Vec<u8> = mask.iter().map(|&set| u8::from(set)).collect();
    let Some(binary) = ImageBuffer::<Luma<u8>, Vec<u8>>::from_raw(width, height, raw) else {
        return Vec::new();
    };
    let labels = connected_components(&binary, Connectivity::Eight, Luma([0u8]));
    let mut regions: Vec<Region> = Vec::new();
    for (x, y, label) in labels.enumerate_pixels() {
        let label = label.0[0] as usize;
        if label == 0 {
            continue;
        }
        if label > regions.len() {
            regions.resize_with(label, || Region {
                rows: Vec::new(),
                pixels: 0,
            });
        }
        let region = &mut regions[label - 1];
        region.pixels += 1;
        // Pixels come in raster order: a row's first pixel is its leftmost.
        match region.rows.last_mut() {
            Some((row, _, right)) if *row == y => *right = x,
            _ => region.rows.push((y, x, x)),
        }
    }
    regions
}

fn candidate(map: &ProbabilityMap, region: &Region, settings: &Postprocess) -> Option<Candidate> {
    if region.pixels < 3 {
        return None;
    }
    let points: Vec<Point> = region
        .rows
        .iter()
        .flat_map(|&(y, left, right)| {
            [
                [f64::from(left), f64::from(y)],
                [f64::from(right), f64::from(y)],
            ]
        })
        .collect();
    let min_size = f64::from(settings.min_size);
    let rectangle = geometry::min_area_rect(&geometry::convex_hull(&points))?;
    if rectangle.short_side < min_size {
        return None;
    }
    let score = box_score(map, &geometry::order_mini_box(&rectangle.corners));
    if score < settings.box_thresh {
        return None;
    }
    let (length_u, length_v) = geometry::side_lengths(&rectangle.corners);
    let distance = length_u * length_v * settings.unclip_ratio / (2.0 * (length_u + length_v));
    // rapidocr hands the corners to pyclipper, which truncates them to
    // integers: the grown box is the least rectangle around those.
    let truncated = rectangle.corners.map(|[x, y]| [x.trunc(), y.trunc()]);
    let around = geometry::min_area_rect(&geometry::convex_hull(&truncated))?;
    let grown = geometry::expand_rect(&around.corners, distance);
    if grown.short_side < min_size + 2.0 {
        return None;
    }
    Some(Candidate {
        corners: geometry::order_mini_box(&grown.corners),
        score,
    })
}

/// The mean probability over the pixels inside `quad` or within half a
/// pixel of its edges, the quad's corners truncated to integers (as
/// `cv2.fillPoly` gets them); 0 when no pixel is.
pub fn box_score(map: &ProbabilityMap, quad: &Quad) -> f32 {
    if map.width == 0 || map.height == 0 {
        return 0.0;
    }
    let clamp = |value: f64, last: usize| value.clamp(0.0, last as f64) as usize;
    let least = |values: [f64; 4]| values.into_iter().fold(f64::INFINITY, f64::min);
    let most = |values: [f64; 4]| values.into_iter().fold(f64::NEG_INFINITY, f64::max);
    let (xs, ys) = (quad.map(|[x, _]| x), quad.map(|[_, y]| y));
    let x_min = clamp(least(xs).floor(), map.width - 1);
    let x_max = clamp(most(xs).ceil(), map.width - 1);
    let y_min = clamp(least(ys).floor(), map.height - 1);
    let y_max = clamp(most(ys).ceil(), map.height - 1);
    let local = quad.map(|[x, y]| [x.trunc() - x_min as f64, y.trunc() - y_min as f64]);
    let mut sum = 0.0f64;
    let mut count = 0usize;
    for y in y_min..=y_max {
        for x in x_min..=x_max {
            if geometry::inside_quad(&local, (x - x_min) as f64, (y - y_min) as f64) {
                sum += f64::from(map.values[y * map.width + x]);
                count += 1;
            }
        }
    }
    if count == 0 {
        0.0
    } else {
        (sum / count as f64) as f32
    }
}
