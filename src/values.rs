//! Small value languages used inside suites and the simulator's config: durations (`1.5s`,
//! `250ms`), distributions (`constant 2s`, `uniform 1s..3s`, `exponential 4s`), percentages
//! (`2.5%`), ranges (`3..6`), rates (`2/s`, `120/min`) and secret references (`${ENV_VAR}`).
//!
//! A leaf: it imports nothing from the crate, so `suite` and `sim` may both use it.
//!
//! Each is a newtype with `FromStr` (the parser, unit-tested) and a `Deserialize` that calls it,
//! so a bad value is reported by serde_yaml at the field's own line and column.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Deserializer};

/// Why a value does not parse; each message quotes the text and says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("duration `{0}` has no unit (use us, ms, s, m or h, e.g. `1.5s`)")]
    NoUnit(String),
    #[error("`{0}` is not a duration (expected e.g. `250ms` or `1.5s`)")]
    NotDuration(String),
    #[error("unknown duration unit `{unit}` in `{text}` (use us, ms, s, m or h)")]
    Unit { unit: String, text: String },
    #[error("duration `{0}` is out of range")]
    DurationRange(String),
    #[error("uniform needs a range like `1s..3s`, found `{0}`")]
    UniformRange(String),
    #[error("unknown distribution `{0}` (use constant, uniform or exponential)")]
    Distribution(String),
    #[error("`{0}` is not a percentage (write e.g. `2.5%`)")]
    NotPercent(String),
    #[error("percentage `{0}` is outside 0%..100%")]
    PercentRange(String),
    #[error("`{0}` is not a range (write e.g. `3..6` or `4`)")]
    NotRange(String),
    /// A range (`uniform 3s..1s`, `6..3`) whose end is below its start.
    #[error("{0} ends before it starts")]
    Backwards(String),
    #[error("`{0}` is not a rate (write e.g. `2/s`, `120/min` or `3600/h`)")]
    NotRate(String),
    #[error(
        "a literal secret is not allowed in a suite: reference an environment variable, e.g. `${{AEAPI_CLIENT_SECRET}}`"
    )]
    LiteralSecret,
    #[error("environment variable `{0}` is not set")]
    Unset(String),
    #[error("secret has no source")]
    NoSource,
}

/// Deserialises any `FromStr` type from a YAML scalar (string or number).
///
/// A visitor rather than a buffered `serde_yaml::Value`, so serde_yaml attaches the scalar's own
/// line and column to a parse error.
fn from_scalar<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = ValueError>,
{
    d.deserialize_any(ScalarVisitor(std::marker::PhantomData))
}

struct ScalarVisitor<T>(std::marker::PhantomData<T>);

impl<T: FromStr<Err = ValueError>> ScalarVisitor<T> {
    fn parse<E: serde::de::Error>(s: &str) -> Result<T, E> {
        s.parse().map_err(E::custom)
    }
}

impl<'de, T: FromStr<Err = ValueError>> serde::de::Visitor<'de> for ScalarVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        Self::parse(v)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<T, E> {
        Self::parse(&v.to_string())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<T, E> {
        Self::parse(&v.to_string())
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<T, E> {
        Self::parse(&v.to_string())
    }
}

/// A value type: `FromStr` on the trimmed text (`|t| body`, `t` the trimmed `&str`) and a
/// `Deserialize` that calls it through [`from_scalar`].
macro_rules! value_type {
    ($t:ty, |$text:ident| $body:block) => {
        impl FromStr for $t {
            type Err = ValueError;
            fn from_str(s: &str) -> Result<Self, ValueError> {
                let $text = s.trim();
                $body
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                from_scalar(d)
            }
        }
    };
}

/// A duration written like `1.5s`, `250ms`, `2m`, `1h`, `800us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

value_type!(HumanDuration, |t| { parse_duration(t).map(HumanDuration) });

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0.as_micros();
        if us.is_multiple_of(1_000_000) {
            write!(f, "{}s", us / 1_000_000)
        } else if us.is_multiple_of(1_000) {
            write!(f, "{}ms", us / 1_000)
        } else {
            write!(f, "{us}us")
        }
    }
}

/// Parses `<number><unit>` with unit one of `us`, `ms`, `s`, `m`, `h`.
pub fn parse_duration(s: &str) -> Result<Duration, ValueError> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| ValueError::NoUnit(t.into()))?;
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| ValueError::NotDuration(t.into()))?;
    let secs = match unit.trim() {
        "us" | "µs" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(ValueError::Unit {
                unit: other.into(),
                text: t.into(),
            });
        }
    };
    if !secs.is_finite() || secs > 1e9 {
        return Err(ValueError::DurationRange(t.into()));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A random duration: `constant 2s` (or just `2s`), `uniform 1s..3s`, `exponential 4s` (mean).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    Constant(Duration),
    Uniform(Duration, Duration),
    Exponential { mean: Duration },
}

impl Distribution {
    /// Draws one duration.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        match *self {
            Distribution::Constant(d) => d,
            Distribution::Uniform(lo, hi) => {
                if hi <= lo {
                    lo
                } else {
                    Duration::from_secs_f64(rng.random_range(lo.as_secs_f64()..hi.as_secs_f64()))
                }
            }
            Distribution::Exponential { mean } => {
                let u: f64 = rng.random_range(f64::EPSILON..1.0);
                Duration::from_secs_f64(-u.ln() * mean.as_secs_f64())
            }
        }
    }

    /// The distribution's mean.
    pub fn mean(&self) -> Duration {
        match *self {
            Distribution::Constant(d) => d,
            Distribution::Uniform(lo, hi) => (lo + hi) / 2,
            Distribution::Exponential { mean } => mean,
        }
    }
}

value_type!(Distribution, |t| {
    let (kind, rest) = match t.split_once(char::is_whitespace) {
        Some((k, r)) => (k, r.trim()),
        None => ("constant", t),
    };
    match kind {
        "constant" => Ok(Distribution::Constant(parse_duration(rest)?)),
        "exponential" => Ok(Distribution::Exponential {
            mean: parse_duration(rest)?,
        }),
        "uniform" => {
            let (a, b) = rest
                .split_once("..")
                .ok_or_else(|| ValueError::UniformRange(rest.into()))?;
            let (lo, hi) = (parse_duration(a)?, parse_duration(b)?);
            if hi < lo {
                return Err(ValueError::Backwards(format!("uniform range `{rest}`")));
            }
            Ok(Distribution::Uniform(lo, hi))
        }
        other => Err(ValueError::Distribution(other.into())),
    }
});

/// A percentage such as `2.5%`, kept as a fraction in 0..=1.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percent(pub f64);

impl Percent {
    pub fn fraction(self) -> f64 {
        self.0
    }
}

value_type!(Percent, |t| {
    let num = t
        .strip_suffix('%')
        .ok_or_else(|| ValueError::NotPercent(t.into()))?;
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| ValueError::NotPercent(t.into()))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(ValueError::PercentRange(t.into()));
    }
    Ok(Percent(v / 100.0))
});

/// An inclusive integer range such as `3..6`, or a single number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub min: u32,
    pub max: u32,
}

impl Range {
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        rng.random_range(self.min..=self.max)
    }
}

value_type!(Range, |t| {
    let bad = || ValueError::NotRange(t.into());
    let (min, max) = match t.split_once("..") {
        Some((a, b)) => (
            a.trim().parse().map_err(|_| bad())?,
            b.trim()
                .trim_start_matches('=')
                .parse()
                .map_err(|_| bad())?,
        ),
        None => {
            let n = t.parse().map_err(|_| bad())?;
            (n, n)
        }
    };
    if max < min {
        return Err(ValueError::Backwards(format!("range `{t}`")));
    }
    Ok(Range { min, max })
});

/// Events per second, written `2/s`, `120/min`, `3600/h` or a bare number (per second).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rate {
    pub per_second: f64,
}

value_type!(Rate, |t| {
    let bad = || ValueError::NotRate(t.into());
    let (num, per) = t.split_once('/').unwrap_or((t, "s"));
    let n: f64 = num.trim().parse().map_err(|_| bad())?;
    let div = match per.trim() {
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad()),
    };
    if !n.is_finite() || n < 0.0 {
        return Err(bad());
    }
    Ok(Rate {
        per_second: n / div,
    })
});

/// A secret in a suite: only `${ENV_VAR}` is accepted, so secrets never sit in suite files.
/// The value is read from the environment at run time and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// The environment variable's name, or `None` for a built-in development value.
    pub var: Option<String>,
    dev_value: Option<String>,
}

impl SecretRef {
    /// A built-in development credential (the embedded simulator's defaults).
    pub fn literal_dev(value: &str) -> Self {
        SecretRef {
            var: None,
            dev_value: Some(value.to_string()),
        }
    }

    /// A reference to an environment variable.
    pub fn env(var: &str) -> Self {
        SecretRef {
            var: Some(var.to_string()),
            dev_value: None,
        }
    }

    /// Reads the secret's value; the error names the variable, never a value.
    pub fn resolve(&self) -> Result<String, ValueError> {
        match (&self.var, &self.dev_value) {
            (Some(var), _) => std::env::var(var).map_err(|_| ValueError::Unset(var.clone())),
            (None, Some(v)) => Ok(v.clone()),
            (None, None) => Err(ValueError::NoSource),
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.var {
            Some(v) => write!(f, "${{{v}}}"),
            None => write!(f, "<built-in>"),
        }
    }
}

value_type!(SecretRef, |t| {
    let var = t
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .ok_or(ValueError::LiteralSecret)?;
    Ok(SecretRef::env(var))
});

/// `s` with every character but `[A-Za-z0-9_.-]` replaced by `_`: safe as a file name and as an
/// XML element name's tail (the report writers and the simulator's XML rendering share it).
pub fn safe_chars(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error's message, as suites and flags show it.
    fn msg<T>(r: Result<T, ValueError>) -> Result<T, String> {
        r.map_err(|e| e.to_string())
    }

    /// Asserts that each text fails to parse as a `T` with exactly its message.
    fn rejects<T: FromStr<Err = ValueError> + fmt::Debug + PartialEq>(cases: &[(&str, &str)]) {
        for (text, want) in cases {
            assert_eq!(msg(text.parse::<T>()), Err(want.to_string()), "{text}");
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration("250ms"), Ok(ms(250)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration(" 2m "), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("800us"), Ok(Duration::from_micros(800)));
        assert_eq!(parse_duration("3 s"), Ok(Duration::from_secs(3)));
        assert_eq!(HumanDuration(ms(1500)).to_string(), "1500ms");
        assert_eq!(HumanDuration(Duration::from_secs(30)).to_string(), "30s");
    }

    #[test]
    fn duration_errors_say_what_to_write() {
        for (text, want) in [
            (
                "30",
                "duration `30` has no unit (use us, ms, s, m or h, e.g. `1.5s`)",
            ),
            (
                "5x",
                "unknown duration unit `x` in `5x` (use us, ms, s, m or h)",
            ),
            (
                "soon",
                "`soon` is not a duration (expected e.g. `250ms` or `1.5s`)",
            ),
            ("999999999h", "duration `999999999h` is out of range"),
        ] {
            assert_eq!(msg(parse_duration(text)), Err(want.into()), "{text}");
        }
    }

    #[test]
    fn distributions() {
        assert_eq!("2s".parse(), Ok(Distribution::Constant(ms(2000))));
        assert_eq!(
            "constant 200ms".parse(),
            Ok(Distribution::Constant(ms(200)))
        );
        assert_eq!(
            "uniform 1s..3s".parse(),
            Ok(Distribution::Uniform(ms(1000), ms(3000)))
        );
        assert_eq!(
            "exponential 4s".parse(),
            Ok(Distribution::Exponential { mean: ms(4000) })
        );
        rejects::<Distribution>(&[
            (
                "uniform 3s..1s",
                "uniform range `3s..1s` ends before it starts",
            ),
            (
                "uniform 3s",
                "uniform needs a range like `1s..3s`, found `3s`",
            ),
            (
                "gaussian 2s",
                "unknown distribution `gaussian` (use constant, uniform or exponential)",
            ),
        ]);
        assert_eq!(Distribution::Uniform(ms(1000), ms(3000)).mean(), ms(2000));
    }

    #[test]
    fn percentages_are_fractions() {
        assert_eq!("2.5%".parse(), Ok(Percent(0.025)));
        assert_eq!("100%".parse(), Ok(Percent(1.0)));
        rejects::<Percent>(&[
            ("5", "`5` is not a percentage (write e.g. `2.5%`)"),
            ("150%", "percentage `150%` is outside 0%..100%"),
        ]);
    }

    #[test]
    fn ranges() {
        assert_eq!("3..6".parse(), Ok(Range { min: 3, max: 6 }));
        assert_eq!("3..=6".parse(), Ok(Range { min: 3, max: 6 }));
        assert_eq!("4".parse(), Ok(Range { min: 4, max: 4 }));
        rejects::<Range>(&[
            ("6..3", "range `6..3` ends before it starts"),
            ("a..b", "`a..b` is not a range (write e.g. `3..6` or `4`)"),
        ]);
    }

    #[test]
    fn rates_are_per_second() {
        assert_eq!("2/s".parse(), Ok(Rate { per_second: 2.0 }));
        assert_eq!("120/min".parse(), Ok(Rate { per_second: 2.0 }));
        assert_eq!("3600/h".parse(), Ok(Rate { per_second: 1.0 }));
        assert_eq!("5".parse(), Ok(Rate { per_second: 5.0 }));
        rejects::<Rate>(&[
            (
                "2/day",
                "`2/day` is not a rate (write e.g. `2/s`, `120/min` or `3600/h`)",
            ),
            (
                "-1/s",
                "`-1/s` is not a rate (write e.g. `2/s`, `120/min` or `3600/h`)",
            ),
        ]);
    }

    #[test]
    fn secrets_are_env_references_only() {
        assert_eq!(
            "${AEAPI_CLIENT_SECRET}".parse(),
            Ok(SecretRef::env("AEAPI_CLIENT_SECRET"))
        );
        let literal = "a literal secret is not allowed in a suite: reference an environment variable, e.g. `${AEAPI_CLIENT_SECRET}`";
        rejects::<SecretRef>(&[("hunter2", literal), ("${}", literal), ("${A-B}", literal)]);
        assert_eq!(format!("{:?}", SecretRef::env("X")), "${X}");
        assert_eq!(format!("{:?}", SecretRef::literal_dev("pw")), "<built-in>");
        assert_eq!(
            msg(SecretRef::env("AEAPI_HARNESS_TEST_SURELY_UNSET").resolve()),
            Err("environment variable `AEAPI_HARNESS_TEST_SURELY_UNSET` is not set".into())
        );
    }

    #[test]
    fn values_deserialise_from_yaml_scalars() {
        let d: HumanDuration = serde_yaml::from_str("1.5s").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d, HumanDuration(ms(1500)));
        let r: Rate = serde_yaml::from_str("3").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r, Rate { per_second: 3.0 });
        let e = serde_yaml::from_str::<Percent>("[1]")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("invalid type: sequence, expected a string")
        );
    }
}
