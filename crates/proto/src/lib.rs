//! The cpc API contract as Rust: one module per protobuf package, mirroring
//! the package path so that cross-package references resolve.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

pub mod cpc {
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("cpc.common.v1");
        }
    }
    pub mod audit {
        pub mod v1 {
            tonic::include_proto!("cpc.audit.v1");
        }
    }
    pub mod cases {
        pub mod v1 {
            tonic::include_proto!("cpc.cases.v1");
        }
    }
    pub mod scheduling {
        pub mod v1 {
            tonic::include_proto!("cpc.scheduling.v1");
        }
    }
    pub mod reporting {
        pub mod v1 {
            tonic::include_proto!("cpc.reporting.v1");
        }
    }
    pub mod escalation {
        pub mod v1 {
            tonic::include_proto!("cpc.escalation.v1");
        }
    }
}

pub mod codec;

// No message prints its contents (build.rs says why).
include!(concat!(env!("OUT_DIR"), "/redacted_debug.rs"));

pub use cpc::{audit, cases, common, escalation, reporting, scheduling};

/// Encoded `FileDescriptorSet` of every cpc package, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("cpc_descriptor");
