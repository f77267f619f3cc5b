//! Hand-written `Deserialize` impls for the model's either-or fields (`target`, `agents`,
//! `status`, `schema`, `disposition`).
//!
//! serde's `untagged` buffers the input and answers any mistake with "data did not match any
//! variant" at the top of the file. These visitors stream instead, so serde_yaml keeps the line
//! and column of the real problem, and the messages say what each field accepts.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::model::{
    AgentCredential, AgentPool, DispositionChoice, RemoteTarget, SchemaSource, StatusSet, Target,
};
use super::values::SecretRef;

/// `impl Deserialize for $t` through a streaming visitor (`deserialize_any`) with the given
/// `visit_*` methods; `$expecting` is what serde_yaml says the field accepts.
macro_rules! deserialize_by_visitor {
    ($t:ty, $de:lifetime, $expecting:expr, $($method:item)*) => {
        impl<$de> Deserialize<$de> for $t {
            fn deserialize<D: Deserializer<$de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<$de> Visitor<$de> for V {
                    type Value = $t;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    $($method)*
                }
                d.deserialize_any(V)
            }
        }
    };
}

/// An HTTP status code (100..=599), or an error saying `v` is not one.
fn code<E: de::Error>(v: u64) -> Result<u16, E> {
    u16::try_from(v)
        .ok()
        .filter(|c| (100..=599).contains(c))
        .ok_or_else(|| E::custom(format!("`{v}` is not an HTTP status code (100..599)")))
}

deserialize_by_visitor! {
    Target, 'de, "`embedded` or a mapping with `api`, `auth`, `client_id`, `client_secret` and `site_id`",
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Target, E> {
        if v == "embedded" {
            Ok(Target::Embedded)
        } else {
            Err(E::custom(format!(
                "unknown target `{v}`: write `embedded` or a mapping with `api`, `auth`, `client_id`, `client_secret` and `site_id`"
            )))
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Target, A::Error> {
        RemoteTarget::deserialize(MapAccessDeserializer::new(map))
            .map(|r| Target::Remote(Box::new(r)))
    }
}

/// Every key an `agents:` mapping may have; which combination is valid is checked after.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolKeys {
    csv: Option<PathBuf>,
    password: Option<SecretRef>,
    prefix: Option<String>,
    count: Option<u32>,
    start: Option<u32>,
}

deserialize_by_visitor! {
    AgentPool, 'de, "a list of `{username, password}`, `{csv: FILE}` or `{prefix, count, password}`",
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<AgentPool, A::Error> {
        Vec::<AgentCredential>::deserialize(SeqAccessDeserializer::new(seq))
            .map(AgentPool::Inline)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<AgentPool, A::Error> {
        let k = PoolKeys::deserialize(MapAccessDeserializer::new(map))?;
        match (k.csv, k.prefix, k.count) {
            (Some(csv), None, None) if k.start.is_none() => Ok(AgentPool::Csv {
                csv,
                password: k.password,
            }),
            (Some(_), _, _) => Err(de::Error::custom(
                "agents: `csv` cannot be combined with `prefix`, `count` or `start`",
            )),
            (None, Some(prefix), Some(count)) => Ok(AgentPool::Pattern {
                prefix,
                count,
                password: k.password.ok_or_else(|| {
                    de::Error::custom("agents: a `prefix` pool needs `password: ${VAR}`")
                })?,
                start: k.start,
            }),
            _ => Err(de::Error::custom(
                "agents: give either `csv: FILE` or both `prefix` and `count`",
            )),
        }
    }
}

deserialize_by_visitor! {
    StatusSet, 'de, "a status code or a list of status codes",
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusSet, E> {
        code(v).map(StatusSet::One)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusSet, E> {
        Err(E::custom(format!(
            "`{v}` is not an HTTP status code (100..599)"
        )))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StatusSet, A::Error> {
        let mut codes = Vec::new();
        while let Some(v) = seq.next_element::<u64>()? {
            codes.push(code(v)?);
        }
        Ok(StatusSet::Many(codes))
    }
}

deserialize_by_visitor! {
    SchemaSource, 'de, "a path to a JSON Schema file or an inline schema (a mapping)",
    fn visit_str<E: de::Error>(self, v: &str) -> Result<SchemaSource, E> {
        Ok(SchemaSource::Path(PathBuf::from(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<SchemaSource, E> {
        Ok(SchemaSource::Inline(serde_json::Value::Bool(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SchemaSource, A::Error> {
        serde_json::Value::deserialize(MapAccessDeserializer::new(map))
            .map(SchemaSource::Inline)
    }
}

deserialize_by_visitor! {
    DispositionChoice, 'de, "a disposition name or a mapping of names to weights",
    fn visit_str<E: de::Error>(self, v: &str) -> Result<DispositionChoice, E> {
        Ok(DispositionChoice::Named(v.to_string()))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DispositionChoice, A::Error> {
        BTreeMap::<String, u32>::deserialize(MapAccessDeserializer::new(map))
            .map(DispositionChoice::Weighted)
    }
}
