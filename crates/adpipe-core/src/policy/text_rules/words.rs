//! Word lists: whole words and phrases, found however they are disguised.
//!
//! A text is cut into *terms* five ways (streams), and a word matches a
//! term of any of them, in its normalised form or in its skeleton:
//!
//! 1. runs of letters and digits: "gun", "g00d" (read "good");
//! 2. runs of letters, digits and the symbols that stand for letters
//!    (€ $ @ £ ¢ |): "FR€E", "a$$";
//! 3. stream 2 with terms glued across in-word punctuation (. - _ * ' and
//!    the like, one or two of them): "g.u.n", "fr-ee", "g_u_n";
//! 4. stream 2 with spaced-out single letters glued: "g u n", "f r e e".
//!    Only runs of at least three letters, each on its own, are glued, so
//!    "of reed" stays two words; a run is cut where its gaps widen
//!    ("f r e e  m o n e y" is "free money");
//! 5. stream 4, a run's first letter left alone when it is a one-letter
//!    word: "a g u n" is "a gun".
//!
//! Matching is whole-term, so "ass" is not found in "class" nor "gun" in
//! "begun" or "gunnel". A plural "s" or "es" is allowed after a word of
//! three letters or more ("guns", "asses"). A phrase ("free money")
//! matches consecutive terms, or one term spelling it without spaces
//! ("freemoney"). Digits and symbols are read as letters (0 o, 1 i, 3 e,
//! 4 a, 5 s, 7 t, € e, $ s, @ a, £ l, ¢ c, | l) only in a term that has
//! letters, so "1000 km" and "2015" stay numbers. Words in scripts written
//! without spaces (Chinese, Japanese, Thai, ...) are found anywhere in the
//! text, inside longer words too: there is no word boundary to go by.
//!
//! Known limits: whole words only, so compounds and other endings need
//! their own entry ("sexy", "a$$hole"), and a hyphen separates words
//! ("gun" is found in "gun-metal grey"); a spaced-out word after two
//! one-letter words ("I a g u n") or before one is read as part of a
//! longer run and missed, as is a word half spaced, half glued ("f r-ee");
//! letters that look alike only in pairs ("rn" for "m", "vv" for "w") are
//! not read as one; a disguise written wholly in Cyrillic, Greek or
//! Armenian look-alikes inside a text mostly in those scripts is read as
//! that script.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use unicode_normalization::char::is_combining_mark;

use super::normalize::Analysis;

/// A word, a phrase or a run of letters of the text.
#[derive(Debug, Clone)]
pub(super) struct Term {
    /// The units it spans, from its first letter to its last.
    units: Range<usize>,
    norm: String,
    /// Its skeleton, digits and symbols read as letters when it has letters.
    skel: String,
}

/// A run of units of one kind (letters and digits, or those and symbols).
#[derive(Debug, Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
}

/// A text's terms, the five ways (see the module's documentation).
#[derive(Debug)]
pub(super) struct Terms {
    /// Every distinct term of the streams, once: most terms are the same
    /// in all five.
    pool: Vec<Term>,
    /// Each stream, as indices into `pool`.
    streams: [Vec<usize>; 5],
}

impl Terms {
    pub(super) fn new(analysis: &Analysis) -> Self {
        let plain = tokens(analysis, |unit| is_word_unit(analysis.unit_norm(unit)));
        let with_symbols = tokens(analysis, |unit| {
            is_word_unit_or_symbol(analysis.unit_skel(unit, true))
        });
        let each = |count: usize| (0..count).map(|index| index..index + 1).collect();
        let mut pool = Pool {
            analysis,
            terms: Vec::new(),
            by_units: HashMap::new(),
        };
        let streams = [
            pool.stream(&plain, each(plain.len())),
            pool.stream(&with_symbols, each(with_symbols.len())),
            pool.stream(&with_symbols, joined_groups(analysis, &with_symbols)),
            pool.stream(&with_symbols, spaced_groups(analysis, &with_symbols, false)),
            pool.stream(&with_symbols, spaced_groups(analysis, &with_symbols, true)),
        ];
        Terms {
            pool: pool.terms,
            streams,
        }
    }
}

/// Builds each distinct term once. Two groups of tokens that span the same
/// units are the same term: the tokens of a stream are maximal runs, so
/// the units decide which tokens are in between.
struct Pool<'a, 'b> {
    analysis: &'a Analysis<'b>,
    terms: Vec<Term>,
    by_units: HashMap<(usize, usize), usize>,
}

impl Pool<'_, '_> {
    /// A stream: `groups` of `tokens` (as ranges of their indices).
    fn stream(&mut self, tokens: &[Token], groups: Vec<Range<usize>>) -> Vec<usize> {
        groups
            .into_iter()
            .map(|group| self.term(&tokens[group]))
            .collect()
    }

    fn term(&mut self, tokens: &[Token]) -> usize {
        let start = tokens.first().map_or(0, |token| token.start);
        let end = tokens.last().map_or(start, |token| token.end);
        if let Some(&index) = self.by_units.get(&(start, end)) {
            return index;
        }
        let latin = self.analysis.latin_context();
        self.terms.push(term(self.analysis, tokens, latin));
        self.by_units.insert((start, end), self.terms.len() - 1);
        self.terms.len() - 1
    }
}

/// A list of words and phrases, compiled once.
#[derive(Debug, Clone, Default)]
pub(super) struct WordList {
    /// Normalised forms and skeletons of the words, and of the phrases
    /// written without spaces.
    keys: HashSet<String>,
    /// Phrases of more than one word, each word in both forms.
    phrases: Vec<Vec<Term>>,
    /// Words in scripts written without spaces, looked for anywhere.
    unspaced: Vec<String>,
}

impl WordList {
    /// Fails, saying which, on a word without letters or digits.
    pub(super) fn compile<S: AsRef<str>>(words: &[S]) -> Result<Self, String> {
        let mut list = WordList::default();
        for (index, word) in words.iter().enumerate() {
            let word = word.as_ref();
            let analysis = Analysis::new(word);
            let tokens = tokens(&analysis, |unit| is_word_unit(analysis.unit_norm(unit)));
            // A lone combining mark is no word either (its skeleton is empty).
            let letters =
                (0..analysis.len()).any(|unit| !analysis.unit_skel(unit, false).is_empty());
            if tokens.is_empty() || !letters {
                return Err(format!(
                    "word {} ({word:?}) has no letters or digits",
                    index + 1
                ));
            }
            // A word with Latin letters is Latin, or a mix meant to look
            // Latin: read its look-alikes as Latin. A Cyrillic word stays
            // Cyrillic (and still matches itself in any text).
            let latin = (0..analysis.len()).any(|unit| {
                analysis
                    .unit_skel(unit, false)
                    .contains(|c: char| c.is_ascii_alphabetic())
            });
            let whole = term(&analysis, &tokens, latin);
            if whole.norm.chars().all(is_unspaced_script) {
                list.unspaced.push(whole.norm.clone());
            }
            if tokens.len() > 1 {
                list.phrases.push(
                    tokens
                        .iter()
                        .map(|token| term(&analysis, std::slice::from_ref(token), latin))
                        .collect(),
                );
            }
            list.keys.insert(whole.norm);
            list.keys.insert(whole.skel);
        }
        Ok(list)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The first of the words found in the text, quoted from the original.
    pub(super) fn find(&self, analysis: &Analysis, terms: &Terms) -> Option<String> {
        let word = terms
            .pool
            .iter()
            .find(|term| self.is_key(&term.norm) || self.is_key(&term.skel));
        if let Some(term) = word {
            return Some(analysis.quote_units(term.units.clone()));
        }
        if !self.phrases.is_empty() {
            for stream in &terms.streams {
                for at in 0..stream.len() {
                    if let Some(units) = self.phrase_at(terms, stream, at) {
                        return Some(analysis.quote_units(units));
                    }
                }
            }
        }
        self.unspaced.iter().find_map(|word| {
            let start = analysis.norm.find(word.as_str())?;
            Some(analysis.quote_norm(start..start + word.len()))
        })
    }

    fn is_key(&self, form: &str) -> bool {
        !form.is_empty() && readings(form).any(|reading| self.keys.contains(reading))
    }

    /// The units of a phrase starting at term `at` of `stream`, if one does.
    fn phrase_at(&self, terms: &Terms, stream: &[usize], at: usize) -> Option<Range<usize>> {
        self.phrases.iter().find_map(|parts| {
            let found = stream.get(at..at + parts.len())?;
            let last = parts.len() - 1;
            let matches = parts
                .iter()
                .zip(found)
                .enumerate()
                .all(|(index, (part, &term))| {
                    let term = &terms.pool[term];
                    let same = |form: &str, word: &str| {
                        if index == last {
                            readings(form).any(|reading| reading == word)
                        } else {
                            form == word
                        }
                    };
                    same(&term.norm, &part.norm) || same(&term.skel, &part.skel)
                });
            let units = terms.pool[found[0]].units.start..terms.pool[found[last]].units.end;
            matches.then_some(units)
        })
    }
}

/// `form`, and what is left of it without a plural "s" or "es" (when
/// that is a word of three letters or more ending in a letter).
fn readings(form: &str) -> impl Iterator<Item = &str> {
    let singular = ["es", "s"]
        .into_iter()
        .filter_map(move |suffix| form.strip_suffix(suffix))
        .filter(|base| base.chars().count() >= 3 && base.ends_with(char::is_alphabetic));
    std::iter::once(form).chain(singular)
}

/// One term of `tokens` (consecutive, maybe with gaps between them).
/// Cross-script look-alikes are read as Latin when `latin` (the text is
/// mostly Latin) or when the term itself mixes Latin letters with them.
fn term(analysis: &Analysis, tokens: &[Token], latin: bool) -> Term {
    let units = || tokens.iter().flat_map(|token| token.start..token.end);
    let look_alikes =
        units().any(|unit| analysis.unit_skel(unit, false) != analysis.unit_skel(unit, true));
    let has_latin = || {
        units().any(|unit| {
            analysis
                .unit_skel(unit, false)
                .contains(|c: char| c.is_ascii_alphabetic())
        })
    };
    let as_latin = look_alikes && (latin || has_latin());
    let start = tokens.first().map_or(0, |token| token.start);
    let end = tokens.last().map_or(start, |token| token.end);
    Term {
        units: start..end,
        norm: units().map(|unit| analysis.unit_norm(unit)).collect(),
        skel: read_as_letters(
            units()
                .map(|unit| analysis.unit_skel(unit, as_latin))
                .collect(),
        ),
    }
}

/// Digits and symbols that stand for letters, read as those letters when
/// the term has letters ("g00d", "FR€E"); a number stays a number.
fn read_as_letters(skel: String) -> String {
    if !skel.contains(char::is_alphabetic) || !skel.contains(|c| letter_for(c).is_some()) {
        return skel;
    }
    skel.chars().map(|c| letter_for(c).unwrap_or(c)).collect()
}

/// The letter a digit or symbol stands for.
fn letter_for(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        // "l" is read as "i" in the skeleton, and so are "1", "£" and "|".
        '1' | '£' | '|' => 'i',
        '3' | '€' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        '¢' => 'c',
        _ => return None,
    })
}

/// Symbols that stand for letters inside a word.
const LETTER_SYMBOLS: [char; 6] = ['€', '$', '@', '£', '¢', '|'];

/// Part of a word: letters, digits and combining marks.
fn is_word_unit(norm: &str) -> bool {
    !norm.is_empty()
        && norm
            .chars()
            .all(|c| c.is_alphanumeric() || is_combining_mark(c))
}

/// Part of a word in stream 2: as above, or a symbol standing for a letter.
/// A lone combining mark has an empty skeleton and stays in its word.
fn is_word_unit_or_symbol(skel: &str) -> bool {
    skel.chars()
        .all(|c| c.is_alphanumeric() || LETTER_SYMBOLS.contains(&c))
}

fn tokens(analysis: &Analysis, is_word: impl Fn(usize) -> bool) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut start = None;
    for unit in 0..analysis.len() {
        match (is_word(unit), start) {
            (true, None) => start = Some(unit),
            (false, Some(first)) => {
                tokens.push(Token {
                    start: first,
                    end: unit,
                });
                start = None;
            }
            _ => {}
        }
    }
    if let Some(first) = start {
        tokens.push(Token {
            start: first,
            end: analysis.len(),
        });
    }
    tokens
}

/// What lies between two tokens, normalised.
fn gap<'a>(analysis: &'a Analysis, before: Token, after: Token) -> impl Iterator<Item = char> + 'a {
    (before.end..after.start).flat_map(|unit| analysis.unit_norm(unit).chars())
}

/// Punctuation that can sit inside a disguised word: "g.u.n", "fr-ee".
const JOINERS: [char; 12] = ['.', '-', '_', '*', '·', '•', '\'', '’', '`', '~', '+', '‐'];

/// Stream 3: groups of tokens (as ranges of their indices) glued by one
/// or two joiners.
fn joined_groups(analysis: &Analysis, tokens: &[Token]) -> Vec<Range<usize>> {
    group_runs(tokens.len(), |index| {
        // One or two joiners, and nothing else.
        let mut gap = gap(analysis, tokens[index - 1], tokens[index]);
        gap.by_ref().take(2).all(|c| JOINERS.contains(&c)) && gap.next().is_none()
    })
}

/// At most this many characters between spaced-out letters.
const SPACED_GAP: usize = 3;

/// One-letter words (skeletons: "a" is also "à", "i" also "I") that can
/// come right before a spaced-out word and would otherwise be read as its
/// first letter.
const ONE_LETTER_WORDS: [&str; 5] = ["a", "i", "y", "o", "e"];

/// Streams 4 and 5: runs of at least three single-letter tokens, each no
/// more than `SPACED_GAP` characters from the next, cut where the gap
/// widens; in stream 5 (`article`), a run's first letter stands alone if
/// it is a one-letter word ("a g u n" is "a gun").
fn spaced_groups(analysis: &Analysis, tokens: &[Token], article: bool) -> Vec<Range<usize>> {
    let single = |token: Token| {
        (token.start..token.end)
            .map(|unit| analysis.unit_skel(unit, true).chars().count())
            .sum::<usize>()
            == 1
    };
    let width = |index: usize| gap(analysis, tokens[index - 1], tokens[index]).count();
    let runs = group_runs(tokens.len(), |index| {
        single(tokens[index - 1]) && single(tokens[index]) && width(index) <= SPACED_GAP
    });
    let mut groups = Vec::new();
    for run in runs {
        let narrowest = (run.start + 1..run.end).map(width).min().unwrap_or(0);
        let pieces = group_runs_within(run, |index| width(index) == narrowest);
        for mut piece in pieces {
            let is_one_letter_word = |token: Token| {
                let skel: String = (token.start..token.end)
                    .map(|unit| analysis.unit_skel(unit, true))
                    .collect();
                ONE_LETTER_WORDS.contains(&skel.as_str())
            };
            if article && piece.len() > 3 && is_one_letter_word(tokens[piece.start]) {
                groups.push(piece.start..piece.start + 1);
                piece.start += 1;
            }
            if piece.len() >= 3 {
                groups.push(piece);
            } else {
                groups.extend(piece.map(|index| index..index + 1));
            }
        }
    }
    groups
}

/// Cuts `0..count` into runs: `joins(index)` says whether item `index`
/// continues the run of item `index - 1`.
fn group_runs(count: usize, joins: impl Fn(usize) -> bool) -> Vec<Range<usize>> {
    group_runs_within(0..count, joins)
}

fn group_runs_within(range: Range<usize>, joins: impl Fn(usize) -> bool) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut start = range.start;
    for index in range.start + 1..range.end {
        if !joins(index) {
            runs.push(start..index);
            start = index;
        }
    }
    if start < range.end {
        runs.push(start..range.end);
    }
    runs
}

/// Scripts written without spaces between words, where a word can only be
/// looked for inside longer runs of letters.
fn is_unspaced_script(c: char) -> bool {
    matches!(c,
        '\u{0E00}'..='\u{0EFF}' // Thai, Lao
        | '\u{1000}'..='\u{109F}' // Myanmar
        | '\u{1780}'..='\u{17FF}' // Khmer
        | '\u{3040}'..='\u{30FF}' | '\u{31F0}'..='\u{31FF}' // Hiragana, Katakana
        | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FA1F}') // Han
}

#[cfg(test)]
mod tests;
