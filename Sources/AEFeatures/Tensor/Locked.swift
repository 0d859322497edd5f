import Glibc

/// A value behind a pthread mutex. Not Synchronization.Mutex: on Linux ThreadSanitizer does not
/// see that Mutex's futex-based locking and reported the accesses it guards as races (`make
/// tsan`), while it understands pthread's; the cost is the same uncontended lock either way.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
