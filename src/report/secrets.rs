//! Secrets masking for everything the harness writes or prints: one home, used by every report
//! format (run, conform, capacity, merge) and by the command layer's error lines.
//!
//! Masking works in two steps that keep every document well-formed:
//! - [`Secrets::mask`] masks *free text before it is rendered* (request lines, excerpts, notes,
//!   error messages). It masks whole values in their fields (the `Authorization`/`Cookie`
//!   headers, JSON, form, query and XML fields such as `password` or `access_token`), anything
//!   shaped like a credential (a `Bearer`/`Basic` value, a JWT), configured secrets of at least
//!   [`Secrets::MIN_SUBSTRING`] characters wherever they occur, and shorter ones only where they
//!   stand as a whole value (between non-word characters): a client secret `b` leaves "usable"
//!   intact.
//! - [`Secrets::mask_document`] is the net over a rendered document (XML, JSON, HTML, text): it
//!   replaces only long secrets and credential shapes, which never carry markup, so a
//!   one-character token cannot turn `junit.xml` into invalid XML.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// Secret strings (tokens, passwords, client secrets) that must never reach a report.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// Longest first, so a secret containing another is masked whole.
    values: Vec<String>,
}

/// `Bearer <token>` / `Basic <credentials>` (the scheme kept), or a JWT-shaped run of base64url
/// that starts a word (`pre`, kept): inside a longer run of base64, such as a histogram in
/// `rundata.json`, `eyJ` is chance, not a token.
static CREDENTIAL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i:(?P<scheme>bearer|basic)\s+[A-Za-z0-9._~+/=-]+)|(?:^|(?P<pre>[^A-Za-z0-9+/_-]))eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2}",
    )
    .ok()
});

/// Fields whose whole value is secret, in the shapes free text carries them.
static FIELDS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    const NAMES: &str = "password|client_secret|access_token|refresh_token|id_token";
    [
        // A header line: `Authorization: Basic …`, `Cookie: a=1; b=2`.
        r#"(?i)(?P<head>\b(?:proxy-authorization|authorization|set-cookie|cookie)\s*:\s*)(?P<value>[^\r\n"]+)"#.to_string(),
        // A JSON string field, possibly cut short by an excerpt (no closing quote).
        format!(r#"(?i)(?P<head>"(?:{NAMES}|authorization|cookie)"\s*:\s*")(?P<value>(?:[^"\\]|\\.)*)"#),
        // A form body or query parameter.
        format!(r#"(?i)(?P<head>(?:^|[?&\s;,])(?:{NAMES}|token)=)(?P<value>[^&\s"'<>;,]*)"#),
        // An XML element (the API's XML output).
        format!(r#"(?i)(?P<head><(?:{NAMES})>)(?P<value>[^<]*)"#),
    ]
    .iter()
    .filter_map(|re| Regex::new(re).ok())
    .collect()
});

impl Secrets {
    /// The mask every secret is replaced with.
    pub const MASK: &'static str = "****";

    /// Shortest configured secret masked wherever it occurs; shorter ones are masked only as a
    /// whole value, since as substrings they would maul ordinary words and markup.
    pub const MIN_SUBSTRING: usize = 8;

    /// Secrets from any strings; empty ones are ignored.
    pub fn new<I, S>(values: I) -> Secrets
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut values: Vec<String> = values
            .into_iter()
            .map(Into::into)
            .filter(|s| !s.is_empty())
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Secrets { values }
    }

    /// Adds one more secret (e.g. a token fetched during the run).
    pub fn push(&mut self, secret: impl Into<String>) {
        let mut all = std::mem::take(&mut self.values);
        all.push(secret.into());
        *self = Secrets::new(all);
    }

    fn long(&self) -> impl Iterator<Item = &str> {
        self.values
            .iter()
            .map(String::as_str)
            .filter(|s| s.chars().count() >= Self::MIN_SUBSTRING)
    }

    /// Free text `s` with every secret masked (see the module's doc); borrowed when there is
    /// nothing to mask. For text that is rendered afterwards (escaped into XML, JSON, HTML) or
    /// printed as it is.
    ///
    /// Tokens are issued during a run, so no list of them is complete: whatever is shaped like
    /// a credential, or sits in a field that holds one, is masked even when not configured, and
    /// a long secret that an excerpt cut short is masked as far as the text holds it.
    pub fn mask<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(s);
        for re in FIELDS.iter() {
            replace(&mut out, re, |c| {
                let head = c.name("head").map_or("", |m| m.as_str());
                let value = c.name("value").map_or("", |m| m.as_str());
                format!("{head}{}", mask_value(value))
            });
        }
        for secret in &self.values {
            if secret.chars().count() >= Self::MIN_SUBSTRING {
                mask_long(&mut out, secret);
            } else {
                mask_whole(&mut out, secret);
            }
        }
        mask_credentials(&mut out);
        out
    }

    /// A rendered document `s` (XML, JSON, HTML, text) with long secrets and credential shapes
    /// masked: the net behind [`Secrets::mask`], which masked its text before rendering.
    /// Replaces nothing that could hold markup, so the document stays well-formed.
    pub fn mask_document<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(s);
        for secret in self.long() {
            mask_long(&mut out, secret);
        }
        mask_credentials(&mut out);
        out
    }

    /// Masks `s` in place (see [`Secrets::mask`]).
    pub fn mask_in_place(&self, s: &mut String) {
        if let Cow::Owned(masked) = self.mask(s) {
            *s = masked;
        }
    }

    /// Masks every string of `fields` in place (an `&mut Option<String>` chains in as zero or
    /// one field).
    pub fn mask_all<'a>(&self, fields: impl IntoIterator<Item = &'a mut String>) {
        fields.into_iter().for_each(|s| self.mask_in_place(s));
    }
}

/// An authorization value keeps its scheme (`Bearer ****`); anything else is masked whole.
fn mask_value(value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    match value.split_once(' ') {
        Some((scheme, _)) if ["bearer", "basic"].contains(&scheme.to_lowercase().as_str()) => {
            format!("{scheme} {}", Secrets::MASK)
        }
        _ => Secrets::MASK.to_string(),
    }
}

fn replace(out: &mut Cow<'_, str>, re: &Regex, f: impl Fn(&Captures<'_>) -> String) {
    if re.is_match(out) {
        *out = Cow::Owned(re.replace_all(out, |c: &Captures<'_>| f(c)).into_owned());
    }
}

fn mask_credentials(out: &mut Cow<'_, str>) {
    if let Some(re) = CREDENTIAL.as_ref() {
        replace(out, re, |c| match c.name("scheme") {
            Some(scheme) => format!("{} {}", scheme.as_str(), Secrets::MASK),
            None => format!(
                "{}{}",
                c.name("pre").map_or("", |m| m.as_str()),
                Secrets::MASK
            ),
        });
    }
}

/// Every occurrence of `secret`, and the start of it that a cut excerpt kept (16 characters or
/// more of a secret longer than that).
fn mask_long(out: &mut Cow<'_, str>, secret: &str) {
    if out.contains(secret) {
        *out = Cow::Owned(out.replace(secret, Secrets::MASK));
    }
    if secret.chars().count() > 16 {
        let cut = mask_cut(out, secret);
        if cut != **out {
            *out = Cow::Owned(cut);
        }
    }
}

/// Occurrences of a short `secret` that stand as a whole value: not inside a word.
fn mask_whole(out: &mut Cow<'_, str>, secret: &str) {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let text: &str = out;
    let mut result = String::new();
    let mut last = 0;
    for (i, _) in text.match_indices(secret) {
        let end = i + secret.len();
        if i < last || word(text[..i].chars().next_back()) || word(text[end..].chars().next()) {
            continue;
        }
        result.push_str(&text[last..i]);
        result.push_str(Secrets::MASK);
        last = end;
    }
    if last > 0 {
        result.push_str(&text[last..]);
        *out = Cow::Owned(result);
    }
}

/// `text` with `secret`, or the part of it that `text` holds before it was cut (at least its
/// first 16 characters), as `****`.
pub fn mask_cut(text: &str, secret: &str) -> String {
    let head: String = secret.chars().take(16).collect();
    if head.is_empty() {
        return text.to_string();
    }
    let mut out = text.replace(secret, Secrets::MASK);
    if let Some(i) = out.find(&head) {
        let common = out[i..]
            .char_indices()
            .zip(secret.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((j, a), _)| j + a.len_utf8());
        out.replace_range(i..i + common, Secrets::MASK);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_masked_without_being_configured() {
        let s = Secrets::new(["hunter2"]);
        let jwt = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOlsiY2VhcGkiXX0.c2lnbmF0dXJl";
        assert_eq!(
            s.mask(&format!("authorization: Bearer {jwt}\r\nx: hunter2")),
            "authorization: Bearer ****\r\nx: ****"
        );
        assert_eq!(s.mask(&format!("token={jwt}&a=1")), "token=****&a=1");
        // An excerpt that cut a token short still hides what it kept.
        assert_eq!(
            s.mask("…\"access_token\":\"eyJ0eXAiOiJKV1Qi"),
            "…\"access_token\":\"****"
        );
        assert_eq!(
            s.mask("Authorization: Basic Y2VhcGk6c2VjcmV0"),
            "Authorization: Basic ****"
        );
        assert_eq!(s.mask("nothing to hide"), Cow::Borrowed("nothing to hide"));
    }

    #[test]
    fn a_histograms_base64_holding_eyj_by_chance_is_not_masked() {
        let s = Secrets::default();
        let doc =
            r#"{"histogram":"HISTFAAAAEx4nJNpmSzMwMDAy6eyJhdWQiOlsiY2VhcGkiXX0/eyJ0eXAi+eyJ0"}"#;
        assert_eq!(s.mask_document(doc), doc);
        assert_eq!(
            s.mask_document(r#"{"t":"eyJ0eXAi.eyJh.c2ln","u":"x eyJ0eXAi"}"#),
            r#"{"t":"****","u":"x ****"}"#
        );
        assert_eq!(s.mask_document("eyJ0eXAi.eyJh"), "****");
    }

    #[test]
    fn masks_every_secret_longest_first() {
        let s = Secrets::new(["abc", "abcdef", "", "xyz"]);
        assert_eq!(s.mask("token=abcdef&k=abc;xyz"), "token=****&k=****;****");
        assert!(matches!(s.mask("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_one_letter_client_secret_leaves_usable_intact() {
        let s = Secrets::new(["b"]);
        assert_eq!(s.mask("usable"), "usable");
        assert_eq!(s.mask("secret b, usable"), "secret ****, usable");
        assert_eq!(
            s.mask_document("<a b=\"usable\">b</a>"),
            "<a b=\"usable\">b</a>"
        );
    }

    #[test]
    fn whole_values_are_masked_in_their_fields() {
        let s = Secrets::default();
        assert_eq!(
            s.mask(r#"{"username":"a1","password":"p","client_secret":"q\"r"}"#),
            r#"{"username":"a1","password":"****","client_secret":"****"}"#
        );
        assert_eq!(
            s.mask("POST /token grant_type=password&username=u&password=x&client_secret=y"),
            "POST /token grant_type=password&username=u&password=****&client_secret=****"
        );
        assert_eq!(
            s.mask("GET /x?access_token=t&a=1"),
            "GET /x?access_token=****&a=1"
        );
        assert_eq!(s.mask("Cookie: JSESSIONID=x; a=b"), "Cookie: ****");
        assert_eq!(
            s.mask("<Login><password>pw</password></Login>"),
            "<Login><password>****</password></Login>"
        );
        assert_eq!(s.mask("password= and password"), "password= and password");
    }

    #[test]
    fn long_secrets_are_masked_anywhere_and_cut_ones_as_far_as_kept() {
        let s = Secrets::new(["correct-horse-battery"]);
        assert_eq!(s.mask("xcorrect-horse-batteryx"), "x****x");
        assert_eq!(s.mask_document("<a>correct-horse-batt</a>"), "<a>****</a>");
        assert_eq!(s.mask_document("correct-horse"), "correct-horse");
    }

    #[test]
    fn documents_keep_their_markup_with_a_one_character_secret() {
        let s = Secrets::new(["a", "t"]);
        let xml =
            "<?xml version=\"1.0\"?><testsuites name=\"a\"><testcase name=\"t\"/></testsuites>";
        assert_eq!(s.mask_document(xml), xml);
    }

    #[test]
    fn mask_cut_masks_a_secret_cut_off_by_the_excerpt() {
        let secret = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.signature";
        assert_eq!(
            mask_cut("{\"access_token\":\"eyJ0eXAiOiJKV1QiLCJhbGciOiJS…", secret),
            "{\"access_token\":\"****…"
        );
        assert_eq!(mask_cut(&format!("a {secret} b"), secret), "a **** b");
        assert_eq!(mask_cut("nothing here", secret), "nothing here");
    }
}
