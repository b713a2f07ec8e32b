//! The `feed` example as a user runs it: the feed followers' shared suite
//! (`bind_support::feed_cli_suite`: the same command line as bind-mio's `wsfeed`) on this
//! binding's example.

bind_support::feed_cli_suite!("feed");
