//! haproxy: to be written.
