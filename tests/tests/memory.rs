//! The benchmarks' RSS reading (`reconnect_testkit::bench::rss_bytes`). Kept out of the kit's
//! unit tests: reading `/proc/self/statm` opens a descriptor, which the unit test that counts
//! descriptors would see.

use reconnect_testkit::bench::rss_bytes;

#[test]
fn touching_a_large_buffer_raises_the_rss() {
    let before = rss_bytes().unwrap();
    assert!(before > 0);
    // 64 MiB written page by page is resident whatever the allocator does.
    let buffer = vec![1u8; 64 << 20];
    let during = rss_bytes().unwrap();
    assert!(
        during >= before + (32 << 20),
        "{before} -> {during} bytes after touching 64 MiB"
    );
    drop(buffer);
}
