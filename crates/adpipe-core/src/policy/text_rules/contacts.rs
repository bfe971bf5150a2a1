//! Contact details in an ad's text: phone numbers, email addresses, URLs
//! and messenger handles, plain or spelt out to slip past a filter. All
//! read the normalised text (NFKC: "john＠example．com" is an address, and
//! a zero-width space inside one changes nothing).
//!
//! - Email: "name@domain.tld", any TLD of two letters or more; with the
//!   at-sign or dots spelt out (`[at]`, `(at)`, `(dot)`, `[.]`); in words
//!   ("john at example dot com") only with the dot spelt out too and a
//!   known TLD, or at a big provider ("john at gmail"). "Visit us at
//!   example.com" is a URL, not an address.
//! - URL: with a scheme ("https://", "hxxp://"), "www.", or a domain, bare
//!   or spelt out ("example dot com"), with a known TLD (`TLDS`); not the
//!   domain of an address, nor "car.It runs" (a missing space after a full
//!   stop: a capitalised TLD after a small letter). Limits: "car.it runs"
//!   in small letters is a URL; a TLD not in the list is missed.
//! - Handle: "@name" (not in an address, a letter and three characters
//!   with the "@"), chat links ("t.me/name", "wa.me/447700900123"), the
//!   names of messengers that are no ordinary word (WhatsApp, Telegram,
//!   Viber, Snapchat, Kik, ..., disguised or not), and those that are
//!   (Signal, Line, Insta, Snap, FB, ...) only with a handle or number
//!   after them ("signal: +44..."), "me" ("signal me"), or after "add me
//!   on". Limits: "@home" is a handle; "line: premium" is not.
//! - Phone: the hard part, see `phone`.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::ContactKind;
use super::normalize::Analysis;
use super::words::{Terms, WordList};

mod phone;

use phone::phones;

/// A contact detail found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Contact {
    pub(super) kind: ContactKind,
    /// As written in the original text (shortened).
    pub(super) found: String,
}

/// Every contact detail of the `kinds` asked for.
pub(super) fn detect(analysis: &Analysis, terms: &Terms, kinds: &[ContactKind]) -> Vec<Contact> {
    let emails = emails(&analysis.norm);
    let mut contacts = Vec::new();
    for &kind in kinds {
        let ranges = match kind {
            ContactKind::Phone => phones(&analysis.norm),
            ContactKind::Email => emails.iter().map(|email| email.whole.clone()).collect(),
            ContactKind::Url => urls(analysis, &emails),
            ContactKind::Handle => handles(analysis, &emails),
        };
        contacts.extend(ranges.into_iter().map(|range| Contact {
            kind,
            found: analysis.quote_norm(range),
        }));
        if kind == ContactKind::Handle
            && let Some(name) = MESSENGER_NAMES.find(analysis, terms)
        {
            contacts.push(Contact { kind, found: name });
        }
    }
    contacts
}

/// `\b` in the detectors' patterns is an ASCII word boundary: a Unicode
/// one makes the regex crate drop its fast engine on any text that is not
/// ASCII (ten times slower on a Russian ad). Where a boundary next to a
/// letter of another script matters, the code checks it.
fn regex(pattern: &str) -> Regex {
    Regex::new(&pattern.replace(r"\b", r"(?-u:\b)"))
        .expect("the contact detectors' own patterns are valid regexes")
}

/// Top-level domains a bare "word.tld" (or "word dot tld") is read as a
/// web address with. Common words that are also TLDs ("is", "no", "so")
/// are left out: "ok.so" is a typo more often than a site.
const TLDS: &[&str] = &[
    "ai", "app", "at", "au", "be", "biz", "blog", "by", "ca", "cc", "ch", "club", "cn", "co",
    "com", "cz", "de", "dev", "dk", "es", "eu", "fi", "fr", "gl", "gr", "hu", "ie", "in", "info",
    "io", "it", "jp", "kz", "li", "link", "live", "ly", "me", "net", "nl", "nu", "online", "org",
    "page", "pl", "pro", "pt", "ro", "ru", "se", "shop", "site", "sk", "space", "store", "su",
    "tech", "top", "tv", "ua", "uk", "us", "vip", "website", "ws", "xyz", "рф",
];

fn is_tld(label: &str) -> bool {
    TLDS.contains(&label)
}

// ---------------------------------------------------------------- email

/// An address, its at-sign and dots plain (`@`, `.`) or spelt out (`[at]`,
/// `(dot)`, ` at `, ` dot `).
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?x)
        [\p{L}\p{N}][\p{L}\p{N}._%+\-]*
        (?P<at> \s*@\s* | \s*[\[({<]\s*(?:at|@|arroba)\s*[\])}>]\s* | \s+(?:at|arroba)\s+ )
        (?P<domain>
            [\p{L}\p{N}][\p{L}\p{N}\-]*
            (?: (?: \. | \s*[\[({<]\s*(?:dot|\.|punto|punkt)\s*[\])}>]\s* | \s+(?:dot|punto|punkt)\s+ )
                [\p{L}\p{N}][\p{L}\p{N}\-]* )+
        )",
    )
});

/// "john at gmail": the big mail providers need no TLD.
static EMAIL_PROVIDER: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?x)
        [\p{L}\p{N}][\p{L}\p{N}._%+\-]*
        (?P<at> \s*@\s* | \s*[\[({<]\s*(?:at|@|arroba)\s*[\])}>]\s* | \s+(?:at|arroba)\s+ )
        (?P<domain> gmail|googlemail|hotmail|yahoo|icloud|yandex|protonmail|gmx )\b",
    )
});

struct Email {
    whole: Range<usize>,
    /// Its domain, when the at-sign leaves no doubt (`@`, `[at]`): a URL
    /// found there is this address, not a web site.
    domain: Option<Range<usize>>,
}

fn emails(norm: &str) -> Vec<Email> {
    let spelt = EMAIL.captures_iter(norm).filter_map(|captures| {
        let (whole, at, domain) = (
            captures.get(0)?,
            captures.name("at")?,
            captures.name("domain")?,
        );
        let tld = domain
            .as_str()
            .rsplit(|c: char| !c.is_alphanumeric() && c != '-')
            .next()?;
        let at_in_words = !at.as_str().contains(['@', '[', '(', '{', '<']);
        let dot_in_words = [" dot ", " punto ", " punkt "]
            .iter()
            .any(|word| domain.as_str().contains(word));
        let dot_spelt = dot_in_words || domain.as_str().contains(['[', '(', '{', '<']);
        // "Visit us at example.com" is a web site (see `urls`), and " at "
        // and " dot " are plain English: an address in words needs the dot
        // spelt out too, and a known TLD.
        if at_in_words && !dot_spelt {
            return None;
        }
        let plausible = if at_in_words || dot_in_words {
            is_tld(tld)
        } else {
            tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic)
        };
        plausible.then(|| Email {
            whole: whole.range(),
            domain: (!at_in_words).then(|| domain.range()),
        })
    });
    let providers = EMAIL_PROVIDER.captures_iter(norm).filter_map(|captures| {
        Some(Email {
            whole: captures.get(0)?.range(),
            domain: None,
        })
    });
    spelt.chain(providers).collect()
}

// ---------------------------------------------------------------- URL

static URL_SCHEME: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"\b(?:https?|hxxps?|ftp)://[^\s<>"']+"#));

static URL_WWW: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\bwww\d{0,3}\.[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*"));

/// "example.com", "shop.example.co.uk/cars": only with a known TLD. The
/// leftmost match starts a word; its TLD must end one (`ends_a_word`).
static URL_BARE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?x)
        [\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?
        (?:\.[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?)*
        \.(?P<tld>\p{L}{2,})
        (?:/\S*)?",
    )
});

/// `example dot com`, `example(dot)com`, `example [.] com`.
static URL_SPELT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?x)
        [\p{L}\p{N}][\p{L}\p{N}\-]*
        (?: \s+(?:dot|punkt|punto|точка)\s+ | \s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s* )
        (?P<tld>\p{L}{2,})",
    )
});

fn urls(analysis: &Analysis, emails: &[Email]) -> Vec<Range<usize>> {
    let norm = analysis.norm.as_str();
    let in_an_address = |range: &Range<usize>| {
        emails.iter().any(|email| {
            email
                .domain
                .as_ref()
                .is_some_and(|domain| domain.contains(&range.start))
        })
    };
    let certain = URL_SCHEME
        .find_iter(norm)
        .chain(URL_WWW.find_iter(norm))
        .map(|found| found.range());
    let with_tld = [&*URL_BARE, &*URL_SPELT].into_iter().flat_map(|pattern| {
        pattern.captures_iter(norm).filter_map(|captures| {
            let (whole, tld) = (captures.get(0)?, captures.name("tld")?);
            let original = analysis.original_of_norm(whole.start()..tld.end());
            let ends_a_word =
                !norm[tld.end()..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
            let is_url = ends_a_word && is_tld(tld.as_str()) && !is_sentence_break(original);
            is_url.then(|| whole.range())
        })
    });
    certain
        .chain(with_tld)
        .filter(|range| !in_an_address(range))
        .collect()
}

/// "Great car.It runs well": a missing space after a full stop, not a
/// site in Italy. Told by a capitalised word after the dot ("It", not
/// "IT" or "it") and a small letter before it.
fn is_sentence_break(original: &str) -> bool {
    let Some((before, tld)) = original.rsplit_once(|c: char| !c.is_alphanumeric()) else {
        return false;
    };
    let mut letters = tld.chars();
    let capitalised =
        letters.next().is_some_and(char::is_uppercase) && letters.all(char::is_lowercase);
    capitalised && before.ends_with(char::is_lowercase)
}

// ---------------------------------------------------------------- handles

/// "@handle", not inside an address.
static HANDLE_AT: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?:^|[^\p{L}\p{N}._%+\-@])(?P<handle>@[\p{L}\p{N}_](?:[\p{L}\p{N}_.]*[\p{L}\p{N}_])?)")
});

/// Links that open a chat or a profile: "t.me/x", "wa.me/123".
static MESSENGER_LINK: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?x)
        \b(?: t\.me | telegram\.(?:me|dog) | wa\.me | (?:api|chat|web)\.whatsapp\.com | m\.me | ig\.me
            | instagram\.com | snapchat\.com | vk\.(?:com|me) | signal\.(?:me|group) | line\.me
            | discord\.gg | discord\.com | kik\.me | fb\.me | facebook\.com | tiktok\.com
            | twitter\.com | x\.com | threema\.id | viber\.click )
        /[^\s]+
        | \bviber://[^\s]+",
    )
});

/// Messenger names that are also ordinary words ("turn signal", "product
/// line", "snap-on"): only with a handle, a number or "me" after them, or
/// after "add me on" and the like.
static MESSENGER_CUE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?x)
        \b(?:signal|line|insta|snap|ig|fb|tg|wa|vk|facebook|messenger|tiktok|twitter)
            \s*[:=]\s*(?:@[\p{L}\p{N}_][\p{L}\p{N}_.]*|\+?\d(?:[\d\x20./()\-]*\d)?)
        | \b(?:insta|snap|ig|fb|tg|vk)\s*[:=]\s*[\p{L}\p{N}_][\p{L}\p{N}_.]{2,}
        | \b(?:signal|insta|snap|tg)\s+me\b
        | \bline\s*id\b
        | \b(?:add|dm|message|msg|text|contact|find|reach|ping|hit|write|follow|call)\s+(?:me|us)
            \s+(?:up\s+)?(?:on|at|via|in|through)\s+
            (?:signal|line|messenger|facebook|fb|insta|instagram|ig|snap|snapchat|tiktok|twitter
              |telegram|tg|whatsapp|wa|viber|kik|wechat|discord|skype)\b",
    )
});

/// Messenger names that are no ordinary word: their mention alone asks
/// for contact off the site ("whatsapp me", "viber"). Matched as words, so
/// disguises ("Wh@tsApp", "t e l e g r a m") are found too.
static MESSENGER_NAMES: LazyLock<WordList> =
    LazyLock::new(|| WordList::compile(MESSENGERS).expect("the messenger names are words"));

#[rustfmt::skip]
const MESSENGERS: &[&str] = &[
    "telegram", "telegramm", "whatsapp", "whats app", "watsapp", "whatsap", "snapchat",
    "instagram", "viber", "wechat", "weixin", "threema", "skype", "discord", "kik",
    "телеграм", "телеграмм", "ватсап", "вотсап", "вацап", "вайбер",
];

fn handles(analysis: &Analysis, emails: &[Email]) -> Vec<Range<usize>> {
    let norm = analysis.norm.as_str();
    let in_an_address = |range: &Range<usize>| {
        emails
            .iter()
            .any(|email| email.whole.contains(&range.start))
    };
    let at_handles = HANDLE_AT.captures_iter(norm).filter_map(|captures| {
        let handle = captures.name("handle")?;
        let has_letter = handle.as_str().contains(char::is_alphabetic);
        (has_letter && handle.as_str().chars().count() >= 3).then(|| handle.range())
    });
    let cues = MESSENGER_LINK
        .find_iter(norm)
        .chain(MESSENGER_CUE.find_iter(norm))
        .map(|found| found.range());
    at_handles
        .filter(|range| !in_an_address(range))
        .chain(cues)
        .collect()
}

#[cfg(test)]
mod tests;
