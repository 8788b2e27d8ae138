//! docs/schema/probe.json is what probe's document types generate, and the
//! JSON examples in docs/probe.md fit it.

#[test]
fn the_published_schema_is_what_the_code_generates() {
    testkit::schema::assert_published(
        "probe",
        &golive_core::doc::schema_text::<probe::report::Document>(),
    );
}

#[test]
fn the_json_examples_in_the_docs_fit_the_schema() {
    assert!(testkit::schema::check_doc_examples("probe") >= 2);
}
