//! `events![a, b, path::to::c]`: an `EventTable` of handlers, with duplicate
//! ids rejected at compile time.
//!
//! The duplicate check is one constant per handler after the first, which
//! compares its `ID` with those of the handlers before it and, on a match,
//! panics during constant evaluation with a message naming the id and both
//! handlers (`::espoir::__private::duplicate_id`). rustc reports that as an
//! error at the second handler's path.

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
    let mut checks = Vec::with_capacity(list.handlers.len());
    let mut adds = Vec::with_capacity(list.handlers.len());
    let mut earlier: Vec<TokenStream> = Vec::with_capacity(list.handlers.len());
    for path in &list.handlers {
        // The tokens generated around the path take the spans of its first
        // and last tokens, so that diagnostics underline the whole path.
        // These are the user's own spans, not `call_site().located_at(..)`,
        // so the error is reported at the handler, not inside the macro.
        let start = path.span();
        let end = path.segments.last().map_or(start, |last| last.ident.span());
        let open = quote_spanned!(start=> <);
        let close = quote_spanned!(end=> >);
        let (id, name) = (quote!(#open #path #close::ID), quote!(#open #path #close::NAME));
        if !earlier.is_empty() {
            let check = quote_spanned! {end=>
                const _: () = if let ::core::option::Option::Some(message) =
                    ::espoir::__private::duplicate_id(&[#(#earlier),*], #id, #name)
                {
                    ::core::panic!("{}", message.as_str())
                };
            };
            checks.push(quote!(#check));
        }
        earlier.push(quote!((#id, #name)));
        let braces = quote_spanned!(end=> {});
        adds.push(quote!(.with(#path #braces)));
    }
    quote! {
        {
            #(#checks)*
            ::espoir::__private::EventTable::new() #(#adds)*
        }
    }
}
