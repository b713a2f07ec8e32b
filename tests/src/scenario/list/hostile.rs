//! The hostile-server scenarios: upgrade replies no server should send, frames built to exhaust
//! a client, invalid close codes, batch rejections and short-lived tokens. Each also checks that
//! the process's descriptors and memory stay bounded.

use std::time::Duration;

use super::{after_opening, clear, expect, inject, live, mark, ms, recovers, restored_ab, sc};
use super::{start, then, until_cleared, wait, MARGIN};
use crate::scenario::{Await, Expect, Invariant, Scenario, Step, Within};
use crate::server::{Fault, FaultKind, Persist};

/// Descriptors a hostile scenario may leave open beyond its mark: the process is shared with the
/// scenarios running beside it.
const FD_SLACK: usize = 40;
/// Resident memory a hostile scenario may add (MiB): generous, as the process is shared, yet far
/// below what allocating an announced 2^62-byte frame or buffering a flood would take.
const RSS_SLACK_MIB: u64 = 64;

/// The fds and memory of the process stay within bounds since the mark `base`.
fn bounded() -> Step {
    expect(Expect::ResourcesBounded {
        since: "base",
        fds: FD_SLACK,
        rss_mib: RSS_SLACK_MIB,
    })
}

/// The server closes the live connection with an invalid close code; the client reconnects and
/// says which code was wrong.
fn invalid_close_code(name: &'static str, fault: &'static str, code: u16) -> Scenario {
    sc(name, fault, "reconnects and restores; its disconnect reason names the invalid code, not the 1002 it answers with")
        .steps(after_opening(vec![
            mark("base"),
            inject(Fault::close(code, "invalid code")),
            wait(Await::Disconnected),
            expect(Expect::DisconnectNamesCloseCode(code)),
            live(),
            restored_ab(),
            wait(Await::Messages("a", 3)),
            bounded(),
        ]))
}

/// One subscribe batch holding a bad channel is refused whole; the good channels still go live.
fn batch_rejected(name: &'static str, fault: &'static str, naming: bool) -> Scenario {
    sc(
        name,
        fault,
        "reports bad rejected, and only bad; a and b are subscribed and flow",
    )
    .client(|s| s.channels = vec!["a".into(), "bad".into(), "b".into()])
    .relax(&[Invariant::OncePerConnection])
    .steps(vec![
        mark("base"),
        Step::Inject(
            Fault::reject_batch_for("bad", naming),
            Persist::UntilCleared,
        ),
        start(),
        wait(Await::Rejected("bad")),
        live(),
        expect(Expect::RejectedExactly(&["bad"])),
        wait(Await::Messages("a", 3)),
        wait(Await::Messages("b", 3)),
        expect(Expect::NeverSubscribed("bad")),
        bounded(),
    ])
}

/// The hostile-server scenarios, in documentation order.
pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        sc("malformed_status_line_retried", "upgrades answered with the status line `HTTP/1.1 000 Zero`, then `HTTP/1.1 099 X`, until cleared", "treats both as transient: retries (never stops), goes live once cleared")
            .steps(vec![
                mark("base"),
                until_cleared(Fault::malformed_status("HTTP/1.1 000 Zero")),
                start(),
                wait(Await::Reconnects(2)),
                clear(FaultKind::MalformedStatus),
                until_cleared(Fault::malformed_status("HTTP/1.1 099 X")),
                wait(Await::Reconnects(2)),
                clear(FaultKind::MalformedStatus),
                live(),
                restored_ab(),
                wait(Await::Messages("a", 3)),
                bounded(),
            ]),
        sc("wrong_accept_key_retried", "upgrades answered 101 with a wrong Sec-WebSocket-Accept, until cleared", "treats it as transient: retries (never stops), goes live once cleared")
            .steps(vec![
                mark("base"),
                until_cleared(Fault::WrongAccept),
                start(),
                wait(Await::Reconnects(3)),
                clear(FaultKind::WrongAccept),
                live(),
                restored_ab(),
                wait(Await::Messages("a", 3)),
                bounded(),
            ]),
        sc("trickled_upgrade_connect_timeout", "upgrades answered one byte per second, until cleared; connect timeout 400 ms", "abandons each within the connect timeout (+250 ms), retries, goes live once cleared")
            .client(|s| s.connect_timeout = ms(400))
            .steps(vec![
                mark("base"),
                until_cleared(Fault::TrickleUpgrade { interval: Duration::from_secs(1) }),
                mark("start"),
                start(),
                wait(Await::Reconnects(2)),
                expect(Expect::AbandonedWithin("start", Within::Connect(MARGIN))),
                clear(FaultKind::TrickleUpgrade),
                live(),
                restored_ab(),
                bounded(),
            ]),
        sc("huge_frame_header_refused", "a frame header announcing 2^62 payload bytes (client limit 1 MiB)", "refuses it from the header without allocating: reconnects and restores, memory bounded")
            .steps(after_opening(then(
                vec![mark("base"), inject(Fault::HugeFrameHeader { announced: 1 << 62 })],
                then(recovers(), vec![bounded()]),
            ))),
        sc("empty_continuations_idle_timeout", "a non-final text frame, then empty continuation frames without end; no pings, idle timeout 350 ms", "no message completes, so the idle watchdog fires within idle timeout (+250 ms): reconnects, restores; memory bounded")
            .client(|s| {
                s.ping_interval = None;
                s.idle_timeout = Some(ms(350));
            })
            .steps(after_opening(vec![
                mark("base"),
                inject(Fault::EmptyContinuations),
                wait(Await::Disconnected),
                expect(Expect::DisconnectedWithin("base", Within::Idle(MARGIN))),
                live(),
                restored_ab(),
                wait(Await::Messages("a", 3)),
                bounded(),
            ])),
        sc("ping_flood_still_live", "pings as fast as the client takes them, until cleared", "keeps answering with pongs and stays connected; a subscription and a send made during the flood go through; memory bounded")
            .steps(after_opening(vec![
                mark("base"),
                until_cleared(Fault::PingFlood),
                expect(Expect::StaysConnectedFor(ms(300))),
                expect(Expect::PongsAnswered(20)),
                Step::Subscribe("c"),
                wait(Await::Subscribed("c")),
                wait(Await::Messages("c", 2)),
                Step::Send("sent-during-the-flood"),
                expect(Expect::StaysConnectedFor(ms(300))),
                expect(Expect::TextsAfterLive(&["sent-during-the-flood"])),
                expect(Expect::PongsAnswered(40)),
                expect(Expect::AcceptedSince("base", 0)),
                clear(FaultKind::PingFlood),
                bounded(),
            ])),
        invalid_close_code("invalid_close_code_999", "close frame with code 999 (below the valid range)", 999),
        invalid_close_code("invalid_close_code_1005", "close frame with code 1005 on the wire (reserved: never sent)", 1005),
        invalid_close_code("invalid_close_code_1006", "close frame with code 1006 on the wire (reserved: never sent)", 1006),
        invalid_close_code("invalid_close_code_5000", "close frame with code 5000 (above the valid range)", 5000),
        batch_rejected("batch_rejected_naming_the_channel", "subscribe requests naming bad refused whole with one error whose data.channel is bad, until cleared", true),
        batch_rejected("batch_rejected_without_naming", "subscribe requests naming bad refused whole with one error that does not say which channel, until cleared", false),
        sc("omitted_channel_reported_rejected", "the server leaves b out of every subscribe ack", "reports b rejected (never silently lost) and nothing else; a is subscribed and flows")
            .relax(&[Invariant::OncePerConnection])
            .steps(vec![
                mark("base"),
                until_cleared(Fault::nack_omit("b")),
                start(),
                wait(Await::Rejected("b")),
                wait(Await::Messages("a", 3)),
                expect(Expect::RejectedExactly(&["b"])),
                expect(Expect::NeverSubscribed("b")),
                bounded(),
            ]),
        sc("short_token_renewed_in_place", "auth answers expires_in 2 (seconds) with a refresh_token", "renews with grant_type refresh_token on the same connection before each token expires; no reconnect, no re-subscribe, no gap")
            .server(|c| c.token_lifetime(Duration::from_secs(2)))
            .steps(after_opening(vec![
                mark("base"),
                expect(Expect::StaysConnectedFor(ms(2600))),
                expect(Expect::AuthRenewed(1)),
                expect(Expect::AcceptedSince("base", 0)),
                restored_ab(),
                wait(Await::Messages("a", 3)),
                expect(Expect::NoGaps),
                bounded(),
            ])),
    ]
}
