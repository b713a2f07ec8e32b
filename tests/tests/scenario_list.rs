//! The scenario list is well-formed: enough scenarios, unique names, every mark defined before it
//! is used, and the documentation table identical to the data.

use std::collections::HashSet;

use reconnect_testkit::scenario::{all, markdown_table, Expect, Step};

#[test]
fn at_least_25_scenarios_with_unique_snake_case_names() {
    let list = all();
    assert!(list.len() >= 25, "only {} scenarios", list.len());
    let mut names = HashSet::new();
    for s in &list {
        assert!(names.insert(s.name), "duplicate scenario name {}", s.name);
        assert!(
            s.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{} is not snake_case",
            s.name
        );
        assert!(
            !s.fault.is_empty() && !s.expect.is_empty(),
            "{} lacks prose",
            s.name
        );
        assert!(
            s.steps
                .iter()
                .any(|st| matches!(st, Step::Expect(_) | Step::Await(..))),
            "{} checks nothing",
            s.name
        );
        assert!(
            s.steps.contains(&Step::Start),
            "{} never starts the client",
            s.name
        );
    }
}

#[test]
fn marks_are_defined_before_use() {
    for s in all() {
        let mut marks = HashSet::new();
        for (i, step) in s.steps.iter().enumerate() {
            let used = match step {
                Step::Mark(m) => {
                    marks.insert(*m);
                    continue;
                }
                Step::Expect(
                    Expect::NotRestoredSince(m, _)
                    | Expect::DisconnectedWithin(m, _)
                    | Expect::AbandonedWithin(m, _)
                    | Expect::Backoff { since: m, .. }
                    | Expect::BackoffReset(m)
                    | Expect::AcceptedSince(m, _)
                    | Expect::FdsStable(m, _)
                    | Expect::ResourcesBounded { since: m, .. },
                ) => *m,
                _ => continue,
            };
            assert!(
                marks.contains(used),
                "{} step {i} uses mark {used:?} before it is set",
                s.name
            );
        }
    }
}

#[test]
fn the_documented_table_is_the_list() {
    let docs = include_str!("../src/scenario/SCENARIOS.md");
    let table = markdown_table(&all());
    assert!(
        docs.contains(&table),
        "src/scenario/SCENARIOS.md is out of date; regenerate its table with\n\
         `cargo run -p reconnect-testkit --example scenario_table`:\n\n{table}"
    );
}
