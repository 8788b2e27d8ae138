//! docs/schema/rollback.json is what rollback's document types generate.

#[test]
fn the_published_schema_is_what_the_code_generates() {
    testkit::schema::assert_published(
        "rollback",
        &golive_core::doc::schema_text::<rollback::engine::Document>(),
    );
}
