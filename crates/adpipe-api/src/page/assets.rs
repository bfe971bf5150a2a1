//! The files of the web pages, embedded in the binary: the pages, and what
//! `/assets/{*file}` serves by exact name. adpipe's own HTML, CSS and
//! JavaScript modules, and `vendor/swagger-ui/`: Swagger UI's published
//! files, copied unchanged (its PROVENANCE.md says from where, and how to
//! update them), which render the API reference at `/docs`.

use std::sync::LazyLock;

/// An embedded file and the validator of its bytes.
pub(super) struct Asset {
    pub(super) content_type: &'static str,
    pub(super) body: &'static [u8],
    /// FNV-1a of `body`, computed once, at the first request for it: the
    /// ETag changes exactly when the file does. (Not at compile time: const
    /// evaluation over the 1.8 MB Swagger UI bundle trips rustc's
    /// `long_running_const_eval` lint.)
    hash: &'static LazyLock<u64>,
}

impl Asset {
    pub(super) fn etag(&self) -> String {
        let hash: u64 = **self.hash;
        format!("\"{hash:016x}\"")
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";
/// Licence texts and notices, shown by the browser as they are.
const TEXT: &str = "text/plain; charset=utf-8";

/// `assets/$file`, embedded, with the static that holds its hash.
macro_rules! asset {
    ($file:literal, $content_type:expr) => {{
        const BODY: &[u8] = include_bytes!(concat!("../../assets/", $file));
        static HASH: LazyLock<u64> = LazyLock::new(|| fnv1a(BODY));
        Asset {
            content_type: $content_type,
            body: BODY,
            hash: &HASH,
        }
    }};
}

/// An entry of [`FILES`]: the name it is served under, and the file.
macro_rules! served {
    ($file:literal, $content_type:expr) => {
        ($file, asset!($file, $content_type))
    };
}

pub(super) static INDEX_HTML: Asset = asset!("index.html", HTML);
pub(super) static DOCS_HTML: Asset = asset!("docs.html", HTML);
pub(super) static ADMIN_HTML: Asset = asset!("admin.html", HTML);

/// What `/assets/{*file}` serves, by exact name (a path under assets/);
/// any other name is a 404. Nothing is read from the disk, so no name can
/// reach outside this list.
pub(super) static FILES: &[(&str, Asset)] = &[
    // What the pages' modules share.
    served!("dom.js", JS),
    // The submission page's modules: app.js imports the others.
    served!("app.js", JS),
    served!("app-submit.js", JS),
    served!("app-status.js", JS),
    served!("app-lookup.js", JS),
    served!("app-appeal.js", JS),
    // The console's modules: admin.js imports the others.
    served!("admin.js", JS),
    served!("admin-api.js", JS),
    served!("admin-view.js", JS),
    served!("admin-queue.js", JS),
    served!("admin-ad.js", JS),
    served!("admin-evidence.js", JS),
    served!("admin-claims.js", JS),
    served!("admin-search.js", JS),
    served!("admin-session.js", JS),
    served!("admin-tabs.js", JS),
    served!("admin-tokens.js", JS),
    served!("admin-team.js", JS),
    served!("admin-audit.js", JS),
    served!("admin-models.js", JS),
    served!("admin.css", CSS),
    served!("admin-accounts.css", CSS),
    served!("admin-evidence.css", CSS),
    // The API reference: adpipe's own code around Swagger UI.
    served!("docs.js", JS),
    served!("docs.css", CSS),
    served!("style.css", CSS),
    served!("favicon.svg", SVG),
    // Swagger UI, copied unchanged (vendor/swagger-ui/PROVENANCE.md says
    // from where); /docs links its licence and notices.
    served!("vendor/swagger-ui/swagger-ui-bundle.js", JS),
    served!("vendor/swagger-ui/swagger-ui.css", CSS),
    served!("vendor/swagger-ui/LICENSE", TEXT),
    served!("vendor/swagger-ui/NOTICE", TEXT),
    served!("vendor/swagger-ui/swagger-ui-bundle.js.LICENSE.txt", TEXT),
];

/// The file served as `/assets/{name}`, if there is one.
pub(super) fn find(name: &str) -> Option<&'static Asset> {
    FILES
        .iter()
        .find(|(file, _)| *file == name)
        .map(|(_, asset)| asset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(asset: &Asset) -> &'static str {
        std::str::from_utf8(asset.body).expect("UTF-8")
    }

    /// Files of another project, copied unchanged
    /// (vendor/swagger-ui/PROVENANCE.md): not written to adpipe's rules,
    /// so the checks of adpipe's own files do not apply to them (the
    /// bundle names other hosts in strings and comments, the licence is a
    /// text with links). What they do in a browser is held by the
    /// Content-Security-Policy and checked by tests/web_page.rs (nothing
    /// loaded from elsewhere, every operation shown).
    fn vendored(name: &str) -> bool {
        name.starts_with("vendor/")
    }

    /// What `from "./x.js"` imports name, as names of [`FILES`].
    fn imports(name: &str, script: &str) -> Vec<String> {
        let dir = name.rsplit_once('/').map_or("", |(dir, _)| dir);
        let mut found = Vec::new();
        for (index, _) in script.match_indices("from \"./") {
            let start = index + "from \"./".len();
            let file = &script[start..start + script[start..].find('"').expect("quote")];
            found.push(if dir.is_empty() {
                file.to_owned()
            } else {
                format!("{dir}/{file}")
            });
        }
        found
    }

    /// The `src` and `href` values of a page.
    fn links(html: &str) -> Vec<&str> {
        let mut found = Vec::new();
        for attribute in ["src=\"", "href=\""] {
            for (index, _) in html.match_indices(attribute) {
                let start = index + attribute.len();
                found.push(&html[start..start + html[start..].find('"').expect("quote")]);
            }
        }
        found
    }

    fn pages() -> [&'static Asset; 3] {
        [&INDEX_HTML, &DOCS_HTML, &ADMIN_HTML]
    }

    /// The ETags are those of 64-bit FNV-1a (the test vectors of its
    /// authors), as before they were computed at run time.
    #[test]
    fn the_validator_is_fnv1a() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(
            INDEX_HTML.etag(),
            format!("\"{:016x}\"", fnv1a(INDEX_HTML.body))
        );
    }

    /// A module a page imports that is not served would stop the whole
    /// page: every `from "./x.js"` names a served file, relative to the
    /// importing one.
    #[test]
    fn every_imported_module_is_served() {
        let names: Vec<&str> = FILES.iter().map(|(name, _)| *name).collect();
        for (name, asset) in FILES
            .iter()
            .filter(|(name, _)| name.ends_with(".js") && !vendored(name))
        {
            let script = text(asset);
            for file in imports(name, script) {
                assert!(
                    names.contains(&file.as_str()),
                    "{name} imports {file}, which is not served"
                );
            }
            for line in script.lines().map(str::trim_start) {
                if line.starts_with("import ") || line.starts_with("} from ") {
                    assert!(
                        !line.contains(" from \"") || line.contains(" from \"./"),
                        "{name}: an import from elsewhere than this server: {line}"
                    );
                }
            }
        }
    }

    /// Nothing is served that no page links and no module imports.
    #[test]
    fn every_served_file_is_used() {
        let mut used: Vec<String> = pages()
            .iter()
            .flat_map(|page| links(text(page)))
            .filter_map(|url| url.strip_prefix("assets/"))
            .map(str::to_owned)
            .collect();
        for (name, asset) in FILES.iter().filter(|(name, _)| name.ends_with(".js")) {
            if !vendored(name) {
                used.extend(imports(name, text(asset)));
            }
        }
        for (name, _) in FILES {
            assert!(used.iter().any(|file| file == name), "{name} is not used");
        }
    }

    /// What the Content-Security-Policy would block, and what an
    /// air-gapped browser could not load, must not be in the pages; their
    /// own scripts are modules.
    #[test]
    fn the_pages_need_nothing_inline_and_nothing_from_elsewhere() {
        let names: Vec<&str> = FILES.iter().map(|(name, _)| *name).collect();
        for page in pages() {
            let html = text(page);
            for (index, _) in html.match_indices("<script") {
                let tag = &html[index..index + html[index..].find('>').expect("tag end")];
                assert!(tag.contains(" src=\"assets/"), "inline script: {tag}");
                assert!(
                    tag.contains(" src=\"assets/vendor/") || tag.contains(" type=\"module\""),
                    "not a module: {tag}"
                );
            }
            assert!(!html.contains("<style"), "inline style element");
            assert!(!html.contains(" style=\""), "inline style attribute");
            for (index, _) in html.match_indices(" on") {
                let rest = &html[index + 3..];
                let name = rest.bytes().take_while(u8::is_ascii_lowercase).count();
                assert!(
                    name == 0 || !rest[name..].starts_with('='),
                    "inline event handler: {}",
                    &html[index..index + 3 + name]
                );
            }
            for url in links(html) {
                assert!(
                    !url.contains("//") && !url.starts_with('/'),
                    "not a relative link to this server: {url}"
                );
                if let Some(file) = url.strip_prefix("assets/") {
                    assert!(names.contains(&file), "{url} is not served");
                }
            }
        }
        for (name, asset) in FILES.iter().filter(|(name, _)| !vendored(name)) {
            let content = text(asset);
            assert!(
                !content.contains("http://") || *name == "favicon.svg",
                "{name}"
            );
            assert!(!content.contains("https://"), "{name} names another host");
            assert!(!content.contains("@import"), "{name}");
        }
        // Swagger UI's style sheet loads nothing: no other sheet, no font,
        // its images are inline data.
        for (name, asset) in FILES
            .iter()
            .filter(|(name, _)| vendored(name) && name.ends_with(".css"))
        {
            let css = text(asset);
            assert!(!css.contains("@import"), "{name}");
            for (index, _) in css.match_indices("url(") {
                let url = css[index + 4..].trim_start_matches(['"', '\'']);
                assert!(url.starts_with("data:"), "{name} loads {url:.60}");
            }
        }
    }

    /// The vendored files are those PROVENANCE.md describes (its byte
    /// counts; its sha256 sums are for `sha256sum -c`), and /docs names
    /// the version they are.
    #[test]
    fn the_vendored_files_are_those_their_provenance_records() {
        const PROVENANCE: &str = include_str!("../../assets/vendor/swagger-ui/PROVENANCE.md");
        for (name, asset) in FILES.iter().filter(|(name, _)| vendored(name)) {
            let file = name.rsplit('/').next().expect("a name");
            let row = PROVENANCE
                .lines()
                .find(|line| line.starts_with(&format!("| `{file}` |")))
                .unwrap_or_else(|| panic!("{name} is not in PROVENANCE.md"));
            let bytes: usize = row
                .split('|')
                .nth(2)
                .expect("a byte count")
                .trim()
                .replace(',', "")
                .parse()
                .expect("a byte count");
            assert_eq!(
                asset.body.len(),
                bytes,
                "{name}: not the file PROVENANCE.md records"
            );
        }
        let version = PROVENANCE
            .lines()
            .find_map(|line| line.strip_prefix("| Version | "))
            .and_then(|rest| rest.split_whitespace().next())
            .expect("the version in PROVENANCE.md");
        let (_, bundle) = FILES
            .iter()
            .find(|(name, _)| *name == "vendor/swagger-ui/swagger-ui-bundle.js")
            .expect("the bundle");
        assert!(
            text(bundle).contains(&format!("PACKAGE_VERSION:\"{version}\"")),
            "the bundle is not Swagger UI {version}"
        );
        assert!(
            text(&DOCS_HTML).contains(&format!("Swagger UI {version},")),
            "docs.html does not name Swagger UI {version}"
        );
    }
}
