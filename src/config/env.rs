//! The `ADPIPE_*` variables: one per setting, named after where the
//! setting sits in the file, read as the setting's type.

use std::collections::BTreeMap;

use anyhow::bail;

use super::Config;

/// How a setting takes its variable's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Unset by default; an empty value leaves it unset.
    Optional,
    /// A comma-separated list; blanks around items are dropped.
    List,
    /// A number or a boolean, read as JSON.
    Scalar,
    /// Text as it is.
    Text,
}

/// One setting: where it sits in the file, and how its variable is read.
#[derive(Debug, Clone)]
pub(super) struct Setting {
    path: (Option<String>, String),
    kind: Kind,
}

/// The `ADPIPE_*` variable of every setting, derived from where the setting
/// sits in the file rather than listed by hand, so a new setting has its
/// variable the day it is added: `key` at the top is `ADPIPE_KEY`, `key` of
/// `[section]` is `ADPIPE_SECTION_KEY`. The API's limits (`[api]`) keep the
/// short names they had before the file had sections (`ADPIPE_MAX_IMAGE_BYTES`).
pub(super) fn settings() -> BTreeMap<String, Setting> {
    let kind = |default: &serde_json::Value| match default {
        serde_json::Value::Null => Kind::Optional,
        serde_json::Value::Array(_) => Kind::List,
        serde_json::Value::Bool(_) | serde_json::Value::Number(_) => Kind::Scalar,
        _ => Kind::Text,
    };
    let defaults = serde_json::to_value(Config::default()).expect("the defaults serialise");
    let mut settings = BTreeMap::new();
    for (key, default) in defaults.as_object().into_iter().flatten() {
        match default {
            serde_json::Value::Object(section) => {
                let prefix = match key.as_str() {
                    "api" => String::new(),
                    other => format!("{}_", other.to_uppercase()),
                };
                for (field, default) in section {
                    settings.insert(
                        format!("ADPIPE_{prefix}{}", field.to_uppercase()),
                        Setting {
                            path: (Some(key.clone()), field.clone()),
                            kind: kind(default),
                        },
                    );
                }
            }
            default => {
                settings.insert(
                    format!("ADPIPE_{}", key.to_uppercase()),
                    Setting {
                        path: (None, key.clone()),
                        kind: kind(default),
                    },
                );
            }
        }
    }
    settings
}

/// The variable's text as the value the setting holds. An optional setting
/// may be text or not (a port, a flag): text first, then JSON, whichever
/// the configuration takes.
fn candidates(kind: Kind, text: &str) -> Vec<serde_json::Value> {
    let json = serde_json::from_str::<serde_json::Value>(text.trim()).ok();
    match kind {
        Kind::Optional if text.is_empty() => vec![serde_json::Value::Null],
        Kind::Optional => std::iter::once(serde_json::Value::String(text.to_owned()))
            .chain(json.filter(|value| value.is_number() || value.is_boolean()))
            .collect(),
        // `a, b` as people write lists: the spaces after commas are not
        // part of the items.
        Kind::List => vec![serde_json::Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| serde_json::Value::String(item.to_owned()))
                .collect(),
        )],
        Kind::Scalar => vec![json.unwrap_or_else(|| serde_json::Value::String(text.to_owned()))],
        Kind::Text => vec![serde_json::Value::String(text.to_owned())],
    }
}

fn set(
    tree: &mut serde_json::Value,
    (section, key): &(Option<String>, String),
    value: serde_json::Value,
) {
    let table = match section {
        Some(section) => &mut tree[section.as_str()],
        None => tree,
    };
    if table.is_null() {
        *table = serde_json::Value::Object(serde_json::Map::new());
    }
    table[key.as_str()] = value;
}

/// Sets each `ADPIPE_*` variable among `vars` over `tree` (the file's
/// settings); other variables are not read. Each is tried on its own, so
/// an error names it.
pub(super) fn apply(
    mut tree: serde_json::Value,
    vars: impl IntoIterator<Item = (String, String)>,
) -> anyhow::Result<serde_json::Value> {
    let settings = settings();
    for (name, text) in vars {
        let Some(setting) = settings.get(&name) else {
            continue;
        };
        let mut error = None;
        for value in candidates(setting.kind, &text) {
            let mut tried = tree.clone();
            set(&mut tried, &setting.path, value);
            match serde_json::from_value::<Config>(tried.clone()) {
                Ok(_) => {
                    tree = tried;
                    error = None;
                    break;
                }
                Err(failure) => error = error.or(Some(failure)),
            }
        }
        if let Some(error) = error {
            bail!("invalid {name}={text:?}: {error}");
        }
    }
    Ok(tree)
}
