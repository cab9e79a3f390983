//! PromQL evaluation over [`model::Queryable`].
//!
//! Not implemented yet: the engine arrives with the PromQL work. It will never depend on the
//! concrete store.
