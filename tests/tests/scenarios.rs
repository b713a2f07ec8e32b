//! The whole scenario suite against the kit's reference client: validates the suite itself (a
//! careful client passes everything, over ws, wss and through the proxy) and shows that planted
//! bugs are caught with a readable explanation.

mod reference;

use std::time::Duration;

use reconnect_testkit::scenario::{
    all, assert_scenarios_pass, run_scenario, Await, Expect, RunOptions, Scenario, Step,
};
use reference::{Bug, RefClient, Reference};

/// Scenarios the reference client cannot play, with the reason.
///
/// The invalid-close-code scenarios judge the reason a client gives, and tungstenite replaces an
/// invalid close code with 1002 ("Protocol violation") before its user sees the frame; the
/// reference client has no frame parser of its own to learn the code the server sent. The
/// bindings run them.
const NOT_PLAYABLE: &[&str] = &[
    "invalid_close_code_999",
    "invalid_close_code_1005",
    "invalid_close_code_1006",
    "invalid_close_code_5000",
];

fn suite(options: RunOptions) {
    let playable: Vec<Scenario> = all()
        .into_iter()
        .filter(|s| !NOT_PLAYABLE.contains(&s.name))
        .collect();
    assert_scenarios_pass::<Reference>(&playable, options);
}

#[test]
fn the_unplayable_scenarios_exist_and_fail_for_the_documented_reason() {
    for name in NOT_PLAYABLE {
        let sc = scenario(name);
        let failure = run_scenario::<Reference>(&sc, &RunOptions::default())
            .expect_err("the reference client cannot name the invalid code; is it playable now?");
        assert!(
            failure
                .to_string()
                .contains("does not name the invalid close code"),
            "{failure}"
        );
    }
}

#[test]
fn every_scenario_passes_with_the_reference_client() {
    suite(RunOptions::default());
}

#[test]
fn every_scenario_passes_over_wss() {
    suite(RunOptions {
        tls: true,
        ..RunOptions::default()
    });
}

#[test]
fn every_scenario_passes_through_the_proxy() {
    suite(RunOptions {
        proxy: true,
        ..RunOptions::default()
    });
}

fn scenario(name: &str) -> Scenario {
    all()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"))
}

/// Runs `sc` with a client carrying `BUGS` and requires a failure whose text mentions `why`.
fn caught<const BUGS: u32>(sc: &Scenario, why: &str) {
    let failure = run_scenario::<RefClient<BUGS>>(sc, &RunOptions::default())
        .expect_err("the planted bug went unnoticed");
    let text = failure.to_string();
    assert!(
        text.contains(why),
        "caught, but not for the expected reason ({why:?}):\n{text}"
    );
    assert!(
        text.contains(sc.name) && text.contains("server:"),
        "the explanation lacks context:\n{text}"
    );
}

#[test]
fn subscribing_before_the_auth_ack_is_caught() {
    caught::<{ Bug::SUBSCRIBE_BEFORE_AUTH_ACK }>(&scenario("slow_auth_ack_waited_for"), "auth");
}

#[test]
fn retrying_a_fatal_auth_rejection_is_caught() {
    caught::<{ Bug::RETRY_FATAL }>(&scenario("auth_rejected_fatal_stops"), "no Stopped");
}

#[test]
fn a_client_without_pings_misses_the_silent_stall() {
    caught::<{ Bug::NO_PING }>(
        &scenario("silent_stall_detected_by_ping"),
        "no Disconnected",
    );
}

#[test]
fn keeping_the_old_socket_is_caught_as_concurrency_and_as_an_fd_leak() {
    caught::<{ Bug::KEEP_OLD_SOCKET }>(&scenario("silent_stall_detected_by_ping"), "open at once");
    caught::<{ Bug::KEEP_OLD_SOCKET }>(&scenario("fd_stable_after_many_cycles"), "a leak");
}

#[test]
fn restoring_twice_is_caught() {
    caught::<{ Bug::RESTORE_TWICE }>(&scenario("baseline_live"), "once each");
}

#[test]
fn resetting_the_backoff_on_every_handshake_is_caught() {
    caught::<{ Bug::RESET_BACKOFF_ON_CONNECT }>(
        &scenario("short_uptime_keeps_backoff_growing"),
        "never grew",
    );
}

#[test]
fn a_hidden_gap_is_caught_by_the_gap_invariant() {
    // Without the explicit Await/Expect on the gap, only the global HonestGaps invariant is left
    // to notice the silent jump.
    let mut sc = scenario("skipped_seq_reported_as_gap");
    sc.steps.retain(|s| {
        !matches!(
            s,
            Step::Await(Await::Gap, _) | Step::Expect(Expect::GapReported(_))
        )
    });
    sc.steps
        .push(Step::Await(Await::Messages("a", 5), Duration::from_secs(5)));
    caught::<{ Bug::HIDE_GAPS }>(&sc, "jumps in the sequence numbers");
}

#[test]
fn reconnecting_after_close_is_caught() {
    caught::<{ Bug::RECONNECT_AFTER_CLOSE }>(&scenario("client_close_is_clean"), "new connection");
}

#[test]
fn rejecting_a_whole_batch_for_one_bad_channel_is_caught() {
    for name in [
        "batch_rejected_naming_the_channel",
        "batch_rejected_without_naming",
    ] {
        caught::<{ Bug::NO_BATCH_ISOLATION }>(&scenario(name), "channels reported rejected");
    }
}

#[test]
fn letting_a_short_lived_token_expire_is_caught() {
    caught::<{ Bug::NO_RENEWAL }>(
        &scenario("short_token_renewed_in_place"),
        "expected the first and at least 1 renewal",
    );
}
