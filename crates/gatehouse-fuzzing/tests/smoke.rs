//! The fuzz targets' smoke run: each property over its seeds and a fixed number of seeded
//! mutations of them (bit flips, bytes from the target's own dictionary, cut, repeated and
//! spliced ranges). Deterministic: the same inputs on every run, so a failure names an input that
//! fails again. The long run is `scripts/fuzz.sh`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// libFuzzer's default `-max_len`.
const MAX_LEN: usize = 4096;

/// xorshift64*: a fixed sequence from a fixed seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        // `n` is at most a few thousand: the bias of a modulo is irrelevant here.
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }
}

/// One mutation of `input`, using `dictionary` and the other `seeds`.
fn mutate(input: &mut Vec<u8>, rng: &mut Rng, dictionary: &[&[u8]], seeds: &[Vec<u8>]) {
    let at = rng.below(input.len() + 1);
    match rng.below(8) {
        0 if !input.is_empty() => {
            let i = rng.below(input.len());
            input[i] ^= 1 << rng.below(8);
        }
        1 if !input.is_empty() => {
            let i = rng.below(input.len());
            input[i] = (rng.next() & 0xFF) as u8;
        }
        2 => {
            const EDGES: &[u8] = b"\x00\xff\r\n\t \"\\.,;:=/%?#[]{}-_+0179AaZz\x7f\x80\xc3";
            input.insert(at, EDGES[rng.below(EDGES.len())]);
        }
        3 if !input.is_empty() => {
            let len = 1 + rng.below(8.min(input.len()));
            let start = rng.below(input.len() + 1 - len);
            input.drain(start..start + len);
        }
        4 if !input.is_empty() => {
            let len = 1 + rng.below(16.min(input.len()));
            let start = rng.below(input.len() + 1 - len);
            let copy = input[start..start + len].to_vec();
            input.splice(at..at, copy);
        }
        5 => {
            let other = &seeds[rng.below(seeds.len())];
            let from = rng.below(other.len() + 1);
            input.truncate(at);
            input.extend_from_slice(&other[from..]);
        }
        _ => {
            let word = dictionary[rng.below(dictionary.len())];
            if rng.below(2) == 0 || input.is_empty() {
                input.splice(at..at, word.iter().copied());
            } else {
                let end = (at + word.len()).min(input.len());
                input.splice(at..end, word.iter().copied());
            }
        }
    }
    input.truncate(MAX_LEN);
}

/// Runs `property` on every seed, then on `count` mutants (one to eight mutations of a seed,
/// or of the mutant before), and fails naming the input that broke it.
fn run(name: &str, property: fn(&[u8]), seeds: &[Vec<u8>], dictionary: &[&[u8]], count: usize) {
    assert!(!seeds.is_empty() && !dictionary.is_empty());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ name.len() as u64);
    let check = |i: usize, input: &[u8]| {
        if catch_unwind(AssertUnwindSafe(|| property(input))).is_err() {
            panic!(
                "{name}: input {i} broke the property: b\"{}\"",
                input.escape_ascii()
            );
        }
    };
    for (i, seed) in seeds.iter().enumerate() {
        check(i, seed);
    }
    let started = Instant::now();
    let mut input = seeds[0].clone();
    // Bounded by count, not time: every run checks the same inputs, however busy the machine.
    let mut done = 0;
    while done < count {
        if rng.below(4) == 0 {
            input = seeds[rng.below(seeds.len())].clone();
        }
        for _ in 0..=rng.below(8) {
            mutate(&mut input, &mut rng, dictionary, seeds);
        }
        check(seeds.len() + done, &input);
        done += 1;
    }
    println!(
        "{name}: {} seeds and {done} mutants in {:?}",
        seeds.len(),
        started.elapsed()
    );
}

fn bytes(texts: &[&str]) -> Vec<Vec<u8>> {
    texts.iter().map(|t| t.as_bytes().to_vec()).collect()
}

/// The segments form of `gatehouse_fuzzing::authorization`: 0, header, 0xFF, payload, 0xFF,
/// signature.
fn token_input(header: &str, payload: &str, signature: &[u8]) -> Vec<u8> {
    let mut input = vec![0];
    input.extend_from_slice(header.as_bytes());
    input.push(0xFF);
    input.extend_from_slice(payload.as_bytes());
    input.push(0xFF);
    input.extend_from_slice(signature);
    input
}

const PAYLOAD: &str = r#"{"iss":"https://fuzz.example","aud":"api","sub":"user-7","exp":4102444800,"nbf":1,"iat":1,"email":"a@example.com","roles":["admin","user"],"scope":"orders:read orders:write"}"#;

#[test]
fn token() {
    let signature = [0x5Au8; 32];
    let mut seeds = vec![
        token_input(r#"{"alg":"HS256","typ":"JWT"}"#, PAYLOAD, &signature),
        token_input(r#"{"alg":"HS256","kid":"k1"}"#, PAYLOAD, &signature),
        token_input(r#"{"alg":"none"}"#, PAYLOAD, b""),
        token_input(r#"{"alg":"RS256","kid":"k1"}"#, PAYLOAD, &signature),
        token_input(
            r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
            PAYLOAD,
            &signature,
        ),
        token_input(
            r#"{"alg":"HS256","jku":"https://evil.example/jwks"}"#,
            PAYLOAD,
            &signature,
        ),
        token_input(
            r#"{"alg":"HS256"}"#,
            r#"{"iss":"https://fuzz.example","aud":["api","x"],"sub":"\u0075ser","exp":4102444800,"exp":1}"#,
            &signature,
        ),
    ];
    seeds.extend(bytes(&[
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln",
        "bearer   a.b.c",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer a.b.c.d.e",
    ]));
    let dictionary: &[&[u8]] = &[
        b"\"alg\"",
        b"\"HS256\"",
        b"\"none\"",
        b"\"kid\"",
        b"\"exp\"",
        b"\"nbf\"",
        b"\"iss\"",
        b"\"aud\"",
        b"\"sub\"",
        b"\\u0000",
        b"\\ud800",
        b"1e999",
        b"-0",
        b"null",
        b"[[[[",
        b"\xff",
        b".",
        b"Bearer ",
    ];
    run(
        "token",
        gatehouse_fuzzing::token,
        &seeds,
        dictionary,
        200_000,
    );
}

/// The token property can fail: the harness accepts a token signed with its secret, and the
/// property refuses to let that pass, so the smoke run above is not vacuous.
#[test]
fn the_token_property_fails_on_a_signed_token() {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(PAYLOAD);
    let signing_input = format!("{header}.{payload}");
    let key = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA256,
        gatehouse_fuzzing::TOKEN_SECRET.as_bytes(),
    );
    let tag = aws_lc_rs::hmac::sign(&key, signing_input.as_bytes());
    let signed = format!("Bearer {signing_input}.{}", URL_SAFE_NO_PAD.encode(tag));
    let outcome = catch_unwind(|| gatehouse_fuzzing::token(signed.as_bytes()));
    assert!(outcome.is_err(), "a validly signed token was not accepted");
}

#[test]
fn context_headers() {
    use gatehouse_context::Identity;
    let identities = [
        Identity::new("user-7", "https://idp.example"),
        Identity::new("user 7", "https://idp.example")
            .with_email("a@example.com")
            .with_roles(["admin", "read,write", "caf\u{e9}"]),
        Identity::new("\u{1F600}%2C", "iss")
            .with_roles(["a"])
            .with_permissions(["orders:read", "orders:write"])
            .with_attribute("tenant", "acme")
            .with_attribute("k=v", "x,y"),
    ];
    let mut seeds = Vec::new();
    for identity in &identities {
        let mut headers = http::HeaderMap::new();
        gatehouse_context::write_headers(identity, &mut headers).expect("a seed identity encodes");
        // An absent header is a value `HeaderValue` refuses, which the harness skips; an empty
        // one would be a present, empty header, which the contract refuses.
        let values: Vec<&[u8]> = gatehouse_context::names::ALL
            .iter()
            .map(|name| headers.get(*name).map_or(&b"\n"[..], |v| v.as_bytes()))
            .collect();
        let seed = values.join(&0xFF);
        // Each seed reaches the round trip, so mutants start from inputs that get that far.
        let read = gatehouse_context::read_headers(&gatehouse_fuzzing::context_header_map(&seed));
        assert_eq!(read, Ok(Some(identity.clone())), "seed {seed:?}");
        seeds.push(seed);
    }
    let dictionary: &[&[u8]] = &[
        b"%2C", b"%25", b"%", b"%C3%A9", b"%FF", b",", b"=", b" ", b"\xff", b"1", b"2", b"b64:",
    ];
    run(
        "context_headers",
        gatehouse_fuzzing::context_headers,
        &seeds,
        dictionary,
        200_000,
    );
}

#[test]
fn path() {
    let seeds = bytes(&[
        "/",
        "/orders/42/items",
        "/a/../b",
        "/a/./b/",
        "//a///b",
        "/%2e%2E/etc/passwd",
        "/a%2Fb%5cc",
        "/%00",
        "/caf%C3%A9/%41",
        "/.%2e/x/..%2F",
        "/a/b/c/../../../../d",
        "\\a\\b",
    ]);
    let dictionary: &[&[u8]] = &[
        b"/", b"//", b"..", b".", b"%2e", b"%2E", b"%2f", b"%5C", b"%00", b"%25", b"%", b"\\",
        b"?", b"#", b";",
    ];
    run("path", gatehouse_fuzzing::path, &seeds, dictionary, 200_000);
}

#[test]
fn config() {
    let seeds = vec![
        include_bytes!("../../../config/quickstart.yaml").to_vec(),
        include_bytes!("../../../config/demo.yaml").to_vec(),
    ];
    let dictionary: &[&[u8]] = &[
        b": ",
        b"\n  ",
        b"- ",
        b"0",
        b"-1",
        b"99999999999999999999",
        b"1ms",
        b"1 GiB",
        b"true",
        b"null",
        b"[]",
        b"{}",
        b"*a",
        b"&a ",
        b"!!str ",
        b"'",
        b"\"",
    ];
    run(
        "config",
        gatehouse_fuzzing::config,
        &seeds,
        dictionary,
        30_000,
    );
}

#[test]
fn upstream_response() {
    let with_step = |step: u8, text: &str| {
        let mut input = vec![step];
        input.extend_from_slice(text.as_bytes());
        input
    };
    // The step byte sets the read size and, through its parity, whether a body is expected (an
    // odd byte: a body, as after a GET; an even one: none, as after a HEAD).
    let seeds = vec![
        with_step(7, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        with_step(
            7,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nx-trailer: t\r\n\r\n",
        ),
        with_step(
            1,
            "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
        ),
        with_step(
            8,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ),
        with_step(3, "HTTP/1.1 204 No Content\r\n\r\n"),
        with_step(
            4,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
        ),
        with_step(5, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody"),
        with_step(
            9,
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        ),
        with_step(
            2,
            "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
        ),
    ];
    // The first two chunked seeds reach the chunk decoder (their body is expected).
    for seed in &seeds[1..3] {
        let expects_body = (usize::from(seed[0] % 64) + 1) % 2 == 0;
        let mut buf = bytes::BytesMut::from(&seed[1..]);
        let head = gatehouse_proxy::upstream::wire::parse_head(&mut buf)
            .ok()
            .flatten()
            .expect("a seed head parses");
        assert!(
            matches!(
                gatehouse_proxy::upstream::wire::response_framing(&head, expects_body),
                Ok(gatehouse_proxy::upstream::wire::Framing::Chunked(_))
            ),
            "seed {seed:?} does not reach the chunk decoder"
        );
    }
    let dictionary: &[&[u8]] = &[
        b"\r\n",
        b"\n",
        b"0\r\n\r\n",
        b"ffffffffffffffff",
        b";",
        b"chunked",
        b"Transfer-Encoding: ",
        b"Content-Length: ",
        b": ",
        b" ",
        b"HTTP/1.1 ",
        b"100 Continue\r\n\r\n",
    ];
    run(
        "upstream_response",
        gatehouse_fuzzing::upstream_response,
        &seeds,
        dictionary,
        200_000,
    );
}

#[test]
fn request_head() {
    let seeds = bytes(&[
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /x?y=1 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer t\r\nContent-Length: 0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
        "GET / HTTP/1.1\r\nExpect: 100-continue\r\nTE: trailers\r\n\r\n",
        "GET / HTTP/1.1\r\nx-user-id: forged\r\nConnection: close\r\n\r\n",
    ]);
    let dictionary: &[&[u8]] = &[
        b"\r\n",
        b"\n",
        b"\r\n\r\n",
        b": ",
        b" ",
        b"\t",
        b"Content-Length: ",
        b"Transfer-Encoding: ",
        b"Upgrade: ",
        b"Connection: ",
        b"HTTP/1.1",
        b"0",
        b"+1",
        b"\x00",
    ];
    run(
        "request_head",
        gatehouse_fuzzing::request_head,
        &seeds,
        dictionary,
        200_000,
    );
}
