//! The admission decision shared by the tower layer and the tonic interceptor.

use std::sync::Arc;

use gatehouse_context::Identity;
use http::{Extensions, HeaderMap};

use crate::{Caller, Rejection, Requirement, Unauthenticated};

/// Whether context is required, and what it must satisfy.
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    optional: bool,
    requirement: Option<Arc<Requirement>>,
}

impl Gate {
    pub(crate) fn required() -> Self {
        Gate {
            optional: false,
            requirement: None,
        }
    }

    pub(crate) fn optional() -> Self {
        Gate {
            optional: true,
            requirement: None,
        }
    }

    pub(crate) fn require(requirement: Requirement) -> Self {
        Gate {
            optional: false,
            requirement: Some(Arc::new(requirement)),
        }
    }

    /// The caller to admit (`None`: anonymous, in optional mode), or why not.
    pub(crate) fn admit(
        &self,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Result<Option<Identity>, Rejection> {
        let Some(identity) = Caller::resolve(headers, extensions)? else {
            if self.optional {
                return Ok(None);
            }
            return Err(Unauthenticated::missing().into());
        };
        if let Some(requirement) = &self.requirement {
            requirement.check(&identity)?;
        }
        Ok(Some(identity))
    }
}
