//! Loading the policies and answering requests.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use cedar_policy::{
    Context, Entities, PolicyId, PolicySet, Request, Response, Schema, ValidationMode, Validator,
};
use miette::Diagnostic;

use crate::digest::policy_set_digest;
use crate::entities;
use crate::model::{Decision, Principal, Resource};
use crate::{AUTHORITY_GUARD, AuthzError, DEFAULT_DENY, FAIL_CLOSED};

/// Policy ids the engine itself uses; no policy file may claim them.
const RESERVED_IDS: [&str; 3] = [DEFAULT_DENY, FAIL_CLOSED, AUTHORITY_GUARD];

/// The authorisation engine: a validated schema and policy set.
///
/// Immutable once built, so one value can be shared by every request
/// (`Arc<Authorizer>`). To change policies, build a new one with
/// [`Authorizer::load`] or [`Authorizer::reload`] and swap it in only if it
/// loaded; [`SharedAuthorizer`](crate::SharedAuthorizer) does exactly that.
#[derive(Debug)]
pub struct Authorizer {
    dir: Option<PathBuf>,
    schema: Schema,
    policies: PolicySet,
    /// The action hierarchy from the schema, the base of every request's
    /// entity store (so `action in Action::"ReadCase"` works).
    action_entities: Entities,
    /// Which file each policy id came from, for messages.
    policy_files: BTreeMap<String, String>,
    /// The digest of the texts this set was built from
    /// ([`policy_set_digest`]), recorded with every decision.
    digest: String,
    engine: cedar_policy::Authorizer,
}

/// One source text and the name to report it under.
struct Source {
    name: String,
    text: String,
}

impl Authorizer {
    /// Loads `dir`: exactly one `*.cedarschema` file and every `*.cedar`
    /// file (in name order). Each policy must carry a unique kebab-case
    /// `@id("...")`. The policies are validated against the schema in strict
    /// mode; any validation error or warning refuses the load and is
    /// reported with file, line and policy id.
    pub fn load(dir: &Path) -> Result<Self, AuthzError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| AuthzError::Io { path, source }
        };
        let mut schemas = Vec::new();
        let mut policy_paths = Vec::new();
        for entry in fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            match path.extension().and_then(|e| e.to_str()) {
                Some("cedarschema") => schemas.push(path),
                Some("cedar") => policy_paths.push(path),
                _ => {}
            }
        }
        schemas.sort();
        policy_paths.sort();
        let schema_path = match schemas.as_slice() {
            [] => {
                return Err(AuthzError::MissingSchema {
                    dir: dir.to_path_buf(),
                });
            }
            [one] => one,
            many => {
                return Err(AuthzError::MultipleSchemas {
                    dir: dir.to_path_buf(),
                    found: many.iter().map(|p| file_name(p)).collect(),
                });
            }
        };
        let schema = Source {
            name: file_name(schema_path),
            text: fs::read_to_string(schema_path).map_err(io(schema_path))?,
        };
        let policies = policy_paths
            .iter()
            .map(|path| {
                Ok(Source {
                    name: file_name(path),
                    text: fs::read_to_string(path).map_err(io(path))?,
                })
            })
            .collect::<Result<Vec<_>, AuthzError>>()?;
        let mut authorizer = Self::build(&schema, &policies, &dir.display().to_string())?;
        authorizer.dir = Some(dir.to_path_buf());
        Ok(authorizer)
    }

    /// Builds from texts rather than a folder: `schema` is the
    /// `.cedarschema` text, `policies` are `(file name, text)` pairs. The
    /// same checks as [`Authorizer::load`] apply.
    pub fn from_sources(schema: &str, policies: &[(&str, &str)]) -> Result<Self, AuthzError> {
        let schema = Source {
            name: "schema.cedarschema".to_owned(),
            text: schema.to_owned(),
        };
        let policies: Vec<Source> = policies
            .iter()
            .map(|(name, text)| Source {
                name: (*name).to_owned(),
                text: (*text).to_owned(),
            })
            .collect();
        Self::build(&schema, &policies, "inline")
    }

    /// Loads the folder this authorizer was loaded from again, e.g. after the
    /// information governance team changed a policy. Returns a new
    /// authorizer; the current one is untouched, so on error keep using it
    /// (hot reload never leaves a service without policies, and never with
    /// policies that did not validate).
    pub fn reload(&self) -> Result<Self, AuthzError> {
        match &self.dir {
            Some(dir) => Self::load(dir),
            None => Err(AuthzError::NotReloadable),
        }
    }

    fn build(schema: &Source, policies: &[Source], source_name: &str) -> Result<Self, AuthzError> {
        let (schema_value, warnings) =
            Schema::from_cedarschema_str(&schema.text).map_err(|e| AuthzError::Schema {
                file: schema.name.clone(),
                message: describe(&e, &schema.name, &schema.text),
            })?;
        let warnings: Vec<String> = warnings
            .map(|w| describe(&w, &schema.name, &schema.text))
            .collect();
        if !warnings.is_empty() {
            return Err(AuthzError::Schema {
                file: schema.name.clone(),
                message: warnings.join("\n"),
            });
        }

        let mut set = PolicySet::new();
        let mut policy_files: BTreeMap<String, String> = BTreeMap::new();
        for source in policies {
            let parsed = PolicySet::from_str(&source.text).map_err(|errors| AuthzError::Parse {
                file: source.name.clone(),
                message: errors
                    .iter()
                    .map(|e| describe(e, &source.name, &source.text))
                    .collect::<Vec<_>>()
                    .join("\n"),
            })?;
            if let Some(template) = parsed.templates().next() {
                return Err(AuthzError::PolicyId {
                    file: source.name.clone(),
                    message: format!(
                        "policy templates are not supported (found one starting `{}`)",
                        first_line(&template.to_string())
                    ),
                });
            }
            // Cedar names them policy0, policy1, ... in file order: keep that
            // order, so messages follow the text.
            let mut in_file: Vec<_> = parsed.policies().collect();
            in_file.sort_by_key(|p| {
                let id = p.id().to_string();
                (id.len(), id)
            });
            for policy in in_file {
                let id = policy_id(policy, &source.name)?;
                if let Some(first) = policy_files.get(&id) {
                    return Err(AuthzError::DuplicateId {
                        id,
                        first: first.clone(),
                        second: source.name.clone(),
                    });
                }
                set.add(policy.new_id(PolicyId::new(&id)))
                    .map_err(|e| AuthzError::PolicyId {
                        file: source.name.clone(),
                        message: e.to_string(),
                    })?;
                policy_files.insert(id, source.name.clone());
            }
        }
        if set.is_empty() {
            return Err(AuthzError::NoPolicies {
                source_name: source_name.to_owned(),
            });
        }

        let result = Validator::new(schema_value.clone()).validate(&set, ValidationMode::Strict);
        let texts: BTreeMap<&str, &Source> =
            policies.iter().map(|s| (s.name.as_str(), s)).collect();
        let locate = |id: &PolicyId| -> (&str, &str) {
            policy_files
                .get(&id.to_string())
                .and_then(|file| texts.get(file.as_str()))
                .map_or(("?", ""), |s| (s.name.as_str(), s.text.as_str()))
        };
        let mut errors: Vec<String> = result
            .validation_errors()
            .map(|e| {
                let (file, text) = locate(e.policy_id());
                format!("error: {}", describe(e, file, text))
            })
            .collect();
        errors.extend(result.validation_warnings().map(|w| {
            let (file, text) = locate(w.policy_id());
            format!("warning: {}", describe(w, file, text))
        }));
        if !errors.is_empty() {
            return Err(AuthzError::Validation { errors });
        }

        let action_entities = schema_value
            .action_entities()
            .map_err(|e| AuthzError::Schema {
                file: schema.name.clone(),
                message: e.to_string(),
            })?;
        Ok(Self {
            dir: None,
            schema: schema_value,
            policies: set,
            action_entities,
            policy_files,
            digest: policy_set_digest(
                &schema.text,
                policies.iter().map(|p| (p.name.as_str(), p.text.as_str())),
            ),
            engine: cedar_policy::Authorizer::new(),
        })
    }

    /// Decides whether `principal` may call `action` (a full gRPC method
    /// path, e.g. `/cpc.cases.v1.CasesService/GetChild`) on `resource`.
    ///
    /// Never panics and fails closed: an empty subject or authority, an
    /// action the schema does not know, a request the schema does not allow,
    /// or any evaluation error all deny, with the reason in
    /// [`Decision::errors`]. Independently of the policy files, a caller is
    /// never allowed a resource of another authority.
    pub fn authorize(&self, principal: &Principal, action: &str, resource: &Resource) -> Decision {
        Decision {
            policy_set: Some(self.digest.clone()),
            ..self.decide(principal, action, resource)
        }
    }

    fn decide(&self, principal: &Principal, action: &str, resource: &Resource) -> Decision {
        let mut problems = Vec::new();
        if principal.subject.is_empty() {
            problems.push("the caller has no subject id".to_owned());
        }
        if principal.authority_id.is_empty() {
            problems.push("the caller has no authority".to_owned());
        }
        if resource.authority_id().is_empty() {
            problems.push("the target has no authority".to_owned());
        }
        if !problems.is_empty() {
            return Decision::deny(DEFAULT_DENY, problems);
        }

        let response = match self.evaluate(principal, action, resource) {
            Ok(response) => response,
            Err(error) => return Decision::deny(DEFAULT_DENY, vec![error]),
        };
        let diagnostics = response.diagnostics();
        let errors: Vec<String> = diagnostics.errors().map(ToString::to_string).collect();
        let mut policy_ids: Vec<String> = diagnostics.reason().map(ToString::to_string).collect();
        policy_ids.sort();

        match response.decision() {
            cedar_policy::Decision::Allow if !errors.is_empty() => {
                // A policy that errored may have been a forbid that would
                // have applied: fail closed.
                Decision::deny(FAIL_CLOSED, errors)
            }
            cedar_policy::Decision::Allow if principal.authority_id != resource.authority_id() => {
                Decision::deny(
                    AUTHORITY_GUARD,
                    vec![format!(
                        "policies {} allowed a request across authorities; denied by the built-in authority guard (is the authority-boundary policy missing?)",
                        policy_ids.join(", ")
                    )],
                )
            }
            cedar_policy::Decision::Allow => Decision {
                allowed: true,
                policy_ids,
                errors,
                policy_set: None,
                advice: None,
            },
            cedar_policy::Decision::Deny if policy_ids.is_empty() => {
                Decision::deny(DEFAULT_DENY, errors)
            }
            cedar_policy::Decision::Deny => Decision {
                allowed: false,
                advice: self.advice(&policy_ids),
                policy_ids,
                errors,
                policy_set: None,
            },
        }
    }

    /// The first `@advice` of the policies that decided a denial.
    /// The first `@advice` of the policies that decided a denial, in the
    /// order of their (sorted) ids, so one request always gets one advice.
    fn advice(&self, deciding: &[String]) -> Option<String> {
        deciding.iter().find_map(|id| {
            self.policies
                .policy(&PolicyId::new(id))
                .and_then(|policy| policy.annotation("advice"))
                .map(str::to_owned)
        })
    }

    fn evaluate(
        &self,
        principal: &Principal,
        action: &str,
        resource: &Resource,
    ) -> Result<Response, String> {
        let principal_uid = entities::principal_uid(principal)?;
        let action_uid = entities::uid("Action", action)?;
        let resource_uid = entities::resource_uid(resource)?;
        let request = Request::new(
            principal_uid,
            action_uid,
            resource_uid,
            Context::empty(),
            Some(&self.schema),
        )
        .map_err(|e| format!("invalid request: {e}"))?;
        let store = self
            .action_entities
            .clone()
            .add_entities(
                [
                    entities::principal_entity(principal)?,
                    entities::resource_entity(resource)?,
                ],
                Some(&self.schema),
            )
            .map_err(|e| format!("invalid entities: {e}"))?;
        Ok(self.engine.is_authorized(&request, &self.policies, &store))
    }

    /// The digest of the schema and policy texts this set was built from
    /// ([`policy_set_digest`]): 64 lower-case hex digits.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The folder this authorizer was loaded from, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Every policy id, with the file it came from, in id order.
    pub fn policy_ids(&self) -> Vec<(String, String)> {
        self.policy_files
            .iter()
            .map(|(id, file)| (id.clone(), file.clone()))
            .collect()
    }

    /// The gRPC calls the schema declares (actions whose id is a method path,
    /// i.e. starts with `/`), sorted.
    pub fn rpc_actions(&self) -> Vec<String> {
        let mut actions: Vec<String> = self
            .schema
            .actions()
            .map(|uid| uid.id().unescaped().to_owned())
            .filter(|id| id.starts_with('/'))
            .collect();
        actions.sort();
        actions
    }

    /// Every group `action` belongs to, directly or through other groups;
    /// `None` if the schema does not declare the action.
    pub fn action_groups(&self, action: &str) -> Option<BTreeSet<String>> {
        let uid = entities::uid("Action", action).ok()?;
        let ancestors = self.action_entities.ancestors(&uid)?;
        Some(ancestors.map(|a| a.id().unescaped().to_owned()).collect())
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('@'));
    line.unwrap_or(text).trim().chars().take(80).collect()
}

/// The policy's `@id`, checked: present, kebab-case, not reserved.
fn policy_id(policy: &cedar_policy::Policy, file: &str) -> Result<String, AuthzError> {
    let problem = |message: String| AuthzError::PolicyId {
        file: file.to_owned(),
        message,
    };
    let Some(id) = policy.annotation("id") else {
        return Err(problem(format!(
            "the policy starting `{}` has no @id(\"...\") annotation; every policy needs one, so decisions and audit records can name it",
            first_line(&policy.to_string())
        )));
    };
    let well_formed = !id.is_empty()
        && !id.starts_with('-')
        && !id.ends_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !well_formed {
        return Err(problem(format!(
            "policy id `{id}` must be kebab-case (a-z, 0-9 and -), e.g. `team-manager-end-plan`"
        )));
    }
    if RESERVED_IDS.contains(&id) {
        return Err(problem(format!(
            "policy id `{id}` is reserved for the engine's own decisions"
        )));
    }
    Ok(id.to_owned())
}

/// `file:line:col: message (help)` for a Cedar diagnostic whose labels point
/// into `text`.
fn describe(diagnostic: &dyn Diagnostic, file: &str, text: &str) -> String {
    let position = diagnostic
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| line_col(text, label.offset()))
        .map_or_else(String::new, |(line, col)| format!(":{line}:{col}"));
    let mut message = format!("{file}{position}: {diagnostic}");
    if let Some(help) = diagnostic.help() {
        message.push_str(&format!(" (help: {help})"));
    }
    message
}

/// One-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let text = "ab\ncd\nef";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 4), (2, 2));
        assert_eq!(line_col(text, 6), (3, 1));
        assert_eq!(line_col(text, 99), (3, 3));
    }
}
