// The point in time by which a retrieval call must have finished.

internal import Glibc

/// A point in time on the `CLOCK_MONOTONIC` clock, by which a retrieval call must have
/// finished. A call given a deadline checks it before every update step and before every
/// block of rows of a pass over the bank (one clock read per block), and once it has passed
/// throws ``RetrievalError/deadline`` and returns nothing.
///
/// Not part of ``RetrievalParameters``: those describe *what* to compute and are compared for
/// equality (a server groups queries with equal parameters into one batch), while a deadline
/// says how long one caller is willing to wait. Value type, safe to share across threads.
public struct Deadline: Sendable, Hashable, Comparable {
    /// The instant, in nanoseconds of `CLOCK_MONOTONIC` (the same clock as
    /// `clock_gettime(CLOCK_MONOTONIC)`, so callers may build it from their own reading).
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    /// The deadline `milliseconds` from now (now itself for 0 or less; saturates at the
    /// clock's end rather than overflowing).
    public static func after(milliseconds: Int) -> Deadline {
        let (delay, overflow) = UInt64(max(0, milliseconds)).multipliedReportingOverflow(
            by: 1_000_000)
        let (sum, late) = now().nanoseconds.addingReportingOverflow(delay)
        return Deadline(nanoseconds: overflow || late ? .max : sum)
    }

    /// The current instant.
    public static func now() -> Deadline {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Deadline(nanoseconds: UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec))
    }

    /// Whether the clock is past the deadline (strictly later: a deadline of now has not passed
    /// yet). One clock read (a vDSO call, tens of nanoseconds).
    public var hasPassed: Bool { Deadline.now().nanoseconds > nanoseconds }

    public static func < (lhs: Deadline, rhs: Deadline) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }
}

extension Optional where Wrapped == Deadline {
    /// Throws ``RetrievalError/deadline`` when a deadline is set and has passed; no clock read
    /// without one.
    @inline(__always)
    func check() throws(RetrievalError) {
        if let deadline = self, deadline.hasPassed { throw .deadline }
    }
}
