//! The expected shape of a configuration file, read from the JSON Schema of [`Config`] (so it
//! follows every struct serde fills without a second description to keep in step), and how
//! each shape is said in a user's words: "a whole number from 0 to 65535", "true or false",
//! "a list of strings", "one of: openai, anthropic, ..." (never a Rust type name).
//!
//! Entry point: [`Shapes::of_config`]; the type check (`typecheck`) walks a file against it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use schemars::schema::{InstanceType, Schema, SchemaObject, SingleOrVec};
use toml::Value;

use super::model::Config;

/// What one value of the file may be.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    /// Anything (a schema the check does not understand; serde still checks it).
    Any,
    Text,
    /// An integer, with bounds when the field has them.
    Whole {
        min: Option<i128>,
        max: Option<i128>,
    },
    /// A number, integer or decimal.
    Number,
    Bool,
    /// One of these strings.
    Choice(Vec<String>),
    List(Box<Shape>),
    Table(TableShape),
    /// Any one of several shapes.
    Either(Vec<Shape>),
    /// A named shape of the schema's definitions.
    Named(String),
    /// TOML has no null; only used to drop the "or nothing" half of optional values.
    Null,
}

/// A table: its known keys, which of them are required, and what other keys may be.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TableShape {
    pub keys: BTreeMap<String, Shape>,
    pub required: BTreeSet<String>,
    pub others: Others,
}

/// Keys of a table that are not among its known keys.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Others {
    /// Unknown keys are errors.
    Denied,
    Allowed,
    /// Any key, each value of this shape (a map such as `[key_map]`).
    Values(Box<Shape>),
}

/// The shape of the whole file and its named parts.
#[derive(Debug)]
pub(crate) struct Shapes {
    pub root: Shape,
    named: HashMap<String, Shape>,
}

impl Shapes {
    /// The shape of [`Config`].
    pub(crate) fn of_config() -> Shapes {
        let root = schemars::schema_for!(Config);
        let named = root
            .definitions
            .iter()
            .map(|(name, schema)| (name.clone(), from_schema(schema)))
            .collect();
        Shapes {
            root: from_object(&root.schema),
            named,
        }
    }

    /// `shape` with named shapes looked up (a name that is not defined reads as [`Shape::Any`]).
    pub(crate) fn resolve<'a>(&'a self, mut shape: &'a Shape) -> &'a Shape {
        // A bounded number of steps: definitions never name each other in a loop of this length.
        for _ in 0..16 {
            match shape {
                Shape::Named(name) => shape = self.named.get(name).unwrap_or(&Shape::Any),
                other => return other,
            }
        }
        &Shape::Any
    }

    /// How a value of `shape` is described to a user: "a whole number", "a list of strings".
    pub(crate) fn noun(&self, shape: &Shape) -> String {
        match self.resolve(shape) {
            Shape::Any => "a value".into(),
            Shape::Text => "a string".into(),
            Shape::Whole { min, max } => format!("a whole number{}", range(*min, *max)),
            Shape::Number => "a number".into(),
            Shape::Bool => "true or false".into(),
            Shape::Choice(values) => format!("one of: {}", values.join(", ")),
            Shape::List(item) => format!("a list of {}", self.plural(item)),
            Shape::Table(_) => "a table".into(),
            Shape::Either(alternatives) => alternatives
                .iter()
                .map(|a| self.noun(a))
                .collect::<Vec<_>>()
                .join(" or "),
            Shape::Named(_) | Shape::Null => "a value".into(),
        }
    }

    fn plural(&self, shape: &Shape) -> String {
        match self.resolve(shape) {
            Shape::Text => "strings".into(),
            Shape::Whole { min, max } => format!("whole numbers{}", range(*min, *max)),
            Shape::Number => "numbers".into(),
            Shape::Bool => "true/false values".into(),
            Shape::Choice(values) => format!("values, each one of: {}", values.join(", ")),
            Shape::List(item) => format!("lists of {}", self.plural(item)),
            Shape::Table(_) => "tables".into(),
            Shape::Any | Shape::Either(_) | Shape::Named(_) | Shape::Null => "values".into(),
        }
    }

    /// A value of `shape` that stands in for a wrong one, so the rest of the file can still be
    /// read; `None` when there is none (the check then leaves the problem to serde).
    pub(crate) fn placeholder(&self, shape: &Shape, depth: usize) -> Option<Value> {
        if depth > 16 {
            return None;
        }
        Some(match self.resolve(shape) {
            Shape::Text => Value::String(String::new()),
            Shape::Whole { min, .. } => {
                Value::Integer(min.and_then(|m| i64::try_from(m).ok()).unwrap_or(0).max(0))
            }
            Shape::Number => Value::Float(0.0),
            Shape::Bool => Value::Boolean(false),
            Shape::Choice(values) => Value::String(values.first()?.clone()),
            Shape::List(_) => Value::Array(Vec::new()),
            Shape::Table(table) => {
                let mut out = toml::Table::new();
                for key in &table.required {
                    let value = self.placeholder(table.keys.get(key)?, depth + 1)?;
                    out.insert(key.clone(), value);
                }
                Value::Table(out)
            }
            Shape::Either(alternatives) => self.placeholder(alternatives.first()?, depth + 1)?,
            Shape::Any | Shape::Named(_) | Shape::Null => return None,
        })
    }
}

/// " from 0 to 65535", " (0 or more)" or nothing.
fn range(min: Option<i128>, max: Option<i128>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!(" from {min} to {max}"),
        (Some(min), None) => format!(" ({min} or more)"),
        (None, Some(max)) => format!(" (at most {max})"),
        (None, None) => String::new(),
    }
}

fn from_schema(schema: &Schema) -> Shape {
    match schema {
        Schema::Bool(_) => Shape::Any,
        Schema::Object(object) => from_object(object),
    }
}

fn from_object(o: &SchemaObject) -> Shape {
    if let Some(reference) = &o.reference {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return Shape::Named(name.to_string());
    }
    if let Some(sub) = &o.subschemas {
        if let Some([only]) = sub.all_of.as_deref() {
            return from_schema(only);
        }
        if let Some(alternatives) = sub.any_of.as_ref().or(sub.one_of.as_ref()) {
            return either(alternatives.iter().map(from_schema).collect());
        }
        return Shape::Any;
    }
    let choices = o
        .enum_values
        .iter()
        .flatten()
        .chain(&o.const_value)
        .map(|v| v.as_str().map(str::to_string))
        .collect::<Option<Vec<String>>>();
    if let Some(choices) = choices.filter(|c| !c.is_empty()) {
        return Shape::Choice(choices);
    }
    let types: Vec<InstanceType> = match &o.instance_type {
        Some(SingleOrVec::Single(t)) => vec![**t],
        Some(SingleOrVec::Vec(ts)) => ts.clone(),
        None => return Shape::Any,
    };
    either(types.into_iter().map(|t| of_type(o, t)).collect())
}

/// One shape from alternatives: "or nothing" dropped, several choices merged.
fn either(alternatives: Vec<Shape>) -> Shape {
    if !alternatives.is_empty() && alternatives.iter().all(|a| *a == Shape::Null) {
        return Shape::Null;
    }
    let mut kept: Vec<Shape> = alternatives
        .into_iter()
        .filter(|a| *a != Shape::Null)
        .collect();
    if kept.len() > 1 && kept.iter().all(|a| matches!(a, Shape::Choice(_))) {
        let merged = kept
            .into_iter()
            .flat_map(|a| match a {
                Shape::Choice(values) => values,
                _ => Vec::new(),
            })
            .collect();
        return Shape::Choice(merged);
    }
    match kept.len() {
        0 => Shape::Any,
        1 => kept.remove(0),
        _ => Shape::Either(kept),
    }
}

fn of_type(o: &SchemaObject, t: InstanceType) -> Shape {
    match t {
        InstanceType::Null => Shape::Null,
        InstanceType::Boolean => Shape::Bool,
        InstanceType::Number => Shape::Number,
        InstanceType::String => Shape::Text,
        InstanceType::Integer => {
            let (format_min, format_max) = bounds_of_format(o.format.as_deref());
            let number = o.number.as_deref();
            let min = number.and_then(|n| n.minimum).map(|m| m.ceil() as i128);
            let max = number.and_then(|n| n.maximum).map(|m| m.floor() as i128);
            Shape::Whole {
                min: min.or(format_min),
                max: max.or(format_max),
            }
        }
        InstanceType::Array => {
            let item = match o.array.as_deref().and_then(|a| a.items.as_ref()) {
                Some(SingleOrVec::Single(item)) => from_schema(item),
                _ => Shape::Any,
            };
            Shape::List(Box::new(item))
        }
        InstanceType::Object => {
            let Some(object) = o.object.as_deref() else {
                return Shape::Table(TableShape {
                    keys: BTreeMap::new(),
                    required: BTreeSet::new(),
                    others: Others::Allowed,
                });
            };
            let others = match object.additional_properties.as_deref() {
                Some(Schema::Bool(false)) => Others::Denied,
                None | Some(Schema::Bool(true)) => Others::Allowed,
                Some(values) => Others::Values(Box::new(from_schema(values))),
            };
            Shape::Table(TableShape {
                keys: object
                    .properties
                    .iter()
                    .map(|(k, v)| (k.clone(), from_schema(v)))
                    .collect(),
                required: object.required.iter().cloned().collect(),
                others,
            })
        }
    }
}

/// The bounds an integer format implies (`uint16`: 0..=65535).
fn bounds_of_format(format: Option<&str>) -> (Option<i128>, Option<i128>) {
    match format {
        Some("uint8") => (Some(0), Some(u8::MAX.into())),
        Some("uint16") => (Some(0), Some(u16::MAX.into())),
        Some("uint32") => (Some(0), Some(u32::MAX.into())),
        Some("uint64" | "uint" | "uint128") => (Some(0), None),
        Some("int8") => (Some(i8::MIN.into()), Some(i8::MAX.into())),
        Some("int16") => (Some(i16::MIN.into()), Some(i16::MAX.into())),
        Some("int32") => (Some(i32::MIN.into()), Some(i32::MAX.into())),
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(shapes: &'a Shapes, table: &'a Shape, name: &str) -> &'a Shape {
        match shapes.resolve(table) {
            Shape::Table(t) => t.keys.get(name).unwrap_or(&Shape::Null),
            other => panic!("not a table: {other:?}"),
        }
    }

    #[test]
    fn the_config_shape_in_user_words() {
        let shapes = Shapes::of_config();
        let server = key(&shapes, &shapes.root, "server");
        assert_eq!(
            shapes.noun(key(&shapes, server, "port")),
            "a whole number from 0 to 65535"
        );
        assert_eq!(shapes.noun(key(&shapes, server, "host")), "a string");
        assert_eq!(
            shapes.noun(key(&shapes, server, "threads")),
            "a whole number (0 or more)"
        );
        assert_eq!(shapes.noun(server), "a table");
        let providers = key(&shapes, &shapes.root, "providers");
        assert_eq!(shapes.noun(providers), "a list of tables");
        let Shape::List(provider) = shapes.resolve(providers) else {
            panic!("providers is a list");
        };
        let ty = shapes.noun(key(&shapes, provider, "provider_type"));
        assert!(
            ty.starts_with("one of: openai, anthropic, google, azure_openai"),
            "{ty}"
        );
        assert_eq!(
            shapes.noun(key(&shapes, provider, "enabled")),
            "true or false"
        );
        assert_eq!(
            shapes.noun(key(&shapes, provider, "models")),
            "a list of strings"
        );
        let Shape::Table(table) = shapes.resolve(provider) else {
            panic!("a provider is a table");
        };
        assert_eq!(table.others, Others::Denied);
        assert!(table.required.contains("id") && table.required.contains("provider_type"));
        let key_map = shapes.resolve(key(&shapes, &shapes.root, "key_map"));
        assert!(matches!(
            key_map,
            Shape::Table(TableShape {
                others: Others::Values(_),
                ..
            })
        ));
    }

    /// Paths below `shape` whose shape the check does not understand.
    fn vague(shapes: &Shapes, shape: &Shape, path: String, depth: usize, out: &mut Vec<String>) {
        if depth > 12 {
            return;
        }
        match shapes.resolve(shape) {
            Shape::Any | Shape::Null | Shape::Named(_) => out.push(path),
            Shape::List(item) => vague(shapes, item, format!("{path}[]"), depth + 1, out),
            Shape::Table(t) => {
                for (key, child) in &t.keys {
                    vague(shapes, child, format!("{path}.{key}"), depth + 1, out);
                }
                if let Others::Values(values) = &t.others {
                    vague(shapes, values, format!("{path}.*"), depth + 1, out);
                }
            }
            Shape::Either(alternatives) => {
                for a in alternatives {
                    vague(shapes, a, path.clone(), depth + 1, out);
                }
            }
            Shape::Text | Shape::Whole { .. } | Shape::Number | Shape::Bool | Shape::Choice(_) => {}
        }
    }

    #[test]
    fn every_key_of_the_config_has_a_shape_the_check_understands() {
        let shapes = Shapes::of_config();
        let mut out = Vec::new();
        vague(&shapes, &shapes.root, String::new(), 0, &mut out);
        assert_eq!(
            out,
            Vec::<String>::new(),
            "a new kind of schema: teach `shape` to read it"
        );
    }

    #[test]
    fn placeholders_fit_their_shape() {
        let shapes = Shapes::of_config();
        let providers = key(&shapes, &shapes.root, "providers");
        let Shape::List(provider) = shapes.resolve(providers) else {
            panic!("providers is a list");
        };
        let value = shapes.placeholder(provider, 0);
        let table = value.as_ref().and_then(Value::as_table);
        let keys: Vec<&str> = table
            .map(|t| t.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(keys, ["id", "provider_type"]);
        let ty = table
            .and_then(|t| t.get("provider_type"))
            .and_then(Value::as_str);
        assert_eq!(ty, Some("openai"));
        assert_eq!(shapes.placeholder(&Shape::Any, 0), None);
    }
}
