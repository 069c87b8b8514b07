/// SHA-256 (FIPS 180-4, section 6.2): the 32-byte digest used for the manifest's config and dataset
/// hashes.
///
/// Written here to keep the package free of extra dependencies; checked against the FIPS 180-4
/// example vectors and block-boundary lengths computed with Python's `hashlib`
/// (Tests/CollapseCoreTests/SHA256Tests.swift).
///
/// Callers may rely on: the digest of a byte sequence is the standard SHA-256 digest, whatever
/// the sequence type (array, `Data`, a string's `utf8` view); `hex` spells it in lower case.
public enum SHA256 {
    /// The 32-byte digest of `bytes`.
    ///
    /// - Complexity: O(n); contiguous collections are hashed in place, other sequences are
    ///   buffered 64 bytes at a time.
    public static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var state = State()
        let handled: Void? = bytes.withContiguousStorageIfAvailable { state.absorb($0) }
        if handled == nil {
            var buffer = [UInt8]()
            buffer.reserveCapacity(64)
            for byte in bytes {
                buffer.append(byte)
                if buffer.count == 64 {
                    buffer.withUnsafeBufferPointer { state.absorb($0) }
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            buffer.withUnsafeBufferPointer { state.absorb($0) }
        }
        return state.finish()
    }

    /// Lower-case hexadecimal spelling of a digest (or of any bytes): 2 characters per byte.
    public static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `hex(hash(bytes))`.
    public static func hexDigest(_ bytes: some Sequence<UInt8>) -> String {
        hex(hash(bytes))
    }

    /// The first 32 bits of the fractional parts of the cube roots of the first 64 primes.
    private static let roundConstants: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    /// The running hash: eight working words, a partial block and the message length.
    private struct State {
        /// H(0): the first 32 bits of the fractional parts of the square roots of the first 8 primes.
        var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        var pending = [UInt8]()
        var length: UInt64 = 0
        var schedule = [UInt32](repeating: 0, count: 64)

        mutating func absorb(_ bytes: UnsafeBufferPointer<UInt8>) {
            length &+= UInt64(bytes.count)
            var start = 0
            if !pending.isEmpty {
                let take = min(64 - pending.count, bytes.count)
                pending.append(contentsOf: bytes[0..<take])
                start = take
                if pending.count == 64 {
                    let block = pending
                    block.withUnsafeBufferPointer { compress($0, at: 0) }
                    pending.removeAll(keepingCapacity: true)
                }
            }
            while bytes.count - start >= 64 {
                compress(bytes, at: start)
                start += 64
            }
            if start < bytes.count { pending.append(contentsOf: bytes[start...]) }
        }

        /// Pads (a 1 bit, zeros, the 64-bit big-endian bit length) and returns the digest.
        mutating func finish() -> [UInt8] {
            let bitLength = length &* 8
            var tail = pending
            tail.append(0x80)
            while tail.count % 64 != 56 { tail.append(0) }
            for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
            tail.withUnsafeBufferPointer { p in
                var offset = 0
                while offset < p.count {
                    compress(p, at: offset)
                    offset += 64
                }
            }
            var digest = [UInt8]()
            digest.reserveCapacity(32)
            for word in h {
                digest.append(UInt8(truncatingIfNeeded: word >> 24))
                digest.append(UInt8(truncatingIfNeeded: word >> 16))
                digest.append(UInt8(truncatingIfNeeded: word >> 8))
                digest.append(UInt8(truncatingIfNeeded: word))
            }
            return digest
        }

        /// One application of the compression function to the 64-byte block at `offset`.
        mutating func compress(_ p: UnsafeBufferPointer<UInt8>, at offset: Int) {
            for t in 0..<16 {
                let i = offset + 4 * t
                schedule[t] = UInt32(p[i]) << 24 | UInt32(p[i + 1]) << 16 | UInt32(p[i + 2]) << 8 | UInt32(p[i + 3])
            }
            for t in 16..<64 {
                let x = schedule[t - 15], y = schedule[t - 2]
                let s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3)
                let s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >> 10)
                schedule[t] = schedule[t - 16] &+ s0 &+ schedule[t - 7] &+ s1
            }
            var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7]
            for t in 0..<64 {
                let sum1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                let choice = (e & f) ^ (~e & g)
                let t1 = hh &+ sum1 &+ choice &+ SHA256.roundConstants[t] &+ schedule[t]
                let sum0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                let majority = (a & b) ^ (a & c) ^ (b & c)
                let t2 = sum0 &+ majority
                hh = g
                g = f
                f = e
                e = d &+ t1
                d = c
                c = b
                b = a
                a = t1 &+ t2
            }
            h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d
            h[4] &+= e; h[5] &+= f; h[6] &+= g; h[7] &+= hh
        }

        @inline(__always) func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
    }
}
