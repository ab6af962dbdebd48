//! Checking and expanding `#[register_event]`.
//!
//! The output is the function, untouched, plus a unit-like braced struct of
//! the same name in the type namespace (Rocket's trick): `events![login]`
//! writes `login {}`, which can only mean the struct, while `login(ctx, req)`
//! still calls the function. The struct carries the id as an inherent
//! constant, for `events!`'s compile-time duplicate check, and implements
//! `EventHandler` by decoding the body, awaiting the function and encoding
//! the reply.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, Item, ItemFn, ReturnType, Signature, Type};

use crate::args::Args;

/// Expands `#[register_event(attr)] item`.
///
/// On any error the item is still emitted unchanged, next to the errors, so
/// that the rest of the crate keeps type-checking and IDEs keep working
/// (tokio-macros' `token_stream_with_error`).
pub(crate) fn register_event(attr: TokenStream, item: TokenStream) -> TokenStream {
    let function = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(function)) => function,
        Ok(other) => {
            let error = syn::Error::new(
                first_token_span(&other),
                "`#[register_event]` goes on an `async fn(ctx: Context, request: T)`",
            );
            return with_error(item, error);
        }
        Err(error) => return with_error(item, error),
    };
    // Check everything before giving up, so that one compile shows all the
    // mistakes in the attribute and in the signature.
    let args = syn::parse2::<Args>(attr);
    let request = check_signature(&function.sig);
    let (args, request) = match (args, request) {
        (Ok(args), Ok(request)) => (args, request),
        (Err(mut error), Err(more)) => {
            error.combine(more);
            return with_error(item, error);
        }
        (Err(error), Ok(_)) | (Ok(_), Err(error)) => return with_error(item, error),
    };
    match check_reply(&args, &function.sig) {
        Ok(()) => expand(item, &args, &function, request),
        Err(error) => with_error(item, error),
    }
}

fn with_error(mut tokens: TokenStream, error: syn::Error) -> TokenStream {
    tokens.extend(error.into_compile_error());
    tokens
}

fn first_token_span(item: &Item) -> Span {
    quote!(#item).into_iter().next().map_or_else(Span::call_site, |token| token.span())
}

/// Checks the parts of the signature the generated code relies on, and
/// returns the request type (`None` for the one-parameter form).
fn check_signature(sig: &Signature) -> syn::Result<Option<&Type>> {
    let mut errors: Vec<syn::Error> = Vec::new();
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            "a handler must be an `async fn`; add `async` before `fn`",
        ));
    }
    if let Some(unsafety) = sig.unsafety {
        errors.push(syn::Error::new_spanned(
            unsafety,
            "a handler cannot be `unsafe fn`: the runtime would call it with no one to uphold its contract",
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "a handler cannot have generic parameters: the request body is decoded into one concrete type",
        ));
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        errors.push(syn::Error::new_spanned(where_clause, "a handler cannot have a `where` clause"));
    }
    let mut has_receiver = false;
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                has_receiver = true;
                errors.push(syn::Error::new_spanned(
                    receiver,
                    "a handler cannot take `self`: put `#[register_event]` on a free `async fn`, not a method",
                ));
            }
            FnArg::Typed(typed) => {
                if let Type::ImplTrait(impl_trait) = &*typed.ty {
                    errors.push(syn::Error::new_spanned(
                        impl_trait,
                        "a handler cannot take `impl Trait`: the request body is decoded into one concrete type",
                    ));
                }
            }
        }
    }
    if !has_receiver {
        match sig.inputs.len() {
            0 => errors.push(syn::Error::new(
                sig.paren_token.span.join(),
                "a handler takes `(ctx: Context)` or `(ctx: Context, request: T)`, not zero parameters",
            )),
            1 | 2 => {}
            n => {
                let extra = sig.inputs.iter().skip(2);
                errors.push(syn::Error::new_spanned(
                    quote!(#(#extra),*),
                    format!(
                        "a handler takes at most two parameters, `(ctx: Context, request: T)`; found {n}"
                    ),
                ));
            }
        }
    }
    match errors.into_iter().reduce(|mut all, e| {
        all.combine(e);
        all
    }) {
        Some(errors) => Err(errors),
        None => Ok(match sig.inputs.iter().nth(1) {
            Some(FnArg::Typed(request)) => Some(&*request.ty),
            _ => None,
        }),
    }
}

/// A handler that returns nothing must say `need_return = false`: with the
/// default `need_return = true` the client would wait for a reply that never
/// comes.
fn check_reply(args: &Args, sig: &Signature) -> syn::Result<()> {
    if !args.need_return() {
        return Ok(());
    }
    let span = match &sig.output {
        ReturnType::Default => sig.ident.span(),
        ReturnType::Type(_, ty) if matches!(&**ty, Type::Tuple(unit) if unit.elems.is_empty()) => ty.span(),
        ReturnType::Type(..) => return Ok(()),
    };
    Err(syn::Error::new(
        span,
        "this handler returns nothing, so the client would wait for a reply that never comes; \
         return `Result<R, Status>`, or write `#[register_event(ID, need_return = false)]`",
    ))
}

/// The span of the generated code's own tokens, reported at `at`'s position
/// so that type errors point at the user's parameter or return type.
///
/// Generated code uses `Span::mixed_site()` throughout: its local variables
/// (`ctx`, `body`, `request`, `reply`, `status`) are then invisible to the
/// user's tokens, so a handler may be called `request` or `reply` without
/// being shadowed in its own wrapper.
fn located_at(at: &impl Spanned) -> Span {
    Span::mixed_site().located_at(at.span())
}

fn expand(item: TokenStream, args: &Args, function: &ItemFn, request: Option<&Type>) -> TokenStream {
    let site = Span::mixed_site();
    let sig = &function.sig;
    let vis = &function.vis;
    let name = &sig.ident;
    let name_str = name.unraw().to_string();
    // A `#[cfg]`'d-out function must take its handler with it.
    let cfgs: Vec<&Attribute> = function.attrs.iter().filter(|attr| attr.path().is_ident("cfg")).collect();

    let mut id = Literal::i32_suffixed(args.id);
    id.set_span(args.id_span);
    let need_return = args.need_return();
    // Only a declared bound overrides the trait's default (no bound).
    let concurrency = args.concurrency.map(|n| {
        let n = Literal::usize_unsuffixed(n as usize);
        quote_spanned! {site=>
            fn concurrency(&self) -> ::core::option::Option<::core::primitive::usize> {
                ::core::option::Option::Some(#n)
            }
        }
    });
    let struct_doc =
        format!(" The `#[register_event({})]` handler `{name_str}` as a value, for `events![]`.", args.id);

    let ctx_arg = match sig.inputs.first() {
        Some(FnArg::Typed(ctx)) => quote_spanned!(located_at(&ctx.ty)=> ctx),
        _ => quote_spanned!(site=> ctx),
    };
    let (body_param, reply) = match request {
        Some(ty) => {
            let span = located_at(ty);
            let decode = quote_spanned!(span=> ::espoir::__private::decode_body::<#ty>(&body));
            let request_arg = quote_spanned!(span=> request);
            let call = quote_spanned! {site=>
                let request = match #decode {
                    ::core::result::Result::Ok(request) => request,
                    ::core::result::Result::Err(status) => return ::core::result::Result::Err(status),
                };
                #name(#ctx_arg, #request_arg).await
            };
            (quote_spanned!(site=> body), call)
        }
        None => (quote_spanned!(site=> _body), quote_spanned!(site=> #name(#ctx_arg).await)),
    };
    let into_reply = match &sig.output {
        ReturnType::Type(_, ty) => quote_spanned! {located_at(ty)=>
            ::espoir::__private::IntoReply::into_reply(reply, #need_return)
        },
        ReturnType::Default => {
            quote_spanned!(site=> ::espoir::__private::IntoReply::into_reply(reply, #need_return))
        }
    };
    // The async block is spanned at the function's name, so that "future
    // cannot be sent between threads safely" points there rather than at the
    // attribute.
    let future = quote_spanned! {located_at(name)=>
        ::std::boxed::Box::pin(async move {
            let reply = { #reply };
            #into_reply
        })
    };

    quote_spanned! {site=>
        #item

        #(#cfgs)*
        #[doc = #struct_doc]
        #[doc(hidden)]
        #[allow(non_camel_case_types, unreachable_pub)]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy)]
        #vis struct #name {}

        #(#cfgs)*
        #[allow(unreachable_pub)]
        impl #name {
            /// The command id this handler serves.
            pub const ID: ::core::primitive::i32 = #id;
            /// The handler's path, for the duplicate-id errors of `events![]`.
            pub const NAME: &'static ::core::primitive::str =
                ::core::concat!(::core::module_path!(), "::", #name_str);
        }

        #(#cfgs)*
        impl ::espoir::__private::EventHandler for #name {
            fn id(&self) -> ::core::primitive::i32 {
                Self::ID
            }

            fn name(&self) -> &'static ::core::primitive::str {
                Self::NAME
            }

            fn need_return(&self) -> ::core::primitive::bool {
                #need_return
            }

            #concurrency

            fn call(
                &self,
                ctx: ::espoir::__private::Context,
                #body_param: ::espoir::__private::Bytes,
            ) -> ::espoir::__private::HandlerFuture {
                #future
            }
        }
    }
}
