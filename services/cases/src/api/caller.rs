//! The caller as the cases store records them: a person reference.

use cpc_identity::{Caller, CallerKind};
use cpc_platform::ApiError;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::codes::AgencyKind;
use crate::domain::PersonRef;

/// The person recorded as making a change (`recorded_by`, `changed_by`,
/// `granted_by`...).
///
/// A person's token subject is their cpc person id, the id case
/// memberships name, so it must be a UUID. A service (a record system) has
/// a name instead; it is recorded under a stable id derived from that name.
///
/// # Errors
/// `UNAUTHENTICATED` for a person whose subject is not a UUID.
pub(crate) fn actor(caller: &Caller) -> Result<PersonRef, ApiError> {
    let person_id = match caller.kind() {
        CallerKind::Person => Uuid::parse_str(caller.subject()).map_err(|_| {
            ApiError::Unauthenticated(
                "a person's token must carry their cpc person id (a UUID) as its subject"
                    .to_owned(),
            )
        })?,
        CallerKind::Service => service_person_id(caller.subject()),
    };
    let agency = caller.agency();
    Ok(PersonRef {
        person_id,
        // Tokens carry no display name; the subject is what the identity
        // provider can resolve to one.
        display_name: caller.subject().chars().take(200).collect(),
        agency_kind: agency.and_then(|a| AgencyKind::from_proto(a.kind.code())),
        agency_name: agency.map(|a| a.name.chars().take(200).collect()),
    })
}

/// A stable UUID (version 8, RFC 9562) for a service identity's name.
fn service_person_id(subject: &str) -> Uuid {
    let digest = Sha256::digest(format!("cpc service identity {subject}").as_bytes());
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use cpc_identity::{Agency, Role};

    use super::*;

    #[test]
    fn a_person_is_recorded_by_their_id_and_agency() {
        let id = Uuid::from_u128(7);
        let caller = Caller::new(
            id.to_string(),
            CallerKind::Person,
            "E10000013",
            [Role::SocialWorker],
        )
        .with_agency(Agency {
            kind: cpc_identity::AgencyKind::ChildrensSocialCare,
            name: "County Children's Services".into(),
        });
        let person = actor(&caller).expect("a person");
        assert_eq!(person.person_id, id);
        assert_eq!(person.agency_kind, Some(AgencyKind::ChildrensSocialCare));
        assert_eq!(
            person.agency_name.as_deref(),
            Some("County Children's Services")
        );
    }

    #[test]
    fn a_person_without_a_uuid_subject_is_refused() {
        let caller = Caller::new(
            "alice",
            CallerKind::Person,
            "E10000013",
            [Role::SocialWorker],
        );
        assert!(matches!(actor(&caller), Err(ApiError::Unauthenticated(_))));
    }

    #[test]
    fn a_service_gets_a_stable_id_of_its_own() {
        let lcs = Caller::new("lcs", CallerKind::Service, "E10000013", [Role::Integration]);
        let mosaic = Caller::new(
            "mosaic",
            CallerKind::Service,
            "E10000013",
            [Role::Integration],
        );
        let first = actor(&lcs).expect("service").person_id;
        assert_eq!(first, actor(&lcs).expect("service").person_id);
        assert_ne!(first, actor(&mosaic).expect("service").person_id);
        assert_eq!(first.get_version_num(), 8);
    }
}
