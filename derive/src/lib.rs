//! Derive macros of prism: [`LabelSet`](macro@LabelSet) for a struct whose fields are the
//! label values of one series, [`LabelValue`](macro@LabelValue) for an enum of unit variants
//! used as a label value.
//!
//! Use them through `prism` (`prism::LabelSet`, on by default) or through `prism-core` with
//! its `derive` feature. The traits they implement, and why a label set is a struct, are
//! documented on `prism_core::LabelSet`.
//!
//! The generated code names the traits by the path `::prism`. Code that depends on
//! `prism-core` and not on `prism` says so with `#[prism(crate = "prism_core")]` on the type.
//!
//! # Attributes
//!
//! | where | attribute | effect |
//! |---|---|---|
//! | the type | `#[prism(crate = "path")]` | the crate that holds the traits (default `prism`) |
//! | a field of a `LabelSet` | `#[prism(rename = "name")]` | the label name, instead of the field's name |
//! | a variant of a `LabelValue` | `#[prism(rename = "text")]` | the label value, instead of the variant's name |
//! | a `LabelValue` enum | `#[prism(rename_all = "lowercase")]` | every variant's name in lower case (`"UPPERCASE"` too) |

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::{parse_macro_input, Data, DeriveInput, Fields, LitStr};

/// Implements `LabelSet` for a struct with named fields: the label names are the field names
/// (a raw identifier's `r#` dropped, or `#[prism(rename = "...")]`), in declaration order,
/// and each field's type implements `LabelValue`.
#[proc_macro_derive(LabelSet, attributes(prism))]
pub fn derive_label_set(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    label_set(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Implements `LabelValue` for an enum of unit variants: each variant's label value is its
/// name as written, or `#[prism(rename = "...")]`, or the enum's
/// `#[prism(rename_all = "lowercase" | "UPPERCASE")]` applied to it.
#[proc_macro_derive(LabelValue, attributes(prism))]
pub fn derive_label_value(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    label_value(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// What `#[prism(...)]` attributes on one item said.
#[derive(Default)]
struct Attrs {
    krate: Option<syn::Path>,
    rename: Option<LitStr>,
    rename_all: Option<LitStr>,
}

fn attrs(list: &[syn::Attribute]) -> syn::Result<Attrs> {
    let mut out = Attrs::default();
    for attr in list.iter().filter(|a| a.path().is_ident("prism")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let lit: LitStr = meta.value()?.parse()?;
                out.krate = Some(lit.parse()?);
            } else if meta.path.is_ident("rename") {
                out.rename = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("rename_all") {
                out.rename_all = Some(meta.value()?.parse()?);
            } else {
                return Err(meta.error("expected `crate`, `rename` or `rename_all`"));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

fn krate(attrs: &Attrs) -> TokenStream2 {
    match &attrs.krate {
        Some(path) => quote!(#path),
        None => quote!(::prism),
    }
}

/// Whether `name` is a label name every format accepts: `[a-zA-Z_][a-zA-Z0-9_]*`, not
/// starting with the reserved `__`. The registry checks it again (and the reserved names);
/// checking here turns a bad field name into a compile error.
fn valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.starts_with("__")
}

fn label_set(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let container = attrs(&input.attrs)?;
    if container.rename.is_some() || container.rename_all.is_some() {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "`rename` and `rename_all` go on fields of a LabelSet, not on the struct",
        ));
    }
    let krate = krate(&container);
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => &named.named,
            _ => {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "LabelSet derives for a struct with named fields: the names are the label \
                     names",
                ))
            }
        },
        _ => {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "LabelSet derives for a struct with named fields; derive LabelValue for an \
                 enum used as one label's value",
            ))
        }
    };
    let mut names = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut idents = Vec::new();
    for field in fields {
        let field_attrs = attrs(&field.attrs)?;
        let ident = field.ident.as_ref().expect("named fields have names");
        let (name, span) = match &field_attrs.rename {
            Some(lit) => (lit.value(), lit.span()),
            None => {
                let text = ident.to_string();
                let text = text.strip_prefix("r#").unwrap_or(&text).to_owned();
                (text, ident.span())
            }
        };
        if !valid_label_name(&name) {
            return Err(syn::Error::new(
                span,
                format!(
                    "{name:?} is not a label name: label names match [a-zA-Z_][a-zA-Z0-9_]* and \
                     do not start with `__`; rename it with #[prism(rename = \"...\")]"
                ),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(syn::Error::new(
                span,
                format!("label name {name:?} appears twice; each label has one field"),
            ));
        }
        names.push(LitStr::new(&name, Span::call_site()));
        idents.push(ident);
    }
    let count = idents.len();
    let bufs: Vec<_> = (0..idents.len())
        .map(|i| format_ident!("__buf{i}"))
        .collect();
    let ty = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics #krate::LabelSet for #ty #ty_generics #where_clause {
            const NAMES: &'static [&'static str] = &[#(#names),*];

            #[inline(always)]
            fn with_values<R, F>(&self, f: F) -> R
            where
                F: ::core::ops::FnOnce(&[&str]) -> R,
            {
                #( let mut #bufs = ::core::default::Default::default(); )*
                let values: [&str; #count] = [
                    #( #krate::LabelValue::label_value(&self.#idents, &mut #bufs) ),*
                ];
                f(&values)
            }
        }
    })
}

fn label_value(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let container = attrs(&input.attrs)?;
    let krate = krate(&container);
    let variants = match &input.data {
        Data::Enum(e) => &e.variants,
        _ => {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "LabelValue derives for an enum of unit variants; implement it by hand for \
                 another type",
            ))
        }
    };
    let case = match &container.rename_all {
        None => None,
        Some(lit) => match lit.value().as_str() {
            "lowercase" => Some(false),
            "UPPERCASE" => Some(true),
            _ => {
                return Err(syn::Error::new(
                    lit.span(),
                    "rename_all takes \"lowercase\" or \"UPPERCASE\"",
                ))
            }
        },
    };
    let mut arms = Vec::new();
    for variant in variants {
        if !matches!(variant.fields, Fields::Unit) {
            return Err(syn::Error::new_spanned(
                variant,
                "LabelValue derives for unit variants only: a label value is one fixed text \
                 per variant",
            ));
        }
        let variant_attrs = attrs(&variant.attrs)?;
        let ident = &variant.ident;
        let text = match (&variant_attrs.rename, case) {
            (Some(lit), _) => lit.value(),
            (None, Some(true)) => ident.to_string().to_uppercase(),
            (None, Some(false)) => ident.to_string().to_lowercase(),
            (None, None) => ident.to_string(),
        };
        arms.push(quote!(Self::#ident => #text));
    }
    let ty = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    // An enum without variants has no values: `match *self {}` is its whole body.
    Ok(quote! {
        impl #impl_generics #krate::LabelValue for #ty #ty_generics #where_clause {
            type Buf = ();

            #[inline(always)]
            fn label_value<'__a>(&'__a self, _: &'__a mut ()) -> &'__a str {
                match *self {
                    #(#arms,)*
                }
            }
        }
    })
}
