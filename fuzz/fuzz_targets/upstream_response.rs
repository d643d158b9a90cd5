//! Upstream HTTP/1.1 responses, as the gateway's own client reads them: head parsing, framing and
//! chunked decoding must never panic, whatever an upstream sends and however the reads split it,
//! and a chunked body never decodes to more bytes than were received.
#![no_main]

use bytes::BytesMut;
use gatehouse_proxy::upstream::wire::{Chunk, Decoded, Framing, parse_head, response_framing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&step, stream)) = data.split_first() else {
        return;
    };
    let step = usize::from(step % 64) + 1;
    let expects_body = step % 2 == 0;
    let mut buf = BytesMut::from(stream);
    let Ok(Some(head)) = parse_head(&mut buf) else {
        return;
    };
    let _ = gatehouse_proxy::upstream::wire::keeps_alive(&head);
    let Ok(Framing::Chunked(mut state)) = response_framing(&head, expects_body) else {
        return;
    };
    let body = buf.split();
    let mut fed = 0;
    let mut decoded = 0;
    loop {
        match state.decode(&mut buf) {
            Decoded::Data(bytes) => {
                decoded += bytes.len();
                assert!(decoded <= fed, "decoded more than was received");
            }
            Decoded::Trailers(_) | Decoded::End => {
                assert_eq!(state, Chunk::Done);
                return;
            }
            Decoded::Continue => {}
            Decoded::Invalid(_) => return,
            Decoded::NeedMore => {
                if fed == body.len() {
                    return;
                }
                let end = (fed + step).min(body.len());
                buf.extend_from_slice(&body[fed..end]);
                fed = end;
            }
        }
    }
});
