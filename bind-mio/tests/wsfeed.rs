//! The `wsfeed` example as a user runs it: the feed followers' shared suite
//! (`bind_support::feed_cli_suite`) on this binding's example.

bind_support::feed_cli_suite!("wsfeed");
