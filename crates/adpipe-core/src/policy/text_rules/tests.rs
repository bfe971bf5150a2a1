use super::*;

/// The `[[text_rule]]` tables of a policy file.
#[derive(Debug, Deserialize)]
struct File {
    #[serde(rename = "text_rule")]
    text_rules: Vec<TextRule>,
}

fn parse(toml: &str) -> Result<Vec<TextRule>, String> {
    toml::from_str::<File>(toml)
        .map(|file| file.text_rules)
        .map_err(|error| error.to_string())
}

fn compiled(toml: &str) -> TextRules {
    TextRules::compile(&parse(toml).expect("test rules parse")).expect("test rules compile")
}

fn rule(name: &str, words: &[&str], action: RuleAction) -> TextRule {
    TextRule {
        name: name.into(),
        words: words.iter().map(|&word| word.into()).collect(),
        patterns: Vec::new(),
        contacts: Vec::new(),
        action,
        reason: format!("{name} reason"),
    }
}

const EXAMPLE: &str = r#"
    [[text_rule]]
    name = "weapons"
    words = ["gun", "rifle", "ammunition"]
    patterns = ['\bfree\s+money\b']
    contacts = ["phone", "email", "url", "handle"]
    action = "reject"
    reason = "We do not publish ads for weapons."

    [[text_rule]]
    name = "contact details"
    contacts = ["phone"]
    action = "review"
    reason = "Contact details belong in the contact form."
"#;

#[test]
fn rules_are_read_from_toml() {
    let rules = parse(EXAMPLE).unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].name, "weapons");
    assert_eq!(rules[0].words, ["gun", "rifle", "ammunition"]);
    assert_eq!(rules[0].patterns, [r"\bfree\s+money\b"]);
    assert_eq!(
        rules[0].contacts,
        [
            ContactKind::Phone,
            ContactKind::Email,
            ContactKind::Url,
            ContactKind::Handle
        ]
    );
    assert_eq!(rules[0].action, RuleAction::Reject);
    assert_eq!(rules[1].words, Vec::<String>::new());
    assert_eq!(rules[1].patterns, Vec::<String>::new());
    assert_eq!(rules[1].action, RuleAction::Review);
}

#[test]
fn rules_survive_a_round_trip_through_toml() {
    let rules = parse(EXAMPLE).unwrap();
    #[derive(Serialize)]
    struct Out<'a> {
        text_rule: &'a [TextRule],
    }
    let written = toml::to_string(&Out { text_rule: &rules }).unwrap();
    assert!(!written.contains("words = []"), "{written}");
    assert_eq!(parse(&written).unwrap(), rules);
}

#[test]
fn mistakes_in_the_toml_are_refused() {
    let base = r#"name = "x"
        reason = "r""#;
    let cases = [
        (
            format!("{base}\naction = \"block\"\nwords = [\"a\"]"),
            "block",
        ),
        (
            format!("{base}\naction = \"reject\"\ncontacts = [\"fax\"]"),
            "fax",
        ),
        (
            format!("{base}\naction = \"reject\"\nword = [\"a\"]"),
            "word",
        ),
        (
            "name = \"x\"\naction = \"reject\"\nwords = [\"a\"]".to_owned(),
            "reason",
        ),
        (format!("{base}\nwords = [\"a\"]"), "action"),
        (
            format!("{base}\naction = \"Reject\"\nwords = [\"a\"]"),
            "Reject",
        ),
    ];
    for (table, mentioned) in cases {
        let error = parse(&format!("[[text_rule]]\n{table}")).unwrap_err();
        assert!(error.contains(mentioned), "{table}: {error}");
    }
}

#[test]
fn compile_names_the_rule_and_the_mistake() {
    type Change = fn(&mut TextRule);
    let with = |change: Change| {
        let mut broken = rule("weapons", &["gun"], RuleAction::Reject);
        change(&mut broken);
        TextRules::compile(&[rule("fine", &["ok"], RuleAction::Review), broken]).unwrap_err()
    };
    let cases: [(Change, &str); 8] = [
        (|rule| rule.words.clear(), "nothing to look for"),
        (
            |rule| rule.words.push("  ".into()),
            "word 2 (\"  \") has no letters or digits",
        ),
        (
            |rule| rule.patterns.push("(unclosed".into()),
            "pattern \"(unclosed\" is not a valid regex",
        ),
        (|rule| rule.patterns.push("x*".into()), "matches empty text"),
        (
            |rule| rule.patterns.push(r"\b".into()),
            "matches empty text",
        ),
        (|rule| rule.reason = " ".into(), "the reason is empty"),
        (
            |rule| rule.name = "fine".into(),
            "text_rule `fine` is defined twice",
        ),
        (
            |rule| rule.name = "".into(),
            "text_rule #2 has an empty name",
        ),
    ];
    for (change, expected) in cases {
        let error = with(change);
        assert!(
            error.contains(expected),
            "expected {expected:?} in {error:?}"
        );
        if !expected.starts_with("text_rule") {
            assert!(error.starts_with("text_rule `weapons`: "), "{error}");
        }
    }
}

#[test]
fn no_rules_match_nothing() {
    let rules = TextRules::compile(&[]).unwrap();
    assert!(rules.is_empty());
    assert_eq!(rules.check("gun 0612345678"), None);
    assert!(TextRules::default().is_empty());
    assert!(!compiled(EXAMPLE).is_empty());
}

#[test]
fn a_match_says_which_rule_why_and_what_was_found() {
    let rules = compiled(EXAMPLE);
    assert_eq!(
        rules.check("Selling my FR€E ＧＵＮ"),
        Some(RuleMatch {
            rule: "weapons".into(),
            action: RuleAction::Reject,
            reason: "We do not publish ads for weapons.".into(),
            found: "ＧＵＮ".into(),
        })
    );
    let pattern = rules.check("Get FREE  Money!").unwrap();
    assert_eq!(
        (pattern.rule.as_str(), pattern.found.as_str()),
        ("weapons", "FREE  Money")
    );
    let contact = rules.check("Bike for sale, call john@example.com").unwrap();
    assert_eq!(contact.found, "john@example.com");
    assert_eq!(rules.check("A nice bike, 2015, 120 000 km"), None);
}

#[test]
fn the_strictest_action_wins_then_the_first_rule() {
    let rules = TextRules::compile(&[
        rule("allowed", &["bike"], RuleAction::Allow),
        rule("reviewed", &["bike", "cheap"], RuleAction::Review),
        rule("reviewed too", &["bike"], RuleAction::Review),
        rule("rejected", &["stolen"], RuleAction::Reject),
        rule("rejected too", &["stolen"], RuleAction::Reject),
    ])
    .unwrap();
    let winner = |text: &str| rules.check(text).map(|found| found.rule);
    assert_eq!(winner("a bike").as_deref(), Some("reviewed"));
    assert_eq!(winner("a stolen bike").as_deref(), Some("rejected"));
    assert_eq!(winner("stolen").as_deref(), Some("rejected"));
    assert_eq!(winner("cheap").as_deref(), Some("reviewed"));
    assert_eq!(winner("a car"), None);

    let only_allow = TextRules::compile(&[
        rule("first", &["bike"], RuleAction::Allow),
        rule("second", &["bike"], RuleAction::Allow),
    ])
    .unwrap();
    let found = only_allow.check("bike").unwrap();
    assert_eq!(
        (found.rule.as_str(), found.action),
        ("first", RuleAction::Allow)
    );
}

#[test]
fn patterns_read_the_normalised_text_whatever_their_case() {
    let rules = compiled(
        r#"
        [[text_rule]]
        name = "models"
        patterns = ['\bAK-?47\b', '\d{3}\s?mm\b']
        action = "review"
        reason = "Check the model."
        "#,
    );
    for (text, found) in [
        ("an ak47", "ak47"),
        ("ＡＫ-４７", "ＡＫ-４７"),
        ("9 mm or 308 MM", "308 MM"),
    ] {
        assert_eq!(
            rules.check(text).map(|found| found.found).as_deref(),
            Some(found),
            "{text}"
        );
    }
    assert_eq!(rules.check("2015 model, 4x4, 120 000 km"), None);
}

#[test]
fn contact_rules_only_match_their_kinds() {
    let rules = compiled(
        r#"
        [[text_rule]]
        name = "links"
        contacts = ["url"]
        action = "reject"
        reason = "No links."

        [[text_rule]]
        name = "numbers"
        contacts = ["phone", "phone"]
        action = "review"
        reason = "Phone number in the text."
        "#,
    );
    let rule_of = |text: &str| rules.check(text).map(|found| found.rule);
    assert_eq!(rule_of("see example.com").as_deref(), Some("links"));
    assert_eq!(rule_of("call 020 7946 0958").as_deref(), Some("numbers"));
    assert_eq!(rule_of("mail john@example.com"), None);
    assert_eq!(rule_of("@johndoe"), None);
}

/// Every detector and a word list, on ads that hold none of them.
const EVERYTHING: &str = r#"
    [[text_rule]]
    name = "weapons"
    words = ["gun", "rifle", "ammunition", "ass", "free money"]
    action = "reject"
    reason = "We do not publish ads for weapons."

    [[text_rule]]
    name = "contacts"
    contacts = ["phone", "email", "url", "handle"]
    action = "review"
    reason = "Contact details belong in the contact form."
"#;

#[test]
fn a_car_ad_full_of_numbers_matches_nothing() {
    let rules = compiled(EVERYTHING);
    let ads = [
        "VW Golf 1.6 TDI, 2015, 120 000 km, 105 PS, 5 doors. First registration 03/2015, \
         inspection valid until 05.2025. Price: €12,500 (negotiable). Second owner since \
         12.05.2021, full service history 2015-2021. Engine 1.6 l, 4.5 l/100 km. \
         VIN WVWZZZ1KZ6W000001. Classic, assembly line quality, turn signal recently replaced.",
        "BMW 320d Touring, Bj. 2012, 185.000 km, 2.0 Diesel, 184 PS, Preis 8.900 € VB, \
         TÜV 11/2025, Winterreifen 225/45 R17, Baujahr 2012-2013 Facelift.",
        "Audi A4 2.0 TFSI quattro 4x4, 1999-2003 model, 85,000 miles, $ 9,999.99 or best \
         offer. 12 500 EUR. Mileage 1 250 000 km? No: 125 000 km!",
        "Renault Clio 1.2 16V, 75 ch, 2008, 150 000 km, prix 3 500 €, CT OK. \
         Dimensions 4.03 m x 1.72 m, 1 090 kg, 250cc scooter included.",
        "Продаю ВАЗ 2107, 2005 г., пробег 120 000 км, цена 95 000 руб. Торг.",
        "🚗💨 Great car! e.g. heated seats, i.e. comfort. Mr.Smith's car.It was loved. A.B.S. \
         and E.S.P. included. 0-100 in 8.5 s, top speed 210 km/h.",
    ];
    for ad in ads {
        assert_eq!(rules.check(ad), None, "{ad}");
    }
}

#[test]
fn a_car_ad_with_contact_details_is_caught() {
    let rules = compiled(EVERYTHING);
    let ads = [
        (
            "VW Golf 2015, 120 000 km, €12,500. Call 06 12 34 56 78",
            "06 12 34 56 78",
        ),
        (
            "VW Golf 2015, €12,500, mail: golf2015 (at) example (dot) com",
            "golf2015 (at) example (dot) com",
        ),
        (
            "VW Golf 2015, €12,500, details on golf-sale.de",
            "golf-sale.de",
        ),
        ("VW Golf 2015, €12,500, WhatsApp only", "WhatsApp"),
    ];
    for (ad, found) in ads {
        let matched = rules.check(ad).unwrap_or_else(|| panic!("nothing in {ad}"));
        assert_eq!(
            (matched.rule.as_str(), matched.found.as_str()),
            ("contacts", found),
            "{ad}"
        );
    }
    let weapon = rules
        .check("VW Golf, 0612345678, with a g.u.n in the trunk")
        .unwrap();
    assert_eq!(
        (weapon.rule.as_str(), weapon.found.as_str()),
        ("weapons", "g.u.n")
    );
}

#[test]
fn rule_matches_serialize_for_the_moderators_view() {
    let found = RuleMatch {
        rule: "weapons".into(),
        action: RuleAction::Review,
        reason: "r".into(),
        found: "gun".into(),
    };
    let json = serde_json::to_value(&found).unwrap();
    assert_eq!(json["action"], "review");
    assert_eq!(ContactKind::Handle.to_string(), "handle");
    assert_eq!(serde_json::to_value(ContactKind::Url).unwrap(), "url");
}
