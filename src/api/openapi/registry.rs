//! The schemas an OpenAPI document refers to, registered as the operations name them: a
//! [`Registry`] and [`reg`], which every part of the document uses.

use utoipa::ToSchema;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{Ref, RefOr};

/// The schemas a document refers to, collected as operations name them.
#[derive(Default)]
pub(super) struct Registry {
    schemas: Vec<(String, RefOr<Schema>)>,
}

/// A schema reference to `T`, registering `T` and what it nests.
pub(super) fn reg<T: ToSchema>(r: &mut Registry) -> RefOr<Schema> {
    let name = T::name().to_string();
    if !r.schemas.iter().any(|(n, _)| *n == name) {
        let mut nested = Vec::new();
        T::schemas(&mut nested);
        r.schemas.push((name.clone(), T::schema()));
        for (n, s) in nested {
            if !r.schemas.iter().any(|(have, _)| *have == n) {
                r.schemas.push((n, s));
            }
        }
    }
    RefOr::Ref(Ref::from_schema_name(name))
}

/// A schema, by the function that registers it.
pub(super) type SchemaFn = fn(&mut Registry) -> RefOr<Schema>;

impl Registry {
    /// Every schema registered, for the document's components.
    pub(super) fn into_schemas(self) -> Vec<(String, RefOr<Schema>)> {
        self.schemas
    }
}
