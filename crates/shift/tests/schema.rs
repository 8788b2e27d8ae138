//! docs/schema/shift.json is what shift's document types generate.

#[test]
fn the_published_schema_is_what_the_code_generates() {
    testkit::schema::assert_published(
        "shift",
        &golive_core::doc::schema_text::<shift::doc::Document>(),
    );
}

#[test]
fn the_json_examples_in_the_docs_fit_the_schema() {
    assert!(testkit::schema::check_doc_examples("shift") >= 2);
}
