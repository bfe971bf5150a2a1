use super::*;

const POLICY: &str = r#"
    name = "vehicles"
    min_score = 0.3
    reject_reason = "We only publish ads for vehicles."

    [[category]]
    name = "car"
    labels = ["cab", "minivan"]

    [[category]]
    name = "boat"
    labels = ["canoe"]
"#;

fn labels() -> Labels {
    Labels::parse("cab\nminivan\ncanoe\nespresso").unwrap()
}

fn bound() -> BoundPolicy {
    Policy::from_toml(POLICY, "test.toml")
        .unwrap()
        .bind(&labels(), "test-model")
        .unwrap()
}

#[test]
fn category_score_is_the_sum_of_its_labels() {
    let decision = bound().decide(&[0.2, 0.15, 0.25, 0.4], None);
    assert_eq!(decision.status, Status::Approved);
    assert_eq!(decision.category.as_deref(), Some("car"));
    assert!((decision.score - 0.35).abs() < 1e-6);
    assert_eq!(decision.reason, None);
}

#[test]
fn below_min_score_is_rejected_with_a_readable_reason() {
    let decision = bound().decide(&[0.1, 0.1, 0.05, 0.75], Some(("espresso", 0.75)));
    assert_eq!(decision.status, Status::Rejected);
    assert_eq!(decision.category, None);
    let reason = decision.reason.unwrap();
    assert!(
        reason.starts_with("We only publish ads for vehicles."),
        "{reason}"
    );
    assert!(
        reason.contains("car, scored 20%, and 30% is needed"),
        "{reason}"
    );
    assert!(reason.contains("espresso (75%)"), "{reason}");
}

#[test]
fn exactly_min_score_is_approved() {
    let decision = bound().decide(&[0.0, 0.0, 0.3, 0.7], None);
    assert_eq!(decision.status, Status::Approved);
    assert_eq!(decision.category.as_deref(), Some("boat"));
}

#[test]
fn unknown_labels_are_named() {
    let policy = Policy::from_toml(POLICY, "test.toml").unwrap();
    let error = policy
        .bind(&Labels::parse("cab\ncanoe").unwrap(), "tiny")
        .unwrap_err();
    assert!(error.to_string().contains("\"minivan\""), "{error}");
}

#[test]
fn invalid_policies_say_what_is_wrong() {
    let error = Policy::from_toml(
        "name = 'x'\nmin_score = 2\n[[category]]\nname='a'\nlabels=['b']",
        "p.toml",
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("min_score must be between 0 and 1")
    );
    let error =
        Policy::from_toml("name = 'x'\nmin_score = 0.5\ncategory = []", "p.toml").unwrap_err();
    assert!(error.to_string().contains("at least one"));
    let error = Policy::from_toml("name = 'x'\nmin_scor = 0.5", "p.toml").unwrap_err();
    assert!(
        error.to_string().starts_with("p.toml: not a valid policy"),
        "{error}"
    );
}

#[test]
fn a_gate_vetoes_at_or_above_its_threshold() {
    let gate = Gate::from_toml(
        "name = 'nsfw'\nmodel = 'm.toml'\nlabel = 'nsfw'\nthreshold = 0.8\nreason = 'Adult content is not allowed.'",
        "gate.toml",
    )
    .unwrap()
    .bind(&Labels::parse("sfw\nnsfw").unwrap(), "open-nsfw")
    .unwrap();
    assert!(gate.veto(&[0.21, 0.79]).is_none());
    let veto = gate.veto(&[0.2, 0.8]).unwrap();
    assert_eq!(veto.status, Status::Rejected);
    assert_eq!(
        veto.reason.as_deref(),
        Some("Adult content is not allowed (nsfw check: 80%, limit 80%).")
    );
}

const BANDED: &str = r#"
    name = "vehicles"
    approve_at = 0.5
    review_at = 0.2
    review_sample = 0.25

    [[category]]
    name = "car"
    labels = ["cab", "minivan"]
"#;

fn banded() -> BoundPolicy {
    Policy::from_toml(BANDED, "banded.toml")
        .unwrap()
        .bind(&labels(), "test-model")
        .unwrap()
}

#[test]
fn the_band_has_three_outcomes() {
    let below = banded().decide(&[0.1, 0.09, 0.0, 0.81], None);
    assert_eq!(below.status, Status::Rejected);
    assert_eq!(below.suggestion, None);

    let low_in_band = banded().decide(&[0.1, 0.1, 0.0, 0.8], Some(("espresso", 0.8)));
    assert_eq!(low_in_band.status, Status::InReview);
    assert_eq!(low_in_band.category.as_deref(), Some("car"));
    assert_eq!(low_in_band.suggestion, Some(Status::Rejected));
    let reason = low_in_band.reason.unwrap();
    assert!(reason.contains("scored 20%, between 20%"), "{reason}");

    let high_in_band = banded().decide(&[0.3, 0.19, 0.0, 0.51], None);
    assert_eq!(high_in_band.status, Status::InReview);
    assert_eq!(high_in_band.suggestion, Some(Status::Approved));

    let above = banded().decide(&[0.3, 0.2, 0.0, 0.5], None);
    assert_eq!(above.status, Status::Approved);
    assert_eq!(above.category.as_deref(), Some("car"));
}

#[test]
fn min_score_is_a_band_without_a_middle() {
    let policy = Policy::from_toml(POLICY, "test.toml").unwrap();
    assert_eq!(
        policy.band(),
        Band {
            approve_at: 0.3,
            review_at: 0.3
        }
    );
    let only_approve_at = Policy::from_toml(
        "name = 'x'\napprove_at = 0.6\n[[category]]\nname='a'\nlabels=['b']",
        "p.toml",
    )
    .unwrap();
    assert_eq!(only_approve_at.band().review_at, 0.6);
}

#[test]
fn bands_that_make_no_sense_are_refused() {
    for (text, expected) in [
        (
            "approve_at = 0.3\nreview_at = 0.5",
            "must not be above approve_at",
        ),
        ("min_score = 0.3\napprove_at = 0.5", "not both"),
        ("review_at = 0.5", "needs approve_at"),
        (
            "approve_at = 0.5\nreview_sample = 1.5",
            "review_sample must be between 0 and 1",
        ),
    ] {
        let error = Policy::from_toml(
            &format!("name = 'x'\n{text}\n[[category]]\nname='a'\nlabels=['b']"),
            "p.toml",
        )
        .unwrap_err();
        assert!(error.to_string().contains(expected), "{text}: {error}");
    }
}

#[test]
fn only_approvals_are_sampled_and_by_the_point_given() {
    let share = banded().policy().review_sample;
    let approved = banded().decide(&[0.6, 0.0, 0.0, 0.4], None);
    let sampled = approved.clone().sampled_for_review(share, 0.1);
    assert_eq!(sampled.status, Status::InReview);
    assert_eq!(sampled.suggestion, Some(Status::Approved));
    assert_eq!(sampled.category.as_deref(), Some("car"));
    assert!(
        sampled
            .reason
            .unwrap()
            .contains("25% of automatic approvals")
    );
    assert_eq!(approved.clone().sampled_for_review(share, 0.25), approved);
    let rejected = banded().decide(&[0.0, 0.0, 0.0, 1.0], None);
    assert_eq!(rejected.clone().sampled_for_review(share, 0.0), rejected);
    // Seeded: the share sampled out of many ads is the share asked for.
    let mut state = 42u64;
    let sampled = (0..10_000)
        .filter(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let point = (state >> 11) as f64 / (1u64 << 53) as f64;
            approved.clone().sampled_for_review(share, point).status == Status::InReview
        })
        .count();
    assert!((2300..2700).contains(&sampled), "{sampled}");
}

#[test]
fn a_gate_in_doubt_sends_an_approval_to_a_person() {
    let gate = Gate::from_toml(
        "name = 'nsfw'\nmodel = 'm.toml'\nlabel = 'nsfw'\nthreshold = 0.8\nreview_at = 0.2\nreason = 'Adult content is not allowed.'",
        "gate.toml",
    )
    .unwrap()
    .bind(&Labels::parse("sfw\nnsfw").unwrap(), "open-nsfw")
    .unwrap();
    let probabilities = [0.6, 0.0, 0.0, 0.4];
    let unsure: &[f32] = &[0.5, 0.5];
    let decision = decide(&bound(), &probabilities, None, &[(&gate, unsure)]);
    assert_eq!(decision.status, Status::InReview);
    assert_eq!(decision.suggestion, Some(Status::Rejected));
    assert_eq!(decision.category.as_deref(), Some("car"));
    let sure: &[f32] = &[0.9, 0.1];
    assert_eq!(
        decide(&bound(), &probabilities, None, &[(&gate, sure)]).status,
        Status::Approved
    );
    let rejected = decide(&bound(), &[0.0, 0.0, 0.0, 1.0], None, &[(&gate, unsure)]);
    assert_eq!(rejected.status, Status::Rejected);
    assert!(
        Gate::from_toml(
            "name = 'n'\nmodel = 'm'\nlabel = 'nsfw'\nthreshold = 0.5\nreview_at = 0.7\nreason = 'r'",
            "g.toml"
        )
        .is_err()
    );
}

fn with_rules(rules: &str) -> BoundPolicy {
    Policy::from_toml(&format!("{POLICY}\n{rules}"), "test.toml")
        .unwrap()
        .bind(&labels(), "test-model")
        .unwrap()
}

const RULES: &str = r#"
    [[text_rule]]
    name = "weapons"
    words = ["gun"]
    action = "reject"
    reason = "We do not publish ads for weapons."

    [[text_rule]]
    name = "contact details"
    contacts = ["phone", "url"]
    action = "review"
    reason = "Buyers reach sellers through the site."
"#;

#[test]
fn a_rejecting_text_rule_rejects_an_ad_the_photo_would_approve() {
    let policy = with_rules(RULES);
    let approved = policy.decide(&[0.5, 0.0, 0.0, 0.5], None);
    let decision = approved.with_text_rules(policy.text_rules(), "Red car, free G.U.N in the boot");
    assert_eq!(decision.status, Status::Rejected);
    assert_eq!(decision.category, None);
    let reason = decision.reason.unwrap();
    assert!(
        reason.starts_with("We do not publish ads for weapons."),
        "{reason}"
    );
    assert!(reason.contains("G.U.N"), "{reason}");
}

#[test]
fn a_reviewing_text_rule_sends_an_approval_to_a_person_and_never_lifts_a_rejection() {
    let policy = with_rules(RULES);
    let text = "Estate car, 2015, 120 000 km. Call +44 7700 900123";
    let approved = policy.decide(&[0.5, 0.0, 0.0, 0.5], None);
    let decision = approved.with_text_rules(policy.text_rules(), text);
    assert_eq!(decision.status, Status::InReview);
    assert_eq!(decision.category.as_deref(), Some("car"));
    assert_eq!(decision.suggestion, Some(Status::Rejected));
    let reason = decision.reason.unwrap();
    assert!(
        reason.starts_with("Text rule `contact details`"),
        "{reason}"
    );
    let rejected = policy.decide(&[0.0, 0.0, 0.0, 1.0], None);
    let still = rejected.clone().with_text_rules(policy.text_rules(), text);
    assert_eq!(still, rejected);
}

#[test]
fn an_honest_text_passes_the_rules_unchanged() {
    let policy = with_rules(RULES);
    let approved = policy.decide(&[0.5, 0.0, 0.0, 0.5], None);
    let text = "2015 estate car, 120 000 km, 1.6 TDI, €12,500, MOT till 03/2027";
    assert_eq!(
        approved.clone().with_text_rules(policy.text_rules(), text),
        approved
    );
}

#[test]
fn a_broken_text_rule_is_refused_when_the_policy_is_read() {
    let broken = r#"
        [[text_rule]]
        name = "bad"
        patterns = ["(unclosed"]
        action = "reject"
        reason = "x"
    "#;
    let error = Policy::from_toml(&format!("{POLICY}\n{broken}"), "p.toml").unwrap_err();
    assert!(error.to_string().contains("bad"), "{error}");
}
