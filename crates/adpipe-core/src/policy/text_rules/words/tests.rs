use super::*;

/// What of `words` is found in `text`, quoted from the original.
fn found(words: &[&str], text: &str) -> Option<String> {
    let list = WordList::compile(words).expect("test words are valid");
    let analysis = Analysis::new(text);
    list.find(&analysis, &Terms::new(&analysis))
}

/// Asserts every `(words, text, quoted)` case is found, quoted as given.
fn assert_found(cases: &[(&[&str], &str, &str)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|&(words, text, quoted)| {
            let got = found(words, text);
            (got.as_deref() != Some(quoted))
                .then(|| format!("{words:?} in {text:?}: expected {quoted:?}, got {got:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn assert_not_found(cases: &[(&[&str], &str)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|&(words, text)| {
            found(words, text).map(|got| format!("{words:?} in {text:?}: found {got:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn plain_words_are_found_whole_in_any_case() {
    assert_found(&[
        (&["gun"], "Selling my gun, barely used", "gun"),
        (&["gun"], "GUN for sale", "GUN"),
        (&["gun"], "Gun.", "Gun"),
        (&["gun"], "(gun)", "gun"),
        (&["rifle", "gun"], "a hunting rifle", "rifle"),
        (&["free money"], "Get FREE   money now", "FREE   money"),
        (&["free money"], "free\nmoney", "free\nmoney"),
        (&["free money"], "freemoney!", "freemoney"),
    ]);
}

#[test]
fn a_plural_s_or_es_is_allowed_after_words_of_three_letters() {
    assert_found(&[
        (&["gun"], "guns and ammo", "guns"),
        (&["ass"], "lazy asses", "asses"),
        (&["free money"], "free moneys", "free moneys"),
    ]);
    assert_not_found(&[(&["ad"], "ads"), (&["gun"], "gunss")]);
}

#[test]
fn words_inside_other_words_are_not_found() {
    assert_not_found(&[
        (&["ass"], "A classic class act"),
        (&["ass"], "assembly required, bass guitar, passenger seat"),
        (&["ass"], "Scunthorpe, Essex, Massachusetts"),
        (&["gun"], "It has begun; see the gunnel and the gunwale"),
        (&["gun"], "Burgundy paint, shotgunning"),
        (&["free"], "carefree, freedom, freely"),
        (&["free money"], "free of money worries"),
        (&["free money"], "money free"),
    ]);
}

#[test]
fn nfkc_undoes_wide_math_and_superscript_letters_and_ligatures() {
    assert_found(&[
        (&["gun"], "ＧＵＮ for sale", "ＧＵＮ"),
        (&["gun"], "𝐠𝐮𝐧 for sale", "𝐠𝐮𝐧"),
        (&["gun"], "𝔤𝔲𝔫", "𝔤𝔲𝔫"),
        (&["hello"], "ℌ𝔢𝔩𝔩𝔬", "ℌ𝔢𝔩𝔩𝔬"),
        (&["gun"], "ᵍᵘⁿ", "ᵍᵘⁿ"),
        (&["gun"], "ⓖⓤⓝ", "ⓖⓤⓝ"),
        (&["fire"], "ﬁre", "ﬁre"),
        (&["strasse"], "Straße", "Straße"),
    ]);
}

#[test]
fn look_alike_letters_of_other_scripts_are_read_as_latin() {
    assert_found(&[
        // Cyrillic а, е, о, р, с, х, у, і, ј, ѕ in an English text.
        (&["sex"], "ѕех shop", "ѕех"),
        (&["crack"], "сrасk for sale", "сrасk"),
        (&["poppy"], "рорру seeds", "рорру"),
        (&["joy"], "јоу ride", "јоу"),
        (&["pix"], "ріх here", "ріх"),
        // Greek ο, α, ν, κ, τ, ε and a capital Η.
        (&["cocaine"], "cοcαine", "cοcαine"),
        (&["kit"], "κit", "κit"),
        (&["tea"], "τεa", "τεa"),
        (&["hot"], "ΗΟΤ deals", "ΗΟΤ"),
        // Small capitals, enclosed and regional-indicator letters.
        (&["gun"], "ɢᴜɴ", "ɢᴜɴ"),
        (&["gun"], "🅶🆄🅽", "🅶🆄🅽"),
        // One look-alike in a Latin word, whatever the text's script.
        (&["pot"], "Продаю pоt", "pоt"),
    ]);
}

#[test]
fn a_text_in_cyrillic_is_read_as_cyrillic() {
    // "рот" (mouth) in a Russian ad is not the English "pot".
    assert_not_found(&[
        (&["pot"], "Продаю велосипед, рот"),
        (&["hot"], "Продаю нот"),
    ]);
}

#[test]
fn digits_and_symbols_that_stand_for_letters_are_read_as_letters() {
    assert_found(&[
        (&["free"], "FR€E stuff", "FR€E"),
        (&["free"], "fr33", "fr33"),
        (&["good"], "g00d", "g00d"),
        (&["ass"], "a$$", "a$$"),
        (&["ass"], "@ss", "@ss"),
        (&["ass"], "a55", "a55"),
        (&["kill"], "k1ll", "k1ll"),
        (&["kill"], "ki11", "ki11"),
        (&["kill"], "KI|L", "KI|L"),
        (&["lsd"], "£SD", "£SD"),
        (&["cocaine"], "¢0¢aine", "¢0¢aine"),
        (&["test"], "7e57", "7e57"),
        (&["sale"], "5@le", "5@le"),
    ]);
}

#[test]
fn numbers_stay_numbers() {
    assert_found(&[
        (&["4x4"], "a real 4x4!", "4x4"),
        (&["2015"], "built in 2015", "2015"),
        (&["ak 47"], "AK-47", "AK-47"),
        (&["ak47"], "the ΑΚ47", "ΑΚ47"),
    ]);
    assert_not_found(&[
        // "1000" is no "iooo", "1337" no "ieet", "5" no "s".
        (&["iooo"], "1000 km"),
        (&["leet"], "1337"),
        (&["guns"], "gun 5"),
        (&["ease"], "3 4 5 3"),
    ]);
}

#[test]
fn separators_inside_a_word_are_ignored() {
    assert_found(&[
        (&["gun"], "g.u.n", "g.u.n"),
        (&["gun"], "G-U-N", "G-U-N"),
        (&["gun"], "g_u_n", "g_u_n"),
        (&["gun"], "g*u*n", "g*u*n"),
        (&["gun"], "g . u . n", "g . u . n"),
        (&["gun"], "g u n for sale", "g u n"),
        (&["gun"], "g/u/n", "g/u/n"),
        (&["free"], "fr-ee", "fr-ee"),
        (&["free"], "f.r.€.e", "f.r.€.e"),
        (&["good"], "g 0 0 d", "g 0 0 d"),
        (&["free money"], "f r e e  m o n e y", "f r e e  m o n e y"),
        (&["free money"], "f-r-e-e m-o-n-e-y", "f-r-e-e m-o-n-e-y"),
        (&["free money"], "f r e e m o n e y", "f r e e m o n e y"),
    ]);
}

#[test]
fn invisible_characters_and_diacritics_are_ignored() {
    assert_found(&[
        (&["gun"], "g\u{200B}un", "g\u{200B}un"),
        (&["gun"], "g\u{200C}u\u{200D}n", "g\u{200C}u\u{200D}n"),
        (&["gun"], "\u{FEFF}gu\u{00AD}n", "gu\u{00AD}n"),
        (&["gun"], "g\u{2060}u\u{2060}n", "g\u{2060}u\u{2060}n"),
        // The skeleton drops diacritics: "gün" is read as "gun".
        (&["gun"], "gün", "gün"),
        (
            &["gun"],
            "g\u{303}u\u{303}n\u{303}",
            "g\u{303}u\u{303}n\u{303}",
        ),
        (&["gun"], "ģ̷ų̷ņ̷", "ģ̷ų̷ņ̷"),
        // And the other way round.
        (&["café"], "CAFE", "CAFE"),
    ]);
}

#[test]
fn spaced_out_letters_are_one_word_only_when_each_letter_stands_alone() {
    assert_not_found(&[
        (&["free"], "a bag of reeds"),
        (&["free"], "of reed"),
        (&["free"], "f reed"),
        (&["free"], "fr ee"),
        (&["gun"], "g un"),
        // Two letters are not enough to be spaced-out word.
        (&["ab"], "a b"),
        (&["gun"], "g u n n e l"),
        (&["gun"], "e.g. un"),
        (&["abs"], "a bs"),
    ]);
    assert_found(&[
        (&["abs"], "A.B.S.", "A.B.S"),
        // A one-letter word before a spaced-out word is a word of its own.
        (&["gun"], "Selling a g u n", "g u n"),
        (&["gun"], "y g u n s", "g u n s"),
        (&["ass"], "a s s", "a s s"),
    ]);
}

#[test]
fn emoji_and_other_scripts_do_not_get_in_the_way() {
    assert_found(&[
        (&["gun"], "🔫 gun 4 sale", "gun"),
        (&["gun"], "🔫gun🔫", "gun"),
        (&["gun"], "g🔫u🔫n", "g🔫u🔫n"),
        (&["gun"], "👍🏽 Продаю gun 銃 سلاح", "gun"),
        (&["велосипед"], "Продаю ВЕЛОСИПЕД, 2015 г.", "ВЕЛОСИПЕД"),
        (&["велосипед"], "Selling a велосипед", "велосипед"),
        (&["سلاح"], "بيع سلاح ناري", "سلاح"),
        (&["銃"], "中古の銃を売ります", "銃"),
        (&["ปืน"], "ขายปืนมือสอง", "ปืน"),
    ]);
    assert_not_found(&[
        (&["gun"], "👨‍👩‍👧‍👦 family car 🚗💨"),
        (&["велосипед"], "Продаю велосипеды"),
        (&["gun"], "Продаю велосипед"),
        (&["gun"], ""),
    ]);
}

#[test]
fn a_word_without_letters_or_digits_is_refused() {
    for word in ["", "   ", "!!!", "🔫", "\u{200B}", "\u{301}"] {
        let error = WordList::compile(&["ok", word]).unwrap_err();
        assert!(error.starts_with("word 2 ("), "{word:?}: {error}");
        assert!(error.contains("no letters or digits"), "{word:?}: {error}");
    }
}
