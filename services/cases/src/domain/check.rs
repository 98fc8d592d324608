//! Request checking, shared by every service (`cpc_platform::check`), and
//! the cases service's redacting `Debug`.

pub use cpc_platform::check::{Check, merge};

/// `Debug` that names the type but none of its (personal) contents.
macro_rules! redacted_debug {
    ($($name:ty),+ $(,)?) => {
        $(
            impl ::std::fmt::Debug for $name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str(concat!(stringify!($name), " { <redacted> }"))
                }
            }
        )+
    };
}
pub(crate) use redacted_debug;
