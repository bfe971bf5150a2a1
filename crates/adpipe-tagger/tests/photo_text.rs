//! The text in the photo as a policy reads it (`[text_in_image]` of
//! models/policies/marketplace.toml): contact details drawn onto real
//! photos send the ad to a person with what was read; photos without text,
//! and text that is no contact detail, change nothing.
//!
//! Needs ONNX Runtime from `scripts/setup.sh`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use adpipe_core::Status;
use adpipe_core::policy::Decision;
use adpipe_tagger::{Assessment, Moderator, PhotoText, TaggerConfig};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn moderator() -> &'static Moderator {
    static MODERATOR: OnceLock<Moderator> = OnceLock::new();
    MODERATOR.get_or_init(|| {
        Moderator::load(
            &repo().join("models/efficientnet-lite0/model.toml"),
            &repo().join("models/policies/marketplace.toml"),
            &[],
            &TaggerConfig::default(),
        )
        .unwrap_or_else(|error| panic!("the marketplace policy loads with its OCR models: {error}"))
    })
}

fn assess(fixture: &str) -> Assessment {
    let bytes = std::fs::read(repo().join("tests/fixtures").join(fixture)).expect("fixture");
    let mut batch = moderator().assess(&[&bytes]).expect("the models run");
    batch.remove(0).expect("the photo decodes")
}

fn read_in_photo(assessment: &Assessment) -> Vec<&str> {
    assessment
        .decision
        .text_in_image
        .iter()
        .map(|line| line.text.as_str())
        .collect()
}

#[test]
fn the_policy_loads_the_ocr_models_it_names() {
    assert!(moderator().reads_photos());
}

#[test]
fn a_phone_number_drawn_on_a_boat_photo_goes_to_a_person_with_the_number() {
    let assessment = assess("ocr/rendered/06_boats_nagasaki.jpg");
    let decision = &assessment.decision;
    assert_eq!(decision.status, Status::InReview, "{decision:?}");
    assert_eq!(decision.category.as_deref(), Some("vehicles"));
    assert_eq!(decision.suggestion, Some(Status::Rejected));
    let reason = decision.reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("Text in the photo, rule `contact details`"),
        "{reason}"
    );
    assert!(reason.contains("+4420 7946 0958"), "{reason}");
    assert_eq!(read_in_photo(&assessment), ["+4420 7946 0958"]);
    let line = &decision.text_in_image[0];
    assert!(line.confidence >= 0.7, "{line:?}");
    // The box lies on the photo, in its own pixels.
    for [x, y] in line.corners {
        assert!(
            (0.0..640.0).contains(&x) && (0.0..480.0).contains(&y),
            "{line:?}"
        );
    }
}

#[test]
fn a_web_address_on_a_car_and_a_handle_on_a_cat_are_found() {
    let car = assess("ocr/rendered/18_car_rear_motionblur.jpg");
    assert_eq!(car.decision.status, Status::InReview);
    assert_eq!(read_in_photo(&car), ["shop.example.com/deal"]);
    let cat = assess("ocr/rendered/17_cat_chelsea.jpg");
    assert_eq!(cat.decision.status, Status::InReview);
    assert!(read_in_photo(&cat).contains(&"@fastcars"), "{cat:?}");
}

#[test]
fn the_same_photos_without_the_drawing_are_approved_and_nothing_is_read() {
    for photo in [
        "photos/vehicle/boats_nagasaki.jpg",
        "photos/vehicle/car_rear_motionblur.jpg",
    ] {
        let assessment = assess(photo);
        assert_eq!(assessment.decision.status, Status::Approved, "{photo}");
        assert!(
            assessment.decision.text_in_image.is_empty(),
            "{photo}: {assessment:?}"
        );
    }
}

#[test]
fn a_photo_the_models_reject_is_not_read() {
    // A squirrel is no category of the marketplace: rejected by the photo,
    // and text in it could not make that any better.
    let assessment = assess("ocr/rendered/05_squirrel.jpg");
    assert_eq!(assessment.decision.status, Status::Rejected);
    assert!(assessment.decision.text_in_image.is_empty());
}

/// Text that is no contact detail is evidence, not a reason: printed pages
/// and handwriting read into an ad the photo would approve leave it
/// approved, with the lines kept for moderators.
#[test]
fn printed_and_handwritten_text_without_contact_details_changes_nothing() {
    let section = moderator()
        .policy()
        .policy()
        .text_in_image
        .clone()
        .expect("the marketplace reads photos");
    let photo_text = PhotoText::load(
        &repo().join("models/ppocr-det"),
        section,
        &TaggerConfig::default(),
    )
    .expect("the OCR models load");
    for fixture in [
        "real/page_photo.png",
        "real/book_text_rotated.png",
        "real/handwritten_maths.png",
    ] {
        let bytes =
            std::fs::read(repo().join("tests/fixtures/ocr").join(fixture)).expect("fixture");
        let photo = PhotoText::decode(&bytes, &Default::default()).expect("decodes");
        let approved = Decision {
            status: Status::Approved,
            category: Some("toys and books".into()),
            score: 0.9,
            reason: None,
            suggestion: None,
            text: None,
            text_in_image: Vec::new(),
        };
        let decision = photo_text
            .judge(moderator().policy(), &photo, approved)
            .expect("the OCR models run");
        assert_eq!(decision.status, Status::Approved, "{fixture}: {decision:?}");
        if fixture != "real/handwritten_maths.png" {
            assert!(
                !decision.text_in_image.is_empty(),
                "{fixture}: nothing read"
            );
        }
    }
}

/// A large photo is read from a reduced decode: the boxes still come out in
/// the stored photo's pixels, where the console draws them.
#[test]
fn boxes_of_a_large_photo_are_in_its_own_pixels() {
    let small = assess("ocr/rendered/06_boats_nagasaki.jpg");
    let original = image::open(repo().join("tests/fixtures/ocr/rendered/06_boats_nagasaki.jpg"))
        .expect("fixture")
        .to_rgb8();
    // 2560 px: decoded at half size for reading (1280 ≥ 1024).
    let large =
        image::imageops::resize(&original, 2560, 1920, image::imageops::FilterType::Triangle);
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 92)
        .encode_image(&large)
        .expect("encodes");
    let big = moderator()
        .assess(&[&bytes])
        .expect("the models run")
        .remove(0)
        .expect("decodes");
    assert_eq!(read_in_photo(&big), read_in_photo(&small));
    let (small_box, big_box) = (
        small.decision.text_in_image[0].corners,
        big.decision.text_in_image[0].corners,
    );
    let center = |corners: [[f32; 2]; 4]| {
        let sum = corners
            .iter()
            .fold([0.0, 0.0], |sum, [x, y]| [sum[0] + x, sum[1] + y]);
        [sum[0] / 4.0, sum[1] / 4.0]
    };
    let (small_center, big_center) = (center(small_box), center(big_box));
    // Four times the 640-pixel photo's box, give or take what reading at
    // another size moves it (within 3 % of the photo); read in the reduced
    // photo's pixels it would sit at half that.
    for axis in 0..2 {
        let wanted = 4.0 * small_center[axis];
        assert!(
            (big_center[axis] - wanted).abs() <= 80.0,
            "{small_box:?} × 4 vs {big_box:?}"
        );
    }
}
