import Synchronization

/// Who is using a model. `fit` rewrites the weights, so it needs the model alone; inference,
/// saving and export only read it and share it. A call that cannot have the model throws
/// `AEError.busy` at once instead of waiting: a fit can take minutes, and a progress callback
/// that calls back into its own model would otherwise deadlock. One atomic word holds the state
/// (the number of readers, or -1 while a fit runs): two atomic operations per call.
final class UsageGate: Sendable {
    private let state = Atomic<Int>(0)
    private static let fitting = -1

    /// Runs `body` as one of any number of readers, unless a fit is running.
    func shared<Result>(_ body: () throws -> Result) throws -> Result {
        var readers = state.load(ordering: .relaxed)
        while true {
            guard readers != UsageGate.fitting else { throw AEError.busy("the model is being fitted; wait for fit to return") }
            let (exchanged, found) = state.weakCompareExchange(expected: readers, desired: readers + 1, ordering: .acquiring)
            if exchanged { break }
            readers = found
        }
        defer { state.subtract(1, ordering: .releasing) }
        return try body()
    }

    /// Runs `body` with the model to itself, unless any other call is using it.
    func exclusive<Result>(_ body: () throws -> Result) throws -> Result {
        let (exchanged, found) = state.compareExchange(expected: 0, desired: UsageGate.fitting, ordering: .acquiring)
        guard exchanged else {
            throw AEError.busy(found == UsageGate.fitting ? "another fit of this model is running"
                               : "\(found) other call(s) are using the model (inference, save or export); fit needs it alone")
        }
        defer { state.store(0, ordering: .releasing) }
        return try body()
    }
}
