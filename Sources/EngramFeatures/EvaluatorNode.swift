// One compiled operator and its per-row step. A node owns a range of the evaluator's state
// arenas (`reals`, `ints`) and writes its value(s) to its slot(s) in `values`.

/// A compiled operator. `a` and `b` are the value slots it reads (for `input`, `a` is the
/// input column); `out` is its first value slot.
struct Node {
    var kind: NodeKind
    var a: Int
    var b: Int
    var k: Int
    var out = 0
    var realBase = 0
    var intBase = 0
    /// Rows after which this node's output no longer depends on where the stream started.
    var settle = 0
    /// 1/k and 1/(k−1), so a row costs no division.
    var inverseK = 0.0
    var inverseKMinusOne = 0.0

    init(kind: NodeKind, a: Int, b: Int, k: Int) {
        self.kind = kind
        self.a = a
        self.b = b
        self.k = k
        self.inverseK = k > 0 ? 1 / Double(k) : 0
        self.inverseKMinusOne = k > 1 ? 1 / Double(k - 1) : 0
    }

    /// Puts the state in its "only missing values seen" form: the rows before the start
    /// behave as missing, which is what makes warm-up rows undefined.
    func resetState(
        startRow: Int, reals: UnsafeMutableBufferPointer<Double>,
        ints: UnsafeMutableBufferPointer<Int>
    ) {
        switch kind {
        case .input, .sub:
            return
        case .lag, .diff:
            for i in 0..<k { reals[realBase + i] = .nan }
            ints[intBase] = 0
        case .moment:
            for i in 0..<k { reals[realBase + i] = .nan }
            reals[realBase + k] = 0
            reals[realBase + k + 1] = 0
            reals[realBase + k + 2] = 0
            ints[intBase] = 0
            ints[intBase + 1] = 0
            ints[intBase + 2] = startRow - 1
            ints[intBase + 3] = ((startRow % k) + k) % k
        case .max, .min:
            ints[intBase] = 0
            ints[intBase + 1] = 0
            ints[intBase + 2] = startRow - 1
        }
    }

    /// Computes this node's value(s) for row `t`.
    @inline(__always)
    func step(
        t: Int, input: UnsafeBufferPointer<Double>, values: UnsafeMutablePointer<Double>,
        reals: UnsafeMutablePointer<Double>, ints: UnsafeMutablePointer<Int>
    ) {
        switch kind {
        case .input:
            values[out] = input[a]
        case .sub:
            values[out] = values[a] - values[b]
        case .lag, .diff:
            let ring = reals + realBase
            let position = ints[intBase]
            let old = ring[position]
            let x = values[a]
            values[out] = kind == .lag ? old : x - old
            ring[position] = x
            ints[intBase] = position + 1 == k ? 0 : position + 1
        case .moment:
            stepMoment(t: t, values: values, reals: reals, ints: ints)
        case .max:
            stepExtreme(t: t, values: values, reals: reals, ints: ints, largest: true)
        case .min:
            stepExtreme(t: t, values: values, reals: reals, ints: ints, largest: false)
        }
    }

    // MARK: - Rolling sum, mean, std

    /// Sums of deviations from an origin c taken inside the window: S1 = Σ(x−c),
    /// S2 = Σ(x−c)². With c inside the window the deviations are as small as the window's
    /// spread, so a large common offset (1e6 + noise) costs no precision. The sums are
    /// recomputed exactly from the ring every k rows (at absolute rows ≡ 0 mod k, so two
    /// runs started at different rows agree bit for bit after they meet) and whenever the
    /// value leaving the window dominates what remains (cancellation).
    @inline(__always)
    private func stepMoment(
        t: Int, values: UnsafeMutablePointer<Double>, reals: UnsafeMutablePointer<Double>,
        ints: UnsafeMutablePointer<Int>
    ) {
        let ring = reals + realBase
        let position = ints[intBase]
        let old = ring[position]
        let x = values[a]
        ring[position] = x
        let oldest = position + 1 == k ? 0 : position + 1
        ints[intBase] = oldest

        var s1 = ring[k]
        var s2 = ring[k + 1]
        var c = ring[k + 2]
        var count = ints[intBase + 1]
        // The phase t mod k, kept incrementally: a division per row would cost more than
        // the rest of the step.
        let phase = ints[intBase + 3]
        var recompute = phase == 0
        ints[intBase + 3] = phase + 1 == k ? 0 : phase + 1
        if !old.isNaN {
            let d = old - c
            s1 -= d
            s2 -= d * d
            count -= 1
            // Also true when s2 overflowed (inf) or became NaN (inf − inf).
            if !(d * d <= 0x1p20 * s2 && s2 < .infinity) { recompute = true }
        }
        if x.isNaN {
            ints[intBase + 2] = t
        } else {
            let d = x - c
            s1 += d
            s2 += d * d
            count += 1
        }
        if recompute {
            c = newestValue(ring: ring, oldest: oldest)
            (s1, s2, count) = exactSums(ring: ring, oldest: oldest, origin: c)
        }
        ring[k] = s1
        ring[k + 1] = s2
        ring[k + 2] = c
        ints[intBase + 1] = count

        guard t - ints[intBase + 2] >= k else {
            values[out] = .nan
            values[out + 1] = .nan
            values[out + 2] = .nan
            return
        }
        let squares = s2 - s1 * s1 * inverseK
        values[out] = Double(k) * c + s1
        values[out + 1] = c + s1 * inverseK
        // Rounding can leave a tiny negative sum of squares; a NaN must stay visible.
        values[out + 2] = ((squares < 0 ? 0 : squares) * inverseKMinusOne).squareRoot()
    }

    /// The most recent non-missing value in the ring, or 0.
    private func newestValue(ring: UnsafeMutablePointer<Double>, oldest: Int) -> Double {
        var index = oldest
        for _ in 0..<k {
            index = index == 0 ? k - 1 : index - 1
            if !ring[index].isNaN { return ring[index] }
        }
        return 0
    }

    /// Sums over the ring in time order (oldest first), so the result does not depend on
    /// where the ring's physical start is.
    private func exactSums(
        ring: UnsafeMutablePointer<Double>, oldest: Int, origin c: Double
    )
        -> (Double, Double, Int)
    {
        var s1 = 0.0
        var s2 = 0.0
        var count = 0
        var index = oldest
        for _ in 0..<k {
            let v = ring[index]
            if !v.isNaN {
                let d = v - c
                s1 += d
                s2 += d * d
                count += 1
            }
            index = index + 1 == k ? 0 : index + 1
        }
        return (s1, s2, count)
    }

    // MARK: - Rolling max and min

    /// Monotonic deque of (row, value), values decreasing (max) or increasing (min) from
    /// the front; the front is the extreme of the window. Amortized O(1) per row.
    @inline(__always)
    private func stepExtreme(
        t: Int, values: UnsafeMutablePointer<Double>, reals: UnsafeMutablePointer<Double>,
        ints: UnsafeMutablePointer<Int>, largest: Bool
    ) {
        let stored = reals + realBase
        let rows = ints + intBase + 3
        var head = ints[intBase]
        var count = ints[intBase + 1]
        while count > 0 && rows[head] <= t - k {
            head = head + 1 == k ? 0 : head + 1
            count -= 1
        }
        let x = values[a]
        if x.isNaN {
            ints[intBase + 2] = t
        } else {
            while count > 0 {
                var back = head + count - 1
                if back >= k { back -= k }
                let dominated = largest ? stored[back] <= x : stored[back] >= x
                guard dominated else { break }
                count -= 1
            }
            var slot = head + count
            if slot >= k { slot -= k }
            stored[slot] = x
            rows[slot] = t
            count += 1
        }
        ints[intBase] = head
        ints[intBase + 1] = count
        values[out] = t - ints[intBase + 2] >= k ? stored[head] : .nan
    }
}
