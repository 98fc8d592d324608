//! Turning a [`Principal`] and a [`Resource`] into Cedar entities.
//!
//! The principal is a `Person` or `Service` entity whose parents are its
//! roles (`Role::"..."`) and whose attributes are `authority` and, for a
//! person with one, `agency`. The resource is an `AuthorityLevel` entity
//! (attribute `authority`) or a `Record` entity (attributes `authority` and
//! the optional `case`, `conference` and `escalation` records). Ids in sets
//! become entity references (`Person::"id"`, `Agency::"id"`).

use std::collections::{HashMap, HashSet};

use cedar_policy::{Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};

use crate::model::{
    CaseRelation, ConferenceRelation, EscalationRelation, Principal, PrincipalKind, Resource,
};

pub(crate) fn uid(type_name: &str, id: &str) -> Result<EntityUid, String> {
    let type_name: EntityTypeName = type_name
        .parse()
        .map_err(|e| format!("entity type `{type_name}`: {e}"))?;
    Ok(EntityUid::from_type_name_and_id(
        type_name,
        EntityId::new(id),
    ))
}

fn entity_ref(type_name: &str, id: &str) -> Result<RestrictedExpression, String> {
    Ok(RestrictedExpression::new_entity_uid(uid(type_name, id)?))
}

fn entity_set(type_name: &str, ids: &[String]) -> Result<RestrictedExpression, String> {
    let refs = ids
        .iter()
        .map(|id| entity_ref(type_name, id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RestrictedExpression::new_set(refs))
}

fn record(fields: Vec<(&str, RestrictedExpression)>) -> Result<RestrictedExpression, String> {
    RestrictedExpression::new_record(fields.into_iter().map(|(k, v)| (k.to_owned(), v)))
        .map_err(|e| e.to_string())
}

/// The principal's entity uid.
pub(crate) fn principal_uid(principal: &Principal) -> Result<EntityUid, String> {
    match principal.kind {
        PrincipalKind::Person => uid("Person", &principal.subject),
        PrincipalKind::Service => uid("Service", &principal.subject),
    }
}

/// The principal entity: roles as parents, authority, agency and the age
/// of a person's sign-in as attributes.
pub(crate) fn principal_entity(principal: &Principal) -> Result<Entity, String> {
    let parents = principal
        .roles
        .iter()
        .map(|role| uid("Role", role.as_str()))
        .collect::<Result<HashSet<_>, _>>()?;
    let mut attrs = HashMap::new();
    attrs.insert(
        "authority".to_owned(),
        entity_ref("Authority", &principal.authority_id)?,
    );
    if principal.kind == PrincipalKind::Person {
        if let Some(agency) = &principal.agency {
            attrs.insert("agency".to_owned(), entity_ref("Agency", agency)?);
        }
        if let Some(minutes) = principal.signed_in_minutes_ago {
            attrs.insert(
                "signed_in_minutes_ago".to_owned(),
                RestrictedExpression::new_long(minutes),
            );
        }
    }
    Entity::new(principal_uid(principal)?, attrs, parents).map_err(|e| e.to_string())
}

/// The resource's entity uid. A record is named after the most specific
/// thing it names; the id only appears in error messages.
pub(crate) fn resource_uid(resource: &Resource) -> Result<EntityUid, String> {
    match resource {
        Resource::Authority(authority) => uid("AuthorityLevel", authority),
        Resource::Record(record) => {
            let id = record
                .escalation
                .as_ref()
                .map(|e| e.escalation_id.as_str())
                .or(record.conference.as_ref().map(|c| c.conference_id.as_str()))
                .or(record.case.as_ref().map(|c| c.case_id.as_str()))
                .unwrap_or("record");
            uid("Record", id)
        }
    }
}

fn case_value(case: &CaseRelation) -> Result<RestrictedExpression, String> {
    record(vec![
        ("id", RestrictedExpression::new_string(case.case_id.clone())),
        (
            "current_members",
            entity_set("Person", &case.current_members)?,
        ),
        (
            "current_member_agencies",
            entity_set("Agency", &case.current_member_agencies)?,
        ),
        (
            "former_members",
            entity_set("Person", &case.former_members)?,
        ),
    ])
}

fn conference_value(conference: &ConferenceRelation) -> Result<RestrictedExpression, String> {
    let mut fields = vec![
        (
            "id",
            RestrictedExpression::new_string(conference.conference_id.clone()),
        ),
        (
            "minutes_excluded",
            entity_set("Person", &conference.minutes_excluded)?,
        ),
    ];
    if let Some(chair) = &conference.chair {
        fields.push(("chair", entity_ref("Person", chair)?));
    }
    record(fields)
}

fn escalation_value(escalation: &EscalationRelation) -> Result<RestrictedExpression, String> {
    let mut fields = vec![
        (
            "id",
            RestrictedExpression::new_string(escalation.escalation_id.clone()),
        ),
        (
            "stage",
            entity_ref("EscalationStage", escalation.stage.as_str())?,
        ),
    ];
    if let Some(raiser) = &escalation.raised_by {
        fields.push(("raised_by", entity_ref("Person", raiser)?));
    }
    record(fields)
}

/// The resource entity.
pub(crate) fn resource_entity(resource: &Resource) -> Result<Entity, String> {
    let mut attrs = HashMap::new();
    attrs.insert(
        "authority".to_owned(),
        entity_ref("Authority", resource.authority_id())?,
    );
    if let Resource::Record(record) = resource {
        if let Some(case) = &record.case {
            attrs.insert("case".to_owned(), case_value(case)?);
        }
        if let Some(conference) = &record.conference {
            attrs.insert("conference".to_owned(), conference_value(conference)?);
        }
        if let Some(escalation) = &record.escalation {
            attrs.insert("escalation".to_owned(), escalation_value(escalation)?);
        }
    }
    Entity::new(resource_uid(resource)?, attrs, HashSet::new()).map_err(|e| e.to_string())
}
