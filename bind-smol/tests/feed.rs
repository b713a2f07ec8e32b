//! The `feed` example as a user runs it: the feed followers' shared suite (bind-mio's
//! `tests/support/feed_cli.rs`: the same command line as `wsfeed`) on this binding's example.

#[path = "../../bind-mio/tests/support/feed_cli.rs"]
mod feed_cli;

feed_cli::feed_cli_suite!("feed");
