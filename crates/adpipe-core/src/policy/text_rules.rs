//! Text rules: words, patterns and contact details in an ad's text that a
//! policy rejects, sends to a person, or lets through, each with a reason.
//! Written in the policy's TOML file:
//!
//! ```toml
//! [[text_rule]]
//! name = "weapons"                        # shown to moderators
//! words = ["gun", "rifle", "free money"]  # whole words or phrases
//! patterns = ['\bcal(iber)?\s*\d+']       # regexes (Rust syntax)
//! contacts = ["phone", "email", "url", "handle"]
//! action = "reject"                       # or "review", "allow"
//! reason = "We do not publish ads for weapons."
//! ```
//!
//! Submitters disguise what a filter looks for, so the text is matched
//! after Unicode NFKC normalisation and case folding ([`normalize()`]), and
//! words also in a skeleton form that undoes look-alike letters, digits and
//! symbols, separators and diacritics (see `words` for what is matched and
//! its known limits). Patterns read the normalised text (case-insensitive),
//! so they see "2015" and "4x4" as written. Contact details are detected
//! as described in `contacts`.
//!
//! When several rules match, the strictest action wins (reject, then
//! review, then allow); between rules of the same action, the first in the
//! file. "allow" records that a rule matched (to show moderators, say) and
//! never blocks an ad.

use std::cell::OnceCell;
use std::collections::HashSet;
use std::fmt;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

mod contacts;
mod normalize;
mod words;

pub use normalize::normalize;

use contacts::Contact;
use normalize::Analysis;
use words::{Terms, WordList};

/// A text rule as written in a policy file (`[[text_rule]]`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TextRule {
    /// Shown to moderators, and in error messages.
    pub name: String,
    /// Whole words, or phrases of words, found however they are disguised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<String>,
    /// Regexes (Rust `regex` syntax), matched case-insensitively on the
    /// normalised text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<String>,
    /// Kinds of contact details that match when found in the text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<ContactKind>,
    pub action: RuleAction,
    /// Said to the submitter when the ad is rejected, to moderators when it
    /// goes to review.
    pub reason: String,
}

/// What a matching rule does with the ad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    Reject,
    Review,
    Allow,
}

impl RuleAction {
    /// Higher wins when several rules match.
    pub(crate) fn strictness(self) -> u8 {
        match self {
            RuleAction::Reject => 2,
            RuleAction::Review => 1,
            RuleAction::Allow => 0,
        }
    }
}

/// A kind of contact detail a rule can look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactKind {
    /// A phone number: 8 to 15 digits, national or international.
    Phone,
    /// An email address, also spelt out (`john [at] example [dot] com`).
    Email,
    /// A web address: with a scheme, "www.", or a known top-level domain.
    Url,
    /// A messenger handle or invitation: "@name", "t.me/name",
    /// "WhatsApp me", "telegram: name".
    Handle,
}

impl ContactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Phone => "phone",
            ContactKind::Email => "email",
            ContactKind::Url => "url",
            ContactKind::Handle => "handle",
        }
    }
}

impl fmt::Display for ContactKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The rule that decided about a text, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMatch {
    /// The rule's name.
    pub rule: String,
    pub action: RuleAction,
    pub reason: String,
    /// What matched, as written in the text (at most 60 characters), for
    /// moderators.
    pub found: String,
}

/// A policy's text rules, compiled once (regexes built, words normalised)
/// and cheap to check against each ad.
#[derive(Debug, Clone, Default)]
pub struct TextRules {
    /// Strictest first, then in file order.
    rules: Vec<CompiledRule>,
    /// The kinds of contact details any rule looks for.
    contact_kinds: Vec<ContactKind>,
}

#[derive(Debug, Clone)]
struct CompiledRule {
    name: String,
    action: RuleAction,
    reason: String,
    words: WordList,
    patterns: Vec<Regex>,
    contacts: Vec<ContactKind>,
}

impl TextRules {
    /// Fails on the first rule that is wrong, naming it and saying what is
    /// wrong: no name or reason, a name used twice, nothing to look for, a
    /// word without letters or digits, a pattern that is no regex or that
    /// matches empty text (it would match every ad).
    pub fn compile(rules: &[TextRule]) -> Result<TextRules, String> {
        let mut names = HashSet::new();
        let mut compiled = Vec::with_capacity(rules.len());
        for (index, rule) in rules.iter().enumerate() {
            let name = rule.name.trim();
            if name.is_empty() {
                return Err(format!("text_rule #{} has an empty name", index + 1));
            }
            if !names.insert(name) {
                return Err(format!("text_rule `{name}` is defined twice"));
            }
            compiled.push(
                CompiledRule::compile(rule)
                    .map_err(|message| format!("text_rule `{name}`: {message}"))?,
            );
        }
        // Strictest first, file order within an action (a stable sort):
        // the first rule that matches is the one that decides.
        compiled.sort_by_key(|rule| std::cmp::Reverse(rule.action.strictness()));
        let mut contact_kinds: Vec<ContactKind> = Vec::new();
        for kind in compiled.iter().flat_map(|rule| &rule.contacts) {
            if !contact_kinds.contains(kind) {
                contact_kinds.push(*kind);
            }
        }
        Ok(TextRules {
            rules: compiled,
            contact_kinds,
        })
    }

    /// Whether there are no rules (every text passes).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The strictest rule that matches `text` (reject, then review, then
    /// allow; between equals, the first in the file), or none.
    pub fn check(&self, text: &str) -> Option<RuleMatch> {
        if self.rules.is_empty() {
            return None;
        }
        let scan = Scan::new(text, &self.contact_kinds);
        self.rules.iter().find_map(|rule| {
            let found = rule.find(&scan)?;
            Some(RuleMatch {
                rule: rule.name.clone(),
                action: rule.action,
                reason: rule.reason.clone(),
                found,
            })
        })
    }
}

impl CompiledRule {
    fn compile(rule: &TextRule) -> Result<Self, String> {
        if rule.words.is_empty() && rule.patterns.is_empty() && rule.contacts.is_empty() {
            return Err("nothing to look for: give it words, patterns or contacts".into());
        }
        if rule.reason.trim().is_empty() {
            return Err("the reason is empty".into());
        }
        let mut contacts: Vec<ContactKind> = Vec::new();
        for kind in &rule.contacts {
            if !contacts.contains(kind) {
                contacts.push(*kind);
            }
        }
        Ok(CompiledRule {
            name: rule.name.trim().to_owned(),
            action: rule.action,
            reason: rule.reason.trim().to_owned(),
            words: WordList::compile(&rule.words)?,
            patterns: rule
                .patterns
                .iter()
                .map(|pattern| compile_pattern(pattern))
                .collect::<Result<_, _>>()?,
            contacts,
        })
    }

    /// What of this rule is in the text: a word, a pattern's match or a
    /// contact detail, in that order.
    fn find(&self, scan: &Scan) -> Option<String> {
        if !self.words.is_empty()
            && let Some(found) = self.words.find(&scan.analysis, scan.terms())
        {
            return Some(found);
        }
        let norm = scan.analysis.norm.as_str();
        if let Some(found) = self.patterns.iter().find_map(|pattern| pattern.find(norm)) {
            return Some(scan.analysis.quote_norm(found.range()));
        }
        scan.contacts()
            .iter()
            .find(|contact| self.contacts.contains(&contact.kind))
            .map(|contact| contact.found.clone())
    }
}

/// Texts a pattern that can match nothing at all (the empty text) would
/// match somewhere in: tried at compile time to refuse such a pattern.
const EMPTY_MATCH_PROBES: [&str; 4] = ["", " ", "a", "a b 1"];

fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    // Case-insensitive: the text is folded, and a pattern written with a
    // capital would otherwise never match.
    let regex = RegexBuilder::new(pattern)
        .case_insensitive(true)
        .build()
        .map_err(|error| format!("pattern {pattern:?} is not a valid regex: {error}"))?;
    let matches_nothing = EMPTY_MATCH_PROBES
        .iter()
        .any(|probe| regex.find_iter(probe).any(|found| found.is_empty()));
    if matches_nothing {
        return Err(format!(
            "pattern {pattern:?} matches empty text, so it would match every ad"
        ));
    }
    Ok(regex)
}

/// One text being checked: its forms, and what is only worked out when a
/// rule needs it.
struct Scan<'a> {
    analysis: Analysis<'a>,
    contact_kinds: &'a [ContactKind],
    terms: OnceCell<Terms>,
    contacts: OnceCell<Vec<Contact>>,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str, contact_kinds: &'a [ContactKind]) -> Self {
        Scan {
            analysis: Analysis::new(text),
            contact_kinds,
            terms: OnceCell::new(),
            contacts: OnceCell::new(),
        }
    }

    fn terms(&self) -> &Terms {
        self.terms.get_or_init(|| Terms::new(&self.analysis))
    }

    fn contacts(&self) -> &[Contact] {
        self.contacts
            .get_or_init(|| contacts::detect(&self.analysis, self.terms(), self.contact_kinds))
    }
}

#[cfg(test)]
mod tests;
