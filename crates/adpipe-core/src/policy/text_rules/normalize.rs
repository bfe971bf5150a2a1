//! The forms a text is matched in, each traced back to the original so a
//! match can be quoted to moderators as the submitter wrote it.
//!
//! - The *normalised* form: NFKC, case folded, invisible characters removed.
//!   Full-width letters, ligatures, math letters and superscripts become
//!   plain letters; diacritics stay ("gün" is not "gun"). Patterns and the
//!   contact detectors read this form.
//! - The *skeleton*: the normalised form without diacritics, with look-alike
//!   letters (small capitals, enclosed letters, Cyrillic, Greek and Armenian
//!   letters that look Latin) replaced by the Latin letter, and "l" read as
//!   "i" (so "1", "l", "I" and "i" are all one letter). Words are also
//!   matched in this form. Digits and symbols that stand for letters ("g00d",
//!   "FR€E") are replaced later, per term (see `words`), because only a term
//!   that has letters spells a word: "1000 km" stays digits.
//!
//! Each original character is normalised together with the combining marks
//! that follow it, and the pieces are recorded as *units* (one per character
//! of the NFKC output) that remember the original bytes they came from.

use std::ops::Range;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::{canonical_combining_class, is_combining_mark};

/// The normalised form of `text`: Unicode NFKC, case folded (lowercase,
/// "ß" → "ss", final "ς" → "σ"), with invisible characters (zero-width
/// spaces and joiners, soft hyphens, direction marks, variation selectors)
/// removed. The form text rules' patterns and contact detectors read.
pub fn normalize(text: &str) -> String {
    Analysis::new(text).norm
}

/// One character of the NFKC output and where it came from.
#[derive(Debug, Clone)]
struct Unit {
    /// Its normalised (folded) form, in `Analysis::norm`.
    norm: Range<usize>,
    /// Its skeleton without cross-script look-alikes, in `Analysis::skel`.
    skel: Range<usize>,
    /// Its skeleton with them, in `Analysis::latin`.
    latin: Range<usize>,
    /// The original bytes (the whole character with its combining marks).
    orig: Range<usize>,
}

/// A text in all its forms (see the module's documentation).
#[derive(Debug)]
pub(super) struct Analysis<'a> {
    original: &'a str,
    pub(super) norm: String,
    skel: String,
    latin: String,
    units: Vec<Unit>,
    /// Whether Latin letters outnumber Cyrillic, Greek and Armenian ones:
    /// then a word spelt with their look-alikes is a disguise, while in a
    /// Russian ad "рот" is a Russian word, not "pot".
    latin_context: bool,
}

impl<'a> Analysis<'a> {
    pub(super) fn new(original: &'a str) -> Self {
        let mut analysis = Analysis {
            original,
            norm: String::with_capacity(original.len()),
            skel: String::with_capacity(original.len()),
            latin: String::with_capacity(original.len()),
            units: Vec::with_capacity(original.len()),
            latin_context: true,
        };
        for orig in clusters(original) {
            analysis.push_cluster(orig);
        }
        analysis.latin_context = latin_letters(&analysis.norm) >= other_letters(&analysis.norm);
        analysis
    }

    fn push_cluster(&mut self, orig: Range<usize>) {
        let cluster = &self.original[orig.clone()];
        // Most of a text: one ASCII character, its own NFKC, nothing to undo.
        if let &[byte] = cluster.as_bytes() {
            let c = char::from(byte.to_ascii_lowercase());
            let skeleton = if c == 'l' { 'i' } else { c };
            let norm = push_with(&mut self.norm, |out| out.push(c));
            let skel = push_with(&mut self.skel, |out| out.push(skeleton));
            let latin = push_with(&mut self.latin, |out| out.push(skeleton));
            self.units.push(Unit {
                norm,
                skel,
                latin,
                orig,
            });
            return;
        }
        let visible = cluster.chars().filter(|&c| !is_invisible(c));
        for c in visible.nfkc().filter(|&c| !is_invisible(c)) {
            let norm = push_with(&mut self.norm, |out| fold(c, out));
            let skel = push_with(&mut self.skel, |out| skeleton(c, false, out));
            let latin = push_with(&mut self.latin, |out| skeleton(c, true, out));
            self.units.push(Unit {
                norm,
                skel,
                latin,
                orig: orig.clone(),
            });
        }
    }

    pub(super) fn len(&self) -> usize {
        self.units.len()
    }

    pub(super) fn latin_context(&self) -> bool {
        self.latin_context
    }

    pub(super) fn unit_norm(&self, unit: usize) -> &str {
        &self.norm[self.units[unit].norm.clone()]
    }

    /// The unit's skeleton, with or without cross-script look-alikes.
    pub(super) fn unit_skel(&self, unit: usize, latin: bool) -> &str {
        if latin {
            &self.latin[self.units[unit].latin.clone()]
        } else {
            &self.skel[self.units[unit].skel.clone()]
        }
    }

    /// The original text of `units` (a range of unit indices), shortened
    /// for moderators.
    pub(super) fn quote_units(&self, units: Range<usize>) -> String {
        excerpt(self.original_of_units(units))
    }

    /// The original text behind `range`, a byte range of `norm`, shortened.
    pub(super) fn quote_norm(&self, range: Range<usize>) -> String {
        excerpt(self.original_of_norm(range))
    }

    /// The original text behind `range` of `norm`.
    pub(super) fn original_of_norm(&self, range: Range<usize>) -> &'a str {
        self.original_of_units(self.units_of_norm(range))
    }

    fn original_of_units(&self, units: Range<usize>) -> &'a str {
        let last = units.end.checked_sub(1).filter(|&last| last >= units.start);
        match (
            self.units.get(units.start),
            last.and_then(|last| self.units.get(last)),
        ) {
            (Some(first), Some(last)) => &self.original[first.orig.start..last.orig.end],
            _ => "",
        }
    }

    /// The units whose normalised bytes overlap `range`.
    fn units_of_norm(&self, range: Range<usize>) -> Range<usize> {
        let start = self
            .units
            .partition_point(|unit| unit.norm.end <= range.start);
        let end = self
            .units
            .partition_point(|unit| unit.norm.start < range.end);
        start..end.max(start)
    }
}

/// At most this many characters of a match are quoted to moderators.
const EXCERPT_CHARS: usize = 60;

fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Byte ranges of `text`, each a character and the combining marks after
/// it: NFKC composes within such a cluster, so normalising clusters one by
/// one gives the same result as the whole text (Hangul jamo and a few
/// two-part vowels aside) while keeping track of where each came from.
fn clusters(text: &str) -> Vec<Range<usize>> {
    // The first character starts a cluster even when it is a mark.
    let mut starts: Vec<usize> = text
        .char_indices()
        .filter(|&(index, c)| index == 0 || canonical_combining_class(c) == 0)
        .map(|(index, _)| index)
        .collect();
    starts.push(text.len());
    starts.windows(2).map(|pair| pair[0]..pair[1]).collect()
}

fn push_with(out: &mut String, push: impl FnOnce(&mut String)) -> Range<usize> {
    let start = out.len();
    push(out);
    start..out.len()
}

/// Characters that render as nothing and so can hide inside a word
/// ("g\u{200B}un"): zero-width space, joiners, direction marks, soft hyphen,
/// word joiner, BOM, variation selectors, tag characters.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Case folding, as far as a plain lowercase is not enough.
fn fold(c: char, out: &mut String) {
    match c {
        'ß' | 'ẞ' => out.push_str("ss"),
        'ς' => out.push('σ'),
        _ => out.extend(c.to_lowercase()),
    }
}

/// The skeleton of one NFKC character: folded, without diacritics, with
/// look-alike letters replaced (cross-script ones only when `latin`).
fn skeleton(c: char, latin: bool, out: &mut String) {
    if latin && let Some(letter) = capital_look_alike(c) {
        out.push(letter);
        return;
    }
    let mut folded = String::new();
    fold(c, &mut folded);
    for d in folded.nfkd().filter(|&d| !is_combining_mark(d)) {
        let d = same_script_look_alike(d)
            .or_else(|| latin.then(|| cross_script_look_alike(d)).flatten())
            .unwrap_or(d);
        // "l", "1", "I" and "|" are told apart by font alone: one letter.
        out.push(if d == 'l' { 'i' } else { d });
    }
}

/// Latin letters that look like other Latin letters, or are Latin letters
/// in disguise (small capitals, enclosed and regional-indicator letters).
fn same_script_look_alike(c: char) -> Option<char> {
    let letter = |base: u32, first: char| char::from_u32(u32::from(first) + (c as u32 - base));
    match c {
        // Negative circled, negative squared and regional indicator A..Z:
        // NFKC leaves them alone.
        '\u{1F150}'..='\u{1F169}' => letter(0x1F150, 'a'),
        '\u{1F170}'..='\u{1F189}' => letter(0x1F170, 'a'),
        '\u{1F1E6}'..='\u{1F1FF}' => letter(0x1F1E6, 'a'),
        _ => {
            let pair = SAME_SCRIPT.iter().find(|(from, _)| *from == c)?;
            Some(pair.1)
        }
    }
}

#[rustfmt::skip]
const SAME_SCRIPT: &[(char, char)] = &[
    ('ᴀ', 'a'), ('ʙ', 'b'), ('ᴄ', 'c'), ('ᴅ', 'd'), ('ᴇ', 'e'), ('ꜰ', 'f'), ('ɢ', 'g'),
    ('ʜ', 'h'), ('ɪ', 'i'), ('ᴊ', 'j'), ('ᴋ', 'k'), ('ʟ', 'l'), ('ᴍ', 'm'), ('ɴ', 'n'),
    ('ᴏ', 'o'), ('ᴘ', 'p'), ('ʀ', 'r'), ('ꜱ', 's'), ('ᴛ', 't'), ('ᴜ', 'u'), ('ᴠ', 'v'),
    ('ᴡ', 'w'), ('ʏ', 'y'), ('ᴢ', 'z'), ('ɑ', 'a'), ('ɡ', 'g'), ('ı', 'i'), ('ȷ', 'j'),
    ('ɩ', 'i'),
];

/// Greek capitals whose small letter looks like another Latin letter
/// ("Η" is an H, "η" an n).
fn capital_look_alike(c: char) -> Option<char> {
    Some(match c {
        'Η' => 'h',
        'Ν' => 'n',
        'Υ' => 'y',
        'Μ' => 'm',
        'Ζ' => 'z',
        'Β' => 'b',
        _ => return None,
    })
}

/// Cyrillic, Greek and Armenian small letters that look like a Latin one.
fn cross_script_look_alike(c: char) -> Option<char> {
    let pair = CROSS_SCRIPT.iter().find(|(from, _)| *from == c)?;
    Some(pair.1)
}

#[rustfmt::skip]
const CROSS_SCRIPT: &[(char, char)] = &[
    // Cyrillic
    ('а', 'a'), ('в', 'b'), ('е', 'e'), ('к', 'k'), ('м', 'm'), ('н', 'h'), ('о', 'o'),
    ('п', 'n'), ('р', 'p'), ('с', 'c'), ('т', 't'), ('у', 'y'), ('х', 'x'), ('ь', 'b'),
    ('ѕ', 's'), ('і', 'i'), ('ј', 'j'), ('ԁ', 'd'), ('ԛ', 'q'), ('ԝ', 'w'), ('һ', 'h'),
    ('ӏ', 'l'), ('ү', 'y'),
    // Greek
    ('α', 'a'), ('β', 'b'), ('γ', 'y'), ('ε', 'e'), ('η', 'n'), ('ι', 'i'), ('κ', 'k'),
    ('μ', 'u'), ('ν', 'v'), ('ο', 'o'), ('ρ', 'p'), ('τ', 't'), ('υ', 'u'), ('χ', 'x'),
    ('ω', 'w'), ('ϲ', 'c'), ('ζ', 'z'),
    // Armenian
    ('ս', 'u'), ('օ', 'o'), ('ո', 'n'), ('հ', 'h'), ('ց', 'g'), ('զ', 'q'),
];

fn latin_letters(norm: &str) -> usize {
    norm.chars().filter(|c| c.is_ascii_alphabetic()).count()
}

/// Letters of the scripts whose look-alikes are read as Latin.
fn other_letters(norm: &str) -> usize {
    norm.chars()
        .filter(|&c| {
            matches!(c, '\u{0370}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}' | '\u{0400}'..='\u{052F}'
                | '\u{1C80}'..='\u{1C8F}' | '\u{A640}'..='\u{A69F}' | '\u{0530}'..='\u{058F}')
        })
        .count()
}

#[cfg(test)]
mod tests;
