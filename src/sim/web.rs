//! The web host (www.kameo.se): the login, the 2FA step, and the balances
//! call, as captured. Pages are HTML, redirects are 302, and a session that
//! is not logged in is sent to `/user/login`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, middleware};

use super::session::{COOKIE, Stage, session_from_cookie};
use super::{Shared, account::swedish_money};
use crate::config::Secret;
use crate::kameo::totp::{STEP_SECS, TotpGenerator};

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/user/login", get(login_page).post(login_submit))
        .route("/auth/check", get(auth_check))
        .route("/auth/2fa", get(two_factor_page).post(two_factor_submit))
        .route("/aktuella-lan", get(current_loans_page))
        .route("/ezjscore/call/kameo_transfer::init", get(transfer_init))
        .layer(middleware::from_fn_with_state(shared.clone(), super::api::journal_only))
        .with_state(shared)
}

/// The session of this request, creating one (and its cookie) if needed.
fn session(shared: &Shared, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    let mut world = shared.world();
    let existing = session_from_cookie(headers.get(header::COOKIE).and_then(|v| v.to_str().ok()));
    if let Some(id) = existing
        && world.sessions.get_mut(&id).is_some()
    {
        return (id, None);
    }
    let world = &mut *world;
    let id = world.sessions.create(&mut world.rng);
    let cookie = HeaderValue::from_str(&format!("{COOKIE}={id}; Path=/; HttpOnly")).ok();
    (id, cookie)
}

fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn login_html(error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<div class=\"alert alert-danger\">{e}</div>"))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html><html lang=\"sv\"><head><title>Logga in | Kameo</title></head><body>\
         <h1>Logga in</h1>{error}\
         <form method=\"post\" action=\"/user/login\">\
         <input type=\"email\" name=\"Login\" /><input type=\"password\" name=\"Password\" />\
         <input type=\"hidden\" name=\"RedirectURI\" value=\"\" />\
         <button type=\"submit\" name=\"LoginButton\">Logga in</button></form></body></html>"
    )
}

async fn login_page(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let (_, cookie) = session(&shared, &headers);
    with_cookie(html(login_html(None)), cookie)
}

async fn login_submit(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (id, cookie) = session(&shared, &headers);
    let mut world = shared.world();
    let ok = form
        .get("Login")
        .is_some_and(|l| l.eq_ignore_ascii_case(&world.account.email))
        && form.get("Password").is_some_and(|p| *p == world.account.password);
    let response = match world.sessions.get_mut(&id) {
        Some(s) if ok => {
            s.stage = Stage::PasswordAccepted;
            redirect("/auth/check")
        }
        // Wrong credentials leave you on the login page, as captured.
        _ => html(login_html(Some("Felaktigt användarnamn eller lösenord."))),
    };
    with_cookie(response, cookie)
}

async fn auth_check(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let (id, cookie) = session(&shared, &headers);
    let stage = shared.world().sessions.get_mut(&id).map(|s| s.stage);
    let response = match stage {
        Some(Stage::PasswordAccepted) => redirect("/auth/2fa"),
        Some(Stage::Authenticated) => redirect("/aktuella-lan"),
        _ => redirect("/user/login"),
    };
    with_cookie(response, cookie)
}

fn two_factor_html(token: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<div class=\"alert alert-danger\">{e}</div>"))
        .unwrap_or_default();
    // The e-sign form comes first and has its own ezxform_token: a client
    // must take the one inside the /auth/2fa form.
    format!(
        "<!DOCTYPE html><html lang=\"sv\"><head><title>Tvåstegsverifiering | Kameo</title>\
         <meta name=\"csrf-token\" id=\"ezxform_token_js\" title=\"{token}\" content=\"{token}\" /></head><body>\
         {error}\
         <form method=\"post\" action=\"/auth/e-sign\">\
         <input type=\"hidden\" name=\"ezxform_token\" value=\"esign-{token}\" />\
         <button type=\"submit\" name=\"esign\">Logga in med BankID</button></form>\
         <form method=\"post\" action=\"/auth/2fa\">\
         <input type=\"hidden\" name=\"ezxform_token\" value=\"{token}\" />\
         <input type=\"text\" name=\"code\" autocomplete=\"one-time-code\" />\
         <button type=\"submit\" name=\"submit_code\">Verifiera</button></form></body></html>"
    )
}

async fn two_factor_page(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let (id, cookie) = session(&shared, &headers);
    let mut world = shared.world();
    let response = match world.sessions.get_mut(&id) {
        Some(s) if s.stage == Stage::PasswordAccepted => html(two_factor_html(&s.token, None)),
        _ => redirect("/user/login"),
    };
    with_cookie(response, cookie)
}

async fn two_factor_submit(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (id, cookie) = session(&shared, &headers);
    let mut world = shared.world();
    let world = &mut *world;
    let secret = Secret::new(world.account.totp_secret.clone());
    let Some(s) = world
        .sessions
        .get_mut(&id)
        .filter(|s| s.stage == Stage::PasswordAccepted)
    else {
        return with_cookie(redirect("/user/login"), cookie);
    };
    let token_ok = form.get("ezxform_token").is_some_and(|t| *t == s.token);
    let code = form.get("code").map(|c| c.trim().to_string()).unwrap_or_default();
    let now = crate::kameo::totp::unix_now();
    // ±1 step, as authenticator apps drift; a step's code works once.
    let step = TotpGenerator::new(&secret).ok().and_then(|g| {
        [now.saturating_sub(STEP_SECS), now, now + STEP_SECS]
            .into_iter()
            .find(|t| g.code_at(*t) == code)
            .map(|t| t / STEP_SECS)
    });
    let token = s.token.clone();
    let now_sim = world.now();
    match step {
        Some(step) if token_ok && !world.sessions.used_steps.contains(&step) => {
            world.sessions.used_steps.push(step);
            if let Some(s) = world.sessions.get_mut(&id) {
                s.stage = Stage::Authenticated;
                s.authenticated_at = Some(now_sim);
            }
            with_cookie(redirect("/aktuella-lan"), cookie)
        }
        _ => with_cookie(
            html(two_factor_html(&token, Some("Felaktig kod. Försök igen."))),
            cookie,
        ),
    }
}

async fn current_loans_page(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let (id, cookie) = session(&shared, &headers);
    let world = shared.world();
    let response = if world
        .sessions
        .is_authenticated(&id, world.now(), world.session_lifetime())
    {
        html("<!DOCTYPE html><html><head><title>Aktuella lån | Kameo</title></head><body></body></html>".into())
    } else {
        redirect("/user/login")
    };
    with_cookie(response, cookie)
}

async fn transfer_init(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let (id, cookie) = session(&shared, &headers);
    let now = shared.now();
    let mut world = shared.world();
    if !world.sessions.is_authenticated(&id, now, world.session_lifetime()) {
        return with_cookie(redirect("/user/login"), cookie);
    }
    world.advance(now);
    let token = world.sessions.get_mut(&id).map(|s| s.token.clone()).unwrap_or_default();
    // Each currency uses another of the three separators seen in the wild.
    let separators = [
        ("SEK", ' ', "1000001"),
        ("NOK", '\u{a0}', "1000009"),
        ("DKK", '\u{202f}', "1000017"),
    ];
    let accounts: Vec<serde_json::Value> = separators
        .iter()
        .map(|(currency, sep, number)| {
            let cash = world.account.cash.get(currency).copied().unwrap_or_default();
            serde_json::json!({
                "accountNo": number,
                "currencyCode": currency,
                "availableCash": swedish_money(cash.available, *sep),
                "reservedCash": swedish_money(cash.reserved, *sep),
            })
        })
        .collect();
    let body = serde_json::json!({
        "error_text": "",
        "content": {
            "message": null,
            "data": {
                "xsrfToken": token,
                "accounts": accounts,
                "transferRequests": [],
                "translation": {
                    "from": "Från", "to": "Till", "balance": "Saldo", "createBtn": "Överför",
                    "updateBtn": "Ändra uppdrag", "cancelBtn": "Ångra överföring", "account": "Konto",
                    "insufficientCashWithMarginErr": "10% marginal krävs.",
                    "confirmModalBtn": "Bekräfta", "cancelModalBtn": "Avbryt"
                },
                "rates": null,
                "fees": null
            }
        }
    });
    with_cookie(axum::Json(body).into_response(), cookie)
}
