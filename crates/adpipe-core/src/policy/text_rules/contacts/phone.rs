//! Phone numbers in the normalised text. The hard part of contact details:
//! an ad for a car is full of numbers that are not phone numbers.
//!
//! A phone number here is a run of 8 to 15 digits (17 after "00"), the
//! digits separated by at most three spaces, dots, dashes, slashes or
//! parentheses, not glued to letters (a VIN, a part number) nor part of a
//! URL, once these are taken out of the text:
//! - dates ("12.05.2021", "2021-05-12", "12 05 2021", "03/2015") and year
//!   ranges ("1999-2003", "2015 to 2018");
//! - amounts next to a currency or a price word ("€12,500", "12 500 000
//!   EUR", "price: 1.299,00");
//! - measures next to a unit ("120 000 km", "85,000 miles", "250 cc").
//!
//! A run that starts with a year followed by a space loses the year ("2015
//! 85000" is a year and a mileage); a run of years only, a number grouped
//! by thousands with dots ("12.500.000"), or one with two one-digit groups
//! or more ("1.6 2.0 2.5") is not a number to call, unless every group is
//! one digit with the same separator ("0 6 1 2 3 4 5 6 7 8", a number
//! spaced out). A run too long for one number is cut at list separators
//! (" / ") or spaces into several. An "o" among digits is read as a zero
//! ("O7946 O958"). Known limits: a 7-digit local number is missed; a
//! price of 8 digits or more without a currency or price word is taken
//! for a phone number; numbers spelt in words are missed.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::regex;

/// Digits with at most three separators between each two.
static PHONE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?:\(?\+|\()?\d(?:[\x20\t./\-()]{0,3}\d)*"));

/// A number as amounts are written: grouped by thousands, or not, with at
/// most two decimals.
const AMOUNT: &str = r"\d{1,3}(?:[\x20.,'’]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?";

/// Currency signs and codes. `\b` is ASCII (see `regex`): the words in
/// other scripts go without.
const CURRENCY: &str = r"(?:[€$£¥₽₹₺₴]|\b(?:eur|euros?|usd|gbp|chf|rub|pln|sek|nok|dkk|czk|huf|ron|try|aud|cad|jpy|inr|uah|kr|zl|lei|dollars?|pounds?)\b\.?|kč|zł|руб|грн)";

static MONEY: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?:{CURRENCY}|(?:\b(?:price|prix|preis|precio|prezzo|cena|asking)\b|цена)\s*:?)\s?(?:{AMOUNT})\b|\b(?:{AMOUNT})\s?{CURRENCY}"
    ))
});

static MEASURE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?x)
        \b(?: \d{1,3}(?:[\x20.,'’]\d{3})+(?:[.,]\d+)? | \d{1,7}(?:[.,]\d+)? )
        \s?(?: (?: km|kms|mi|miles?|mph|cc|ccm|cm3|l|ltr|lit(?:er|re)s?|kg|hp|bhp|ps|kw|cv|nm|rpm
            | mm|cm|m|m2|m3|sqm|sq\s?ft|ft|gb|tb|mb|mah|kwh|hz|ghz )\b | км | тыс )",
    )
});

static DATE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"\b(\d{1,2})([./\-\x20])(\d{1,2})([./\-\x20])(\d{4}|\d{2})\b|\b((?:19|20)\d{2})([./\-\x20])(\d{1,2})([./\-\x20])(\d{1,2})\b",
    )
});

static YEAR_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"\b(?:19|20)\d{2}(?:\s?[-/–—]\s?|\s(?:to|bis|do|à)\s)(?:(?:19|20)\d{2}|\d{2})\b")
});

/// "03/2015", "12.2018": a month and a year.
static MONTH_YEAR: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b(?:0?[1-9]|1[0-2])[./](?:19|20)\d{2}\b"));

pub(super) fn phones(norm: &str) -> Vec<Range<usize>> {
    let text = mask_numbers_that_are_no_phone(&zeros_for_os(norm));
    PHONE
        .find_iter(&text)
        .flat_map(|found| phone_numbers(&text, found.range()))
        .collect()
}

/// The phone numbers in a candidate run: the run, or when it is too long
/// for one, its pieces between list separators ("06 12 34 56 78 / 06 98 76
/// 54 32"), or failing that between spaces ("0612345678 0698765432").
fn phone_numbers(text: &str, range: Range<usize>) -> Vec<Range<usize>> {
    if let Some(number) = phone_number(text, range.clone()) {
        return vec![number];
    }
    if digit_count(text, &digit_groups(text, range.clone())) <= 15 {
        return Vec::new();
    }
    let is_list_separator = |separator: &str| {
        let spaced = separator.contains(char::is_whitespace);
        spaced && separator.contains(['/', '-', '|'])
            || separator.trim().is_empty() && separator.len() > 1
    };
    let is_space = |separator: &str| separator.trim().is_empty();
    for splits_at in [&is_list_separator as &dyn Fn(&str) -> bool, &is_space] {
        let numbers: Vec<Range<usize>> = pieces(text, range.clone(), splits_at)
            .into_iter()
            .filter_map(|piece| phone_number(text, piece))
            .collect();
        if !numbers.is_empty() {
            return numbers;
        }
    }
    Vec::new()
}

/// `range` of `text` cut at the separators between digits that
/// `splits_at` accepts.
fn pieces(text: &str, range: Range<usize>, splits_at: &dyn Fn(&str) -> bool) -> Vec<Range<usize>> {
    let groups = digit_groups(text, range.clone());
    let mut pieces = Vec::new();
    let mut start = range.start;
    for pair in groups.windows(2) {
        if splits_at(&text[pair[0].end..pair[1].start]) {
            pieces.push(start..pair[0].end);
            start = pair[1].start;
        }
    }
    pieces.push(start..range.end);
    pieces
}

/// "O7946 O958": an "o" in a run of digits and o's is a zero. Byte for
/// byte, so ranges stay those of the normalised text.
fn zeros_for_os(norm: &str) -> String {
    let mut bytes = norm.as_bytes().to_vec();
    let is_run = |c: char| c.is_ascii_digit() || c == 'o';
    let mut chars = norm.char_indices().peekable();
    let mut previous: Option<char> = None;
    while let Some((start, c)) = chars.next() {
        if !is_run(c) {
            previous = Some(c);
            continue;
        }
        let mut end = start + 1;
        while let Some(&(index, next)) = chars.peek().filter(|&&(_, next)| is_run(next)) {
            end = index + next.len_utf8();
            chars.next();
        }
        let next = chars.peek().map(|&(_, next)| next);
        let run = &norm[start..end];
        let alone = !previous.is_some_and(char::is_alphanumeric)
            && !next.is_some_and(char::is_alphanumeric);
        if alone && run.contains(|d: char| d.is_ascii_digit()) {
            for byte in &mut bytes[start..end] {
                if *byte == b'o' {
                    *byte = b'0';
                }
            }
        }
        previous = run.chars().last();
    }
    // Only ASCII "o" became ASCII "0": still UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|_| norm.to_owned())
}

/// Blanks out ("#", byte for byte) dates, year ranges, amounts and
/// measures, so their digits are not read as part of a phone number.
fn mask_numbers_that_are_no_phone(text: &str) -> String {
    let mut masks: Vec<Range<usize>> = Vec::new();
    masks.extend(
        DATE.find_iter(text)
            .filter(|found| is_date(found.as_str()) && !continues(text, found.range()))
            .map(|found| found.range()),
    );
    masks.extend(
        MONTH_YEAR
            .find_iter(text)
            .filter(|found| !continues(text, found.range()))
            .map(|found| found.range()),
    );
    masks.extend(
        YEAR_RANGE
            .find_iter(text)
            .filter(|found| !continues(text, found.range()))
            .map(|found| found.range()),
    );
    masks.extend(MONEY.find_iter(text).map(|found| found.range()));
    masks.extend(MEASURE.find_iter(text).map(|found| found.range()));
    let mut bytes = text.as_bytes().to_vec();
    for range in masks {
        bytes[range].fill(b'#');
    }
    // Whole characters became ASCII: still UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())
}

/// Whether a match of `DATE` is a plausible date: the same separator
/// twice, a day and a month in range, and a four-digit year if the
/// separator is a space ("06 12 34" is part of a phone number).
fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split(['.', '/', '-', ' ']).collect();
    let separators: Vec<char> = text.chars().filter(|c| !c.is_ascii_digit()).collect();
    let [a, b, c] = parts.as_slice() else {
        return false;
    };
    let number = |part: &str| part.parse::<u32>().unwrap_or(0);
    let plausible = |day: u32, month: u32| (1..=31).contains(&day) && (1..=12).contains(&month);
    let (year, day_and_month) = if a.len() == 4 {
        (*a, plausible(number(c), number(b)))
    } else {
        // Day first, or month first as in the US ("05/12/2021").
        let (first, second) = (number(a), number(b));
        (*c, plausible(first, second) || plausible(second, first))
    };
    let same_separator = separators.len() == 2 && separators[0] == separators[1];
    same_separator && day_and_month && (separators[0] != ' ' || year.len() == 4)
}

/// Whether a match goes on as a longer number ("06.12.34" in
/// "06.12.34.56.78"): a separator and a digit right before or after it.
fn continues(text: &str, range: Range<usize>) -> bool {
    let is_separator = |c: char| matches!(c, '.' | '/' | '-' | ' ');
    let mut after = text[range.end..].chars();
    let mut before = text[..range.start].chars().rev();
    let goes_on = |chars: &mut dyn Iterator<Item = char>| {
        chars.next().is_some_and(is_separator) && chars.next().is_some_and(|c| c.is_ascii_digit())
    };
    goes_on(&mut after) || goes_on(&mut before)
}

/// The phone number in a candidate run, if it is one (see the module's
/// documentation for the rules).
fn phone_number(text: &str, mut range: Range<usize>) -> Option<Range<usize>> {
    // Part of a URL, a code or an id; a "+" or "(" opens a number even
    // right after a word ("WhatsApp+44...").
    let international = text[range.clone()].starts_with(['+', '(']);
    let glued = |c: Option<char>, letters: bool| {
        c.is_some_and(|c| letters && c.is_alphanumeric() || "/=?&#_@".contains(c))
    };
    if glued(text[..range.start].chars().next_back(), !international)
        || glued(text[range.end..].chars().next(), true)
    {
        return None;
    }
    let mut groups = digit_groups(text, range.clone());
    // "2015 85000": a year, then a mileage.
    if !international && groups.len() > 1 && is_year(&text[groups[0].clone()]) {
        let between = &text[groups[0].end..groups[1].start];
        if between.contains(char::is_whitespace) {
            groups.remove(0);
            range.start = groups[0].start;
        }
    }
    let digits = digit_count(text, &groups);
    let most = if text[range.clone()].starts_with("00") {
        17
    } else {
        15
    };
    let years_only = groups.len() > 1 && groups.iter().all(|group| is_year(&text[group.clone()]));
    let is_phone = (8..=most).contains(&digits)
        && !years_only
        && !is_grouped_by_thousands(text, &groups)
        && !has_decimal_groups(text, &groups, international);
    is_phone.then_some(range)
}

/// "12.500.000": a number grouped by thousands with dots (spaces are
/// left alone: "612 345 678" is a Spanish phone number).
fn is_grouped_by_thousands(text: &str, groups: &[Range<usize>]) -> bool {
    let Some((first, rest)) = groups.split_first() else {
        return false;
    };
    !rest.is_empty()
        && text[first.clone()].chars().count() <= 3
        && rest
            .iter()
            .all(|group| text[group.clone()].chars().count() == 3)
        && groups
            .windows(2)
            .all(|pair| &text[pair[0].end..pair[1].start] == ".")
}

fn is_year(group: &str) -> bool {
    group.len() == 4 && (group.starts_with("19") || group.starts_with("20"))
}

fn digit_count(text: &str, groups: &[Range<usize>]) -> usize {
    groups
        .iter()
        .map(|group| text[group.clone()].chars().count())
        .sum()
}

/// Byte ranges of the runs of digits in `range` of `text`.
fn digit_groups(text: &str, range: Range<usize>) -> Vec<Range<usize>> {
    let mut groups: Vec<Range<usize>> = Vec::new();
    for (index, c) in text[range.clone()].char_indices() {
        let at = range.start + index;
        if !c.is_numeric() {
            continue;
        }
        match groups.last_mut() {
            Some(group) if group.end == at => group.end = at + c.len_utf8(),
            _ => groups.push(at..at + c.len_utf8()),
        }
    }
    groups
}

/// "1.6 2.0 2.5": two one-digit groups or more, unless all the groups are
/// one digit with one separator ("0 6 1 2 3 4 5 6 7 8"). The country code
/// after a "+" does not count.
fn has_decimal_groups(text: &str, groups: &[Range<usize>], international: bool) -> bool {
    let counted = if international {
        groups.get(1..).unwrap_or(&[])
    } else {
        groups
    };
    let single = counted
        .iter()
        .filter(|group| text[(*group).clone()].chars().count() == 1)
        .count();
    if single < 2 {
        return false;
    }
    let separators: Vec<&str> = groups
        .windows(2)
        .map(|pair| &text[pair[0].end..pair[1].start])
        .collect();
    let spaced_out =
        single == counted.len() && separators.windows(2).all(|pair| pair[0] == pair[1]);
    !spaced_out
}
