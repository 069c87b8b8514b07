/// A seed mixer that turns a root seed plus a path of identifiers into well-spread key material.
///
/// This is the algorithm of NumPy's `SeedSequence` (after M. E. O'Neill's `seed_seq` redesign),
/// re-implemented so that `SeedSequence(seed: s, spawnKey: k).generateState(wordCount: n)` equals
/// `numpy.random.SeedSequence(s, spawn_key=k).generate_state(n, numpy.uint32)` word for word
/// (checked in the tests against values computed with NumPy). Every input bit influences every
/// output word through a 4-word entropy pool mixed with multiply–xorshift hashes, so streams keyed
/// by paths that differ in one identifier are unrelated — unlike `seed + id`, which makes
/// neighbouring seeds' streams overlap.
///
/// Entropy layout: the seed as little-endian 32-bit words (at least one; high zero words dropped),
/// zero-padded to the pool size when a spawn key follows, then the spawn key's words.
public struct SeedSequence: Sendable, Hashable {
    @usableFromInline static let poolSize = 4
    @usableFromInline static let initA: UInt32 = 0x43b0_d7e5
    @usableFromInline static let multA: UInt32 = 0x931e_8875
    @usableFromInline static let initB: UInt32 = 0x8b51_f9dd
    @usableFromInline static let multB: UInt32 = 0x58f3_8ded
    @usableFromInline static let mixMultL: UInt32 = 0xca01_f9dd
    @usableFromInline static let mixMultR: UInt32 = 0x4973_f715
    @usableFromInline static let xShift: UInt32 = 16

    public let seed: UInt64
    public let spawnKey: [UInt32]
    /// The mixed entropy pool.
    public let pool: [UInt32]

    public init(seed: UInt64, spawnKey: [UInt32] = []) {
        self.seed = seed
        self.spawnKey = spawnKey
        self.pool = Self.mixEntropy(Self.assembleEntropy(seed: seed, spawnKey: spawnKey))
    }

    static func assembleEntropy(seed: UInt64, spawnKey: [UInt32]) -> [UInt32] {
        var words: [UInt32] = [UInt32(truncatingIfNeeded: seed)]
        if seed >> 32 != 0 { words.append(UInt32(truncatingIfNeeded: seed >> 32)) }
        if !spawnKey.isEmpty {
            while words.count < poolSize { words.append(0) }
            words += spawnKey
        }
        return words
    }

    static func mixEntropy(_ entropy: [UInt32]) -> [UInt32] {
        var hashConst = initA
        func hashmix(_ value: UInt32) -> UInt32 {
            var v = value ^ hashConst
            hashConst = hashConst &* multA
            v = v &* hashConst
            v ^= v >> xShift
            return v
        }
        func mix(_ x: UInt32, _ y: UInt32) -> UInt32 {
            var r = (mixMultL &* x) &- (mixMultR &* y)
            r ^= r >> xShift
            return r
        }
        var pool = [UInt32](repeating: 0, count: poolSize)
        for i in 0..<poolSize {
            pool[i] = hashmix(i < entropy.count ? entropy[i] : 0)
        }
        for src in 0..<poolSize {
            for dst in 0..<poolSize where src != dst {
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
            }
        }
        if entropy.count > poolSize {
            for src in poolSize..<entropy.count {
                for dst in 0..<poolSize {
                    pool[dst] = mix(pool[dst], hashmix(entropy[src]))
                }
            }
        }
        return pool
    }

    /// The first four output words for `seed` and `spawnKey` without building a `SeedSequence`:
    /// the same values as `SeedSequence(seed:spawnKey:).generateState(wordCount: 4)`, computed on
    /// the stack (streams are keyed several times per generation of every chain).
    public static func fourWords(seed: UInt64, spawnKey: [UInt32]) -> (UInt32, UInt32, UInt32, UInt32) {
        let entropyCount = spawnKey.isEmpty ? (seed >> 32 != 0 ? 2 : 1) : poolSize + spawnKey.count
        return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: max(entropyCount, poolSize) + poolSize) { buffer in
            let entropy = buffer.baseAddress!
            let pool = entropy + max(entropyCount, poolSize)
            entropy[0] = UInt32(truncatingIfNeeded: seed)
            var count = 1
            if seed >> 32 != 0 { entropy[1] = UInt32(truncatingIfNeeded: seed >> 32); count = 2 }
            if !spawnKey.isEmpty {
                while count < poolSize { entropy[count] = 0; count += 1 }
                for w in spawnKey { entropy[count] = w; count += 1 }
            }
            var hashConst = initA
            @inline(__always) func hashmix(_ value: UInt32) -> UInt32 {
                var v = value ^ hashConst
                hashConst = hashConst &* multA
                v = v &* hashConst
                v ^= v >> xShift
                return v
            }
            @inline(__always) func mix(_ x: UInt32, _ y: UInt32) -> UInt32 {
                var r = (mixMultL &* x) &- (mixMultR &* y)
                r ^= r >> xShift
                return r
            }
            for i in 0..<poolSize { pool[i] = hashmix(i < count ? entropy[i] : 0) }
            for src in 0..<poolSize {
                for dst in 0..<poolSize where src != dst { pool[dst] = mix(pool[dst], hashmix(pool[src])) }
            }
            if count > poolSize {
                for src in poolSize..<count {
                    for dst in 0..<poolSize { pool[dst] = mix(pool[dst], hashmix(entropy[src])) }
                }
            }
            var hb = initB
            @inline(__always) func out(_ i: Int) -> UInt32 {
                var v = pool[i] ^ hb
                hb = hb &* multB
                v = v &* hb
                v ^= v >> xShift
                return v
            }
            let a = out(0), b = out(1), c = out(2), d = out(3)
            return (a, b, c, d)
        }
    }

    /// `wordCount` 32-bit words of key material drawn from the pool.
    public func generateState(wordCount: Int) -> [UInt32] {
        precondition(wordCount >= 0, "generateState needs a non-negative word count, got \(wordCount)")
        var hashConst = Self.initB
        var out = [UInt32](repeating: 0, count: wordCount)
        for i in 0..<wordCount {
            var v = pool[i % Self.poolSize] ^ hashConst
            hashConst = hashConst &* Self.multB
            v = v &* hashConst
            v ^= v >> Self.xShift
            out[i] = v
        }
        return out
    }
}

/// What a random stream is for: the toolkit's streams are keyed by *purpose*, never by which
/// thread or in what order they are used, so adding a new consumer shifts no other number.
///
/// Purposes are plain 32-bit codes; modules declare their own as static members in extensions.
/// Codes must be unique across the toolkit (the registry of codes is `docs/RANDOM_STREAMS.md`).
public struct StreamPurpose: RawRepresentable, Sendable, Hashable, Codable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
}

/// The identity of one random stream of an experiment: (variant, replicate, generation, purpose).
///
/// `Philox4x32(seed:id:)` keys a stream by the root seed and this path via `SeedSequence`.
public struct StreamID: Sendable, Hashable, Codable {
    public var variant: UInt32
    public var replicate: UInt32
    public var generation: UInt32
    public var purpose: StreamPurpose

    public init(variant: Int, replicate: Int, generation: Int, purpose: StreamPurpose) {
        precondition(variant >= 0 && replicate >= 0 && generation >= 0,
                     "StreamID needs non-negative indices, got variant \(variant), replicate \(replicate), generation \(generation)")
        precondition(variant <= Int(UInt32.max) && replicate <= Int(UInt32.max) && generation <= Int(UInt32.max),
                     "StreamID indices must fit in 32 bits, got variant \(variant), replicate \(replicate), generation \(generation)")
        self.variant = UInt32(variant)
        self.replicate = UInt32(replicate)
        self.generation = UInt32(generation)
        self.purpose = purpose
    }

    /// The spawn key handed to `SeedSequence`: `[variant, replicate, generation, purpose]`.
    public var path: [UInt32] { [variant, replicate, generation, purpose.rawValue] }
}
