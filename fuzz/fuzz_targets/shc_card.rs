#![no_main]
// SMART Health Cards: `shc:/` QR text, `.smart-health-card` files, the card JWS and its
// compressed claims, verified against a fixed issuer key set and revocation list (the seeds
// are cards signed by that key), and key sets and revocation lists themselves.
use carekey_model::shc::{self, Card, Crl, Jwks};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let jwks = Jwks::from_json(include_bytes!("../corpus/shc_card/jwks.json")).expect("seed JWKS");
    let crl = Crl::from_json(include_bytes!("../corpus/shc_card/crl.json")).expect("seed CRL");
    let mut jws = Vec::new();
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(from_qr) = shc::jws_from_qr(text) {
            jws.push(from_qr);
        }
        jws.push(text.to_owned());
    }
    if let Ok(cards) = Card::file_cards(data) {
        jws.extend(cards);
    }
    for jws in jws {
        if let Ok(card) = Card::parse(&jws) {
            let _ = shc::verify(&card, &jwks, Some(&crl), card.nbf());
        }
    }
    let _ = Jwks::from_json(data);
    let _ = Crl::from_json(data);
});
