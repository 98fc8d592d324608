//! `Debug` that names a type but none of its contents, for every type that
//! carries personal data: a `tracing` field or an error that formats one
//! with `{:?}` then cannot put a child's or a family's details in the log.
//! (The generated API messages get the same from `cpc-proto`'s build.)

/// Implements `Debug` for each type given, as `Name { <redacted> }`.
#[macro_export]
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

#[cfg(test)]
mod tests {
    struct Visitor {
        #[allow(dead_code)] // Read only by the derived Debug this replaces.
        name: String,
    }

    crate::redacted_debug!(Visitor);

    #[test]
    fn names_the_type_and_nothing_else() {
        let visitor = Visitor {
            name: "Kayleigh Marsh".into(),
        };
        assert_eq!(format!("{visitor:?}"), "Visitor { <redacted> }");
        assert_eq!(format!("{:?}", [&visitor]), "[Visitor { <redacted> }]");
    }
}
