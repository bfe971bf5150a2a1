use super::*;

#[test]
fn normalize_folds_case_and_compatibility_forms() {
    let cases = [
        ("GUN", "gun"),
        ("ＧＵＮ ＦＯＲ ＳＡＬＥ", "gun for sale"),
        ("𝐆𝐮𝐧 𝔤𝔲𝔫 ℌ", "gun gun h"),
        ("ᵍᵘⁿ x²", "gun x2"),
        ("ﬁne ﬂat", "fine flat"),
        ("Straße STRASSE", "strasse strasse"),
        ("ΟΔΟΣ", "οδοσ"),
        ("john＠example．com", "john@example.com"),
        ("１２３ km", "123 km"),
        ("non\u{A0}breaking\u{2003}spaces", "non breaking spaces"),
        ("Ⅻ ½", "xii 1⁄2"),
    ];
    for (text, expected) in cases {
        assert_eq!(normalize(text), expected, "{text:?}");
    }
}

#[test]
fn normalize_keeps_diacritics_composed() {
    assert_eq!(normalize("Gün"), "gün");
    // A decomposed "ü" is composed, as NFKC does.
    assert_eq!(normalize("Gu\u{308}n"), "gün");
    assert_eq!(normalize("ÉTÉ"), "été");
}

#[test]
fn normalize_drops_invisible_characters() {
    assert_eq!(normalize("g\u{200B}u\u{200C}n\u{200D}"), "gun");
    assert_eq!(normalize("\u{FEFF}gu\u{AD}n\u{2060}"), "gun");
    assert_eq!(normalize("\u{202E}nug\u{202C}"), "nug");
    assert_eq!(normalize("❤\u{FE0F}"), "❤");
    assert_eq!(normalize("\u{E0067}\u{E0062}tag"), "tag");
}

#[test]
fn normalize_keeps_emoji_and_other_scripts() {
    for text in ["🔫 gun", "продаю велосипед", "بيع سلاح", "中古の銃", "👨‍👩‍👧"]
    {
        let normalized = normalize(text);
        assert!(!normalized.is_empty(), "{text:?}");
    }
    assert_eq!(normalize("Продаю"), "продаю");
    assert_eq!(normalize("👨\u{200D}👩"), "👨👩");
    assert_eq!(normalize(""), "");
}

#[test]
fn a_text_starting_with_a_combining_mark_is_fine() {
    assert_eq!(normalize("\u{301}abc"), "\u{301}abc");
    assert_eq!(Analysis::new("\u{301}").quote_units(0..1), "\u{301}");
}

/// The skeleton of a whole text, cross-script look-alikes read as Latin.
fn skeleton_of(text: &str) -> String {
    let analysis = Analysis::new(text);
    (0..analysis.len())
        .map(|unit| analysis.unit_skel(unit, true))
        .collect()
}

#[test]
fn the_skeleton_undoes_look_alikes_and_diacritics() {
    let cases = [
        ("Gün", "gun"),
        ("ɢᴜɴ", "gun"),
        ("🅶🆄🅽", "gun"),
        ("ѕех", "sex"),
        ("ΗΟΤ", "hot"),
        ("ηοτ", "not"),
        ("Kill", "kiii"),
        // Digits and symbols are left to the terms (see `words`).
        ("g00d FR€E", "g00d fr€e"),
    ];
    for (text, expected) in cases {
        assert_eq!(skeleton_of(text), expected, "{text:?}");
    }
    // Without cross-script look-alikes, Cyrillic stays Cyrillic.
    let analysis = Analysis::new("ѕех");
    let plain: String = (0..analysis.len())
        .map(|unit| analysis.unit_skel(unit, false))
        .collect();
    assert_eq!(plain, "ѕех");
}

#[test]
fn the_script_of_a_text_is_the_one_with_more_letters() {
    assert!(Analysis::new("Selling a bike").latin_context());
    assert!(Analysis::new("123 🔫").latin_context());
    assert!(!Analysis::new("Продаю велосипед, 2015 model").latin_context());
    assert!(!Analysis::new("Πωλείται ποδήλατο").latin_context());
}

#[test]
fn matches_are_quoted_from_the_original() {
    let text = "Ｃall ＧＵＮ\u{200B}S now";
    let analysis = Analysis::new(text);
    let start = analysis.norm.find("guns").unwrap();
    assert_eq!(analysis.quote_norm(start..start + 4), "ＧＵＮ\u{200B}S");
    assert_eq!(analysis.original_of_norm(0..4), "Ｃall");
    // A ligature is one character of the original however it is cut.
    let analysis = Analysis::new("a ﬁne day");
    let start = analysis.norm.find('i').unwrap();
    assert_eq!(analysis.quote_norm(start..start + 1), "ﬁ");
    assert_eq!(analysis.quote_norm(3..3), "");
}

#[test]
fn long_quotes_are_shortened() {
    let text = "x".repeat(200);
    let analysis = Analysis::new(&text);
    let quote = analysis.quote_norm(0..200);
    assert_eq!(quote.chars().count(), EXCERPT_CHARS + 1);
    assert!(quote.ends_with('…'));
}
