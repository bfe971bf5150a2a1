//! The plane geometry of text boxes, in f64 as `scripts/ocr-reference.py`
//! computes it: convex hull, minimum-area rectangle, the rectangle grown on
//! every side, corner orders, and the perspective transform between two
//! quadrilaterals.
//!
//! Written here rather than taken from `imageproc` (0.27): its
//! `min_area_rect` rounds the corners outwards to integers and skips the
//! hull's closing edge, and its `convex_hull` compares orientations in
//! `i32`; the reference keeps the exact rectangle, which later steps grow
//! and truncate, so the boxes would move by a pixel.

/// A point `[x, y]`, x to the right and y down, in pixels.
pub type Point = [f64; 2];

/// Four corners.
pub type Quad = [Point; 4];

fn cross(origin: Point, a: Point, b: Point) -> f64 {
    (a[0] - origin[0]) * (b[1] - origin[1]) - (a[1] - origin[1]) * (b[0] - origin[0])
}

/// The convex hull by Andrew's monotone chain: the distinct points sorted
/// by x then y, the hull from the leftmost point, without collinear points.
/// Two points or fewer come back sorted and distinct.
pub fn convex_hull(points: &[Point]) -> Vec<Point> {
    let mut sorted: Vec<Point> = points.to_vec();
    sorted.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    sorted.dedup();
    if sorted.len() <= 2 {
        return sorted;
    }
    let mut lower: Vec<Point> = Vec::with_capacity(sorted.len());
    for &point in &sorted {
        while lower.len() >= 2
            && cross(lower[lower.len() - 2], lower[lower.len() - 1], point) <= 0.0
        {
            lower.pop();
        }
        lower.push(point);
    }
    let mut upper: Vec<Point> = Vec::with_capacity(sorted.len());
    for &point in sorted.iter().rev() {
        while upper.len() >= 2
            && cross(upper[upper.len() - 2], upper[upper.len() - 1], point) <= 0.0
        {
            upper.pop();
        }
        upper.push(point);
    }
    lower.pop();
    upper.pop();
    lower.extend(upper);
    lower
}

/// A rectangle: its corners in turn and its shorter side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rectangle {
    pub corners: Quad,
    pub short_side: f64,
}

/// The rectangle of least area that holds `hull` (a convex hull as
/// [`convex_hull`] gives it), by rotating calipers: one side lies along
/// one of the hull's edges, the first edge that gives the least area wins.
/// A single point or a segment gives a flat rectangle (short side 0); no
/// point gives none.
pub fn min_area_rect(hull: &[Point]) -> Option<Rectangle> {
    match hull {
        [] => return None,
        [point] => {
            return Some(Rectangle {
                corners: [*point; 4],
                short_side: 0.0,
            });
        }
        [a, b] => {
            return Some(Rectangle {
                corners: [*a, *b, *b, *a],
                short_side: 0.0,
            });
        }
        _ => {}
    }
    // (area, u, v, min along u, max along u, min along v, max along v)
    let mut best: Option<(f64, Point, Point, [f64; 4])> = None;
    for (index, &start) in hull.iter().enumerate() {
        let end = hull[(index + 1) % hull.len()];
        let edge = [end[0] - start[0], end[1] - start[1]];
        let length = edge[0].hypot(edge[1]);
        if length == 0.0 {
            continue;
        }
        let u = [edge[0] / length, edge[1] / length];
        let v = [-u[1], u[0]];
        let mut extent = [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for point in hull {
            let along_u = point[0] * u[0] + point[1] * u[1];
            let along_v = point[0] * v[0] + point[1] * v[1];
            extent = [
                extent[0].min(along_u),
                extent[1].max(along_u),
                extent[2].min(along_v),
                extent[3].max(along_v),
            ];
        }
        let area = (extent[1] - extent[0]) * (extent[3] - extent[2]);
        if best.is_none_or(|(least, ..)| area < least) {
            best = Some((area, u, v, extent));
        }
    }
    let (_, u, v, [u0, u1, v0, v1]) = best?;
    let corner = |a: f64, b: f64| [a * u[0] + b * v[0], a * u[1] + b * v[1]];
    Some(Rectangle {
        corners: [
            corner(u0, v0),
            corner(u1, v0),
            corner(u1, v1),
            corner(u0, v1),
        ],
        short_side: (u1 - u0).min(v1 - v0),
    })
}

fn norm(vector: Point) -> f64 {
    (vector[0] * vector[0] + vector[1] * vector[1]).sqrt()
}

/// The lengths of a rectangle's first and second sides.
pub fn side_lengths(corners: &Quad) -> (f64, f64) {
    let u = [corners[1][0] - corners[0][0], corners[1][1] - corners[0][1]];
    let v = [corners[3][0] - corners[0][0], corners[3][1] - corners[0][1]];
    (norm(u), norm(v))
}

/// A rectangle grown by `distance` on every side: the minimum-area
/// rectangle of a round-joined polygon offset of it (what pyclipper's
/// offset followed by `cv2.minAreaRect` gives), in closed form.
pub fn expand_rect(corners: &Quad, distance: f64) -> Rectangle {
    // Summed in turn, as NumPy's mean over the corners does.
    let sum = corners
        .iter()
        .fold([0.0, 0.0], |sum, c| [sum[0] + c[0], sum[1] + c[1]]);
    let centre = [sum[0] / 4.0, sum[1] / 4.0];
    let (length_u, length_v) = side_lengths(corners);
    let u = if length_u != 0.0 {
        [
            (corners[1][0] - corners[0][0]) / length_u,
            (corners[1][1] - corners[0][1]) / length_u,
        ]
    } else {
        [1.0, 0.0]
    };
    let v = if length_v != 0.0 {
        [
            (corners[3][0] - corners[0][0]) / length_v,
            (corners[3][1] - corners[0][1]) / length_v,
        ]
    } else {
        [-u[1], u[0]]
    };
    let half_u = length_u / 2.0 + distance;
    let half_v = length_v / 2.0 + distance;
    let corner = |su: f64, sv: f64| {
        [
            centre[0] + su * half_u * u[0] + sv * half_v * v[0],
            centre[1] + su * half_u * u[1] + sv * half_v * v[1],
        ]
    };
    Rectangle {
        corners: [
            corner(-1.0, -1.0),
            corner(1.0, -1.0),
            corner(1.0, 1.0),
            corner(-1.0, 1.0),
        ],
        short_side: 2.0 * half_u.min(half_v),
    }
}

/// rapidocr's `get_mini_boxes` order: sorted by x; of the two leftmost
/// points the upper one is first and the lower one last, of the two
/// rightmost the upper one second.
pub fn order_mini_box(corners: &Quad) -> Quad {
    let mut sorted = *corners;
    // A stable sort, as Python's `sorted`.
    sorted.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let (first, last) = if sorted[1][1] > sorted[0][1] {
        (0, 1)
    } else {
        (1, 0)
    };
    let (second, third) = if sorted[3][1] > sorted[2][1] {
        (2, 3)
    } else {
        (3, 2)
    };
    [sorted[first], sorted[second], sorted[third], sorted[last]]
}

/// Clockwise from the top-left: the two leftmost points (by x, stably)
/// are the top-left and bottom-left by y, the other two the top-right and
/// bottom-right.
pub fn order_clockwise(corners: &Quad) -> Quad {
    let mut sorted = *corners;
    sorted.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let by_y = |a: Point, b: Point| if b[1] < a[1] { (b, a) } else { (a, b) };
    let (top_left, bottom_left) = by_y(sorted[0], sorted[1]);
    let (top_right, bottom_right) = by_y(sorted[2], sorted[3]);
    [top_left, top_right, bottom_right, bottom_left]
}

/// The 3x3 perspective transform (row-major, last entry 1) that maps each
/// point of `from` onto the same point of `to`, by Gaussian elimination
/// with partial pivoting of the 8 equations; none when the points are
/// degenerate (three in a line).
pub fn perspective_transform(from: &Quad, to: &Quad) -> Option<[f64; 9]> {
    let mut rows = [[0.0f64; 9]; 8];
    for (index, (&[x, y], &[u, v])) in from.iter().zip(to).enumerate() {
        rows[2 * index] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        rows[2 * index + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    for column in 0..8 {
        let pivot =
            (column..8).max_by(|&a, &b| rows[a][column].abs().total_cmp(&rows[b][column].abs()))?;
        if rows[pivot][column].abs() < 1e-12 {
            return None;
        }
        rows.swap(column, pivot);
        let (above, below) = rows.split_at_mut(column + 1);
        let pivot_row = &above[column];
        for row in below {
            let factor = row[column] / pivot_row[column];
            for (value, pivot_value) in row[column..].iter_mut().zip(&pivot_row[column..]) {
                *value -= factor * pivot_value;
            }
        }
    }
    let mut solution = [0.0f64; 9];
    solution[8] = 1.0;
    for row in (0..8).rev() {
        let known: f64 = (row + 1..8).map(|k| rows[row][k] * solution[k]).sum();
        solution[row] = (rows[row][8] - known) / rows[row][row];
    }
    solution
        .iter()
        .all(|value| value.is_finite())
        .then_some(solution)
}

/// Where `transform` takes `(x, y)`.
pub fn apply(transform: &[f64; 9], x: f64, y: f64) -> Point {
    let m = transform;
    let denominator = m[6] * x + m[7] * y + m[8];
    [
        (m[0] * x + m[1] * y + m[2]) / denominator,
        (m[3] * x + m[4] * y + m[5]) / denominator,
    ]
}

/// Whether pixel `(x, y)` is inside the convex `quad` or within half a
/// pixel of one of its edges, measured along the edge's minor axis: the
/// pixels `cv2.fillPoly` sets (it draws the edges as lines too), as the
/// reference measures a box's score.
pub fn inside_quad(quad: &Quad, x: f64, y: f64) -> bool {
    let mut left_of_all = true;
    let mut right_of_all = true;
    for index in 0..4 {
        let a = quad[index];
        let b = quad[(index + 1) % 4];
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let major = dx.abs().max(dy.abs());
        let major = if major == 0.0 { 1.0 } else { major };
        let distance = (dx * (y - a[1]) - dy * (x - a[0])) / major;
        left_of_all &= distance >= -0.5;
        right_of_all &= distance <= 0.5;
    }
    left_of_all || right_of_all
}
