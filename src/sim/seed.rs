//! Seed data of the simulated site: business units and their agent groups, script trees,
//! disposition categories, busy statuses, the default custom script and co-browse URLs.
//!
//! The built-in default is `src/sim/seed.yaml` (documented there), compiled in with
//! `include_str!`; a config replaces it with `seed_file:` (a path) or `seed_data:` (inline). The
//! handlers render the reference's bodies from it (`settings`, `summaryData`, `scriptTree`, …).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The built-in seed (a documented YAML file).
pub const DEFAULT_SEED: &str = include_str!("seed.yaml");

/// Everything the site knows besides agents and engagements.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    pub business_units: Vec<BusinessUnit>,
    #[serde(default)]
    pub script_trees: Vec<ScriptTree>,
    #[serde(default)]
    pub dispositions: Vec<Category>,
    #[serde(default)]
    pub busy_statuses: Vec<String>,
    #[serde(default)]
    pub reserved_statuses: Vec<String>,
    #[serde(default)]
    pub default_custom_script: CustomScript,
    #[serde(default)]
    pub cobrowse_urls: Vec<CobrowseUrl>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BusinessUnit {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub site_id: String,
    #[serde(default)]
    pub agent_groups: Vec<AgentGroup>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgentGroup {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScriptTree {
    pub id: String,
    pub name: String,
    pub site_id: String,
    #[serde(default)]
    pub folders: Vec<ScriptFolder>,
    #[serde(default)]
    pub groups: Vec<ScriptGroup>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScriptFolder {
    pub name: String,
    #[serde(default)]
    pub groups: Vec<ScriptGroup>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScriptGroup {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub scripts: Vec<Script>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Script {
    pub value: String,
    #[serde(default = "text_type", rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub hotkey: String,
    #[serde(default)]
    pub keywords: String,
}

fn text_type() -> String {
    "text".into()
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustomScript {
    #[serde(default)]
    pub lng: String,
    #[serde(default)]
    pub scripts: Vec<CustomLine>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustomLine {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    #[serde(default)]
    pub non_editable: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CobrowseUrl {
    pub site_id: String,
    pub url: String,
}

impl Default for Seed {
    fn default() -> Self {
        // The built-in file is checked by a unit test; should it ever fail to parse, the
        // simulator still starts with one business unit and one group.
        serde_yaml::from_str(DEFAULT_SEED).unwrap_or_else(|_| Seed {
            business_units: vec![BusinessUnit {
                id: "22".into(),
                name: "Default".into(),
                display_name: None,
                site_id: "306".into(),
                agent_groups: vec![AgentGroup {
                    id: "1".into(),
                    name: "Default".into(),
                    display_name: None,
                }],
            }],
            script_trees: Vec::new(),
            dispositions: Vec::new(),
            busy_statuses: Vec::new(),
            reserved_statuses: Vec::new(),
            default_custom_script: CustomScript::default(),
            cobrowse_urls: Vec::new(),
        })
    }
}

/// Seed data the simulator cannot serve.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SeedError {
    #[error("seed data: {0}")]
    Syntax(String),
    #[error("seed data: business_units must list at least one unit")]
    NoBusinessUnits,
    #[error("seed data: agent group id {0} appears twice")]
    DuplicateGroup(String),
}

impl Seed {
    /// Parses a seed document.
    pub fn parse(text: &str) -> Result<Self, SeedError> {
        let s: Seed = serde_yaml::from_str(text).map_err(|e| SeedError::Syntax(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    /// Checks what serde cannot: at least one business unit, unique group ids.
    pub fn validate(&self) -> Result<(), SeedError> {
        if self.business_units.is_empty() {
            return Err(SeedError::NoBusinessUnits);
        }
        let mut seen = std::collections::HashSet::new();
        for g in self.groups() {
            if !seen.insert(g.1.id.as_str()) {
                return Err(SeedError::DuplicateGroup(g.1.id.clone()));
            }
        }
        Ok(())
    }

    /// Every agent group with its business unit.
    pub fn groups(&self) -> impl Iterator<Item = (&BusinessUnit, &AgentGroup)> {
        self.business_units
            .iter()
            .flat_map(|bu| bu.agent_groups.iter().map(move |g| (bu, g)))
    }

    /// The agent group with this id and its business unit.
    pub fn group(&self, id: &str) -> Option<(&BusinessUnit, &AgentGroup)> {
        self.groups().find(|(_, g)| g.id == id)
    }

    pub fn business_unit(&self, id: &str) -> Option<&BusinessUnit> {
        self.business_units.iter().find(|b| b.id == id)
    }

    /// A script group anywhere in the script trees.
    pub fn script_group(&self, id: &str) -> Option<&ScriptGroup> {
        self.script_trees.iter().find_map(|t| {
            t.groups
                .iter()
                .chain(t.folders.iter().flat_map(|f| f.groups.iter()))
                .find(|g| g.id == id)
        })
    }

    /// `scriptTreesOfSite` for one site (all sites when `None`); scripts only when `full`.
    pub fn script_trees_json(&self, site: Option<&str>, full: bool) -> Value {
        let trees = self
            .script_trees
            .iter()
            .filter(|t| site.is_none_or(|s| s == t.site_id));
        let out: Vec<Value> = by_site(trees, |t| &t.site_id)
            .into_iter()
            .map(|(s, trees)| {
                let trees: Vec<Value> = trees.into_iter().map(|t| tree_json(t, full)).collect();
                let checksum = checksum(&Value::Array(trees.clone()));
                json!({"checksum": checksum, "scriptTrees": trees, "siteId": s})
            })
            .collect();
        json!({ "scriptTreesOfSite": out })
    }
}

/// `items` grouped by their site (`site_of`), the sites in order of first appearance.
pub fn by_site<'a, T>(
    items: impl IntoIterator<Item = &'a T>,
    site_of: impl Fn(&'a T) -> &'a str,
) -> Vec<(&'a str, Vec<&'a T>)> {
    let mut sites: Vec<(&str, Vec<&T>)> = Vec::new();
    for item in items {
        let site = site_of(item);
        match sites.iter_mut().find(|(s, _)| *s == site) {
            Some((_, of_site)) => of_site.push(item),
            None => sites.push((site, vec![item])),
        }
    }
    sites
}

fn tree_json(t: &ScriptTree, full: bool) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "scriptGroupFolder": t.folders.iter().map(|f| json!({
            "name": f.name,
            "scriptGroup": f.groups.iter().map(|g| group_json(g, full)).collect::<Vec<_>>(),
            "scriptGroupFolder": [],
        })).collect::<Vec<_>>(),
        "scriptGroups": t.groups.iter().map(|g| group_json(g, full)).collect::<Vec<_>>(),
    })
}

/// A script group as the reference's `scriptGroup` body (scripts left out unless `full`).
pub fn group_json(g: &ScriptGroup, full: bool) -> Value {
    let scripts: Vec<Value> = if full {
        g.scripts
            .iter()
            .enumerate()
            .map(|(i, s)| {
                json!({
                    "automaton-id": "",
                    "automaton-type": "",
                    "command": format!("script-{}-{}", g.id, i + 1),
                    "devices": "all",
                    "hotkey": s.hotkey,
                    "keywords": s.keywords,
                    "nonEditable": "true",
                    "scriptType": s.kind,
                    "scriptValue": s.value,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    json!({"errorMsg": "", "id": g.id, "name": g.name, "scriptGroup": scripts})
}

/// A short, stable checksum (FNV-1a of the JSON text), so desktops can cache trees.
fn checksum(v: &Value) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in v.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_seed_parses_and_is_valid() {
        let s = Seed::parse(DEFAULT_SEED).expect("built-in seed parses");
        assert_eq!(s.business_units.len(), 2);
        assert_eq!(
            s.group("2")
                .map(|(bu, g)| (bu.id.as_str(), g.name.as_str())),
            Some(("22", "Billing"))
        );
        assert_eq!(s.dispositions.len(), 3);
        assert!(s.script_group("11").is_some());
        assert_eq!(Seed::default(), s);
    }

    #[test]
    fn duplicate_group_ids_are_rejected() {
        let e = Seed::parse(
            "business_units:\n - {id: a, name: A, site_id: '1', agent_groups: [{id: '1', name: x}]}\n - {id: b, name: B, site_id: '1', agent_groups: [{id: '1', name: y}]}\n",
        )
        .expect_err("duplicate");
        assert!(e.to_string().contains("appears twice"), "{e}");
    }

    #[test]
    fn script_trees_leave_scripts_out_unless_full() {
        let s = Seed::default();
        let short = s.script_trees_json(Some("306"), false);
        let full = s.script_trees_json(Some("306"), true);
        let g = &short["scriptTreesOfSite"][0]["scriptTrees"][0]["scriptGroups"][0];
        assert_eq!(g["scriptGroup"], json!([]));
        let g = &full["scriptTreesOfSite"][0]["scriptTrees"][0]["scriptGroups"][0];
        assert_eq!(g["scriptGroup"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            s.script_trees_json(Some("999"), true)["scriptTreesOfSite"],
            json!([])
        );
    }
}
