//! The API host (api.kameo.se/v1): listing, Q&A, bidding and subscription,
//! behind the rate limit (60 a minute, `x-ratelimit-*` on every answer) and
//! the fault injector. An expired or missing session gets 401
//! `{"message":"Unauthenticated."}`.

// Handlers return a ready `Response` as their error; boxing it would buy
// nothing on a test server.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, MutexGuard};

use axum::body::{Body, Bytes};

use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::account::BidRequest;
use super::faults::Fault;
use super::journal::{BidRecord, RequestRecord};
use super::market::{STATE_ALLOCATION, STATE_CLOSED, STATE_OPEN, STATE_UPCOMING, SimLoan};
use super::session::{RATE_LIMIT, session_from_cookie};
use super::{Shared, World};

const DEFAULT_PAGE_SIZE: usize = 12;
const MAX_PAGE_SIZE: usize = 100;

pub fn router(shared: Arc<Shared>) -> Router {
    let v1 = Router::new()
        .route("/loans/listing/investment-options", get(listing))
        .route("/q-a", get(questions))
        .route("/bidding/{id}/load", get(bid_form).post(preview))
        .route("/bidding/{id}/submit", axum::routing::post(submit))
        .route("/loan/subscription/{id}", get(subscription).post(subscription));
    Router::new()
        .nest("/v1", v1)
        .layer(middleware::from_fn_with_state(shared.clone(), gatekeeper))
        .with_state(shared)
}

fn json_status(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn record(shared: &Shared, method: &str, path: &str, status: u16, with_session: bool) {
    let mut world = shared.world();
    let at = world.now();
    world.journal.requests.push(RequestRecord {
        at,
        method: method.into(),
        path: path.into(),
        status,
        with_session,
    });
}

/// The web host's middleware: only records requests.
pub async fn journal_only(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let (method, path) = (request.method().to_string(), request.uri().path().to_string());
    let with_session =
        session_from_cookie(request.headers().get(header::COOKIE).and_then(|v| v.to_str().ok())).is_some();
    let response = next.run(request).await;
    record(&shared, &method, &path, response.status().as_u16(), with_session);
    response
}

/// The API host's middleware: faults, the rate limit, its headers, the journal.
async fn gatekeeper(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let (method, path) = (request.method().to_string(), request.uri().path().to_string());
    let session = session_from_cookie(request.headers().get(header::COOKIE).and_then(|v| v.to_str().ok()));
    let key = session.clone().unwrap_or_else(|| peer.ip().to_string());
    let (fault, slot, slow_delay) = {
        let mut world = shared.world();
        let world = &mut *world;
        let fault = world.faults.draw(&path, &mut world.rng);
        let slot = world.sessions.take(&key, tokio::time::Instant::now());
        (fault, slot, world.faults.slow_delay())
    };
    let mut delay = None;
    let mut response = match (fault, slot) {
        (_, Err(_)) | (Some(Fault::TooManyRequests), Ok(_)) => {
            let retry_after = slot.err().unwrap_or(1);
            let mut r = json_status(StatusCode::TOO_MANY_REQUESTS, json!({"message": "Too Many Attempts."}));
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            r
        }
        (Some(Fault::ServerError), Ok(_)) => json_status(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"message": "Service Unavailable"}),
        ),
        (Some(Fault::Slow), Ok(_)) => {
            delay = Some(slow_delay);
            next.run(request).await
        }
        (Some(Fault::Malformed), Ok(_)) => {
            let r = next.run(request).await;
            let mut broken = Response::new(Body::from("{\"data\": {\"investment_opt"));
            *broken.status_mut() = r.status();
            broken
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            broken
        }
        (None, Ok(_)) => next.run(request).await,
    };
    let remaining = slot.unwrap_or(0);
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(RATE_LIMIT));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    // Recorded when handled: a slow answer's request has already happened.
    record(&shared, &method, &path, response.status().as_u16(), session.is_some());
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    response
}

/// The logged-in session of a request, or the 401 Kameo answers.
fn authenticated(world: &World, headers: &HeaderMap, now: OffsetDateTime) -> Result<String, Response> {
    let id = session_from_cookie(headers.get(header::COOKIE).and_then(|v| v.to_str().ok()));
    match id {
        Some(id) if world.sessions.is_authenticated(&id, now, world.session_lifetime()) => Ok(id),
        _ => Err(json_status(
            StatusCode::UNAUTHORIZED,
            json!({"message": "Unauthenticated."}),
        )),
    }
}

/// RFC 3339 with a Stockholm-like offset, seconds precision, as captured.
pub fn timestamp(t: OffsetDateTime) -> String {
    let t = t
        .replace_nanosecond(0)
        .unwrap_or(t)
        .to_offset(time::macros::offset!(+1));
    t.format(&Rfc3339).unwrap_or_default()
}

fn state_text(state: u32) -> &'static str {
    match state {
        STATE_UPCOMING => "Kommande",
        STATE_OPEN => "Öppen för teckning",
        STATE_ALLOCATION => "Tilldelning",
        _ => "Avslutad",
    }
}

/// A whole rate as an integer (as captured), else a decimal.
fn rate_value(rate: f64) -> Value {
    if rate.fract() == 0.0 {
        json!(rate as i64)
    } else {
        json!(rate)
    }
}

fn listing_item(world: &World, loan: &SimLoan, now: OffsetDateTime) -> Value {
    let state = loan.state_at(now);
    let subscribed = world.account.subscribed(loan, now);
    json!({
        "title": loan.title,
        "teaser": loan.teaser,
        "image": format!("https://platform-text-media-prod.s3.eu-north-1.amazonaws.com/sim/{}/cover.jpg", loan.id),
        "loan_application_id": loan.id,
        "application_amount": loan.application_amount,
        "annual_interest_rate": rate_value(loan.annual_interest_rate),
        "duration_in_months": loan.duration_in_months,
        "is_listed": 0,
        "available_kiis_languages": "SE",
        "risk_score": loan.risk_score,
        "subscribed_amount": subscribed,
        "subscription_state": {"state_id": state, "status_text_localized": state_text(state)},
        "listing_date": timestamp(loan.listing_date),
        "subscription_starts_at": timestamp(loan.starts_at),
        "subscription_ends_at": timestamp(loan.ends_at),
        "allocation_type_id": 2,
        "book_building_duration": loan.book_building_minutes,
        "currency": loan.currency,
        "min_amount": loan.min_amount,
        "underwriter_state": 0,
        "fully_funded_state": u8::from(subscribed >= loan.application_amount),
        "my_bid_amount": world.account.my_bid(loan.id),
    })
}

async fn listing(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (world, now) = match live_world(&shared, &headers) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let flag = |country: &str| {
        query
            .get(&format!("subscription_origin_{country}"))
            .is_some_and(|v| v == "1")
    };
    let limit = query
        .get("limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, MAX_PAGE_SIZE);
    let page = query.get("page").and_then(|v| v.parse().ok()).unwrap_or(1usize).max(1);
    let mut visible: Vec<&SimLoan> = world
        .market
        .loans
        .iter()
        .filter(|l| l.listing_date <= now && l.state_at(now) != STATE_CLOSED && flag(l.country))
        .collect();
    visible.sort_by_key(|l| std::cmp::Reverse(l.id));
    let total = visible.len();
    let items: Vec<Value> = visible
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|l| listing_item(&world, l, now))
        .collect();
    json_status(
        StatusCode::OK,
        json!({"data": {
            "investment_options": items,
            "result_count": items.len(),
            "current_page": page,
            "per_page": limit,
            "total": total,
            "last_page": total.div_ceil(limit).max(1),
        }}),
    )
}

async fn questions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (world, _) = match live_world(&shared, &headers) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let known = query
        .get("loan_application_id")
        .and_then(|v| v.parse::<u64>().ok())
        .and_then(|id| world.market.get(id));
    if known.is_none() {
        return not_found();
    }
    json_status(
        StatusCode::OK,
        json!({"data": {"settings": {"can_create_question": true}, "my_questions": [], "other_questions": []}}),
    )
}

/// The logged-in request's world, brought up to now, or Kameo's 401.
fn live_world<'a>(
    shared: &'a Shared,
    headers: &HeaderMap,
) -> Result<(MutexGuard<'a, World>, OffsetDateTime), Response> {
    let now = shared.now();
    let mut world = shared.world();
    authenticated(&world, headers, now)?;
    world.advance(now);
    Ok((world, now))
}

fn not_found() -> Response {
    json_status(StatusCode::NOT_FOUND, json!({"message": "Lånet finns inte."}))
}

/// `investment_status` and its text: 11 once this account has bid.
fn investment_status(mine: u64) -> (u32, &'static str) {
    if mine > 0 {
        (11, "Förhandsteckning")
    } else {
        (0, "Ingen teckning")
    }
}

fn subscription_json(world: &World, loan: &SimLoan, now: OffsetDateTime) -> Value {
    let (status, text) = investment_status(world.account.my_bid(loan.id));
    json!({
        "subscription_is_open": loan.is_open(now),
        "subscribed_amount": world.account.subscribed(loan, now),
        "total_amount": loan.application_amount,
        "investment_status": status,
        "investment_status_text": text,
    })
}

/// The start of a bid: what the bid form shows (reconstructed shape).
async fn bid_form(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<u64>) -> Response {
    let (world, now) = match live_world(&shared, &headers) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let Some(loan) = world.market.get(id) else {
        return not_found();
    };
    json_status(
        StatusCode::OK,
        json!({"data": {
            "loan_application_id": loan.id,
            "currency": loan.currency,
            "min_amount": loan.min_amount,
            "my_bid_amount": world.account.my_bid(loan.id),
            "sequence_hash": "",
            "subscription": subscription_json(&world, loan, now),
        }}),
    )
}

/// The JSON body of a preview or submit, or a 422 saying why not.
fn bid_body(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            json_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"message": "Ogiltig begäran.", "errors": {"amount": ["Beloppet måste anges."]}}),
            )
        })
}

/// What preview and submit share: a JSON body, a live session, the world
/// brought up to now.
fn bid_prelude<'a>(
    shared: &'a Shared,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(MutexGuard<'a, World>, String, Value, OffsetDateTime), Response> {
    let body = bid_body(body)?;
    let (world, now) = live_world(shared, headers)?;
    let session = authenticated(&world, headers, now)?;
    Ok((world, session, body, now))
}

/// The bid a request body describes (the hash is empty on a preview).
fn bid_request<'a>(session: &'a str, loan_id: u64, body: &'a Value) -> BidRequest<'a> {
    BidRequest {
        session,
        loan_id,
        amount: &body["amount"],
        intention: body["intention"].as_str().unwrap_or("add"),
        hash: body["sequence_hash"].as_str().unwrap_or_default(),
    }
}

fn refusal_response(refusal: &super::account::Refusal) -> Response {
    json_status(
        StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
        refusal.body(),
    )
}

async fn preview(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<u64>, body: Bytes) -> Response {
    let (mut world, session, body, now) = match bid_prelude(&shared, &headers, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let world = &mut *world;
    let request = bid_request(&session, id, &body);
    match world.account.preview(&world.market, &request, now, &mut world.rng) {
        Ok((amount, hash, valid_until)) => {
            let Some(loan) = world.market.get(id) else {
                return not_found();
            };
            json_status(
                StatusCode::OK,
                json!({"data": {
                    "bid_amount": amount.to_string(),
                    "sequence_hash": hash,
                    "valid_until": timestamp(valid_until),
                    "subscription": subscription_json(world, loan, now),
                }}),
            )
        }
        Err(refusal) => refusal_response(&refusal),
    }
}

async fn submit(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<u64>, body: Bytes) -> Response {
    let (mut world, session, body, now) = match bid_prelude(&shared, &headers, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let world = &mut *world;
    let request = bid_request(&session, id, &body);
    let result = world.account.submit(&world.market, &request, now);
    world.journal.bids.push(BidRecord {
        at: now,
        loan_id: id,
        amount: super::account::Account::parse_amount(&body["amount"]).unwrap_or(0),
        accepted: result.is_ok(),
        reason: result.as_ref().err().map(|r| r.message.clone()),
        loan_opened_at: world.market.get(id).map(|l| l.starts_at),
    });
    match result {
        Ok(_) => json_status(
            StatusCode::OK,
            json!({"data": {"heading": "Ditt bud är registrerat", "messages": [], "show_open_banking_payment_initiation": false}}),
        ),
        Err(refusal) => refusal_response(&refusal),
    }
}

async fn subscription(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<u64>) -> Response {
    let (world, now) = match live_world(&shared, &headers) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let Some(loan) = world.market.get(id) else {
        return not_found();
    };
    let (status, text) = investment_status(world.account.my_bid(loan.id));
    json_status(
        StatusCode::OK,
        json!({"data": {"subscription": {
            "loan_application_id": loan.id,
            "application_amount": loan.application_amount,
            "subscribed_amount": world.account.subscribed(loan, now),
            "listing_date": timestamp(loan.listing_date),
            "subscription_starts_at": timestamp(loan.starts_at),
            "subscription_ends_at": timestamp(loan.ends_at),
            "investment_status": status,
            "investment_status_text": text,
        }}}),
    )
}
