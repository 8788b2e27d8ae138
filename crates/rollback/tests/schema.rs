//! docs/schema/rollback.json is what rollback's document types generate,
//! and the JSON examples in docs/rollback.md fit it.

#[test]
fn the_published_schema_is_what_the_code_generates() {
    testkit::schema::assert_published(
        "rollback",
        &golive_core::doc::schema_text::<rollback::engine::Document>(),
    );
}

#[test]
fn the_json_examples_in_the_docs_fit_the_schema() {
    assert!(testkit::schema::check_doc_examples("rollback") >= 5);
}
