//! The OCR pipeline (issue 34): its geometry on shapes whose answer is
//! known, CTC decoding and reading order, and end to end against the
//! reference (`scripts/ocr-reference.py`, its output committed as
//! `tests/fixtures/ocr/reference.jsonl`) on every image listed there, with
//! the recall of the drawn contact details (`tests/fixtures/ocr/MANIFEST.tsv`).
//!
//! The end-to-end tests need ONNX Runtime (`scripts/setup.sh`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use adpipe_core::TextInImage;
use adpipe_image::{DecodeLimits, decode};
use adpipe_tagger::TaggerConfig;
use adpipe_tagger::ocr::ctc::greedy_decode;
use adpipe_tagger::ocr::frame::{reading_order, to_multiple};
use adpipe_tagger::ocr::geometry::{
    Quad, convex_hull, expand_rect, min_area_rect, order_clockwise, perspective_transform,
};
use adpipe_tagger::ocr::raster::{cubic_weights, dilate_2x2, resize_bilinear};
use adpipe_tagger::ocr::{OcrReader, TextBox};
use image::{Rgb, RgbImage};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn area(quad: &Quad) -> f64 {
    let side = |a: [f64; 2], b: [f64; 2]| (b[0] - a[0]).hypot(b[1] - a[1]);
    side(quad[0], quad[1]) * side(quad[1], quad[2])
}

// ------------------------------------------------------------ geometry ---

#[test]
fn the_hull_keeps_the_corners_only() {
    let mut points = vec![[0.0, 0.0], [4.0, 0.0], [4.0, 3.0], [0.0, 3.0]];
    // Inside, on an edge, and a repeat.
    points.extend([[2.0, 1.0], [2.0, 0.0], [4.0, 3.0]]);
    let hull = convex_hull(&points);
    assert_eq!(hull.len(), 4, "{hull:?}");
    for corner in [[0.0, 0.0], [4.0, 0.0], [4.0, 3.0], [0.0, 3.0]] {
        assert!(hull.contains(&corner), "{corner:?} in {hull:?}");
    }
    assert_eq!(convex_hull(&[[1.0, 1.0], [1.0, 1.0]]), vec![[1.0, 1.0]]);
}

#[test]
fn the_least_rectangle_of_an_upright_rectangle_is_itself() {
    let hull = convex_hull(&[[2.0, 1.0], [12.0, 1.0], [12.0, 5.0], [2.0, 5.0], [7.0, 3.0]]);
    let rectangle = min_area_rect(&hull).expect("a rectangle");
    assert!(close(rectangle.short_side, 4.0), "{rectangle:?}");
    assert!(close(area(&rectangle.corners), 40.0), "{rectangle:?}");
    let clockwise = order_clockwise(&rectangle.corners);
    for (corner, expected) in
        clockwise
            .iter()
            .zip([[2.0, 1.0], [12.0, 1.0], [12.0, 5.0], [2.0, 5.0]])
    {
        assert!(
            close(corner[0], expected[0]) && close(corner[1], expected[1]),
            "{clockwise:?}"
        );
    }
}

#[test]
fn the_least_rectangle_of_a_tilted_bar_follows_its_slant() {
    // A bar 10 long and 2 wide at 45 degrees: its bounding box upright
    // would have area 7.07 * 7.07 * 2 = 100, the tilted one 20.
    let (s, c) = (
        std::f64::consts::FRAC_1_SQRT_2,
        std::f64::consts::FRAC_1_SQRT_2,
    );
    let corners = [[0.0, 0.0], [10.0, 0.0], [10.0, 2.0], [0.0, 2.0]]
        .map(|[x, y]: [f64; 2]| [x * c - y * s + 5.0, x * s + y * c + 1.0]);
    let rectangle = min_area_rect(&convex_hull(&corners)).expect("a rectangle");
    assert!(
        (area(&rectangle.corners) - 20.0).abs() < 1e-6,
        "{rectangle:?}"
    );
    assert!((rectangle.short_side - 2.0).abs() < 1e-9, "{rectangle:?}");
}

#[test]
fn degenerate_shapes_give_flat_rectangles() {
    let line = convex_hull(&[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]);
    assert_eq!(
        line.len(),
        2,
        "collinear points leave the two ends: {line:?}"
    );
    assert_eq!(min_area_rect(&line).expect("flat").short_side, 0.0);
    assert_eq!(
        min_area_rect(&[[5.0, 5.0]]).expect("a point").short_side,
        0.0
    );
    assert!(min_area_rect(&[]).is_none());
}

#[test]
fn growing_a_rectangle_moves_every_side_out() {
    let grown = expand_rect(&[[0.0, 0.0], [10.0, 0.0], [10.0, 4.0], [0.0, 4.0]], 1.5);
    assert!(close(grown.short_side, 7.0), "{grown:?}");
    let expected = [[-1.5, -1.5], [11.5, -1.5], [11.5, 5.5], [-1.5, 5.5]];
    for (corner, want) in grown.corners.iter().zip(expected) {
        assert!(
            close(corner[0], want[0]) && close(corner[1], want[1]),
            "{grown:?}"
        );
    }
}

#[test]
fn the_perspective_transform_maps_corners_onto_corners() {
    let from: Quad = [[3.0, 2.0], [40.0, 9.0], [38.0, 30.0], [1.0, 20.0]];
    let to: Quad = [[0.0, 0.0], [37.0, 0.0], [37.0, 21.0], [0.0, 21.0]];
    let m = perspective_transform(&from, &to).expect("solvable");
    for (&[x, y], &[u, v]) in from.iter().zip(&to) {
        let w = m[6] * x + m[7] * y + m[8];
        let (mu, mv) = (
            (m[0] * x + m[1] * y + m[2]) / w,
            (m[3] * x + m[4] * y + m[5]) / w,
        );
        assert!(
            (mu - u).abs() < 1e-9 && (mv - v).abs() < 1e-9,
            "{x},{y} -> {mu},{mv}"
        );
    }
    let collinear: Quad = [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]];
    assert!(perspective_transform(&collinear, &to).is_none());
}

// ------------------------------------------------------------- pixels ---

#[test]
fn the_bilinear_resize_samples_as_opencv() {
    // Doubling [0, 100]: OpenCV samples at -0.25 (clamped to 0), 0.25,
    // 0.75 and 1.25 (clamped to the last pixel).
    let image = RgbImage::from_fn(2, 1, |x, _| Rgb([(x * 100) as u8; 3]));
    let doubled = resize_bilinear(&image, 4, 1);
    let row: Vec<u8> = doubled.pixels().map(|p| p.0[0]).collect();
    assert_eq!(row, [0, 25, 75, 100]);
    // Halving averages each pair (no antialiasing beyond that); 12.5 and
    // 62.5 round half to even.
    let image = RgbImage::from_fn(4, 1, |x, _| Rgb([[0u8, 25, 50, 75][x as usize]; 3]));
    let halved: Vec<u8> = resize_bilinear(&image, 2, 1)
        .pixels()
        .map(|p| p.0[1])
        .collect();
    assert_eq!(halved, [12, 62]);
}

#[test]
fn the_bicubic_kernel_is_opencvs() {
    assert_eq!(cubic_weights(0.0), [0.0, 1.0, 0.0, 0.0]);
    let half = cubic_weights(0.5);
    assert!(close(half.iter().sum(), 1.0));
    // A = -0.75: the outer taps weigh -0.09375 at t = 0.5 (Catmull-Rom's
    // A = -0.5 would give -0.0625).
    assert!(
        close(half[0], -0.09375) && close(half[3], -0.09375),
        "{half:?}"
    );
}

#[test]
fn dilation_grows_right_and_down() {
    let mask = [false, false, false, false, true, false, false, false, false];
    let grown = dilate_2x2(&mask, 3);
    assert_eq!(
        grown,
        [false, false, false, false, true, true, false, true, true]
    );
}

#[test]
fn sides_go_to_the_nearest_multiple_half_to_even() {
    assert_eq!(to_multiple(736, 32), 736);
    assert_eq!(to_multiple(752, 32), 768, "23.5 rounds to 24");
    assert_eq!(to_multiple(720, 32), 704, "22.5 rounds to 22");
    assert_eq!(to_multiple(3, 32), 32, "never 0");
}

// ------------------------------------------------- decoding and order ---

#[test]
fn ctc_merges_repeats_and_drops_blanks() {
    let classes = ["", "a", "b", " "];
    let step = |class: usize, p: f32| {
        let mut row = [(1.0 - p) / 3.0; 4];
        row[class] = p;
        row
    };
    // a a _ a b b _ " " : "aab " (the blank splits the two a's).
    let steps = [
        step(1, 0.9),
        step(1, 0.5),
        step(0, 0.8),
        step(1, 0.7),
        step(2, 0.6),
        step(2, 0.9),
        step(0, 0.9),
        step(3, 0.8),
    ];
    let decoded = greedy_decode(steps.as_flattened(), &classes);
    assert_eq!(decoded.text, "aab ");
    // Kept steps: 0.9, 0.7, 0.6, 0.8.
    assert!((decoded.confidence - 0.75).abs() < 1e-6, "{decoded:?}");
    let blank = greedy_decode(step(0, 0.99).as_slice(), &classes);
    assert_eq!((blank.text.as_str(), blank.confidence), ("", 0.0));
}

#[test]
fn lines_read_top_to_bottom_then_left_to_right() {
    // Two words on one line (the right one 4 px higher), a line below.
    let corners = [[200.0, 96.0], [20.0, 100.0], [30.0, 160.0], [10.0, 40.0]];
    assert_eq!(reading_order(&corners), [3, 1, 0, 2]);
    // 10 px apart is another line, even when it starts further left.
    assert_eq!(reading_order(&[[200.0, 90.0], [20.0, 100.0]]), [0, 1]);
}

// ---------------------------------------------------- end to end ---

fn reader() -> &'static OcrReader {
    static READER: OnceLock<OcrReader> = OnceLock::new();
    READER.get_or_init(|| {
        let config = TaggerConfig {
            preprocess_threads: 1,
            ..TaggerConfig::default()
        };
        OcrReader::load(&repo().join("models/ppocr-det/model.toml"), &config)
            .unwrap_or_else(|error| panic!("the OCR models load (run scripts/setup.sh): {error}"))
    })
}

/// The photo's pixels as the reference reads them (Pillow's
/// `convert("RGB")`): a JPEG through libjpeg-turbo as adpipe-image decodes
/// it (Pillow uses libjpeg-turbo too), any other format through `image`
/// with its alpha channel dropped. (adpipe-image composites transparent
/// pixels onto white instead, which the reference does not:
/// `photos/other/dog_pekingese.png` then gives one line more, an "A" in
/// its transparent corner.)
fn load_image(path: &Path) -> RgbImage {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let decoded = decode(&bytes, &DecodeLimits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return RgbImage::from_raw(decoded.width, decoded.height, decoded.pixels).expect("RGB8");
    }
    image::load_from_memory(&bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_rgb8()
}

/// The reference's lines per image, by path relative to the repository.
fn reference() -> BTreeMap<String, Vec<TextInImage>> {
    #[derive(serde::Deserialize)]
    struct Line {
        file: String,
        text_in_image: Vec<TextInImage>,
    }
    let path = repo().join("tests/fixtures/ocr/reference.jsonl");
    std::fs::read_to_string(&path)
        .expect("reference.jsonl")
        .lines()
        .map(|line| {
            let line: Line = serde_json::from_str(line).expect("a JSON line");
            (line.file, line.text_in_image)
        })
        .collect()
}

/// Every image of the reference, read by the pipeline.
fn read_all() -> &'static BTreeMap<String, Vec<TextInImage>> {
    static READ: OnceLock<BTreeMap<String, Vec<TextInImage>>> = OnceLock::new();
    READ.get_or_init(|| {
        reference()
            .into_keys()
            .map(|file| {
                let lines = reader()
                    .read(&load_image(&repo().join(&file)))
                    .unwrap_or_else(|error| panic!("{file}: {error}"));
                (file, lines)
            })
            .collect()
    })
}

fn box_deviation(a: &[[f32; 2]; 4], b: &[[f32; 2]; 4]) -> f32 {
    a.iter()
        .zip(b)
        .flat_map(|(p, q)| [(p[0] - q[0]).abs(), (p[1] - q[1]).abs()])
        .fold(0.0, f32::max)
}

#[test]
fn reads_every_fixture_as_the_reference_does() {
    let reference = reference();
    let ours = read_all();
    let expected_files = ["tests/fixtures/ocr/rendered/", "tests/fixtures/ocr/real/"];
    for prefix in expected_files {
        assert!(
            reference.keys().filter(|f| f.starts_with(prefix)).count() >= 3,
            "the reference covers {prefix}"
        );
    }
    let (mut lines, mut identical, mut worst_box, mut worst_confidence) = (0, 0, 0f32, 0f32);
    let mut differences = Vec::new();
    for (file, expected) in &reference {
        let found = &ours[file];
        if found.len() != expected.len() {
            differences.push(format!(
                "{file}: {} lines, the reference {}:\n  ours {:?}\n  ref  {:?}",
                found.len(),
                expected.len(),
                found
                    .iter()
                    .map(|l| (&l.text, l.confidence, l.corners))
                    .collect::<Vec<_>>(),
                expected
                    .iter()
                    .map(|l| (&l.text, l.confidence))
                    .collect::<Vec<_>>()
            ));
            lines += expected.len();
            continue;
        }
        for (ours, theirs) in found.iter().zip(expected) {
            lines += 1;
            let deviation = box_deviation(&ours.corners, &theirs.corners);
            worst_box = worst_box.max(deviation);
            if ours.text == theirs.text {
                identical += 1;
                worst_confidence =
                    worst_confidence.max((ours.confidence - theirs.confidence).abs());
            } else {
                differences.push(format!("{file}: {:?} for {:?}", ours.text, theirs.text));
            }
            if deviation > 2.0 {
                differences.push(format!(
                    "{file}: {:?} at {:?}, the reference at {:?}",
                    ours.text, ours.corners, theirs.corners
                ));
            }
        }
    }
    eprintln!(
        "{identical} of {lines} lines identical; boxes within {worst_box} px, confidences \
         within {worst_confidence:.4}\n{}",
        differences.join("\n")
    );
    assert!(lines >= 90, "the reference has {lines} lines");
    let miscounted: Vec<&String> = differences
        .iter()
        .filter(|d| d.contains(" lines, the reference "))
        .collect();
    assert!(miscounted.is_empty(), "line counts differ:\n{miscounted:?}");
    assert!(
        identical * 100 >= lines * 95,
        "{identical} of {lines} lines identical:\n{}",
        differences.join("\n")
    );
    assert!(
        worst_box <= 2.0,
        "boxes {worst_box} px off:\n{}",
        differences.join("\n")
    );
    assert!(
        worst_confidence <= 0.02,
        "confidences {worst_confidence} off"
    );
}

/// Lower case, white space removed (as `score` of the reference).
fn normalise(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// How many drawn details of MANIFEST.tsv are in their image's lines,
/// joined in reading order.
fn recall(found: &BTreeMap<String, Vec<TextInImage>>) -> (usize, usize, Vec<String>) {
    let manifest = std::fs::read_to_string(repo().join("tests/fixtures/ocr/MANIFEST.tsv"))
        .expect("MANIFEST.tsv");
    let mut rows = manifest.lines();
    let header: Vec<&str> = rows.next().expect("a header").split('\t').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (file_column, text_column) = (column("file"), column("text"));
    let (mut details, mut hits, mut misses) = (0, 0, Vec::new());
    for row in rows.filter(|row| !row.is_empty()) {
        let fields: Vec<&str> = row.split('\t').collect();
        let file = format!("tests/fixtures/ocr/{}", fields[file_column]);
        let lines = found
            .get(&file)
            .unwrap_or_else(|| panic!("{file} was read"));
        let joined: String = lines.iter().map(|line| line.text.as_str()).collect();
        details += 1;
        if normalise(&joined).contains(&normalise(fields[text_column])) {
            hits += 1;
        } else {
            misses.push(format!("{}: {joined:?}", fields[text_column]));
        }
    }
    (details, hits, misses)
}

#[test]
fn finds_as_many_contact_details_as_the_reference() {
    let (details, reference_hits, _) = recall(&reference());
    let (_, hits, misses) = recall(read_all());
    eprintln!(
        "found {hits} of {details} details, the reference {reference_hits}; missed:\n{}",
        misses.join("\n")
    );
    assert_eq!(details, 37, "MANIFEST.tsv lists 37 details");
    assert_eq!(reference_hits, 28, "the README's figure");
    assert!(
        hits + 1 >= reference_hits,
        "found {hits} of {details}, the reference {reference_hits}:\n{}",
        misses.join("\n")
    );
}

#[test]
fn detection_and_recognition_apart_make_the_whole() {
    let image = load_image(&repo().join("tests/fixtures/ocr/rendered/00_grace_hopper.jpg"));
    let boxes: Vec<TextBox> = reader().detect(&image).expect("detects");
    assert!(boxes.len() >= 4, "{boxes:?}");
    assert!(
        boxes.iter().all(|b| (0.5..=1.0).contains(&b.score)),
        "{boxes:?}"
    );
    let lines = reader().recognize(&image, &boxes).expect("recognises");
    assert_eq!(lines, reader().read(&image).expect("reads"));
    assert!(
        lines.iter().any(|line| line.text == "+1 (202) 555-0143"),
        "{lines:?}"
    );
    assert!(reader().recognize(&image, &[]).expect("nothing").is_empty());
    let blank = RgbImage::from_pixel(300, 200, Rgb([255, 255, 255]));
    assert!(reader().read(&blank).expect("reads").is_empty());
    let tiny = RgbImage::from_pixel(5, 3, Rgb([0, 0, 0]));
    assert!(reader().read(&tiny).expect("reads").is_empty());
}
