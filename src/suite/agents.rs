//! The agent pool resolved to a list of credentials at load time.
//!
//! A CSV pool is read and checked here, so a missing file or a bad row is a validation error that
//! names the file and line. Passwords stay [`SecretRef`]s: only `${VAR}` references are accepted,
//! and environment variables are read at run time (`SecretRef::resolve`), never here.

use std::ops::Range;

use super::limits::MAX_AGENTS;
use super::model::AgentCredential;
use super::values::SecretRef;

/// Problems reported for one CSV before reading stops.
const MAX_CSV_PROBLEMS: usize = 50;

/// The password of the embedded simulator's generated agents.
pub const DEV_AGENT_PASSWORD: &str = "agent-password";

/// `prefix<start>` .. `prefix<start+count-1>`, all with `password`.
pub fn pattern(prefix: &str, start: u32, count: u32, password: &SecretRef) -> Vec<AgentCredential> {
    (0..count)
        .map(|i| AgentCredential {
            username: format!("{prefix}{}", u64::from(start) + u64::from(i)),
            password: password.clone(),
        })
        .collect()
}

/// A problem in a CSV file: the byte range of the line, a message, and the byte range to mask
/// when the line is shown (a literal password).
#[derive(Debug, Clone, PartialEq)]
pub struct CsvProblem {
    pub line: Range<usize>,
    pub message: String,
    pub mask: Option<Range<usize>>,
}

/// Reads a pool CSV: a header with a `username` column and an optional `password` column of
/// `${VAR}` references; `default_password` serves rows without one. Returns every problem.
pub fn parse_csv(
    text: &str,
    default_password: Option<&SecretRef>,
) -> Result<Vec<AgentCredential>, Vec<CsvProblem>> {
    let line_at = |byte: usize| -> Range<usize> {
        let start = text[..byte.min(text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        start..start + text[start..end].trim_end_matches('\r').len()
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(vec![CsvProblem {
                line: line_at(0),
                message: e.to_string(),
                mask: None,
            }]);
        }
    };
    let col = |name: &str| headers.iter().position(|h| h == name);
    let Some(user_col) = col("username") else {
        return Err(vec![CsvProblem {
            line: line_at(0),
            message: "the header needs a `username` column (and optionally `password`)".into(),
            mask: None,
        }]);
    };
    let pass_col = col("password");
    if pass_col.is_none() && default_password.is_none() {
        return Err(vec![CsvProblem {
            line: line_at(0),
            message: "no `password` column: add one or give the pool `password: ${VAR}`".into(),
            mask: None,
        }]);
    }
    let mut agents = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        if agents.len() >= MAX_AGENTS as usize || problems.len() >= MAX_CSV_PROBLEMS {
            let byte = record
                .as_ref()
                .ok()
                .and_then(|r| r.position())
                .map_or(0, |p| p.byte() as usize);
            problems.push(CsvProblem {
                line: line_at(byte),
                message: if problems.len() >= MAX_CSV_PROBLEMS {
                    format!("{MAX_CSV_PROBLEMS} problems found: the rows from here were not read")
                } else {
                    format!("more than {MAX_AGENTS} agents: a fleet holds at most {MAX_AGENTS}")
                },
                mask: None,
            });
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let byte = e.position().map_or(0, |p| p.byte() as usize);
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("this row has {len} fields, the header has {expected_len}"),
                    _ => e.to_string(),
                };
                problems.push(CsvProblem {
                    line: line_at(byte),
                    message,
                    mask: None,
                });
                continue;
            }
        };
        let line = line_at(record.position().map_or(0, |p| p.byte() as usize));
        let username = record.get(user_col).unwrap_or_default();
        if username.is_empty() {
            problems.push(CsvProblem {
                line,
                message: "empty username".into(),
                mask: None,
            });
            continue;
        }
        let cell = pass_col.and_then(|c| record.get(c)).unwrap_or_default();
        let password = if cell.is_empty() {
            match default_password {
                Some(p) => p.clone(),
                None => {
                    problems.push(CsvProblem {
                        line,
                        message: format!("no password for `{username}`"),
                        mask: None,
                    });
                    continue;
                }
            }
        } else {
            match cell.parse::<SecretRef>() {
                Ok(p) => p,
                Err(_) => {
                    let message = "a literal password is not allowed: write a `${VAR}` reference, \
                                   or leave the cell empty to use the pool's `password`"
                        .to_string();
                    let mask = text[line.clone()]
                        .find(',')
                        .map(|i| line.start + i + 1..line.end);
                    problems.push(CsvProblem {
                        line,
                        message,
                        mask,
                    });
                    continue;
                }
            }
        };
        agents.push(AgentCredential {
            username: username.to_string(),
            password,
        });
    }
    if problems.is_empty() {
        Ok(agents)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_numbers_from_start() {
        let p = SecretRef::env("PW");
        let names: Vec<_> = pattern("agent", 7, 3, &p)
            .into_iter()
            .map(|a| a.username)
            .collect();
        assert_eq!(names, ["agent7", "agent8", "agent9"]);
    }

    #[test]
    fn csv_rows_take_their_own_or_the_default_password() {
        let text = "username,password\nann,${ANN_PW}\nbob,\n";
        let agents =
            parse_csv(text, Some(&SecretRef::env("PW"))).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(agents.len(), 2);
        assert_eq!(agents[0].username, "ann");
        assert_eq!(agents[0].password, SecretRef::env("ANN_PW"));
        assert_eq!(agents[1].password, SecretRef::env("PW"));
    }

    #[test]
    fn csv_problems_point_at_their_line_and_mask_literal_passwords() {
        let text = "username,password\nann,hunter2\nbob,${X},extra\n,${Y}\n";
        let problems = parse_csv(text, None).err().unwrap_or_default();
        let lines: Vec<_> = problems.iter().map(|p| &text[p.line.clone()]).collect();
        assert_eq!(lines, ["ann,hunter2", "bob,${X},extra", ",${Y}"]);
        assert_eq!(problems[0].mask.clone().map(|m| &text[m]), Some("hunter2"));
        assert_eq!(
            problems[1].message,
            "this row has 3 fields, the header has 2"
        );
        assert_eq!(problems[2].message, "empty username");
    }

    #[test]
    fn csv_needs_a_username_column() {
        let problems = parse_csv("user,password\n", None).err().unwrap_or_default();
        assert_eq!(
            problems[0].message,
            "the header needs a `username` column (and optionally `password`)"
        );
    }
}
