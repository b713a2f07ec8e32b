//! The `wsfeed` example as a user runs it: the feed followers' shared suite
//! (`support/feed_cli.rs`) on this binding's example.

#[path = "support/feed_cli.rs"]
mod feed_cli;

feed_cli::feed_cli_suite!("wsfeed");
