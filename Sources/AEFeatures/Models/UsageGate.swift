/// Who is using a model. `fit` rewrites the weights, so it needs the model alone; inference,
/// saving and export only read it and share it. A call that cannot have the model throws
/// `AEError.busy` at once instead of waiting: a fit can take minutes, and a progress callback
/// that calls back into its own model would otherwise deadlock.
final class UsageGate: @unchecked Sendable {
    private let state = Locked((readers: 0, fitting: false))

    /// Runs `body` as one of any number of readers, unless a fit is running.
    func shared<Result>(_ body: () throws -> Result) throws -> Result {
        try state.withLock { state in
            guard !state.fitting else { throw AEError.busy("the model is being fitted; wait for fit to return") }
            state.readers += 1
        }
        defer { state.withLock { $0.readers -= 1 } }
        return try body()
    }

    /// Runs `body` with the model to itself, unless any other call is using it.
    func exclusive<Result>(_ body: () throws -> Result) throws -> Result {
        try state.withLock { state in
            guard !state.fitting else { throw AEError.busy("another fit of this model is running") }
            guard state.readers == 0 else {
                throw AEError.busy("\(state.readers) other call(s) are using the model (inference, save or export); fit needs it alone")
            }
            state.fitting = true
        }
        defer { state.withLock { $0.fitting = false } }
        return try body()
    }
}
