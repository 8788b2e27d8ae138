//! docs/schema/dns-watch.json is what dns-watch's document types generate,
//! and the JSON examples in docs/dns-watch.md fit it.

#[test]
fn the_published_schema_is_what_the_code_generates() {
    testkit::schema::assert_published(
        "dns-watch",
        &golive_core::doc::schema_text::<dns_watch::report::Document>(),
    );
}

#[test]
fn the_json_examples_in_the_docs_fit_the_schema() {
    assert!(testkit::schema::check_doc_examples("dns-watch") >= 1);
}
