//! Preprocessing never panics and always fills the model's exact input,
//! whatever the image's size and whatever the model.toml asks for: every
//! resize mode, one and two views, square and oblong inputs, with and
//! without a JPEG round trip.

use adpipe_tagger::{ModelSpec, Preprocessor, RgbImage};
use proptest::prelude::*;

/// Every way a model.toml can ask for its input.
const SETUPS: &[&str] = &[
    "resize = 'center_crop'\nshorter_side = 256",
    "resize = 'center_crop'",
    "resize = 'stretch'",
    "resize = 'stretch'\nstretch_size = [256, 256]",
    "resize = 'letterbox'",
    "resize = 'center_crop'\nshorter_side = 256\nviews = ['center_crop', 'stretch']",
    "resize = 'stretch'\nviews = ['stretch', 'letterbox']",
    "resize = 'center_crop'\nviews = ['center_crop', 'letterbox']\njpeg_roundtrip_quality = 90",
    "resize = 'stretch'\nstretch_size = [256, 256]\njpeg_roundtrip_quality = 90",
];

/// Square and oblong inputs.
const INPUTS: &[(u32, u32)] = &[(224, 224), (96, 64)];

fn preprocessor(setup: &str, (width, height): (u32, u32)) -> Preprocessor {
    // Written once: the tests run in parallel and read it.
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("adpipe-preprocess-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("labels.txt"), "a\nb\n").expect("labels");
        dir
    });
    let text = format!(
        "file = 'm.onnx'\nlabels = 'labels.txt'\n[input]\nlayout = 'NCHW'\nwidth = {width}\nheight = {height}\n\
         [preprocess]\n{setup}\n"
    );
    let spec = ModelSpec::parse(&text, &dir.join("model.toml")).expect("valid model.toml");
    Preprocessor::new(&spec)
}

fn image(width: u32, height: u32) -> RgbImage {
    // A gradient, so a crop in the wrong place would not go unseen by
    // the resizer's own checks.
    let pixels = (0..width as usize * height as usize * 3)
        .map(|i| (i % 251) as u8)
        .collect();
    RgbImage {
        width,
        height,
        pixels,
    }
}

fn fits(setup: &str, input: (u32, u32), width: u32, height: u32) -> Result<(), String> {
    let preprocessor = preprocessor(setup, input);
    let mut out = vec![f32::NAN; preprocessor.floats_per_image()];
    preprocessor
        .prepare_decoded(&image(width, height), &mut out)
        .map_err(|error| format!("{setup} at {width}×{height}: {error}"))?;
    if out.iter().any(|value| !value.is_finite()) {
        return Err(format!(
            "{setup} at {width}×{height}: a value was not written"
        ));
    }
    Ok(())
}

/// The sizes of issue 15 (the panic of two views on a 500×232 PNG)
/// and the extremes.
#[test]
fn awkward_sizes_fit_every_setup() {
    let sizes = [
        (500, 232),
        (232, 500),
        (1, 1),
        (1, 4096),
        (4096, 1),
        (257, 255),
        (224, 225),
        (225, 224),
        (223, 224),
        (4096, 4096),
    ];
    for setup in SETUPS {
        for &input in INPUTS {
            for (width, height) in sizes {
                fits(setup, input, width, height).unwrap_or_else(|error| panic!("{error}"));
            }
        }
    }
}

fn side() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..=8, 200u32..=300, 1u32..=4096]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Never a panic, always the model's exact input, whatever the size.
    #[test]
    fn any_size_fits_any_setup(
        width in side(),
        height in side(),
        setup in prop::sample::select(SETUPS),
        input in prop::sample::select(INPUTS),
    ) {
        prop_assert!(fits(setup, input, width, height).is_ok(), "{:?}", fits(setup, input, width, height));
    }
}

/// A JPEG is decoded at a reduced scale only when every view still shrinks
/// the picture by half or more (see `RESAMPLING_HEADROOM`).
#[test]
fn a_reduced_decode_leaves_every_view_room_to_shrink() {
    let lite0 = preprocessor(SETUPS[0], (224, 224));
    assert!(lite0.big_enough(512, 512));
    assert!(lite0.big_enough(4000, 512));
    assert!(!lite0.big_enough(511, 4000), "shorter side under 2 × 256");

    let stretch = preprocessor(SETUPS[3], (224, 224));
    assert!(stretch.big_enough(512, 512));
    assert!(!stretch.big_enough(4000, 511), "both sides count");

    let letterbox = preprocessor(SETUPS[4], (224, 224));
    assert!(
        letterbox.big_enough(448, 10),
        "one side reaches 2 × the input"
    );
    assert!(!letterbox.big_enough(447, 447));

    let two_views = preprocessor(SETUPS[6], (224, 224));
    assert!(two_views.big_enough(448, 448));
    assert!(
        !two_views.big_enough(448, 447),
        "the stretch view needs both sides"
    );
}
