//! Digests from implementations that share no code with the ones the program uses (the
//! `sha1` and `blake3` crates), for the tests' expected values where the external tools
//! (`sha1sum`, `b3sum`) are not installed, as under Wine: SHA-1 from the `sha1_smol` crate,
//! and BLAKE3 from the algorithm as its specification gives it (the reference
//! implementation's one-shot form: no SIMD, no threads, one chunk after another). Both are
//! checked against known answers and, where installed, against `sha1sum` and `b3sum`
//! (tests/tools.rs).

/// SHA-1 as upper-case hex.
pub fn sha1_hex(bytes: &[u8]) -> String {
    sha1_smol::Sha1::from(bytes)
        .digest()
        .to_string()
        .to_uppercase()
}

/// BLAKE3 (32 bytes, unkeyed) as lower-case hex.
pub fn blake3_hex(input: &[u8]) -> String {
    let chunks: Vec<&[u8]> = if input.is_empty() {
        vec![&[]]
    } else {
        input.chunks(CHUNK_LEN).collect()
    };
    let last = chunks.len() - 1;
    // The chaining values of complete subtrees, merged as soon as a pair is whole; the last
    // chunk waits for the end, as only the root is compressed with ROOT.
    let mut stack: Vec<[u32; 8]> = Vec::new();
    for (index, chunk) in chunks[..last].iter().enumerate() {
        let mut value = chunk_output(chunk, index as u64).chaining_value();
        let mut total = index as u64 + 1;
        while total & 1 == 0 {
            let left = stack.pop().expect("a left subtree");
            value = parent_output(left, value).chaining_value();
            total >>= 1;
        }
        stack.push(value);
    }
    let mut output = chunk_output(chunks[last], last as u64);
    while let Some(left) = stack.pop() {
        output = parent_output(left, output.chaining_value());
    }
    let root = compress(
        &output.input,
        &output.block,
        0,
        output.block_len,
        output.flags | ROOT,
    );
    root[..8]
        .iter()
        .flat_map(|word| word.to_le_bytes())
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

const BLOCK_LEN: usize = 64;
const CHUNK_LEN: usize = 1024;
const CHUNK_START: u32 = 1;
const CHUNK_END: u32 = 2;
const PARENT: u32 = 4;
const ROOT: u32 = 8;
const IV: [u32; 8] = [
    0x6A09_E667,
    0xBB67_AE85,
    0x3C6E_F372,
    0xA54F_F53A,
    0x510E_527F,
    0x9B05_688C,
    0x1F83_D9AB,
    0x5BE0_CD19,
];
const PERMUTATION: [usize; 16] = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];

/// What the last compression of a node takes: kept until it is known whether it is the root.
struct Output {
    input: [u32; 8],
    block: [u32; 16],
    counter: u64,
    block_len: u32,
    flags: u32,
}

impl Output {
    fn chaining_value(&self) -> [u32; 8] {
        let state = compress(
            &self.input,
            &self.block,
            self.counter,
            self.block_len,
            self.flags,
        );
        state[..8].try_into().unwrap()
    }
}

fn chunk_output(chunk: &[u8], counter: u64) -> Output {
    let blocks: Vec<&[u8]> = if chunk.is_empty() {
        vec![&[]]
    } else {
        chunk.chunks(BLOCK_LEN).collect()
    };
    let last = blocks.len() - 1;
    let mut value = IV;
    for (index, block) in blocks[..last].iter().enumerate() {
        let flags = if index == 0 { CHUNK_START } else { 0 };
        let state = compress(&value, &words(block), counter, BLOCK_LEN as u32, flags);
        value = state[..8].try_into().unwrap();
    }
    Output {
        input: value,
        block: words(blocks[last]),
        counter,
        block_len: blocks[last].len() as u32,
        flags: if last == 0 { CHUNK_START } else { 0 } | CHUNK_END,
    }
}

fn parent_output(left: [u32; 8], right: [u32; 8]) -> Output {
    let mut block = [0u32; 16];
    block[..8].copy_from_slice(&left);
    block[8..].copy_from_slice(&right);
    Output {
        input: IV,
        block,
        counter: 0,
        block_len: BLOCK_LEN as u32,
        flags: PARENT,
    }
}

/// A block of up to 64 bytes as little-endian words, zero-padded.
fn words(block: &[u8]) -> [u32; 16] {
    let mut padded = [0u8; BLOCK_LEN];
    padded[..block.len()].copy_from_slice(block);
    std::array::from_fn(|index| {
        u32::from_le_bytes(padded[index * 4..index * 4 + 4].try_into().unwrap())
    })
}

fn compress(value: &[u32; 8], block: &[u32; 16], counter: u64, len: u32, flags: u32) -> [u32; 16] {
    let mut state = [
        value[0],
        value[1],
        value[2],
        value[3],
        value[4],
        value[5],
        value[6],
        value[7],
        IV[0],
        IV[1],
        IV[2],
        IV[3],
        counter as u32,
        (counter >> 32) as u32,
        len,
        flags,
    ];
    let mut message = *block;
    for round_number in 0..7 {
        round(&mut state, &message);
        if round_number < 6 {
            message = std::array::from_fn(|index| message[PERMUTATION[index]]);
        }
    }
    for index in 0..8 {
        state[index] ^= state[index + 8];
        state[index + 8] ^= value[index];
    }
    state
}

fn round(state: &mut [u32; 16], message: &[u32; 16]) {
    // Columns, then diagonals.
    mix(state, [0, 4, 8, 12], message[0], message[1]);
    mix(state, [1, 5, 9, 13], message[2], message[3]);
    mix(state, [2, 6, 10, 14], message[4], message[5]);
    mix(state, [3, 7, 11, 15], message[6], message[7]);
    mix(state, [0, 5, 10, 15], message[8], message[9]);
    mix(state, [1, 6, 11, 12], message[10], message[11]);
    mix(state, [2, 7, 8, 13], message[12], message[13]);
    mix(state, [3, 4, 9, 14], message[14], message[15]);
}

/// The quarter-round G.
fn mix(state: &mut [u32; 16], [a, b, c, d]: [usize; 4], x: u32, y: u32) {
    state[a] = state[a].wrapping_add(state[b]).wrapping_add(x);
    state[d] = (state[d] ^ state[a]).rotate_right(16);
    state[c] = state[c].wrapping_add(state[d]);
    state[b] = (state[b] ^ state[c]).rotate_right(12);
    state[a] = state[a].wrapping_add(state[b]).wrapping_add(y);
    state[d] = (state[d] ^ state[a]).rotate_right(8);
    state[c] = state[c].wrapping_add(state[d]);
    state[b] = (state[b] ^ state[c]).rotate_right(7);
}
