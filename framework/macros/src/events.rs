//! `events![a, b, path::to::c]`: an `EventTable` of handlers, with duplicate
//! ids rejected at compile time.
//!
//! The duplicate check is a `match` on the handlers' `ID` constants under
//! `#[deny(unreachable_patterns)]`: two handlers with the same id make the
//! second arm unreachable, and rustc reports it at that handler's path with
//! "matches all the relevant values" under the first one.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Path, Token};

/// The comma-separated handler paths, trailing comma allowed.
struct EventList {
    handlers: Vec<Path>,
}

impl Parse for EventList {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut handlers = Vec::new();
        while !input.is_empty() {
            // Mod-style: `a`, `self::a`, `crate::m::a`, but no generics.
            let path = input.call(Path::parse_mod_style).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected the path of a `#[register_event]` handler, such as `login` or `shop::buy`",
                )
            })?;
            handlers.push(path);
            if input.is_empty() {
                break;
            }
            if !input.peek(Token![,]) {
                return Err(input.error("expected `,` between handlers"));
            }
            input.parse::<Token![,]>()?;
        }
        Ok(EventList { handlers })
    }
}

/// Expands `events![input]`.
pub(crate) fn events(input: TokenStream) -> TokenStream {
    let list = match syn::parse2::<EventList>(input) {
        Ok(list) => list,
        Err(error) => return error.into_compile_error(),
    };
    let mut arms = Vec::with_capacity(list.handlers.len());
    let mut adds = Vec::with_capacity(list.handlers.len());
    for path in &list.handlers {
        // The tokens generated around the path take the spans of its first
        // and last tokens, so that diagnostics underline the whole path.
        // These are the user's own spans, not `call_site().located_at(..)`:
        // rustc keeps quiet about lints (`unreachable_patterns` included) in
        // code that comes from a macro expansion.
        let start = path.span();
        let end = path.segments.last().map_or(start, |last| last.ident.span());
        let open = quote_spanned!(start=> <);
        let close = quote_spanned!(end=> >::ID => {});
        let braces = quote_spanned!(end=> {});
        arms.push(quote!(#open #path #close));
        adds.push(quote!(.with(#path #braces)));
    }
    let check = if list.handlers.is_empty() {
        TokenStream::new()
    } else {
        quote! {
            #[deny(unreachable_patterns)]
            const _: () = match 0i32 {
                #(#arms)*
                _ => {}
            };
        }
    };
    quote! {
        {
            #check
            ::espoir::__private::EventTable::new() #(#adds)*
        }
    }
}
