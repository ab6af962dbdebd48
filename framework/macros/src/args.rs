//! The arguments of `#[register_event(...)]`.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitBool, Token, UnOp};

/// `#[register_event(ID)]`, optionally followed by `need_return = BOOL`
/// and `concurrency = N`.
pub(crate) struct Args {
    /// The command id, already checked to fit `i32`.
    pub(crate) id: i32,
    /// Where the id was written, so the generated `ID` constant points there.
    pub(crate) id_span: Span,
    /// `need_return = ...`, if given (the default is `true`).
    pub(crate) need_return: Option<LitBool>,
    /// `concurrency = N`: at most N runs of the handler at once on a node.
    pub(crate) concurrency: Option<u32>,
}

impl Args {
    /// Whether the client gets the handler's return value.
    pub(crate) fn need_return(&self) -> bool {
        self.need_return.as_ref().is_none_or(LitBool::value)
    }
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            // `input.error` would prefix "unexpected end of input"; the call
            // site of an attribute macro is the attribute itself.
            return Err(syn::Error::new(
                Span::call_site(),
                "missing event id: write `#[register_event(ID)]` with an integer literal ID",
            ));
        }
        if input.peek(Ident::peek_any) && input.peek2(Token![=]) {
            let key = input.call(Ident::parse_any)?;
            return Err(syn::Error::new_spanned(
                key,
                "missing event id: the id comes first, as in `#[register_event(ID, need_return = false)]`",
            ));
        }
        let (id, id_span) = parse_id(input)?;

        let mut need_return: Option<LitBool> = None;
        let mut concurrency: Option<u32> = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break; // trailing comma
            }
            if !input.peek(Ident::peek_any) {
                return Err(input.error("expected `need_return = true` or `need_return = false`"));
            }
            let key = input.call(Ident::parse_any)?;
            let seen = match key.unraw().to_string().as_str() {
                "need_return" => need_return.is_some(),
                "concurrency" => concurrency.is_some(),
                other => {
                    return Err(syn::Error::new_spanned(
                        &key,
                        format!("unknown argument `{other}`; expected `need_return` or `concurrency`"),
                    ));
                }
            };
            if seen {
                return Err(syn::Error::new_spanned(&key, format!("duplicate argument `{}`", key.unraw())));
            }
            input.parse::<Token![=]>()?;
            let value = input.parse::<Expr>()?;
            if key == "need_return" {
                need_return = Some(parse_bool(value)?);
            } else {
                concurrency = Some(parse_concurrency(value)?);
            }
        }
        Ok(Args { id, id_span, need_return, concurrency })
    }
}

fn parse_bool(value: Expr) -> syn::Result<LitBool> {
    match value {
        Expr::Lit(ExprLit { lit: Lit::Bool(value), .. }) => Ok(value),
        other => Err(syn::Error::new_spanned(other, "`need_return` takes a bool literal: `true` or `false`")),
    }
}

/// `concurrency`: a positive integer literal (a bound of 0 would refuse
/// every request).
fn parse_concurrency(value: Expr) -> syn::Result<u32> {
    let wrong = |span: &dyn quote::ToTokens| {
        syn::Error::new_spanned(
            span,
            "`concurrency` takes a positive integer literal, as in `concurrency = 64`",
        )
    };
    let Expr::Lit(ExprLit { lit: Lit::Int(lit), .. }) = &value else { return Err(wrong(&value)) };
    match lit.base10_parse::<u32>() {
        Ok(0) | Err(_) => Err(wrong(lit)),
        Ok(n) => Ok(n),
    }
}

/// The id: an integer literal, optionally negated, that fits `i32`.
fn parse_id(input: ParseStream<'_>) -> syn::Result<(i32, Span)> {
    let expr: Expr = input.parse()?;
    let (negative, lit) = match &expr {
        Expr::Lit(ExprLit { lit: Lit::Int(lit), .. }) => (false, lit),
        Expr::Unary(ExprUnary { op: UnOp::Neg(_), expr: inner, .. }) => match &**inner {
            Expr::Lit(ExprLit { lit: Lit::Int(lit), .. }) => (true, lit),
            _ => return Err(not_an_integer(&expr)),
        },
        _ => return Err(not_an_integer(&expr)),
    };
    if !matches!(lit.suffix(), "" | "i32") {
        return Err(syn::Error::new_spanned(
            lit,
            format!("event ids are `i32`; remove the `{}` suffix", lit.suffix()),
        ));
    }
    // Parsed as i64 so that `-2147483648` works; a magnitude beyond i64 is
    // out of range anyway.
    let value = lit.base10_parse::<i64>().ok().map(|m| if negative { -m } else { m });
    match value.and_then(|v| i32::try_from(v).ok()) {
        Some(id) => Ok((id, lit.span())),
        None => Err(syn::Error::new_spanned(
            &expr,
            format!(
                "event id {}{} does not fit in `i32` ({}..={}): obespoir command ids are 32-bit signed",
                if negative { "-" } else { "" },
                lit.base10_digits(),
                i32::MIN,
                i32::MAX,
            ),
        )),
    }
}

fn not_an_integer(expr: &Expr) -> syn::Error {
    syn::Error::new_spanned(
        expr,
        "the event id must be an integer literal, as in `#[register_event(100002)]`",
    )
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn parse(tokens: proc_macro2::TokenStream) -> syn::Result<Args> {
        syn::parse2(tokens)
    }

    fn error(tokens: proc_macro2::TokenStream) -> String {
        match parse(tokens) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn accepts_ids_and_need_return() {
        let args = parse(quote!(100002)).unwrap();
        assert_eq!((args.id, args.need_return()), (100002, true));
        let args = parse(quote!(-7, need_return = false,)).unwrap();
        assert_eq!((args.id, args.need_return()), (-7, false));
        assert_eq!(parse(quote!(2147483647i32)).unwrap().id, i32::MAX);
        assert_eq!(parse(quote!(-2147483648)).unwrap().id, i32::MIN);
        assert_eq!(parse(quote!(0x10)).unwrap().id, 16);
    }

    #[test]
    fn rejects_ids_outside_i32() {
        assert!(error(quote!(2147483648)).contains("does not fit in `i32`"));
        assert!(error(quote!(-2147483649)).contains("event id -2147483649 does not fit"));
        assert!(error(quote!(99999999999999999999999)).contains("does not fit"));
        assert!(error(quote!(5u32)).contains("remove the `u32` suffix"));
    }

    #[test]
    fn rejects_non_literal_ids() {
        for tokens in [quote!(LOGIN), quote!("login"), quote!(1.5), quote!(-X), quote!(1 + 1)] {
            assert!(error(tokens).contains("must be an integer literal"));
        }
        assert!(error(quote!()).starts_with("missing event id"));
        assert!(error(quote!(need_return = false)).starts_with("missing event id"));
    }

    #[test]
    fn accepts_a_concurrency_bound() {
        let args = parse(quote!(100020, concurrency = 64)).unwrap();
        assert_eq!((args.id, args.need_return(), args.concurrency), (100020, true, Some(64)));
        let args = parse(quote!(5, concurrency = 1, need_return = false)).unwrap();
        assert_eq!((args.need_return(), args.concurrency), (false, Some(1)));
        assert_eq!(parse(quote!(5)).unwrap().concurrency, None);
        for bad in [quote!(5, concurrency = 0), quote!(5, concurrency = -1), quote!(5, concurrency = "8")] {
            assert!(error(bad).contains("`concurrency` takes a positive integer literal"));
        }
        assert_eq!(error(quote!(5, concurrency = 2, concurrency = 3)), "duplicate argument `concurrency`");
    }

    #[test]
    fn rejects_unknown_duplicate_and_ill_typed_arguments() {
        assert_eq!(
            error(quote!(1, need_retrun = false)),
            "unknown argument `need_retrun`; expected `need_return` or `concurrency`"
        );
        assert_eq!(
            error(quote!(1, r#type = 2)),
            "unknown argument `type`; expected `need_return` or `concurrency`"
        );
        assert_eq!(
            error(quote!(1, need_return = true, need_return = false)),
            "duplicate argument `need_return`"
        );
        assert!(error(quote!(1, need_return = "no")).contains("takes a bool literal"));
        assert!(error(quote!(1, 2)).contains("expected `need_return = true`"));
    }
}
