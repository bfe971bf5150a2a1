use super::*;

/// The contact details of `kind` found in `text`, quoted.
fn detected(kind: ContactKind, text: &str) -> Vec<String> {
    let analysis = Analysis::new(text);
    let terms = Terms::new(&analysis);
    detect(&analysis, &terms, &[kind])
        .into_iter()
        .map(|contact| contact.found)
        .collect()
}

/// Asserts that each text holds a contact detail of `kind`, and that the
/// first one found is quoted as given.
fn assert_detected(kind: ContactKind, cases: &[(&str, &str)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|&(text, quoted)| {
            let found = detected(kind, text);
            (found.first().map(String::as_str) != Some(quoted))
                .then(|| format!("{kind} in {text:?}: expected {quoted:?}, got {found:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn assert_not_detected(kind: ContactKind, texts: &[&str]) {
    let failures: Vec<String> = texts
        .iter()
        .filter_map(|&text| {
            let found = detected(kind, text);
            (!found.is_empty()).then(|| format!("{kind} in {text:?}: found {found:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn phone_numbers_are_found() {
    assert_detected(
        ContactKind::Phone,
        &[
            ("Call +44 20 7946 0958 today", "+44 20 7946 0958"),
            ("+1 (555) 123-4567", "+1 (555) 123-4567"),
            ("(+44) 20 7946 0958", "(+44) 20 7946 0958"),
            ("0044 20 7946 0958", "0044 20 7946 0958"),
            ("tel: 020 7946 0958", "020 7946 0958"),
            ("0171-555 1234", "0171-555 1234"),
            ("555-123-4567", "555-123-4567"),
            ("(555) 123-4567", "(555) 123-4567"),
            ("06 12 34 56 78", "06 12 34 56 78"),
            ("06.12.34.56.78", "06.12.34.56.78"),
            ("0612345678", "0612345678"),
            ("030/1234567", "030/1234567"),
            ("+4915112345678", "+4915112345678"),
            ("1-800-555-1234", "1-800-555-1234"),
            ("612 345 678", "612 345 678"),
            ("Tel.0612345678.", "0612345678"),
            ("WhatsApp+447700900123", "+447700900123"),
            ("ring O7946 O958 after six", "O7946 O958"),
            ("0 6 1 2 3 4 5 6 7 8", "0 6 1 2 3 4 5 6 7 8"),
            ("０６１２３４５６７８", "０６１２３４５６７８"),
            // A year before a number does not hide it.
            ("2015 0612345678", "0612345678"),
            ("price 500 €, tel 06 12 34 56 78", "06 12 34 56 78"),
            ("12.05.2021 call 0612345678", "0612345678"),
            ("06 12 34 56 78 in the evening", "06 12 34 56 78"),
            // Two numbers in one run.
            ("06 12 34 56 78 / 06 98 76 54 32", "06 12 34 56 78"),
            ("0612345678 0698765432", "0612345678"),
            ("+7 (912) 345-67-89", "+7 (912) 345-67-89"),
            ("+33 6 12 34 56 78", "+33 6 12 34 56 78"),
            ("+49 (0) 151 1234 5678", "+49 (0) 151 1234 5678"),
        ],
    );
}

#[test]
fn numbers_of_a_car_ad_are_no_phone_numbers() {
    assert_not_detected(
        ContactKind::Phone,
        &[
            // Prices
            "€12,500",
            "12 500 EUR",
            "$ 9,999.99",
            "1.299,00 €",
            "12 500 000 €",
            "€ 1 250 000",
            "Price: 12 500 000",
            "CHF 125'000.-",
            "12.500.000",
            "2.000,- €",
            "€2000-€3000",
            // Years and dates
            "2015",
            "1999-2003",
            "1999 - 2003",
            "2015 to 2018",
            "2015 2016 2017",
            "12.05.2021",
            "2021-05-12",
            "05/12/2021",
            "12 05 2021",
            "EZ 03/2015, TÜV 05.2025",
            "01.2015 - 12.2018",
            "from 12.05.2021 to 15.06.2021",
            // Mileage, engine, sizes
            "120 000 km",
            "85,000 miles",
            "1 250 000 km",
            "2015 120000 km",
            "2015 85000",
            "1.6 l",
            "2.0 TDI",
            "250cc",
            "1.6 2.0 2.5 3.0",
            "1.6/2.0/2.5/3.0",
            "A4 2.0",
            "4x4",
            // Codes glued to letters
            "VIN WVWZZZ1JZ3W386752",
            "part no. AB12345678",
            "12345678abc",
            // Too long for a phone number (a card, an account)
            "4111 1111 1111 1111",
            // Inside a URL
            "example.com/item/123456789",
            "1234567",
            "10:00-18:00",
        ],
    );
}

#[test]
fn email_addresses_are_found() {
    assert_detected(
        ContactKind::Email,
        &[
            ("mail john.doe@example.com now", "john.doe@example.com"),
            ("JOHN@EXAMPLE.CO.UK", "JOHN@EXAMPLE.CO.UK"),
            ("john+cars@mail.example.de", "john+cars@mail.example.de"),
            ("john [at] example [dot] com", "john [at] example [dot] com"),
            ("john(at)example.com", "john(at)example.com"),
            ("john (at) example (dot) com", "john (at) example (dot) com"),
            ("john at example dot com", "john at example dot com"),
            ("john @ example.com", "john @ example.com"),
            ("john＠example．com", "john＠example．com"),
            ("john\u{200B}@example.com", "john\u{200B}@example.com"),
            ("john.doe at gmail", "john.doe at gmail"),
            ("jöhn@exämple.de", "jöhn@exämple.de"),
        ],
    );
}

#[test]
fn what_only_looks_like_an_address_is_none() {
    assert_not_detected(
        ContactKind::Email,
        &[
            "meet at the station",
            "available at 9.30",
            "look at the photos dot",
            "2 @ 50 €",
            "price@5.99",
            "@handle",
            "located at main.street",
            "e.g. at noon",
            // A web site (see the URL detector), not an address.
            "john at example.com",
            "Visit us at cars.example.com!",
            "me@home",
        ],
    );
}

#[test]
fn web_addresses_are_found() {
    assert_detected(
        ContactKind::Url,
        &[
            (
                "see https://example.com/cars?id=1",
                "https://example.com/cars?id=1",
            ),
            ("http://example.org", "http://example.org"),
            ("www.example.net", "www.example.net"),
            ("visit example.com", "example.com"),
            ("Example.COM", "Example.COM"),
            ("shop.example.co.uk/cars", "shop.example.co.uk/cars"),
            ("bit.ly/abc", "bit.ly/abc"),
            ("my-cars.shop", "my-cars.shop"),
            ("example dot com", "example dot com"),
            ("example(dot)com", "example(dot)com"),
            ("example [.] com", "example [.] com"),
            ("ｅｘａｍｐｌｅ．ｃｏｍ", "ｅｘａｍｐｌｅ．ｃｏｍ"),
            ("t.me/johndoe", "t.me/johndoe"),
            ("машина.рф", "машина.рф"),
            ("available at amazon.de", "amazon.de"),
        ],
    );
}

#[test]
fn what_only_looks_like_a_web_address_is_none() {
    assert_not_detected(
        ContactKind::Url,
        &[
            "2.0 TDI",
            "e.g. this",
            "i.e. that",
            "3.14159",
            "1.299,00",
            "Mr.Smith",
            "A.B.S.",
            "photo.jpg",
            "Great car.It runs well",
            "Call me.Thanks",
            "No.5",
            "john@example.com",
            "john [at] example [dot] com",
            "ok.so",
            "v2.0.1",
        ],
    );
}

#[test]
fn messenger_handles_are_found() {
    assert_detected(
        ContactKind::Handle,
        &[
            ("follow @john_doe", "@john_doe"),
            ("(@cars.of.paris)", "@cars.of.paris"),
            ("t.me/johndoe", "t.me/johndoe"),
            ("wa.me/447700900123", "wa.me/447700900123"),
            ("instagram.com/johndoe", "instagram.com/johndoe"),
            ("telegram: johndoe", "telegram"),
            ("WhatsApp me", "WhatsApp"),
            ("WhatsApp +44 7700 900123", "WhatsApp"),
            ("Whats App only", "Whats App"),
            ("wh@tsapp", "wh@tsapp"),
            ("t e l e g r a m", "t e l e g r a m"),
            ("snapchat: jd", "snapchat"),
            ("insta: john.doe", "insta: john.doe"),
            ("viber", "viber"),
            ("signal me", "signal me"),
            ("Signal: +44 7700 900123", "Signal: +44 7700 900123"),
            ("line: @jd", "@jd"),
            ("kik", "kik"),
            ("line id: jd", "line id"),
            ("add me on snap", "add me on snap"),
            ("пиши в телеграм", "телеграм"),
        ],
    );
}

#[test]
fn what_only_looks_like_a_handle_is_none() {
    assert_not_detected(
        ContactKind::Handle,
        &[
            "john@example.com",
            "john @example.com",
            "2 @ 50 €",
            "@ 5",
            "@12345",
            "turn signal works",
            "Turn signal: left one broken",
            "product line: premium",
            "snap-on tools",
            "new lines, fine lines",
            "online",
            "sold at auction",
        ],
    );
}

#[test]
fn only_the_kinds_asked_for_are_detected() {
    let text = "john@example.com, example.com, @john, 0612345678";
    let analysis = Analysis::new(text);
    let terms = Terms::new(&analysis);
    let kinds = |asked: &[ContactKind]| -> Vec<ContactKind> {
        detect(&analysis, &terms, asked)
            .into_iter()
            .map(|contact| contact.kind)
            .collect()
    };
    assert_eq!(kinds(&[]), vec![]);
    assert_eq!(kinds(&[ContactKind::Phone]), vec![ContactKind::Phone]);
    assert_eq!(kinds(&[ContactKind::Email]), vec![ContactKind::Email]);
    // The address's domain is no web site of its own.
    assert_eq!(kinds(&[ContactKind::Url]), vec![ContactKind::Url]);
    assert_eq!(kinds(&[ContactKind::Handle]), vec![ContactKind::Handle]);
}
