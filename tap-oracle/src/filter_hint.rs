//! Why discovery found nothing: each `filter_schemas` entry and `filter_tables` include
//! pattern that admits no table, with the near misses among the tables that exist (the
//! same name in another case, or a name a couple of edits away), so a filter that
//! silently selects nothing (`hr.*`, `HR.EMPLOYEE`) is named in a warning.
//!
//! Pure functions over `(owner, table)` names; `discover` logs what they return.

use singer_core::discovery::{glob_match, TableFilter};

/// At most this many near misses are named per filter.
const MAX_NEAR_MISSES: usize = 5;

/// A filter entry that admits no table, and the tables it may have meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unmatched {
    /// `filter_schemas` or `filter_tables`.
    pub setting: &'static str,
    /// The entry as written (`hr.*`).
    pub entry: String,
    /// `OWNER.TABLE` (or `OWNER` for a schema) names it may have meant.
    pub near_misses: Vec<String>,
    /// Tables it names exist, but the other filters exclude them all.
    pub excluded_by_others: bool,
}

impl Unmatched {
    /// The warning line for this entry.
    pub(crate) fn message(&self) -> String {
        let mut text = format!("{} entry {:?} ", self.setting, self.entry);
        if self.excluded_by_others {
            text.push_str("names tables, but the other filters exclude every one of them");
            return text;
        }
        text.push_str("matches no table (names are case-sensitive)");
        if self.near_misses.is_empty() {
            text.push_str("; no similar name exists");
        } else {
            text.push_str(&format!("; did you mean {}?", self.near_misses.join(", ")));
        }
        text
    }
}

/// The entries of `filter` that admit none of `admitted` (the tables discovery kept),
/// each with its near misses among `existing` (every table the user can see).
pub(crate) fn unmatched_filters(
    filter: &TableFilter,
    admitted: &[(String, String)],
    existing: &[(String, String)],
) -> Vec<Unmatched> {
    let mut out = Vec::new();
    for schema in &filter.schemas {
        if admitted.iter().any(|(owner, _)| owner == schema) {
            continue;
        }
        let mut owners: Vec<&str> = existing.iter().map(|(o, _)| o.as_str()).collect();
        owners.sort_unstable();
        owners.dedup();
        let near = owners
            .iter()
            .filter(|owner| *owner != schema && similar(schema, owner))
            .map(|owner| (*owner).to_owned());
        out.push(Unmatched {
            setting: "filter_schemas",
            entry: schema.clone(),
            near_misses: near.take(MAX_NEAR_MISSES).collect(),
            excluded_by_others: owners.contains(&schema.as_str()),
        });
    }
    for (owner_glob, table_glob) in &filter.include {
        let hits = |(owner, table): &(String, String)| {
            glob_match(owner_glob, owner) && glob_match(table_glob, table)
        };
        if admitted.iter().any(hits) {
            continue;
        }
        let mut near: Vec<String> = existing
            .iter()
            .filter(|name| !hits(name))
            .filter(|(owner, table)| near_glob(owner_glob, owner) && near_glob(table_glob, table))
            .map(|(owner, table)| format!("{owner}.{table}"))
            .collect();
        near.sort_unstable();
        near.truncate(MAX_NEAR_MISSES);
        out.push(Unmatched {
            setting: "filter_tables",
            entry: format!("{owner_glob}.{table_glob}"),
            near_misses: near,
            excluded_by_others: existing.iter().any(hits),
        });
    }
    out
}

/// A glob that matches `name` ignoring case, or (without wildcards) is within a
/// couple of edits of it.
fn near_glob(glob: &str, name: &str) -> bool {
    let (glob_upper, name_upper) = (glob.to_uppercase(), name.to_uppercase());
    glob_match(&glob_upper, &name_upper) || (!glob.contains(['*', '?']) && similar(glob, name))
}

/// The same name in another case, or one a couple of edits away (about one per four
/// characters: one up to five, two up to nine, at most three), ignoring case.
fn similar(wanted: &str, name: &str) -> bool {
    let (a, b) = (wanted.to_uppercase(), name.to_uppercase());
    let allowed = ((a.chars().count() + 2) / 4).clamp(1, 3);
    edit_distance(&a, &b) <= allowed
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(o, t)| (o.to_string(), t.to_string()))
            .collect()
    }

    fn hr() -> Vec<(String, String)> {
        names(&[
            ("HR", "EMPLOYEES"),
            ("HR", "DEPARTMENTS"),
            ("HR", "JOB_HISTORY"),
            ("SALES", "ORDERS"),
        ])
    }

    fn unmatched(schemas: &[&str], patterns: &[&str]) -> Vec<Unmatched> {
        let filter = TableFilter::new(
            &schemas.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &patterns.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        );
        let existing = hr();
        let admitted: Vec<(String, String)> = existing
            .iter()
            .filter(|(o, t)| filter.admits(o, t))
            .cloned()
            .collect();
        unmatched_filters(&filter, &admitted, &existing)
    }

    #[test]
    fn a_filter_in_the_wrong_case_names_the_tables_it_missed() {
        let found = unmatched(&[], &["hr.*"]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message(),
            "filter_tables entry \"hr.*\" matches no table (names are case-sensitive); \
             did you mean HR.DEPARTMENTS, HR.EMPLOYEES, HR.JOB_HISTORY?"
        );
        let found = unmatched(&["hr"], &[]);
        assert_eq!(found[0].setting, "filter_schemas");
        assert_eq!(found[0].near_misses, ["HR"]);
    }

    #[test]
    fn a_name_a_letter_off_is_a_near_miss() {
        let found = unmatched(&[], &["HR.EMPLOYEE", "HR.DEPARTMENTS"]);
        assert_eq!(found.len(), 1, "HR.DEPARTMENTS matched: {found:?}");
        assert_eq!(found[0].entry, "HR.EMPLOYEE");
        assert_eq!(found[0].near_misses, ["HR.EMPLOYEES"]);
        let found = unmatched(&[], &["sales.ordres"]);
        assert_eq!(found[0].near_misses, ["SALES.ORDERS"]);
    }

    #[test]
    fn nothing_similar_says_so_and_matched_filters_are_quiet() {
        let found = unmatched(&["PAYROLL"], &["X.NOTHING_LIKE_IT"]);
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|u| u.near_misses.is_empty()));
        assert!(found[1].message().ends_with("no similar name exists"));
        assert!(unmatched(&["HR"], &["HR.*", "!HR.JOB_*"]).is_empty());
        assert!(unmatched(&[], &[]).is_empty());
    }

    #[test]
    fn a_schema_filter_and_a_table_filter_that_exclude_each_other_are_both_named() {
        // Each exists, but together they admit nothing.
        let found = unmatched(&["SALES"], &["HR.EMPLOYEES"]);
        let entries: Vec<&str> = found.iter().map(|u| u.entry.as_str()).collect();
        assert_eq!(entries, ["SALES", "HR.EMPLOYEES"]);
        assert!(found
            .iter()
            .all(|u| u.excluded_by_others && u.near_misses.is_empty()));
        assert_eq!(
            found[1].message(),
            "filter_tables entry \"HR.EMPLOYEES\" names tables, but the other filters exclude every one of them"
        );
    }

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("EMPLOYEE", "EMPLOYEES"), 1);
        assert_eq!(edit_distance("ORDRES", "ORDERS"), 2);
        assert_eq!(edit_distance("Zoë", "Zoe"), 1);
        assert_eq!(edit_distance("", "AB"), 2);
    }
}
