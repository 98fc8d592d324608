//! Which services a `cpcd` process serves. Kept in a library so that the
//! end-to-end tests serve exactly what the binary serves.

use cpc_platform::Component;

/// The services `cpcd` can serve; `All` serves every one on one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Selection {
    All,
    Cases,
    Scheduling,
    Reporting,
    Escalation,
}

impl Selection {
    /// The components to serve, each with its own schema and pool.
    pub fn components(self) -> Vec<Component> {
        match self {
            Self::All => vec![
                cpc_cases::component(),
                cpc_scheduling::component(),
                cpc_reporting::component(),
                cpc_escalation::component(),
            ],
            Self::Cases => vec![cpc_cases::component()],
            Self::Scheduling => vec![cpc_scheduling::component()],
            Self::Reporting => vec![cpc_reporting::component()],
            Self::Escalation => vec![cpc_escalation::component()],
        }
    }
}
