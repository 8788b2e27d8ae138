//! knot: to be written.
