//! docs/schema/metric-gate.json is what metric-gate's document types
//! generate, and the JSON examples in docs/metric-gate.md fit it.

#[test]
fn the_published_schema_is_what_the_code_generates() {
    testkit::schema::assert_published(
        "metric-gate",
        &golive_core::doc::schema_text::<metric_gate::report::Document>(),
    );
}

#[test]
fn the_json_examples_in_the_docs_fit_the_schema() {
    assert!(testkit::schema::check_doc_examples("metric-gate") >= 1);
}
