//! Why the policies could not be loaded.

use std::path::PathBuf;

/// An error loading the schema and policies. The message is meant for the
/// person who edited the files: it names the file, the line and column where
/// known, and the policy `@id`.
#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    /// A file or the folder could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The folder has no `.cedarschema` file.
    #[error("no .cedarschema file in {dir}")]
    MissingSchema {
        /// The policy folder.
        dir: PathBuf,
    },
    /// The folder has more than one `.cedarschema` file.
    #[error("more than one .cedarschema file in {dir}: {found:?}")]
    MultipleSchemas {
        /// The policy folder.
        dir: PathBuf,
        /// The schema files found.
        found: Vec<String>,
    },
    /// There are no policies: everything would be denied, which is almost
    /// certainly a deployment mistake.
    #[error("no .cedar policy files (or no policies in them) in {source_name}")]
    NoPolicies {
        /// The policy folder (or "inline").
        source_name: String,
    },
    /// The schema does not parse or is inconsistent.
    #[error("schema {file} is invalid:\n{message}")]
    Schema {
        /// The schema file name.
        file: String,
        /// What is wrong, with line and column.
        message: String,
    },
    /// A policy file does not parse.
    #[error("policy file {file} does not parse:\n{message}")]
    Parse {
        /// The policy file name.
        file: String,
        /// What is wrong, one problem a line, with line and column.
        message: String,
    },
    /// A policy has no `@id("...")` annotation, or an unusable one.
    #[error("{file}: {message}")]
    PolicyId {
        /// The policy file name.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Two policies have the same `@id`.
    #[error("policy id `{id}` is used twice: in {first} and in {second}")]
    DuplicateId {
        /// The repeated id.
        id: String,
        /// Where it was first seen.
        first: String,
        /// Where it was seen again.
        second: String,
    },
    /// The policies do not validate against the schema (an unknown
    /// attribute, role, action or entity type, a type error, a policy that
    /// can never apply...).
    #[error("policies do not validate against the schema:\n{}", .errors.join("\n"))]
    Validation {
        /// One message per problem, each naming the file, position and
        /// policy id.
        errors: Vec<String>,
    },
    /// `reload` was called on an authorizer not loaded from a folder.
    #[error("this authorizer was not loaded from a folder, so it cannot be reloaded")]
    NotReloadable,
}
